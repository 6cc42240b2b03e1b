# shellcheck shell=bash
# lib.sh - test topology for subgate's integration tests. Source it.
#
#   sub ns (subscriber)          gw ns (gateway, subgated)        net ns ("internet")
#   100.64.0.2/24  --- veth ---  100.64.0.1/24 | 203.0.113.1/24 --- veth --- 203.0.113.10 MX (smtp-sink)
#                                                                            203.0.113.20 MSA (aiosmtpd, AUTH, STARTTLS)
#                                                                            203.0.113.30 pass-through peer :587 :465
#                                                                            203.0.113.40 MX that resets mid-DATA
#                                                                            203.0.113.41 MX that never greets
#                                                                            203.0.113.99 nobody (connect failure)
#
# Only documentation / shared / ULA addresses, all inside namespaces this
# script creates (named sg<PID>-sub/-gw/-net). Nothing is routed anywhere
# else: the gateway namespace has no default route, and no namespace has a
# link to the host's network. sg_cleanup (installed as an EXIT trap by
# sg_init) kills every process left in these namespaces, deletes them and
# removes the temp dir, on success, failure and Ctrl-C alike.

# Names used by the scripts that source this file:
# shellcheck disable=SC2034
SG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SG_ROOT=$(cd "$SG_DIR/../.." && pwd)
PY=/usr/bin/python3
SG_ID=sg$$
NS_SUB=$SG_ID-sub
NS_GW=$SG_ID-gw
NS_NET=$SG_ID-net
SG_TMP=""
SG_NS_MADE=()

SUB4=100.64.0.2
SUB6=fd00:64::2
GWSUB4=100.64.0.1
GWSUB6=fd00:64::1
GWNET4=203.0.113.1
GWNET6=fd00:203::1
MX4=203.0.113.10
MX6=fd00:203::10
QMX4=203.0.113.11
QMX6=fd00:203::11
MSA4=203.0.113.20
MSA6=fd00:203::20
PT4=203.0.113.30
PT6=fd00:203::30
RST4=203.0.113.40
SILENT4=203.0.113.41
NOBODY4=203.0.113.99
NOBODY6=fd00:203::99
MSA_USER=alice@home.example
MSA_PASS='Pw-9f3Kq7ZxRvT2'

sg_log() { printf '%s\n' "$*" >&2; }

# A subgated built with SUBGATE_SANITIZE (run-all.sh's ASan stage) dies at
# its first report, and sg_cleanup fails the script on any report left in
# a log; a release build ignores both.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
SG_SAN_PATTERN='ERROR: (Address|Leak)Sanitizer|runtime error: '

# sg_sanitizer_check: "FAIL sanitizer: LOG: first line" for every *.log
# under SG_TMP holding a sanitizer report (subgated's stderr goes there);
# false if there was one.
sg_sanitizer_check() {
	local f rc=0
	[ -n "$SG_TMP" ] && [ -d "$SG_TMP" ] || return 0
	while IFS= read -r f; do
		echo "FAIL sanitizer: ${f#"$SG_TMP"/}: $(grep -m1 -E "$SG_SAN_PATTERN" "$f")"
		rc=1
	done < <(grep -rlE --include='*.log' "$SG_SAN_PATTERN" "$SG_TMP" 2>/dev/null)
	return $rc
}

# ---------------------------------------------------------------- lifecycle

sg_cleanup() {
	local rc=$? ns pids i
	set +e
	trap - EXIT INT TERM
	for ns in "${SG_NS_MADE[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -TERM $pids 2>/dev/null
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=""
		for ns in "${SG_NS_MADE[@]}"; do
			pids="$pids$(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -z "$pids" ] && break
		sleep 0.2
	done
	for ns in "${SG_NS_MADE[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	done
	for ns in "${SG_NS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	SG_NS_MADE=()
	sg_sanitizer_check || rc=1
	if [ -n "$SG_TMP" ] && [ -d "$SG_TMP" ]; then
		if [ -n "${SG_KEEP_TMP:-}" ]; then
			sg_log "kept $SG_TMP"
		else
			rm -rf "$SG_TMP"
		fi
	fi
	exit "$rc"
}

