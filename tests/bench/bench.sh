#!/bin/bash
# bench.sh - subgate benchmark: subgated against direct connections and
# HAProxy 2.6 (TCP mode) on the same machine. Prints tables and ratios; it
# never asserts anything about timing. See tests/bench/README.md.
#
#   sudo tests/bench/bench.sh
#
# Environment (defaults in brackets):
#   SUBGATED      subgated binary [newest build*/proxy/subgated in the repo]
#   BENCH_MSGS    messages (= sessions) per SMTP run [5000]
#   BENCH_PAR     parallel smtp-source sessions [20]
#   BENCH_BULK    bytes per bulk run [2147483648]
#   BENCH_IDLE    idle sessions for the memory test [6000]
#   BENCH_REPS    repetitions of (a) and (b); the best is reported [3]
#   SG_KEEP_TMP=1 keep the temp dir (configs, logs)
#
# Everything runs inside network namespaces this script creates (see
# tests/integration/lib.sh): (a) and (b) on the loopback of the gateway
# namespace, (c) across the subscriber -> gateway -> "internet" topology
# with the REDIRECT rule set, so the idle sessions are real intercepted ones.
set -euo pipefail

# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

MSGS=${BENCH_MSGS:-5000}
PAR=${BENCH_PAR:-20}
BULK=${BENCH_BULK:-2147483648}
IDLE=${BENCH_IDLE:-6000}
REPS=${BENCH_REPS:-3}

# Loopback ports inside the gateway namespace.
P_SINK=2525        # smtp-sink
P_SG_SMTP=12525    # subgated, mode smtp, intercept none -> 127.0.0.1:2525
P_HA_SMTP=22525    # haproxy, mode tcp -> 127.0.0.1:2525
P_BULK=5001        # sgbulk sink
P_SG_BULK=15001    # subgated, mode passthrough, intercept none -> 127.0.0.1:5001
P_HA_BULK=25001    # haproxy, mode tcp, option splice-auto -> 127.0.0.1:5001

HA_PID=""

say() { printf '%s\n' "$*"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else printf "-" }'; }

sg_bench_config() {
	local f=$SG_TMP/bench.yaml
	cat >"$f" <<EOF
node: bench
workers: 2
listeners:
  - listen: "[::]:10025"
    mode: smtp
    intercept: redirect
  - listen: "[::]:10587"
    mode: passthrough
    intercept: redirect
  - listen: "127.0.0.1:$P_SG_SMTP"
    mode: smtp
    intercept: none
    upstream: "127.0.0.1:$P_SINK"
  - listen: "127.0.0.1:$P_SG_BULK"
    mode: passthrough
    intercept: none
    upstream: "127.0.0.1:$P_BULK"
upstream: { connect_timeout: 5s, source: gateway }
limits: { buffer: 256k, max_sessions: 0, session_max_time: 1h, per_source: 0 }
smtp: { bare_newline: normalize, timeouts: {greeting: 5m, command: 5m, data_init: 2m, data_block: 3m, data_end: 10m, client_idle: 5m} }
audit: { path: "$SG_TMP/audit-bench.jsonl" }
log: { level: info }
shutdown: { drain_timeout: 5s }
EOF
	printf '%s\n' "$f"
}

# ha_config [intercept]: HAProxy's config; with "intercept" also the
# frontend for the redirected port-25 connections of (c) (subgated must not
# be running then: both want :10025).
ha_config() {
	local f=$SG_TMP/haproxy.cfg
	cat >"$f" <<EOF
global
    maxconn 7500
    nbthread 2
    log stderr format short local0 notice

defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m
    maxconn 7500

frontend smtp
    bind 127.0.0.1:$P_HA_SMTP
    default_backend smtp_sink
backend smtp_sink
    server sink 127.0.0.1:$P_SINK

frontend bulk
    bind 127.0.0.1:$P_HA_BULK
    option splice-auto
    default_backend bulk_sink
backend bulk_sink
    option splice-auto
    server sink 127.0.0.1:$P_BULK

EOF
	if [ "${1:-}" = intercept ]; then
		cat >>"$f" <<EOF

# (c): the redirected port-25 connections, to the MX they were meant for.
frontend intercepted
    bind :::10025 v4v6
    default_backend mx
backend mx
    server mx $MX4:25
EOF
	fi
	printf '%s\n' "$f"
}

