#!/usr/bin/env bash
# bench_trace.sh - `subgate trace` over a Redis index of N sessions (default
# 1,000,000, each with one transaction: 2N records, 8 index keys per pair).
#
# Starts its own redis-server (loopback, random port, no persistence) in a
# temp dir, fills it with bench_trace_gen | redis-cli --pipe (the protocol
# stream subgated's index writer sends, keys from the same code), then runs
# the real CLI, one process per query as an abuse desk would:
#   by address + source port + time, by Message-ID, by queue id
# and prints the wall time per command (fork/exec, connect, query, output):
# median, p95 and max in ms. Target: under 50 ms each.
#
# usage: tests/bench/bench_trace.sh [N] [QUERIES]
#   BUILD=dir   build directory (default: build-bench, Release, made if needed)
set -euo pipefail

N=${1:-1000000}
Q=${2:-200}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
TMP=$(mktemp -d /tmp/sg_bench_trace.XXXXXX)
REDIS_PID=""

cleanup() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ ! -x "$BUILD/proxy/cli/subgate" ] || [ ! -x "$BUILD/tests/bench_trace_gen" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target subgate bench_trace_gen -j"$(nproc)" >/dev/null
SUBGATE=$BUILD/proxy/cli/subgate

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$TMP" --logfile "$TMP/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "# filling the index: $N sessions ($((2 * N)) records)"
t0=$(date +%s%N)
"$BUILD/tests/bench_trace_gen" "$N" "$TMP/probes" | redis-cli -p "$PORT" --pipe >"$TMP/pipe.log"
t1=$(date +%s%N)
tail -1 "$TMP/pipe.log"
echo "fill: $(( (t1 - t0) / 1000000 )) ms, keys: $(redis-cli -p "$PORT" dbsize)," \
	"used_memory: $(redis-cli -p "$PORT" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')"

# run_queries NAME ARGS-TEMPLATE: one subgate process per probe line.
run_queries() {
	local name=$1 field=$2 out=$TMP/times.$1 n=0 miss=0
	: >"$out"
	while read -r addr port at mid qid; do
		[ "$n" -ge "$Q" ] && break
		n=$((n + 1))
		case $field in
		addr) set -- --addr "$addr" --port "$port" --at "$at" ;;
		mid) set -- --message-id "$mid" ;;
		qid) set -- --queue-id "$qid" ;;
		esac
		local s e rc=0
		s=$(date +%s%N)
		"$SUBGATE" trace --redis "127.0.0.1:$PORT" "$@" >/dev/null 2>&1 || rc=$?
		e=$(date +%s%N)
		[ "$rc" -ne 0 ] && miss=$((miss + 1))
		echo $(( (e - s) / 1000 )) >>"$out"
	done <"$TMP/probes"
	sort -n "$out" | awk -v name="$name" -v miss="$miss" '
		{ v[NR] = $1 }
		END {
			p50 = v[int((NR + 1) / 2)]; p95 = v[int(NR * 0.95 + 0.5)]; mx = v[NR]
			printf "%-24s queries %d  not found %d  median %.1f ms  p95 %.1f ms  max %.1f ms\n",
			    name, NR, miss, p50 / 1000, p95 / 1000, mx / 1000
		}'
}

echo "# subgate trace --redis, wall time per command"
run_queries "address+port+time" addr
run_queries "message-id" mid
run_queries "queue-id" qid
echo "# one example (address+port+time):"
read -r addr port at _ <"$TMP/probes"
"$SUBGATE" trace --redis "127.0.0.1:$PORT" --addr "$addr" --port "$port" --at "$at"