# Started as root, subgated binds and opens what it needs, then runs as
# this user (privileges.user's default; docs/operator-guide.md
# "Privileges"): what it writes later (the audit file SIGHUP reopens) must
# be this user's. sg_user: create it if missing, as install-deps.sh does.
SG_USER=subgate
sg_user() {
	[ "$(id -u)" -ne 0 ] || "$SG_ROOT/deploy/install-user.sh" "$SG_USER"
}

# sg_init: temp dir + traps, the user. Call once, first.
sg_init() {
	sg_user
	SG_TMP=$(mktemp -d "/tmp/$SG_ID.XXXXXX")
	chmod 755 "$SG_TMP"
	trap sg_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# sg_netns_possible: can we create network namespaces at all?
sg_netns_possible() {
	command -v ip >/dev/null 2>&1 || return 1
	ip netns add "$SG_ID-probe" >/dev/null 2>&1 || return 1
	ip netns del "$SG_ID-probe" >/dev/null 2>&1
	return 0
}

in_sub() { ip netns exec "$NS_SUB" "$@"; }
in_gw() { ip netns exec "$NS_GW" "$@"; }
in_net() { ip netns exec "$NS_NET" "$@"; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_until() {
	local t=$1 end
	shift
	end=$(($(date +%s%N) + t * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@" >/dev/null 2>&1
}

# listening NS PORT [ADDR]: is something listening on TCP PORT in NS?
listening() {
	local ns=$1 port=$2 addr=${3:-}
	if [ -n "$addr" ]; then
		ip netns exec "$ns" ss -Htln "sport = :$port" | grep -qF "$addr"
	else
		ip netns exec "$ns" ss -Htln "sport = :$port" | grep -q .
	fi
}

# ----------------------------------------------------------------- topology

sg_ns_add() {
	ip netns add "$1"
	SG_NS_MADE+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
}

topo_up() {
	local a
	sg_ns_add "$NS_SUB"
	sg_ns_add "$NS_GW"
	sg_ns_add "$NS_NET"

	ip -n "$NS_SUB" link add sub0 type veth peer name gw-sub netns "$NS_GW"
	ip -n "$NS_GW" link add gw-net type veth peer name net0 netns "$NS_NET"

	ip -n "$NS_SUB" addr add "$SUB4/24" dev sub0
	ip -n "$NS_SUB" addr add "$SUB6/64" dev sub0 nodad
	ip -n "$NS_SUB" link set sub0 up
	ip -n "$NS_SUB" route add default via "$GWSUB4"
	ip -n "$NS_SUB" -6 route add default via "$GWSUB6"

	ip -n "$NS_GW" addr add "$GWSUB4/24" dev gw-sub
	ip -n "$NS_GW" addr add "$GWSUB6/64" dev gw-sub nodad
	ip -n "$NS_GW" addr add "$GWNET4/24" dev gw-net
	ip -n "$NS_GW" addr add "$GWNET6/64" dev gw-net nodad
	ip -n "$NS_GW" link set gw-sub up
	ip -n "$NS_GW" link set gw-net up
	in_gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.gw-sub.rp_filter=0 net.ipv4.conf.gw-net.rp_filter=0
	# No default route in the gateway namespace: nothing can leave it.

	for a in "$MX4" "$QMX4" "$MSA4" "$PT4" "$RST4" "$SILENT4"; do
		ip -n "$NS_NET" addr add "$a/24" dev net0
	done
	for a in "$MX6" "$QMX6" "$MSA6" "$PT6"; do
		ip -n "$NS_NET" addr add "$a/64" dev net0 nodad
	done
	ip -n "$NS_NET" link set net0 up
	# Return path to the subscribers (forwarded and TPROXY-transparent traffic).
	ip -n "$NS_NET" route add 100.64.0.0/24 via "$GWNET4"
	ip -n "$NS_NET" -6 route add fd00:64::/64 via "$GWNET6"
}

# The interception section of this topology: subgated loads and keeps its
# own table (proxy/nft_rules.c) for the subscriber side gw-sub.
SG_INTERCEPT='intercept: { nftables: true, interfaces: [gw-sub], subscribers: [100.64.0.0/24, "fd00:64::/64"] }'

# nft_load redirect|tproxy: for a subgated that does not manage nftables
# itself (intercept.nftables false), and for the benchmark's HAProxy: the
# table subgated would generate for this topology (subgated --print-nft)
# with 25, 587 and 465 pinned in its set "serving" (no timeout: steered
# whether or not anything listens). A subgated started with $SG_INTERCEPT
# replaces it with its own. For tproxy also the policy routing that
# docs/operator-guide.md describes.
nft_load() {
	local mode=$1 cfg=$SG_TMP/nft-$1.yaml f=$SG_TMP/subgate-$1.nft
	printf 'listeners:\n  - { listen: "[::]:10025", mode: smtp, intercept: %s }\n  - { listen: "[::]:10587", mode: passthrough, intercept: %s }\n%s\n' \
		"$mode" "$mode" "$SG_INTERCEPT" >"$cfg"
	"$SUBGATED" --print-nft -c "$cfg" >"$f" || return 1
	echo "add element inet subgate serving { 25, 587, 465 }" >>"$f"
	in_gw nft -f "$f" || return 1
	if [ "$mode" = tproxy ]; then
		ip -n "$NS_GW" rule show | grep -q 'fwmark 0x1 lookup 100' ||
			ip -n "$NS_GW" rule add fwmark 1 lookup 100
		ip -n "$NS_GW" -6 rule show | grep -q 'fwmark 0x1 lookup 100' ||
			ip -n "$NS_GW" -6 rule add fwmark 1 lookup 100
		ip -n "$NS_GW" route replace local 0.0.0.0/0 dev lo table 100
		ip -n "$NS_GW" -6 route replace local ::/0 dev lo table 100
	fi
}

# ---------------------------------------------------------------------- peers

MX_DIR=""
QMX_DIR=""
MSA_DIR=""
PT_LOG=""

peers_up() {
	MX_DIR=$SG_TMP/mx
	QMX_DIR=$SG_TMP/qmx
	MSA_DIR=$SG_TMP/msa
	PT_LOG=$SG_TMP/ptpeer.jsonl
	mkdir -p "$MX_DIR/v4" "$MX_DIR/v6" "$QMX_DIR" "$MSA_DIR"
	chmod 777 "$MX_DIR" "$MX_DIR/v4" "$MX_DIR/v6"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=msa.example.net" \
		-keyout "$SG_TMP/msa.key" -out "$SG_TMP/msa.crt" >/dev/null 2>&1

	# The MX: Postfix's smtp-sink, dumping every transaction to a file
	# (X-Client-Addr, X-Helo-Args, X-Mail-Args, X-Rcpt-Args, then the data).
	in_net bash -c 'ulimit -n 20000; exec "$@"' _ smtp-sink -u nobody -h mx.example.net \
		-m 12000 -t 100 -d "$MX_DIR/v4/m." "inet:$MX4:25" 16384 \
		>"$SG_TMP/mx4.log" 2>&1 &
	in_net bash -c 'ulimit -n 20000; exec "$@"' _ smtp-sink -u nobody -h mx.example.net \
		-m 12000 -t 100 -d "$MX_DIR/v6/m." "inet:[$MX6]:25" 16384 \
		>"$SG_TMP/mx6.log" 2>&1 &
	in_net "$PY" "$SG_DIR/peers.py" smtpd --name qmx --listen "$QMX4:25" --listen "[$QMX6]:25" \
		--store "$QMX_DIR" >"$SG_TMP/qmx.log" 2>&1 &
	in_net "$PY" "$SG_DIR/peers.py" smtpd --name msa --listen "$MSA4:25" --listen "[$MSA6]:25" \
		--cert "$SG_TMP/msa.crt" --key "$SG_TMP/msa.key" --store "$MSA_DIR" \
		--user "$MSA_USER" --password "$MSA_PASS" >"$SG_TMP/msa.log" 2>&1 &
	in_net "$PY" "$SG_DIR/peers.py" ptpeer --listen "$PT4:587" --listen "$PT4:465" \
		--listen "[$PT6]:587" --listen "[$PT6]:465" --log "$PT_LOG" \
		>"$SG_TMP/ptpeer.log" 2>&1 &
	in_net "$PY" "$SG_DIR/peers.py" resetmx --listen "$RST4:25" --after 20000 \
		>"$SG_TMP/resetmx.log" 2>&1 &
	in_net "$PY" "$SG_DIR/peers.py" silent --listen "$SILENT4:25" >"$SG_TMP/silent.log" 2>&1 &

	if ! { wait_until 10 listening "$NS_NET" 25 "$MX4" &&
		wait_until 10 listening "$NS_NET" 25 "[$MX6]" &&
		wait_until 10 listening "$NS_NET" 25 "$QMX4" &&
		wait_until 10 listening "$NS_NET" 25 "$MSA4" &&
		wait_until 10 listening "$NS_NET" 587 "$PT4" &&
		wait_until 10 listening "$NS_NET" 465 "$PT4" &&
		wait_until 10 listening "$NS_NET" 25 "$RST4" &&
		wait_until 10 listening "$NS_NET" 25 "$SILENT4"; }; then
		sg_log "peers did not come up:"
		tail -n 5 "$SG_TMP"/mx4.log "$SG_TMP"/mx6.log "$SG_TMP"/qmx.log "$SG_TMP"/msa.log \
			"$SG_TMP"/ptpeer.log "$SG_TMP"/resetmx.log "$SG_TMP"/silent.log >&2
		return 1
	fi
}

# mx_count PATTERN: number of smtp-sink dump files (v4 and v6) matching
# PATTERN (grep -E, on the whole dump: X-Helo-Args, X-Mail-Args, headers,
# body). mx_files PATTERN: their names.
mx_count() {
	local n
	n=$(grep -lE -- "$1" "$MX_DIR"/v4/m.* "$MX_DIR"/v6/m.* 2>/dev/null | wc -l)
	echo "$n"
}
mx_files() { grep -lE -- "$1" "$MX_DIR"/v4/m.* "$MX_DIR"/v6/m.* 2>/dev/null || true; }

# store_meta DIR PATTERN: the metadata JSON (one line each) of the messages
# an aiosmtpd peer (QMX_DIR, MSA_DIR) stored whose raw data matches PATTERN.
store_meta() {
	local f
	for f in "$1"/*.eml; do
		[ -e "$f" ] || continue
		[ -e "${f%.eml}.json" ] && grep -qE -- "$2" "$f" && cat "${f%.eml}.json" && echo
	done
	return 0
}

# ----------------------------------------------------------------- subgated

SUBGATED=${SUBGATED:-}
GW_PID=""
GW_LOG=""
GW_AUDIT=""
GW_CFG=""
GW_RC=""
GW_LOG_FROM=1

find_subgated() {
	local c
	if [ -n "$SUBGATED" ]; then
		[ -x "$SUBGATED" ] && return 0
		sg_log "SUBGATED=$SUBGATED is not executable"
		return 1
	fi
	for c in "$SG_ROOT"/build/proxy/subgated "$SG_ROOT"/build-*/proxy/subgated; do
		if [ -x "$c" ] && { [ -z "$SUBGATED" ] || [ "$c" -nt "$SUBGATED" ]; }; then
			SUBGATED=$c
		fi
	done
	[ -n "$SUBGATED" ]
}

# gw_config NAME INTERCEPT [EXTRA_YAML]: write a config, print its path.
# EXTRA_YAML replaces the default "smtp:"/"upstream:"/"limits:" lines when
# it has its own (keys given in EXTRA win; later keys are not merged).
gw_config() {
	local name=$1 icpt=$2 extra=${3:-} f=$SG_TMP/gw-$1.yaml
	# allow: the "internet" namespace's ULA MX addresses (fd00:203::/64)
	# are in upstream.deny's default fc00::/7
	local upstream='upstream: { connect_timeout: 3s, source: gateway, allow: ["fd00:203::/64"] }'
	local limits='limits: { buffer: 256k, max_sessions: 0, session_max_time: 1h }'
	local smtp='smtp: { bare_newline: normalize, timeouts: {greeting: 30s, command: 30s, data_init: 30s, data_block: 30s, data_end: 30s, client_idle: 60s} }'
	local shutdown='shutdown: { drain_timeout: 10s }'
	local intercept=$SG_INTERCEPT l
	[ "$icpt" = none ] && intercept=''

	while IFS= read -r l; do
		case $l in
		upstream:*) upstream=$l ;;
		limits:*) limits=$l ;;
		smtp:*) smtp=$l ;;
		shutdown:*) shutdown=$l ;;
		intercept:*) intercept=$l ;;
		esac
	done <<<"$extra"
	cat >"$f" <<EOF
