#!/bin/bash
# t_failsafe.sh - 587/465 never depend on subgated being up; port 25 fails
# the way intercept.on_down says (issue 7, docs/operator-guide.md
# "Fail-safe interception").
#
# lib.sh's namespaces: subscriber 100.64.0.2 -> gateway (subgated, the
# table it loads itself) -> "internet" with smtp-sink as the MX at
# 203.0.113.10:25 and the pass-through peer at 203.0.113.30:587. Five
# states of subgated: running, killed (SIGKILL), stopped (SIGSTOP),
# draining (SIGTERM with a session still open), and failing to start (a
# bad configuration after a good one). Two configurations:
#   default  no tunnel listener (587 routed by the kernel, recorded from
#            conntrack), on_down: open
#   tunnel   the opt-in splice tunnel for 587/465, on_down: closed
# For each state it measures how long after the state began a new
# connection takes the fallback path, and prints the worst case.
set -uo pipefail
# shellcheck source=./lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"

loc_need setup jq nft conntrack setpriv smtp-sink
loc_init t_failsafe
chmod 755 "$TMP"	# smtp-sink (user nobody) writes below it; nobody reads the config
find_subgated || { echo "FAIL setup: no subgated binary"; exit 1; }
sg_netns_possible || { echo "FAIL setup: cannot create network namespaces"; exit 1; }
topo_up 2>"$TMP/topo.err" || { echo "FAIL setup: topology: $(head -c 300 "$TMP/topo.err")"; exit 1; }
peers_up 2>"$TMP/peers.err" || { echo "FAIL setup: peers: $(head -c 300 "$TMP/peers.err")"; exit 1; }
# Byte counters and start/stop times in the gateway's conntrack; a closed
# TCP flow leaves conntrack after 1 s instead of 120 (TIME_WAIT), so the
# DESTROY event (and the record) come soon.
in_gw sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1 \
	net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 net.netfilter.nf_conntrack_tcp_timeout_close=1

HOLD_MS=2000
LIMIT_MS=3000	# a new connection takes the fallback path within this
PT_SIZE=$((16 * 1024 * 1024))
declare -A WORST=()

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# cfg NAME ON_DOWN TUNNEL(0|1): a configuration file; prints its path.
cfg() {
	local f=$TMP/$1.yaml
	{
		printf 'node: fs-%s\nworkers: 2\nlisteners:\n' "$1"
		printf '  - { listen: "[::]:10025", mode: smtp, intercept: redirect }\n'
		[ "$3" = 1 ] && printf '  - { listen: "[::]:10587", mode: passthrough, intercept: redirect }\n'
		printf 'intercept: { nftables: true, interfaces: [gw-sub], subscribers: [100.64.0.0/24, "fd00:64::/64"], on_down: %s, hold: %dms }\n' "$2" "$HOLD_MS"
		printf 'upstream: { connect_timeout: 3s }\n'
		printf 'audit: { path: "%s" }\n' "$TMP/audit-$1.jsonl"
		printf 'shutdown: { drain_timeout: 30s }\n'
	} >"$f"
	echo "$f"
}

# finish: whatever state subgated is in, end it.
finish() {
	[ -n "$GW_PID" ] || return 0
	kill -CONT "$GW_PID" 2>/dev/null
	kill -KILL "$GW_PID" 2>/dev/null
	wait "$GW_PID" 2>/dev/null
	GW_PID=""
	[ -n "$HOLDER" ] && pkill -TERM -P "$HOLDER" 2>/dev/null
	kill -TERM "$HOLDER" 2>/dev/null
	HOLDER=""
}

