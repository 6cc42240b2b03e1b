#!/bin/bash
# t_bounds.sh - descriptors and sessions stay bounded for every kind of
# session (issue 9 item 3, docs/operator-guide.md "Bounds").
#
# lib.sh's namespaces: subscribers 100.64.0.2-6 -> gateway (subgated, the
# table it loads itself) -> "internet": smtp-sink as the MX at
# 203.0.113.10:25, the aiosmtpd MSA with STARTTLS at 203.0.113.20:25 and
# the pass-through peer at 203.0.113.30:587.
#   fd_reserve_587       subgated with 1200 descriptors, 1000 idle port-25
#                        connections from 4 addresses: port 25 is refused
#                        (421) before the reserve, and a 587 connection is
#                        still accepted and relayed byte-exact (default
#                        configuration: the same test starves 587 without
#                        the reserve)
#   per_source_421       limits.per_source 3: the 4th concurrent session of
#                        one address gets 421 4.7.0, another address and
#                        587 from the same one do not
#   starttls_max_sessions limits.max_sessions 2 on one worker: two STARTTLS
#                        tunnels fill it, a third port-25 session gets 421,
#                        587 is still accepted
#   tunnel_idle          limits.tunnel_idle 2s / passthrough_idle 3s: an
#                        idle STARTTLS tunnel and an idle 587 tunnel end,
#                        recorded as idle_timeout
set -uo pipefail
# shellcheck source=./lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"

loc_need setup jq nft smtp-sink
loc_init t_bounds
chmod 755 "$TMP"	# smtp-sink (user nobody) writes below it
find_subgated || { echo "FAIL setup: no subgated binary"; exit 1; }
sg_netns_possible || { echo "FAIL setup: cannot create network namespaces"; exit 1; }
topo_up 2>"$TMP/topo.err" || { echo "FAIL setup: topology: $(head -c 300 "$TMP/topo.err")"; exit 1; }
peers_up 2>"$TMP/peers.err" || { echo "FAIL setup: peers: $(head -c 300 "$TMP/peers.err")"; exit 1; }
FLOOD_SRC=(100.64.0.3 100.64.0.4 100.64.0.5 100.64.0.6)
for a in "${FLOOD_SRC[@]}"; do
	ip -n "$NS_SUB" addr add "$a/24" dev sub0
done

# cfg NAME WORKERS LIMITS_YAML: a configuration file; prints its path.
cfg() {
	local f=$TMP/$1.yaml
	{
		printf 'node: bd-%s\nworkers: %s\nlisteners:\n' "$1" "$2"
		printf '  - { listen: "[::]:10025", mode: smtp, intercept: redirect }\n'
		printf '  - { listen: "[::]:10587", mode: passthrough, intercept: redirect }\n'
		printf '%s\n' "$SG_INTERCEPT"
		printf 'upstream: { connect_timeout: 3s }\n'
		[ -n "$3" ] && printf 'limits: %s\n' "$3"
		printf 'audit: { path: "%s" }\n' "$TMP/audit-$1.jsonl"
		printf 'log: { level: info }\n'
		printf 'shutdown: { drain_timeout: 1s }\n'
	} >"$f"
	echo "$f"
}

stop() {
	GW_STOP_WAIT=5 gw_stop
	if [ -n "$HOLD" ]; then	# a bare "wait" would wait for the peers too
		# shellcheck disable=SC2086
		kill -TERM $HOLD 2>/dev/null
		# shellcheck disable=SC2086
		wait $HOLD 2>/dev/null
	fi
	HOLD=""
}
HOLD=""

# pt_small: one small byte-exact pass-through exchange through 587, within
# 10 s (succeeds only if both directions arrived whole).
pt_small() {
	timeout 10 ip netns exec "$NS_SUB" "$PY" "$SG_DIR/clients.py" pt --dst "$PT4" --port 587 \
		--size 4096 >"$TMP/pt-small.json" 2>&1 && jq -e '.error == null and .trailer_ok' "$TMP/pt-small.json" >/dev/null
}

# flood OUT PORT_25_DST N SRC...: N connections (spread over the source
# addresses) opened at once and held until stop (clients.py many); OUT gets
# their counts (greeted, refused421, ...) once every one has its first line
# (or 10 s passed). False if OUT did not come within 30 s.
flood() {
	local out=$1 dst=$2 n=$3 a src=()
	shift 3
	for a; do src+=(--src "$a"); done
	ip netns exec "$NS_SUB" bash -c 'ulimit -n 20000; exec "$@"' _ "$PY" "$SG_DIR/clients.py" many \
		--dst "$dst" --count "$n" --timeout 10 --hold-file "$out" --hold 3600 "${src[@]}" >/dev/null &
	HOLD="$HOLD $!"
	wait_until 30 test -s "$out"
}

# --------------------------------------------------------------------- tests

