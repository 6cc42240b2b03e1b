#!/bin/bash
# bench_policy.sh - what the port-25 policy costs: SMTP sessions per second
# through subgated with limits on (Redis) against limits off, in the same
# run; Redis round trips per message read from INFO commandstats (every
# EVALSHA: the decisions and the calls that only give leases back), the
# redis.call()s and the time Redis spent in them; decisions per second of
# the limiter alone (bench_ratelimit). Everything on loopback: its own
# redis-server, Postfix smtp-sink and smtp-source. A benchmark, not a test:
# it prints numbers and never fails because something is slow.
#
#   tests/bench/bench_policy.sh
#
# Environment (defaults in brackets):
#   SUBGATED        subgated binary [newest build*/proxy/subgated; use a
#                   build without sanitizers]
#   BENCH_RATELIMIT bench_ratelimit binary [next to SUBGATED's build]
#   BENCH_MSGS      messages (= sessions) per run [5000]
#   BENCH_PAR       parallel smtp-source sessions [20]
#   BENCH_REPS      repetitions, off and on alternating; the best of each [3]
#   SG_KEEP_TMP=1   keep the temp dir
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# started as root, subgated switches to this user (docs/operator-guide.md
# "Privileges"): the one install-deps.sh creates
[ "$(id -u)" -ne 0 ] || "$ROOT/deploy/install-user.sh"
SUBGATED=${SUBGATED:-$(ls -t "$ROOT"/build*/proxy/subgated 2>/dev/null | head -1)}
BENCH_RATELIMIT=${BENCH_RATELIMIT:-$(dirname "$(dirname "$SUBGATED")")/ratelimit/bench_ratelimit}
MSGS=${BENCH_MSGS:-5000}
PAR=${BENCH_PAR:-20}
REPS=${BENCH_REPS:-3}
TMP=$(mktemp -d /tmp/sg_benchpol.XXXXXX)
PIDS=()

