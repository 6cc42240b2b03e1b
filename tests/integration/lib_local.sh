# shellcheck shell=bash
# lib_local.sh - set-up shared by the integration tests whose peers all run
# on loopback (t_policy, t_radius, t_trace, t_smarthost). Source it.
#
# It sources lib.sh, so wait_until, find_subgated, gw_stop / gw_alive (on
# GW_PID, GW_RC) and, for a test that also wants them, the namespace
# topology are the same here. loc_init makes the temp dir (TMP, also lib.sh's
# SG_TMP) and installs loc_cleanup as the EXIT trap: every process started
# with loc_bg, loc_redis_start or loc_gw_start is stopped (TERM, 2 s, KILL),
# then lib.sh's sg_cleanup removes any namespaces and the temp dir
# (SG_KEEP_TMP=1 keeps it) and exits with the script's status.

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Names used by the scripts that source this file:
# shellcheck disable=SC2034
TMP=""
PIDS=()
PASSED=0
FAILED=0
REDIS_PORT=""
REDIS_PID=""

# loc_init NAME: temp dir /tmp/NAME.XXXXXX (mode 0700), traps and lib.sh's
# sg_user. Call first.
loc_init() {
	sg_user
	SG_TMP=$(mktemp -d "/tmp/$1.XXXXXX")
	TMP=$SG_TMP
	trap loc_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# loc_stop: stop every process in PIDS (TERM; KILL after 2 s) and forget
# them.
loc_stop() {
	local p i
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}

loc_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	loc_stop
	(exit "$rc")	# sg_cleanup takes the status from $?
	sg_cleanup
}

# loc_bg CMD...: run CMD in the background, stopped by loc_cleanup.
loc_bg() {
	"$@" &
	PIDS+=($!)
}

# pass NAME / fail NAME [REASON]: one line per check, counted.
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILED=$((FAILED + 1)); }

# loc_summary NAME: "NAME: N passed, N failed"; true if none failed.
loc_summary() {
	echo "$1: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# loc_need LABEL TOOL...: print "FAIL LABEL: TOOL not installed" and exit
# for the first TOOL not on PATH.
loc_need() {
	local label=$1 t
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 && continue
		echo "FAIL $label: $t not installed"
		exit 1
	done
}

# loc_need_subgated LABEL: SUBGATED (lib.sh's find_subgated: the variable,
# else the newest build*/proxy/subgated) or "FAIL LABEL" and exit; SUBGATE
# (the CLI) defaults to the one beside it.
loc_need_subgated() {
	if ! find_subgated; then
		echo "FAIL $1: no subgated binary (set SUBGATED)"
		exit 1
	fi
	SUBGATE=${SUBGATE:-$(dirname "$SUBGATED")/cli/subgate}
}

# loc_free_port [tcp|udp]: a port free on 127.0.0.1, never one this run
# handed out before (TMP/ports), and below the kernel's ephemeral range
# (ip_local_port_range starts at 32768): a port the kernel picks for bind(0)
# could be picked again, or given to an outgoing connection (a client of
# redis-server, swaks) before the test's server binds it.
loc_free_port() {
	"$PY" -c 'import random, socket, sys
t = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
used = set()
try:
    used = set(int(l) for l in open(sys.argv[2]))
except OSError:
    pass
for _ in range(1000):
    p = random.randint(20000, 32767)
    if p in used:
        continue
    s = socket.socket(socket.AF_INET, t)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    open(sys.argv[2], "a").write("%d\n" % p)
    print(p)
    sys.exit(0)
sys.exit(1)' "${1:-tcp}" "$TMP/ports"
}

# loc_port_open HOST PORT: does a TCP connect succeed? (The peer sees it.)
loc_port_open() {
	"$PY" -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5).close()' "$1" "$2" 2>/dev/null
}

# loc_secret FILE TEXT: TEXT and a newline in FILE, mode 0600 from the start.
loc_secret() {
	(umask 077 && printf '%s\n' "$2" >"$1") && chmod 600 "$1"
}

# loc_redis_start PORT [LOGNAME [ARG...]]: a redis-server of the test's own
# on 127.0.0.1:PORT, no persistence (a SAVE still writes dump.rdb into TMP),
# logging to TMP/LOGNAME (default redis.log), ARGs appended; true once it
# answers PING (5 s). Sets REDIS_PORT (for rcli) and REDIS_PID.
loc_redis_start() {
	local log=${2:-redis.log}
	REDIS_PORT=$1
	shift $(($# < 2 ? $# : 2))
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$TMP" --logfile "$TMP/$log" "$@" &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	wait_until 5 rcli ping
}
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# loc_gw_start CONFIG LOG READY...: subgated -c CONFIG on this host, stdout
# and stderr to LOG; true once the command READY succeeds (polled for 5 s).
# Sets GW_PID, GW_CFG, GW_LOG (lib.sh's gw_stop and gw_alive use GW_PID).
loc_gw_start() {
	GW_CFG=$1
	GW_LOG=$2
	# shellcheck disable=SC2034  # lib.sh's gw_stop sets it, the tests read it
	GW_RC=""
	shift 2
	"$SUBGATED" -c "$GW_CFG" >"$GW_LOG" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_until 5 "$@"
}