ha_start() {
	ip netns exec "$NS_GW" bash -c 'ulimit -n 65536 2>/dev/null || ulimit -n 20000; exec "$@"' _ \
		haproxy -db -f "$(ha_config "${1:-}")" >"$SG_TMP/haproxy.log" 2>&1 &
	HA_PID=$!
	wait_until 10 listening "$NS_GW" "$P_HA_SMTP" || {
		say "haproxy did not start: $(tail -n 5 "$SG_TMP/haproxy.log")"
		return 1
	}
}

ha_stop() {
	[ -n "$HA_PID" ] || return 0
	kill -TERM "$HA_PID" 2>/dev/null || true
	wait "$HA_PID" 2>/dev/null || true
	HA_PID=""
}

# rss_kib PID: resident set size (both proxies are one process with threads).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# smtp_run PORT: sessions per second for one smtp-source run ("" on error).
smtp_run() {
	local port=$1 t0 t1 out=$SG_TMP/smtp-source.out
	t0=$(date +%s.%N)
	if ! in_gw smtp-source -s "$PAR" -m "$MSGS" -l 1000 -M bench.example \
		-f sender@bench.example -t rcpt@bench.example "127.0.0.1:$port" >"$out" 2>&1; then
		echo ""
		return 0
	fi
	t1=$(date +%s.%N)
	if grep -qiE 'error|fatal|warning' "$out"; then
		echo ""
		return 0
	fi
	awk -v n="$MSGS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

# best_of CMD...: run REPS times, print the best (largest) number.
best_of() {
	local i v best=""
	for ((i = 0; i < REPS; i++)); do
		v=$("$@")
		[ -n "$v" ] || continue
		if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }'; then
			best=$v
		fi
	done
	echo "$best"
}

# bulk_run PORT: Mbit/s of one BULK-byte transfer ("" on error).
bulk_run() {
	local port=$1 out
	out=$(in_gw "$SG_TMP/sgbulk" source 127.0.0.1 "$port" "$BULK" 2>&1) || {
		echo ""
		return 0
	}
	# The sink must have got every byte.
	sleep 0.2
	if [ "$(tail -n 1 "$SG_TMP/bulk-sink.out")" != "sink $BULK" ]; then
		echo ""
		return 0
	fi
	awk '{ print $4 }' <<<"$out"
}

bench_idle() {
	local who=$1 pid=$2 before after c=$SG_TMP/idle-$1.json n
	before=$(rss_kib "$pid")
	rm -f "$SG_TMP/hold-$who" "$SG_TMP/hold-$who.done"
	ip netns exec "$NS_SUB" bash -c 'ulimit -n 20000; exec "$@"' _ "$PY" "$SG_DIR/clients.py" many \
		--dst "$MX4" --count "$IDLE" --timeout 120 --hold-file "$SG_TMP/hold-$who" --hold 120 >"$c" 2>&1 &
	local cpid=$!
	wait_until 150 test -e "$SG_TMP/hold-$who" || true
	sleep 1
	after=$(rss_kib "$pid")
	n=$(in_gw ss -Htn state established "( sport = :10025 )" | wc -l)
	touch "$SG_TMP/hold-$who.done"
	wait "$cpid" || true
	printf '%s %s %s %s %s\n' "$before" "$after" "$n" \
		"$(jq -r '.greeted' "$c" 2>/dev/null || echo 0)" \
		"$(awk -v a="$before" -v b="$after" -v n="$IDLE" 'BEGIN { printf "%.1f", (b - a) / n }')"
}