HOLDER=""
established_25() { ip netns exec "$NS_GW" ss -Htn state established '( sport = :10025 )' | grep -q .; }
# enter STATE CFG: bring subgated into STATE with CFG.
enter() {
	local state=$1 cfg=$2
	case $state in
	running)
		gw_start "$cfg" ;;
	sigkill)
		gw_start "$cfg" && kill -KILL "$GW_PID" ;;
	sigstop)
		gw_start "$cfg" && kill -STOP "$GW_PID" ;;
	draining)
		gw_start "$cfg" || return 1
		# a port-25 session that keeps the drain going
		chat "$TMP/holder.json" "$MX4" -- r "s:EHLO holder.sub.example\r\n" r eof:40 &
		HOLDER=$!
		wait_until 5 established_25 || return 1
		kill -TERM "$GW_PID"
		wait_until 5 gw_logged event=nft_release ;;
	badconfig)
		gw_start "$cfg" || return 1
		kill -TERM "$GW_PID"
		wait "$GW_PID"
		GW_PID=""
		printf 'listeners: [ { listen: "[::]:10025", mode: smtp, intercept: redirect } ]\nlimits: { buffer: lots }\n' >"$TMP/bad.yaml"
		if ip netns exec "$NS_GW" "$SUBGATED" -c "$TMP/bad.yaml" >"$TMP/bad.log" 2>&1; then
			echo "a bad configuration started" >"$TMP/bad.why"
			return 1
		fi ;;
	esac
}

# pt_small PORT: one small byte-exact pass-through exchange (succeeds only
# if the connection reached the peer and both directions arrived whole).
pt_small() {
	timeout 2 ip netns exec "$NS_SUB" "$PY" "$SG_DIR/clients.py" pt --dst "$PT4" --port "$1" --size 4096 \
		>"$TMP/pt-small.json" 2>&1 && jq -e '.error == null and .trailer_ok' "$TMP/pt-small.json" >/dev/null
}

# mx_direct: a port-25 connection reaches the MX (smtp-sink greets).
mx_direct() {
	CHAT_TIMEOUT=1 chat "$TMP/p25.json" "$MX4" -- r "s:QUIT\r\n" r eof:1 &&
		jq -e '[.replies[].code] == [220, 221]' "$TMP/p25.json" >/dev/null
}

# mx_refused: a port-25 connection is refused at once (TCP reset).
mx_refused() {
	CHAT_TIMEOUT=1 chat "$TMP/p25.json" "$MX4" -- r eof:1
	jq -e '(.error // "" | test("Refused")) and .elapsed < 0.5' "$TMP/p25.json" >/dev/null
}

# fallback NAME T0 CHECK...: poll CHECK until it succeeds; PASS if within
# LIMIT_MS of T0 (and keep the worst time per NAME prefix).
fallback() {
	local name=$1 t0=$2 el key
	shift 2
	while :; do
		if "$@"; then
			el=$(($(now_ms) - t0))
			key=${name%_*}
			[ "${WORST[$key]:-0}" -lt "$el" ] && WORST[$key]=$el
			if [ "$el" -le "$LIMIT_MS" ]; then
				pass "$name (${el} ms)"
			else
				fail "$name" "fallback after ${el} ms, more than $LIMIT_MS"
			fi
			return
		fi
		if [ $(($(now_ms) - t0)) -gt $((LIMIT_MS + 5000)) ]; then
			fail "$name" "no fallback within $((LIMIT_MS + 5000)) ms: $(cat "$TMP/pt-small.json" "$TMP/p25.json" 2>/dev/null | head -c 400)"
			return
		fi
		sleep 0.1
	done
}

# big_587 OUT: the 16 MiB byte-exact stream to the 587 peer (both ways).
big_587() {
	ip netns exec "$NS_SUB" "$PY" "$SG_DIR/clients.py" pt --dst "$PT4" --port 587 --size "$PT_SIZE" >"$1" 2>&1
}
# (the peer's own random answer is 10 MiB; both directions are checked by
# hash, the client's by the peer's sha256 trailer)
big_ok() { jq -e ".error == null and .trailer_ok and .sent_bytes == $PT_SIZE and .recv_bytes > 10000000" "$1" >/dev/null 2>&1; }

