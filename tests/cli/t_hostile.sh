#!/bin/bash
# t_hostile.sh - `subgate trace` and `subgate locks` against a hostile
# Redis (tests/ratelimit/fake_redis.py: wrong types, 4 MiB bulk strings,
# replies that never end, records with terminal escape sequences) and hostile audit files: no
# crash, no sanitizer report, no control byte on the analyst's terminal
# (table and --json), and durations that overflow are refused
# (issue 9 item 8). Loopback only; everything it starts ends with it.
#
#   tests/cli/t_hostile.sh path/to/subgate
SUBGATE=${1:?usage: t_hostile.sh SUBGATE}
NAME=t_hostile
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FAKE=$HERE/../ratelimit/fake_redis.py

# fake MODE - start a fake Redis; its port in PORT.
fake() {
	PORT=$(free_port)
	python3 "$FAKE" "$PORT" "$1" & PIDS+=($!)
	for _ in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" \
		    2>/dev/null && return 0
		sleep 0.1
	done
	echo "fake redis ($1) did not start"; exit 1
}

# run NAME OUT ARGS... - subgate ARGS; stdout to OUT, stderr to OUT.err;
# fails on a signal or a sanitizer report. Exit status in RC.
run() {
	local name=$1 out=$2
	shift 2
	RC=0
	timeout 60 "$SUBGATE" "$@" >"$out" 2>"$out.err" || RC=$?
	if [ "$RC" -ge 124 ] || grep -q 'Sanitizer\|runtime error' "$out.err"; then
		fail "$name" "status $RC: $(head -c 400 "$out.err")"
		return 1
	fi
	return 0
}

# clean NAME FILE... - no ESC, BEL, C1 CSI or other control byte but \n.
clean() {
	local name=$1 f
	shift
	for f in "$@"; do
		if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]\|\xc2\x9b' "$f"; then
			fail "$name" "control bytes reach the terminal in $(basename "$f"): $(head -c 300 "$f" | od -c | head -3)"
			return 1
		fi
	done
	pass "$name"
}

for t in python3 timeout; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 0; }
done
AT=2030-01-01T00:00:00Z

# Escape sequences in records from Redis: table and --json.
fake escape
R=(--redis 127.0.0.1:$PORT)
run esc_sub "$TMP/sub" trace "${R[@]}" --subscriber mallory --from -1h --to now &&
	clean trace_redis_table_escaped "$TMP/sub" "$TMP/sub.err"
grep -q 'mallory\\x1b' "$TMP/sub" && pass trace_redis_table_shows_x1b ||
	fail trace_redis_table_shows_x1b "$(cat "$TMP/sub")"
run esc_sub_json "$TMP/subj" trace "${R[@]}" --subscriber mallory --from -1h --to now --json &&
	clean trace_redis_json_escaped "$TMP/subj" "$TMP/subj.err"
grep -qi 'mallory\\u001b' "$TMP/subj" && pass trace_redis_json_u001b ||
	fail trace_redis_json_u001b "$(cat "$TMP/subj")"
run esc_addr "$TMP/addr" trace "${R[@]}" --addr 100.64.3.7 --at "$AT" &&
	clean trace_holder_escaped "$TMP/addr" "$TMP/addr.err"
grep -q 'Held at' "$TMP/addr" && pass trace_holder_found ||
	fail trace_holder_found "$(cat "$TMP/addr" "$TMP/addr.err")"
run esc_addr_json "$TMP/addrj" trace "${R[@]}" --addr 100.64.3.7 --at "$AT" --json &&
	clean trace_holder_json_escaped "$TMP/addrj" "$TMP/addrj.err"
run esc_locks "$TMP/locks" locks --redis 127.0.0.1:$PORT list &&
	clean locks_error_escaped "$TMP/locks" "$TMP/locks.err"

# Wrong types everywhere: an error or nothing found, never a crash.
fake types
R=(--redis 127.0.0.1:$PORT)
for q in "--subscriber x --from -1h --to now" "--addr 100.64.3.7 --at $AT" \
    "--message-id x --from -1h --to now"; do
	# shellcheck disable=SC2086
	run "types $q" "$TMP/t" trace "${R[@]}" $q &&
		[ "$RC" -le 2 ] && pass "trace_types ${q%% *}"
done
run types_locks "$TMP/tl" locks --redis 127.0.0.1:$PORT list &&
	[ "$RC" -eq 2 ] && pass locks_types_refused