node: it-$name
workers: 2
listeners:
  - listen: "[::]:10025"
    mode: smtp
    intercept: $icpt
  - listen: "[::]:10587"
    mode: passthrough
    intercept: $icpt
$upstream
$limits
$smtp
$intercept
audit: { path: "$SG_TMP/audit-$name.jsonl" }
log: { level: info }
$shutdown
EOF
	printf '%s\n' "$f"
}

# gw_start CONFIG [NOFILE]: start subgated in the gateway namespace with at
# most NOFILE descriptors (default 20000); wait until it says event=ready
# (listening, and steering if it manages nftables). Its output is appended
# to GW_LOG (gw_log: this start's part). Sets GW_PID GW_LOG GW_AUDIT GW_CFG.
gw_start() {
	GW_CFG=$1
	GW_LOG=${GW_CFG%.yaml}.log
	GW_AUDIT=$(sed -n 's/^audit: { path: "\(.*\)" }$/\1/p' "$GW_CFG")
	GW_RC=""
	in_gw "$SUBGATED" --check-config -c "$GW_CFG" >>"$GW_LOG" 2>&1 || {
		sg_log "subgated --check-config refused $GW_CFG: $(tail -n 3 "$GW_LOG")"
		return 1
	}
	GW_LOG_FROM=$(($(stat -c %s "$GW_LOG") + 1))
	# Not through in_gw: a shell function run with & is a subshell, and $!
	# would be that subshell, not subgated ("ip netns exec" and "exec" keep
	# the pid).
	# shellcheck disable=SC2016  # $1 is the inner shell's
	ip netns exec "$NS_GW" bash -c 'ulimit -n "$1"; shift; exec "$@"' _ "${2:-20000}" \
		"$SUBGATED" -c "$GW_CFG" >>"$GW_LOG" 2>&1 &
	GW_PID=$!
	if ! wait_until 10 gw_logged event=ready; then
		sg_log "subgated did not get ready: $(tail -n 5 "$GW_LOG")"
		gw_stop
		return 1
	fi
}

