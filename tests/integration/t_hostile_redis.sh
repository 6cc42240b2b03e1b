#!/bin/bash
# t_hostile_redis.sh - subgated itself against a hostile Redis (issue 9
# item 8): the RADIUS subscriber's start-up load of the address history
# (SCAN, ZRANGE) and its subscription, the limiter and the audit index all
# talk to tests/ratelimit/fake_redis.py, one mode at a time: wrong types,
# 4 MiB bulk strings, replies that never end (a 1 GiB bulk string, an
# array of 100 million elements), records with terminal escape sequences.
# subgated must load what it can, say what it could not, stay up and
# serving (a port-25 session still passes, on the in-process fallback),
# keep control bytes out of its log and stop cleanly on SIGTERM (under
# ASan, with no report, leaks included).
# Loopback only; everything it starts ends with it.
#
#   tests/integration/t_hostile_redis.sh
#
# Environment: SUBGATED, SG_KEEP_TMP=1 (see lib_local.sh).
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_hostile_redis
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAKE=$HERE/../ratelimit/fake_redis.py

loc_need_subgated setup
loc_need setup swaks

MPORT=$(loc_free_port)
loc_bg "$PY" "$HERE/peers.py" smtpd --listen "127.0.0.1:$MPORT" \
	--store "$TMP/mx" --name mx >"$TMP/mx.log" 2>&1
wait_until 10 loc_port_open 127.0.0.1 "$MPORT" || { echo "FAIL setup: smtpd"; exit 1; }

# one MODE WANT: subgated against fake_redis.py MODE; WANT: a pattern the
# log must show (how the load ended).
one() {
	local mode=$1 want=$2 rport aport sport log=$TMP/gw-$1.log fpid
	rport=$(loc_free_port)
	aport=$(loc_free_port udp)
	sport=$(loc_free_port)
	"$PY" "$FAKE" "$rport" "$mode" & fpid=$!
	PIDS+=("$fpid")
	if ! wait_until 10 loc_port_open 127.0.0.1 "$rport"; then
		fail "${mode}_setup" "fake redis did not start"
		return
	fi
	loc_secret "$TMP/nas.secret" "s3cret"
	cat >"$TMP/gw-$mode.yaml" <<EOF
node: gw-hostile
workers: 1
listeners:
  - { listen: "127.0.0.1:$sport", mode: smtp, intercept: none, upstream: "127.0.0.1:$MPORT" }
redis: { address: "127.0.0.1:$rport", timeout: 200ms, on_failure: open }
identity:
  radius:
    listen: "127.0.0.1:$aport"
    clients:
      - { address: "127.0.0.1", secret_file: $TMP/nas.secret, name: bras1 }
audit:
  path: $TMP/audit-$mode.jsonl
log:
  level: info
EOF
	loaded() { grep -q 'event=radius_history_load' "$log"; }
	if loc_gw_start "$TMP/gw-$mode.yaml" "$log" loaded ||
		wait_until 20 loaded; then
		pass "${mode}_load_ended"
	else
		fail "${mode}_load_ended" "no radius_history_load* in 25 s: $(tail -3 "$log")"
	fi
	if grep -q -- "$want" "$log"; then
		pass "${mode}_reason_logged"
	else
		fail "${mode}_reason_logged" "no \"$want\": $(grep radius_history "$log" | head -3)"
	fi
	sleep 1
	if kill -0 "$GW_PID" 2>/dev/null; then
		pass "${mode}_alive"
	else
		fail "${mode}_alive" "$(tail -5 "$log")"
	fi
	if swaks --server "127.0.0.1:$sport" --from a@x.test --to r@y.test \
		--timeout 20 >"$TMP/swaks-$mode.log" 2>&1; then
		pass "${mode}_still_relays"
	else
		fail "${mode}_still_relays" "$(tail -4 "$TMP/swaks-$mode.log")"
	fi
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2\x9b' "$log"; then
		fail "${mode}_log_clean" "control bytes in the log: $(LC_ALL=C grep -n $'[\x1b\x07]' "$log" | head -2 | od -c | head -3)"
	else
		pass "${mode}_log_clean"
	fi
	kill -TERM "$GW_PID"
	local rc=0
	wait_until 15 sh -c "! kill -0 $GW_PID 2>/dev/null" || rc=1
	wait "$GW_PID" 2>/dev/null || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "${mode}_clean_stop"
	else
		fail "${mode}_clean_stop" "status $rc: $(tail -3 "$log")"
	fi
	if grep -q 'Sanitizer\|runtime error' "$log"; then
		fail "${mode}_sanitizers" "$(grep -m2 'Sanitizer\|runtime error' "$log")"
	else
		pass "${mode}_sanitizers"
	fi
	kill -KILL "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
}

# SCAN's cursor is an array, its keys are not strings.
one types 'event=radius_history_load_failed error="unexpected reply"'
# 4 MiB keys: skipped (longer than a key), the load ends.
one huge 'event=radius_history_loaded keys=0'
one endless 'event=radius_history_load_failed error="reply larger than'
one wide 'event=radius_history_load_failed error="reply with more than 1000000 elements'
# Assignment records whose subscriber and NAS names carry ESC, BEL, CSI:
# loaded (they are data), never written raw.
one escape 'event=radius_history_loaded keys=1 live=1'

loc_summary t_hostile_redis