# ------------------------------------------------ default: 587 untouched
DEF=$(cfg default open 0)
for state in running sigkill sigstop draining badconfig; do
	case $state in
	running|badconfig)
		if ! enter "$state" "$DEF"; then
			fail "failsafe_default_587_$state" "could not enter the state: $(tail -n 3 "$GW_LOG" "$TMP/bad.why" 2>/dev/null | tr '\n' ' ')"
			finish
			continue
		fi
		t0=$(now_ms)
		big_587 "$TMP/big-$state.json" ;;
	*)
		# the stream runs while the state changes under it
		gw_start "$DEF" || { fail "failsafe_default_587_$state" "subgated did not start"; finish; continue; }
		big_587 "$TMP/big-$state.json" &
		bp=$!
		case $state in
		sigkill) kill -KILL "$GW_PID" ;;
		sigstop) kill -STOP "$GW_PID" ;;
		draining)
			chat "$TMP/holder.json" "$MX4" -- r "s:EHLO holder.sub.example\r\n" r eof:40 &
			HOLDER=$!
			sleep 0.3
			kill -TERM "$GW_PID" ;;
		esac
		t0=$(now_ms)
		wait "$bp" ;;
	esac
	if big_ok "$TMP/big-$state.json"; then
		# and a new connection, at once: nothing to wait out
		t1=$(now_ms)
		if pt_small 587 && [ $(($(now_ms) - t1)) -lt 1500 ]; then
			pass "failsafe_default_587_$state (16 MiB up, 10 MiB down, byte-exact; new connection at once)"
		else
			fail "failsafe_default_587_$state" "new 587 connection failed: $(cat "$TMP/pt-small.json")"
		fi
	else
		fail "failsafe_default_587_$state" "16 MiB stream: $(head -c 300 "$TMP/big-$state.json")"
	fi
	if [ "$state" = running ]; then
		# port 25 goes through subgated while it runs
		send_mail "$TMP/run25.out" --server "$MX4" --ehlo fs-running.sub.example >/dev/null 2>&1
		if wait_until 10 audit_has '.type=="session" and .ehlo=="fs-running.sub.example"'; then
			pass failsafe_port25_open_running
		else
			fail failsafe_port25_open_running "no session record: $(tail -n 3 "$TMP/run25.out")"
		fi
	else
		# port 25 (on_down: open) reaches the MX directly
		fallback "failsafe_port25_open_$state" "$t0" mx_direct
	fi
	finish
done

# ------------------------------------------------ tunnel: opt-in, closed
TUN=$(cfg tunnel closed 1)
for state in running sigkill sigstop draining badconfig; do
	if ! enter "$state" "$TUN"; then
		fail "failsafe_tunnel_587_$state" "could not enter the state: $(tail -n 3 "$GW_LOG" 2>/dev/null | tr '\n' ' ')"
		finish
		continue
	fi
	t0=$(now_ms)
	if [ "$state" = running ]; then
		if pt_small 587; then
			lp=$(jq -r .local_port "$TMP/pt-small.json")
			if wait_until 5 audit_has ".type==\"session\" and .listener==\"[::]:10587\" and .src_port==$lp"; then
				pass failsafe_tunnel_587_running
			else
				fail failsafe_tunnel_587_running "no tunnel record for src_port $lp"
			fi
		else
			fail failsafe_tunnel_587_running "$(cat "$TMP/pt-small.json")"
		fi
		send_mail "$TMP/run25c.out" --server "$MX4" --ehlo fs-closed-running.sub.example >/dev/null 2>&1
		if wait_until 10 audit_has '.type=="session" and .ehlo=="fs-closed-running.sub.example"'; then
			pass failsafe_port25_closed_running
		else
			fail failsafe_port25_closed_running "no session record: $(tail -n 3 "$TMP/run25c.out")"
		fi
	else
		fallback "failsafe_tunnel_587_$state" "$t0" pt_small 587
		fallback "failsafe_port25_closed_$state" "$t0" mx_refused
		# and it stays that way (a reset, never a hang, never delivered)
		sleep 0.5
		if mx_refused; then
			pass "failsafe_port25_closed_${state}_stays"
		else
			fail "failsafe_port25_closed_${state}_stays" "$(cat "$TMP/p25.json")"
		fi
	fi
	finish
done
for k in "${!WORST[@]}"; do
	echo "# worst case $k: ${WORST[$k]} ms (hold ${HOLD_MS} ms)"
done

# ------------------------------------------------ conntrack event flood
# 10,000 short 587 flows in a burst to an accept-and-close peer; the
# records (or the overrun counter) account for them, and port 25 through
# subgated keeps answering during the burst.
in_net "$PY" -c '
import asyncio, sys
async def h(r, w):
    w.close()