main() {
	local sg_pid sink_pid bulk_pid cfg
	if ! sg_netns_possible; then
		say "SKIP: network namespaces unavailable"
		exit 0
	fi
	for t in smtp-source smtp-sink haproxy gcc jq; do
		command -v "$t" >/dev/null || { say "SKIP: $t not installed (deploy/install-deps.sh)"; exit 0; }
	done
	sg_init
	find_subgated || { say "no subgated binary: build it (cmake --build BUILD --target subgated) or set SUBGATED"; exit 1; }
	ulimit -n 20000 2>/dev/null || true
	gcc -O2 -Wall -o "$SG_TMP/sgbulk" "$BENCH_DIR/sgbulk.c"

	topo_up
	nft_load redirect
	say "subgate benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
	say "subgated: $SUBGATED"
	say "$(haproxy -v | head -n 1)"
	say ""

	# Peers: smtp-sink on loopback (a) and as the MX (c), the bulk sink (b).
	in_gw bash -c 'ulimit -n 20000; exec "$@"' _ smtp-sink -u nobody -m 2000 "127.0.0.1:$P_SINK" 4096 \
		>"$SG_TMP/sink-lo.log" 2>&1 &
	sink_pid=$!
	in_net bash -c 'ulimit -n 20000; exec "$@"' _ smtp-sink -u nobody -h mx.example.net -m 12000 -t 300 \
		"inet:$MX4:25" 16384 >"$SG_TMP/sink-mx.log" 2>&1 &
	in_gw "$SG_TMP/sgbulk" sink 127.0.0.1 "$P_BULK" >"$SG_TMP/bulk-sink.out" 2>&1 &
	bulk_pid=$!
	if ! { wait_until 10 listening "$NS_GW" "$P_SINK" && wait_until 10 listening "$NS_NET" 25 &&
		wait_until 10 listening "$NS_GW" "$P_BULK"; }; then
		say "peers did not start"
		exit 1
	fi

	cfg=$(sg_bench_config)
	gw_start "$cfg" || exit 1
	sg_pid=$GW_PID
	wait_until 10 listening "$NS_GW" "$P_SG_SMTP" || { say "subgated bench listeners missing"; exit 1; }
	ha_start || exit 1

	# ---- (a) SMTP sessions per second
	local a_direct a_ha a_sg
	a_direct=$(best_of smtp_run "$P_SINK")
	a_ha=$(best_of smtp_run "$P_HA_SMTP")
	a_sg=$(best_of smtp_run "$P_SG_SMTP")
	say "(a) SMTP sessions/s: smtp-source -s $PAR -m $MSGS -l 1000, one message per session, best of $REPS"
	printf '    %-34s %12s %10s %11s\n' "path" "sessions/s" "vs direct" "vs haproxy"
	printf '    %-34s %12s %10s %11s\n' "smtp-source -> smtp-sink" "${a_direct:-error}" "1.00" "$(ratio "$a_direct" "$a_ha")"
	printf '    %-34s %12s %10s %11s\n' "  via haproxy (mode tcp)" "${a_ha:-error}" "$(ratio "$a_ha" "$a_direct")" "1.00"
	printf '    %-34s %12s %10s %11s\n' "  via subgated (mode smtp)" "${a_sg:-error}" "$(ratio "$a_sg" "$a_direct")" "$(ratio "$a_sg" "$a_ha")"
	say ""

	# ---- (b) bulk pass-through
	local b_direct b_ha b_sg
	b_direct=$(best_of bulk_run "$P_BULK")
	b_ha=$(best_of bulk_run "$P_HA_BULK")
	b_sg=$(best_of bulk_run "$P_SG_BULK")
	say "(b) bulk one-way transfer of $BULK bytes over loopback, best of $REPS (Mbit/s)"
	printf '    %-34s %12s %10s %11s\n' "path" "Mbit/s" "vs direct" "vs haproxy"
	printf '    %-34s %12s %10s %11s\n' "sgbulk source -> sink" "${b_direct:-error}" "1.00" "$(ratio "$b_direct" "$b_ha")"
	printf '    %-34s %12s %10s %11s\n' "  via haproxy (splice-auto)" "${b_ha:-error}" "$(ratio "$b_ha" "$b_direct")" "1.00"
	printf '    %-34s %12s %10s %11s\n' "  via subgated (passthrough)" "${b_sg:-error}" "$(ratio "$b_sg" "$b_direct")" "$(ratio "$b_sg" "$b_ha")"
	say ""

	# ---- (c) memory per idle intercepted session
	local c_sg c_ha
	ha_stop
	c_sg=$(bench_idle subgated "$sg_pid")
	gw_stop
	ha_start intercept || exit 1
	wait_until 10 listening "$NS_GW" 10025 || { say "haproxy not on :10025"; exit 1; }
	c_ha=$(bench_idle haproxy "$HA_PID")
	ha_stop
	say "(c) RSS with $IDLE idle sessions after the greeting (subscriber ns -> REDIRECT -> proxy -> smtp-sink MX)"
	printf '    %-20s %12s %12s %12s %10s %12s\n' "proxy" "RSS before" "RSS after" "established" "greeted" "KiB/session"
	read -r b a n g k <<<"$c_sg"
	printf '    %-20s %10s K %10s K %12s %10s %12s\n' "subgated" "$b" "$a" "$n" "$g" "$k"
	local k_sg=$k
	read -r b a n g k <<<"$c_ha"
	printf '    %-20s %10s K %10s K %12s %10s %12s\n' "haproxy" "$b" "$a" "$n" "$g" "$k"
	say "    subgated / haproxy KiB per session: $(ratio "$k_sg" "$k")"
	say ""
	say "Ratios > 1.00 in (a)/(b) mean faster than the anchor; in (c) more memory than haproxy."
	kill "$sink_pid" "$bulk_pid" 2>/dev/null || true
}

main "$@"