# 4 MiB bulk strings where keys, ids and records are expected.
fake huge
R=(--redis 127.0.0.1:$PORT)
for q in "--subscriber x --from -1h --to now" "--addr 100.64.3.7 --at $AT"; do
	# shellcheck disable=SC2086
	run "huge $q" "$TMP/h" trace "${R[@]}" $q &&
		[ "$RC" -le 2 ] && pass "trace_huge ${q%% *}"
done

# Replies that never end: a 1 GiB bulk string and an array of 100 million
# elements, streamed until the client hangs up. hiredis 0.14.1 alone would
# buffer the one and allocate the other; the bounds of redis_uv.h stop both
# (an error naming the bound, at once, not after a gigabyte).
for m in endless wide; do
	fake $m
	R=(--redis 127.0.0.1:$PORT)
	[ $m = endless ] && want='reply larger than' || want='more than 1000000 elements'
	for q in "--subscriber x --from -1h --to now" "--addr 100.64.3.7 --at $AT"; do
		# shellcheck disable=SC2086
		run "$m $q" "$TMP/e" trace "${R[@]}" $q || continue
		if [ "$RC" -eq 2 ] && grep -q "$want" "$TMP/e.err"; then
			pass "trace_${m}_bounded ${q%% *}"
		else
			fail "trace_${m}_bounded ${q%% *}" "status $RC: $(head -c 300 "$TMP/e.err")"
		fi
	done
	run "$m locks" "$TMP/el" locks --redis 127.0.0.1:$PORT list || continue
	if [ "$RC" -eq 2 ] && grep -q "$want" "$TMP/el.err"; then
		pass "locks_${m}_bounded"
	else
		fail "locks_${m}_bounded" "status $RC: $(head -c 300 "$TMP/el.err")"
	fi
done

# A hostile audit file: the same escapes, read from disk.
python3 - "$TMP/audit.jsonl" <<'EOF'
import json, sys
esc = "\x1b]0;pwned\x07\x1b[31mevil\x9b2J"
rec = {"v": 1, "id": "e1", "type": "session", "node": "gw9",
       "start": "2030-01-01T00:00:00.000Z", "start_ms": 1000,
       "subscriber": "mallory" + esc, "identity": "static",
       "class": "res" + esc, "src": "100.64.3.7", "src_port": 40000,
       "dst": "192.0.2.25", "dst_port": 25, "transactions": 0}
asg = {"v": 1, "type": "assignment", "node": "gw9", "event": "start",
       "time": "2030-01-01T00:00:00.000Z", "subscriber": "mallory" + esc,
       "class": "residential", "prefix": "100.64.3.7/32",
       "start": "2030-01-01T00:00:00.000Z", "start_ms": 1000,
       "nas": "192.0.2.10", "nas_name": "bras" + esc,
       "acct_session_id": "s1", "calling_station_id": "", "source": "radius"}
with open(sys.argv[1], "w") as f:
    f.write(json.dumps(rec) + "\n" + json.dumps(asg) + "\n")
EOF
run file_sub "$TMP/f" trace --file "$TMP/audit.jsonl" --subscriber "mallory" --from 2029-12-31T00:00:00Z --to 2030-01-02T00:00:00Z &&
	clean trace_file_table_escaped "$TMP/f" "$TMP/f.err"
run file_addr "$TMP/fa" trace --file "$TMP/audit.jsonl" --addr 100.64.3.7 --at "$AT" &&
	clean trace_file_holder_escaped "$TMP/fa" "$TMP/fa.err"
grep -q 'bras%1B' "$TMP/fa" && pass trace_file_holder_shows_escape ||
	fail trace_file_holder_shows_escape "$(cat "$TMP/fa")"

# Durations: an overflow is refused, not wrapped.
for d in 99999999999999999d 9223372036854775807ms 3000000000000000s \
    1000000000000000h 153722867280912931m +5m " 5m" -5m 5x; do
	run "dur $d" "$TMP/d" trace --file "$TMP/audit.jsonl" --subscriber x --from -1h --to now --lookback "$d" || continue
	if [ "$RC" -eq 2 ] && grep -q 'bad duration' "$TMP/d.err"; then
		pass "duration_refused [$d]"
	else
		fail "duration_refused [$d]" "status $RC: $(cat "$TMP/d.err")"
	fi
done
run "from overflow" "$TMP/d" trace --file "$TMP/audit.jsonl" --subscriber x --from -99999999999999999d --to now
[ "$RC" -eq 2 ] && pass from_overflow_refused || fail from_overflow_refused "status $RC"
run "limit" "$TMP/d" trace --file "$TMP/audit.jsonl" --subscriber x --from -1h --to now --limit -1
[ "$RC" -eq 2 ] && pass limit_negative_refused || fail limit_negative_refused "status $RC"

finish