async def main():
    s = await asyncio.start_server(h, sys.argv[1], 587, backlog=4096)
    await s.serve_forever()
asyncio.run(main())' "$MSA4" >"$TMP/closer.log" 2>&1 &
PIDS+=($!)
wait_until 10 listening "$NS_NET" 587 "$MSA4"
gw_start "$DEF" || fail failsafe_conntrack_flood "subgated did not start"
# one 16 MiB flow first: its record must carry the byte counts
big_587 "$TMP/big-ct.json"
big_ok "$TMP/big-ct.json" || fail failsafe_conntrack_records "16 MiB stream: $(head -c 300 "$TMP/big-ct.json")"
t0=$(now_ms)
in_sub bash -c 'ulimit -n 20000; exec "$@"' _ "$PY" -c '
import asyncio, sys
ok = 0
async def one(sem):
    global ok
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(sys.argv[1], 587), 10)
            await r.read()
            w.close()
            ok += 1
        except Exception:
            pass
async def main():
    sem = asyncio.Semaphore(400)
    await asyncio.gather(*(one(sem) for _ in range(10000)))
    print(ok)
asyncio.run(main())' "$MSA4" >"$TMP/flood.out" 2>&1 &
fp=$!
sleep 0.5
t25=$(now_ms)
send_mail "$TMP/flood25.out" --server "$MX4" --ehlo fs-flood.sub.example >/dev/null 2>&1
d25=$(($(now_ms) - t25))
wait "$fp"
flood_ok=$(tail -n 1 "$TMP/flood.out")
# A record is written when the kernel removes the flow: TIME_WAIT (1 s
# here) and then conntrack's garbage collector, which may wait up to a
# minute on a quiet table.
sel=".type==\"session\" and .observed==\"conntrack\" and .dst==\"$MSA4\""
for _ in $(seq 1 180); do
	[ "$(audit_count "$sel")" -ge "${flood_ok:-10000}" ] && break
	sleep 0.5
done
n=$(audit_count "$sel")
over=$(gw_log | grep -c 'event=conntrack_overrun')
if [ "${flood_ok:-0}" -lt 9900 ]; then
	fail failsafe_conntrack_flood "only ${flood_ok:-0} of 10000 flows connected: $(tail -n 3 "$TMP/flood.out")"
elif [ "$n" -ge "$flood_ok" ] || [ "$over" -gt 0 ]; then
	pass "failsafe_conntrack_flood ($flood_ok flows, $n recorded, $over overruns logged, in $(($(now_ms) - t0)) ms)"
else
	fail failsafe_conntrack_flood "$flood_ok flows, $n recorded and no overrun counted"
fi
if grep -q '250 2.0.0 Ok' "$TMP/flood25.out" && [ "$d25" -lt 5000 ] &&
	wait_until 5 audit_has '.type=="session" and .ehlo=="fs-flood.sub.example"'; then
	pass "failsafe_conntrack_flood_port25 (delivered through subgated in $d25 ms during the burst)"
else
	fail failsafe_conntrack_flood_port25 "took $d25 ms: $(tail -n 3 "$TMP/flood25.out")"
fi
lp=$(jq -r .local_port "$TMP/big-ct.json")
sel=".type==\"session\" and .observed==\"conntrack\" and .dst==\"$PT4\" and .src_port==$lp"
if wait_until 90 audit_has "$sel"; then
	r=$(audit_sel "$sel" | tail -n 1)
	if jq -e ".mode==\"passthrough\" and .class==\"passthrough\" and .src==\"$SUB4\" and .dst==\"$PT4\" and
		.dst_port==587 and .subscriber==\"$SUB4\" and .listener==\"conntrack\" and
		.ip_bytes_from_client > $PT_SIZE and .ip_bytes_from_upstream > 10000000 and
		.duration_ms >= 0 and (.id|length)==24" <<<"$r" >/dev/null; then
		pass failsafe_conntrack_records
	else
		fail failsafe_conntrack_records "record: $r"
	fi
else
	fail failsafe_conntrack_records "no conntrack record for src_port $lp: $(gw_log | grep -E 'conntrack' | tail -n 3)"
fi
kill -TERM "$GW_PID"
wait "$GW_PID"
GW_PID=""

