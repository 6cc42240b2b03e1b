#!/bin/bash
# bench_radius.sh - RADIUS accounting requests answered per second by
# subgated, on loopback: with Redis (every response waits for the audit file
# write and Redis's acknowledgement) and without Redis (file only).
#
#   tests/bench/bench_radius.sh [N] [WINDOW]
#
# SUBGATED=/path/to/subgated (use a release build, not a sanitizer build);
# the sender (bench_radius.c) is compiled here with cc -O2.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# started as root, subgated switches to this user (docs/operator-guide.md
# "Privileges"): the one install-deps.sh creates
[ "$(id -u)" -ne 0 ] || "$ROOT/deploy/install-user.sh"
N=${1:-100000}
WINDOW=${2:-512}
SUBGATED=${SUBGATED:-$(ls -t "$ROOT"/build*/proxy/subgated | head -1)}
TMP=$(mktemp -d /tmp/sg_bench_radius.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/common" -I"$ROOT/proxy" \
	"$ROOT/tests/bench/bench_radius.c" "$ROOT/proxy/radius.c" \
	"$ROOT/common/err.c" "$ROOT/common/addr.c" -lcrypto -o "$TMP/bench_radius"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RPORT=$(port)
APORT=$(port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
	--logfile "$TMP/redis.log" --dir "$TMP" &
PIDS+=($!)
echo bench-secret > "$TMP/nas.secret"
chmod 600 "$TMP/nas.secret"

run() {	# run LABEL REDIS_YAML
	local label=$1 redis=$2 gw
	rm -f "$TMP/audit.jsonl"
	cat > "$TMP/gw.yaml" <<YAML
node: bench
workers: 1
listeners:
  - { listen: "127.0.0.1:$(port)", mode: smtp, intercept: none, upstream: "127.0.0.1:9" }
$redis
identity:
  radius:
    listen: "127.0.0.1:$APORT"
    clients: [ { address: "127.0.0.1", secret_file: $TMP/nas.secret, name: bench } ]
audit: { path: $TMP/audit.jsonl, index: none }
YAML
	"$SUBGATED" -c "$TMP/gw.yaml" 2> "$TMP/gw.$label.log" &
	gw=$!
	sleep 1
	echo "== $label (N=$N window=$WINDOW)"
	"$TMP/bench_radius" "$APORT" bench-secret "$N" "$WINDOW"
	kill -TERM $gw
	wait $gw || true
	grep -o 'event=radius_stats_final.*' "$TMP/gw.$label.log" | cut -c1-400
	echo "audit lines: $(wc -l < "$TMP/audit.jsonl")"
}
sleep 0.3
run redis "redis: { address: \"127.0.0.1:$RPORT\", timeout: 500ms }"
echo "redis keys: $(redis-cli -p "$RPORT" dbsize)  used_memory: $(redis-cli -p "$RPORT" info memory | sed -n 's/^used_memory_human://p')"
redis-cli -p "$RPORT" flushall >/dev/null
run file_only ""