cleanup() {
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ -n "${SG_KEEP_TMP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in redis-server redis-cli smtp-sink smtp-source; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 0; }
done
[ -x "$SUBGATED" ] || { echo "SKIP: no subgated binary (set SUBGATED)"; exit 0; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
RPORT=$(free_port); SINK=$(free_port); P_OFF=$(free_port); P_ON=$(free_port)

redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
	--logfile "$TMP/redis.log" --dir "$TMP" &
PIDS+=($!)
rcli() { redis-cli -p "$RPORT" "$@"; }
for _ in $(seq 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done
smtp-sink -u "$(id -un)" "127.0.0.1:$SINK" 1024 &
PIDS+=($!)

# Limits on: every kind at every scope, generous enough that nothing is
# refused, so both runs do the same SMTP work.
cat > "$TMP/on.yaml" <<EOF
node: bench-on
workers: 2
listeners:
  - { listen: "127.0.0.1:$P_ON", mode: smtp, intercept: none, upstream: "127.0.0.1:$SINK" }
redis: { address: "127.0.0.1:$RPORT", timeout: 50ms, on_failure: open }
policy:
  default_class: res
  classes:
    res:
      action: tempfail
      lockout: { violations: 5, within: 10m, duration: 1h }
      mx: { connections: 10000000/1m, concurrent: 100000, messages: 10000000/1h,
            recipients: 10000000/1h, bytes: 1000g/1h, destinations: 1000/1h }
  destination: { connections: 10000000/1m, messages: 10000000/1h }
  global: { connections: 10000000/1m, messages: 10000000/1h }
audit: { path: /dev/null, index: none }
log: { level: warn }
EOF
cat > "$TMP/off.yaml" <<EOF
node: bench-off
workers: 2
listeners:
  - { listen: "127.0.0.1:$P_OFF", mode: smtp, intercept: none, upstream: "127.0.0.1:$SINK" }
audit: { path: /dev/null }
log: { level: warn }
EOF
"$SUBGATED" -c "$TMP/on.yaml" 2> "$TMP/on.log" &
ON_PID=$!
PIDS+=($!)
"$SUBGATED" -c "$TMP/off.yaml" 2> "$TMP/off.log" &
OFF_PID=$!
PIDS+=($!)
REDIS_PID=${PIDS[0]}
sleep 1

evalsha() {	# evalsha calls so far
	rcli info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0
}

inner_calls() {	# calls of every other command (the scripts' redis.call()s)
	rcli info commandstats | tr -d '\r' | grep -v '^cmdstat_\(evalsha\|info\|ping\|script\)' |
		sed -n 's/^cmdstat_[^:]*:calls=\([0-9]*\),.*/\1/p' | awk '{ t += $1 } END { print t + 0 }'
}

evalsha_usec() {	# microseconds Redis spent inside evalsha so far
	rcli info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_evalsha:calls=[0-9]*,usec=\([0-9]*\),.*/\1/p' | grep . || echo 0
}

cpu() {	# cpu PID: user+system seconds so far
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

run() {	# run PORT: sessions per second of one smtp-source run
	local t0 t1
	t0=$(date +%s.%N)
	smtp-source -s "$PAR" -m "$MSGS" -l 1000 -f a@example.org \
		-t b@example.net "127.0.0.1:$1" >/dev/null 2>&1
	t1=$(date +%s.%N)
	awk -v n="$MSGS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

best_off=0
best_on=0
e0=$(evalsha)
u0=$(evalsha_usec)
i0=$(inner_calls)
c_on=0; c_off=0; c_redis=0
for r in $(seq "$REPS"); do
	a=$(cpu "$OFF_PID")
	off=$(run "$P_OFF")
	c_off=$(awk -v t="$c_off" -v a="$a" -v b="$(cpu "$OFF_PID")" 'BEGIN { print t + b - a }')
	a=$(cpu "$ON_PID"); ra=$(cpu "$REDIS_PID")
	on=$(run "$P_ON")
	c_on=$(awk -v t="$c_on" -v a="$a" -v b="$(cpu "$ON_PID")" 'BEGIN { print t + b - a }')
	c_redis=$(awk -v t="$c_redis" -v a="$ra" -v b="$(cpu "$REDIS_PID")" 'BEGIN { print t + b - a }')
	echo "run $r: limits off $off sessions/s, limits on $on sessions/s"
	[ "$off" -gt "$best_off" ] && best_off=$off
	[ "$on" -gt "$best_on" ] && best_on=$on
done
e1=$(evalsha)
u1=$(evalsha_usec)
i1=$(inner_calls)
sent=$((MSGS * REPS))
echo
echo "SMTP sessions/s (smtp-source -s $PAR -m $MSGS -l 1000, best of $REPS, 2 workers)"
echo "  limits off:            $best_off"
echo "  limits on (Redis):     $best_on"
awk -v a="$best_on" -v b="$best_off" 'BEGIN { printf "  ratio on/off:          %.3f (target >= 0.9)\n", a / b }'
awk -v n="$((MSGS * REPS))" -v off="$c_off" -v on="$c_on" -v r="$c_redis" 'BEGIN {
	printf "  CPU per 1000 sessions: subgated off %.3f s, subgated on %.3f s, redis-server %.3f s\n",
	    off * 1000 / n, on * 1000 / n, r * 1000 / n }'
echo "  cores: $(nproc) (shared by smtp-source, smtp-sink, subgated and redis-server)"
echo
echo "Redis round trips (INFO commandstats, limits on, $sent messages, one each)"
echo "  evalsha calls:         $((e1 - e0))"
awk -v e="$((e1 - e0))" -v m="$sent" -v u="$((u1 - u0))" -v i="$((i1 - i0))" 'BEGIN {
	printf "  per message:           %.4f\n", e / m
	printf "  per decision point:    %.4f (4 points: connect, MAIL, RCPT, end of data;\n", e / m / 4
	printf "                         every call counted, also those that only give\n"
	printf "                         leases back)\n"
	printf "  give-back-only calls:  %d (%.4f per session: session-end lease releases\n", e - 4 * m, (e - 4 * m) / m
	printf "                         that no decision carried within 1 ms)\n"
	printf "  redis.call()s:         %.2f per message\n", i / m
	printf "  Redis time in evalsha: %.1f us per call, %.1f us per message\n", u / e, u / m }'
grep -q 'ratelimit_fallback' "$TMP/on.log" &&
	echo "  note: the limiter fell back during the run (see $TMP/on.log)"
echo
if [ -x "$BENCH_RATELIMIT" ]; then
	echo "The limiter alone (bench_ratelimit -p $RPORT -n 100000)"
	"$BENCH_RATELIMIT" -p "$RPORT" -n 100000 2>&1 | sed 's/^/  /'
else
	echo "bench_ratelimit not found at $BENCH_RATELIMIT: skipped"
fi