t_fd_reserve_587() {
	gw_start "$(cfg fd 2 "")" 1200 || { fail fd_reserve_587 "subgated did not start"; return; }
	if ! flood "$TMP/flood.json" "$MX4" 1000 "${FLOOD_SRC[@]}"; then
		fail fd_reserve_587 "the flood did not finish"
	elif ! jq -e '.greeted >= 100 and .refused421 >= 100' "$TMP/flood.json" >/dev/null; then
		fail fd_reserve_587 "port 25 not refused at the reserve: $(cat "$TMP/flood.json")"
	elif ! pt_small; then
		fail fd_reserve_587 "587 starved: $(cat "$TMP/pt-small.json")"
	elif ! grep -q 'event=fd_reserve' "$GW_LOG"; then
		fail fd_reserve_587 "no event=fd_reserve logged"
	else
		pass fd_reserve_587
	fi
	stop
}

t_per_source_421() {
	gw_start "$(cfg src 2 "{ per_source: 3 }")" || { fail per_source_421 "subgated did not start"; return; }
	flood "$TMP/src3.json" "$MX4" 3 "$SUB4"
	CHAT_TIMEOUT=5 chat "$TMP/src4.json" "$MX4" -- r eof:2
	flood "$TMP/other.json" "$MX4" 1 "${FLOOD_SRC[0]}"
	if ! jq -e '.greeted == 3' "$TMP/src3.json" >/dev/null; then
		fail per_source_421 "3 sessions not all greeted: $(cat "$TMP/src3.json")"
	elif ! jq -e '.replies[0].code == 421 and (.replies[0].text | test("4.7.0"))' "$TMP/src4.json" >/dev/null; then
		fail per_source_421 "4th session not refused: $(head -c 300 "$TMP/src4.json")"
	elif ! jq -e '.greeted == 1' "$TMP/other.json" >/dev/null; then
		fail per_source_421 "another address refused: $(cat "$TMP/other.json")"
	elif ! pt_small; then
		fail per_source_421 "587 refused: $(cat "$TMP/pt-small.json")"
	elif ! grep -q 'event=source_limit' "$GW_LOG"; then
		fail per_source_421 "no event=source_limit logged"
	else
		pass per_source_421
	fi
	stop
}

t_starttls_max_sessions() {
	local i
	gw_start "$(cfg max 1 "{ max_sessions: 2 }")" || { fail starttls_max_sessions "subgated did not start"; return; }
	for i in 1 2; do
		CHAT_TIMEOUT=10 chat "$TMP/tls$i.json" "$MSA4" -- r "s:EHLO t$i.sub.example\r\n" r \
			"s:STARTTLS\r\n" r "touch:$TMP/tls$i.ok" eof:30 &
		HOLD="$HOLD $!"
	done
	wait_until 10 test -e "$TMP/tls1.ok" -a -e "$TMP/tls2.ok"
	sleep 0.5	# the relay hands the session to the tunnel
	CHAT_TIMEOUT=5 chat "$TMP/third.json" "$MX4" -- r eof:2
	if ! [ -e "$TMP/tls1.ok" ] || ! [ -e "$TMP/tls2.ok" ]; then
		fail starttls_max_sessions "STARTTLS did not reach the MSA"
	elif ! jq -e '.replies[0].code == 421' "$TMP/third.json" >/dev/null; then
		fail starttls_max_sessions "3rd port-25 session not refused: $(head -c 300 "$TMP/third.json")"
	elif ! pt_small; then
		fail starttls_max_sessions "587 refused at the port-25 limit: $(cat "$TMP/pt-small.json")"
	else
		pass starttls_max_sessions
	fi
	stop
}

t_tunnel_idle() {
	gw_start "$(cfg idle 1 "{ tunnel_idle: 2s, passthrough_idle: 3s }")" || { fail tunnel_idle "subgated did not start"; return; }
	CHAT_TIMEOUT=10 chat "$TMP/idle25.json" "$MSA4" -- r "s:EHLO idle.sub.example\r\n" r \
		"s:STARTTLS\r\n" r eof:15 &
	local c25=$!
	CHAT_TIMEOUT=10 chat "$TMP/idle587.json" "$PT4" 587 -- eof:15 &
	local c587=$!
	wait $c25 $c587
	if ! jq -e '.eof and .elapsed < 8' "$TMP/idle25.json" >/dev/null; then
		fail tunnel_idle "idle STARTTLS tunnel not closed: $(head -c 300 "$TMP/idle25.json")"
	elif ! jq -e '.eof and .elapsed >= 2.5 and .elapsed < 8' "$TMP/idle587.json" >/dev/null; then
		fail tunnel_idle "idle 587 tunnel not closed after 3 s: $(head -c 300 "$TMP/idle587.json")"
	elif ! wait_until 5 audit_has '.type=="session" and .end_reason=="idle_timeout" and .mode=="passthrough"' ||
		! audit_has '.type=="session" and .end_reason=="idle_timeout" and .mode=="smtp"'; then
		fail tunnel_idle "no idle_timeout session records: $(tail -c 600 "$GW_AUDIT")"
	else
		pass tunnel_idle
	fi
	stop
}

t_fd_reserve_587
t_per_source_421
t_starttls_max_sessions
t_tunnel_idle
loc_summary t_bounds