# ------------------------------------------------ sd_notify and watchdog
# systemd is not PID 1 here: the test is the NOTIFY_SOCKET side of it.
# subgated with WATCHDOG_USEC=1s must send READY=1, then WATCHDOG=1 about
# every 0.5 s while its workers turn, none while it is stopped (SIGSTOP:
# systemd's WatchdogSec would kill and restart it), RELOADING=1 with
# MONOTONIC_USEC and READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
NS_SOCK=$TMP/notify.sock
"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        try:
            m = s.recv(4096)
        except socket.timeout:
            break
        for line in m.decode().split("\n"):
            f.write("%.3f %s\n" % (time.monotonic(), line))
' "$NS_SOCK" "$TMP/notify.log" &
PIDS+=($!)
wait_until 5 test -S "$NS_SOCK"
# writable by the user subgated switches to, as systemd's /run/systemd/notify
chmod 666 "$NS_SOCK"
ip netns exec "$NS_GW" env NOTIFY_SOCKET="$NS_SOCK" WATCHDOG_USEC=1000000 "$SUBGATED" -c "$DEF" >"$TMP/notify-gw.log" 2>&1 &
GW_PID=$!
wait_until 10 grep -q 'READY=1' "$TMP/notify.log"
sleep 2
w1=$(grep -c 'WATCHDOG=1' "$TMP/notify.log")
kill -STOP "$GW_PID"
sleep 2
w2=$(grep -c 'WATCHDOG=1' "$TMP/notify.log")
kill -CONT "$GW_PID"
sleep 1.5
w3=$(grep -c 'WATCHDOG=1' "$TMP/notify.log")
kill -HUP "$GW_PID"
wait_until 5 grep -q 'RELOADING=1' "$TMP/notify.log"
kill -TERM "$GW_PID"
wait "$GW_PID"
rc=$?
GW_PID=""
sleep 0.3
why=""
grep -q 'STATUS=serving: table inet subgate' "$TMP/notify.log" || why="$why no STATUS;"
[ "$w1" -ge 3 ] || why="$why $w1 WATCHDOG=1 in the first 2 s;"
[ "$w2" -le $((w1 + 1)) ] || why="$why WATCHDOG=1 sent while stopped ($w1 -> $w2);"
[ "$w3" -ge $((w2 + 2)) ] || why="$why watchdog did not resume after SIGCONT ($w2 -> $w3);"
grep -q 'MONOTONIC_USEC=[0-9]' "$TMP/notify.log" || why="$why no MONOTONIC_USEC with RELOADING;"
[ "$(grep -c 'READY=1' "$TMP/notify.log")" -ge 2 ] || why="$why no READY=1 after the reload;"
grep -q 'STOPPING=1' "$TMP/notify.log" || why="$why no STOPPING=1;"
[ "$rc" = 0 ] || why="$why exit status $rc;"
if [ -z "$why" ]; then
	pass "failsafe_sdnotify (WATCHDOG=1: $w1 in 2 s, $((w2 - w1)) while stopped, $((w3 - w2)) after SIGCONT)"
else
	fail failsafe_sdnotify "$why $(tr '\n' '|' <"$TMP/notify.log" | head -c 400)"
fi

# ------------------------------------------------ nft failure at start
# Without CAP_NET_ADMIN the table cannot be loaded: subgated refuses to
# start and names the command and the cause.
ip netns exec "$NS_GW" setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	--bounding-set=-all "$SUBGATED" -c "$DEF" >"$TMP/noperm.log" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q 'event=nft_failed error="nft -f (table inet subgate): .*Operation not permitted' "$TMP/noperm.log"; then
	pass failsafe_nft_error
else
	fail failsafe_nft_error "exit $rc: $(tail -n 3 "$TMP/noperm.log")"
fi

# The table stays when subgated is gone (on_down holds), and nothing in it
# steers: the set is empty.
if in_gw nft list table inet subgate >/dev/null 2>&1 && ! in_gw nft list set inet subgate serving | grep -q elements; then
	pass failsafe_table_left_inert
else
	fail failsafe_table_left_inert "$(in_gw nft list set inet subgate serving 2>&1 | tr '\n' ' ')"
fi

loc_summary t_failsafe