# gw_log: what subgated wrote since the last gw_start; gw_logged PATTERN:
# whether a line of it matches PATTERN (grep -E; not -q, whose early exit
# would fail the pipe under pipefail).
gw_log() { tail -c +"$GW_LOG_FROM" "$GW_LOG"; }
gw_logged() { gw_log | grep -E -- "$1" >/dev/null; }

gw_alive() { [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; }

# gw_stop: SIGTERM, wait up to $GW_STOP_WAIT s (default 15), then KILL.
# Sets GW_RC to the exit status ("" if it had to be killed).
gw_stop() {
	local t=${GW_STOP_WAIT:-15} i
	# shellcheck disable=SC2034  # GW_RC is read by run.sh
	[ -n "$GW_PID" ] || return 0
	kill -TERM "$GW_PID" 2>/dev/null || true
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$GW_PID" 2>/dev/null; then
		kill -KILL "$GW_PID" 2>/dev/null || true
		wait "$GW_PID" 2>/dev/null || true
		GW_RC=""
	else
		GW_RC=0
		wait "$GW_PID" 2>/dev/null || GW_RC=$?
	fi
	GW_PID=""
}

# ------------------------------------------------------------------ clients

SWAKS_TLS=0
SWAKS_V6=0
swaks_probe() {
	local s
	s=$(swaks --support 2>&1 || true)
	grep -q '=== TLS supported' <<<"$s" && SWAKS_TLS=1
	grep -q '=== IPv6 supported' <<<"$s" && SWAKS_V6=1
	return 0
}

# send_mail OUTFILE [--server H] [--port P] [--from A] [--to B] [--ehlo N]
#   [--auth MECH] [--tls] [--msgid ID] [--body TEXT]
# Sends one message from the subscriber namespace with swaks (or, where
# Debian's swaks lacks IPv6/TLS support, with clients.py send). The
# transcript goes to OUTFILE; returns 0 if the message was accepted.
send_mail() {
	local out=$1
	shift
	local server=$MX4 port=25 from=sender@sub.example to=rcpt@mx.example ehlo=client.sub.example
	local auth="" tls=0 msgid="" body="subgate integration test message"
	while [ $# -gt 0 ]; do
		case $1 in
		--server) server=$2; shift ;;
		--port) port=$2; shift ;;
		--from) from=$2; shift ;;
		--to) to=$2; shift ;;
		--ehlo) ehlo=$2; shift ;;
		--auth) auth=$2; shift ;;
		--tls) tls=1 ;;
		--msgid) msgid=$2; shift ;;
		--body) body=$2; shift ;;
		*) sg_log "send_mail: bad option $1"; return 2 ;;
		esac
		shift
	done
	local v6=0
	case $server in *:*) v6=1 ;; esac
	if { [ $v6 = 0 ] || [ "$SWAKS_V6" = 1 ]; } && { [ $tls = 0 ] || [ "$SWAKS_TLS" = 1 ]; }; then
		local args=(--server "$server" --port "$port" --from "$from" --to "$to"
			--helo "$ehlo" --timeout 30 --body "$body")
		[ -n "$msgid" ] && args+=(--header "Message-Id: <$msgid>")
		[ $v6 = 1 ] && args+=(-6)
		[ $tls = 1 ] && args+=(-tls)
		[ -n "$auth" ] && args+=(--auth "$auth" --auth-user "$MSA_USER" --auth-password "$MSA_PASS")
		echo "# swaks ${args[*]}" >"$out"
		in_sub swaks "${args[@]}" >>"$out" 2>&1
	else
		local args=(--server "$server" --port "$port" --from "$from" --to "$to"
			--ehlo "$ehlo" --body "$body")
		[ -n "$msgid" ] && args+=(--header "Message-Id: <$msgid>")
		[ $tls = 1 ] && args+=(--tls)
		[ -n "$auth" ] && args+=(--auth "$auth" --user "$MSA_USER" --password "$MSA_PASS")
		echo "# clients.py send ${args[*]} (swaks lacks IPv6/TLS support here)" >"$out"
		in_sub "$PY" "$SG_DIR/clients.py" send "${args[@]}" >>"$out" 2>&1
	fi
}

# chat OUTFILE DST [PORT] -- STEP...: raw client in the subscriber ns
# (clients.py chat; a reply read times out after $CHAT_TIMEOUT s, default 30).
chat() {
	local out=$1 dst=$2 port=25
	shift 2
	if [ "$1" != "--" ]; then
		port=$1
		shift
	fi
	shift
	in_sub "$PY" "$SG_DIR/clients.py" chat --timeout "${CHAT_TIMEOUT:-30}" \
		--dst "$dst" --port "$port" "$@" >"$out" 2>&1
}

# --------------------------------------------------------------- audit file

# audit_sel JQ_CONDITION: audit records (compact JSON lines) matching it.
audit_sel() {
	[ -s "$GW_AUDIT" ] || return 0
	jq -c "select($1)" "$GW_AUDIT" 2>/dev/null
}
audit_count() { audit_sel "$1" | wc -l; }
audit_has() { [ "$(audit_count "$1")" -ge "${2:-1}" ]; }
# audit_valid: every line of the audit file is one JSON object with v=1.
audit_valid() {
	[ -s "$GW_AUDIT" ] || return 0
	jq -e -s 'all(.[]; type == "object" and .v == 1)' "$GW_AUDIT" >/dev/null 2>&1
}
