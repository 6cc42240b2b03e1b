#!/bin/bash
# t_logs.sh - the operator log in each of its forms (issue "operations"
# item 6, docs/operator-guide.md "Logs"). Each run of subgated is a start
# that fails (an audit file in a missing directory: an error line) and a
# start with one session whose upstream refuses (debug, warn and info
# lines), then SIGTERM:
#
#   logs_plain           no JOURNAL_STREAM: every line "TIME level=L event=..."
#   logs_foreign_stream  JOURNAL_STREAM naming another file (inherited by a
#                        process whose stderr was redirected): plain too
#   logs_journal         JOURNAL_STREAM naming stderr's file: every line
#                        "<N>level=L event=...", N the level's priority
#   logs_journalctl      under systemd-run, journalctl -p warning shows the
#                        warn line and no info line (skipped without a
#                        running systemd)
#   logs_syslog          log.target syslog, facility local3: subgated runs
#                        in a mount namespace of its own where /dev/log is
#                        this test's datagram socket (the system's logging
#                        is never touched); every datagram's <PRI> is
#                        local3 (19 * 8) plus the priority of its level, and
#                        nothing goes to stderr
#
#   tests/integration/t_logs.sh     (as root: mount namespace)
#
# Environment: SUBGATED, SG_KEEP_TMP=1 (see lib_local.sh).
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_logs

loc_need_subgated setup
loc_need setup unshare mount
[ "$(id -u)" -eq 0 ] || { echo "FAIL setup: run as root (mount namespace)"; exit 1; }

UNIT=""
unit_stop() {
	local rc=$?	# the script's status, for loc_cleanup
	[ -n "$UNIT" ] && systemctl stop "$UNIT" >/dev/null 2>&1
	return "$rc"
}
trap 'unit_stop; loc_cleanup' EXIT

DEAD=$(loc_free_port)	# the upstream: nobody listens, connect refused

# gw_yaml FILE PORT AUDIT LOG: a configuration on 127.0.0.1:PORT, audit
# file AUDIT, "log: LOG".
gw_yaml() {
	cat >"$1" <<EOF
node: gw-logs
workers: 1
listeners:
  - { listen: "127.0.0.1:$2", mode: smtp, intercept: none, upstream: "127.0.0.1:$DEAD" }
audit: { path: "$3" }
log: $4
EOF
}

# session PORT: one client session; the gateway answers 421 (upstream
# refused) and closes.
session() {
	"$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
r = s.recv(512)
s.close()
sys.exit(0 if r.startswith(b"421") else 1)' "$1"
}

# gw_run NAME LOG WRAP...: subgated run through the command WRAP... with
# "log: LOG", its stdout and stderr appended to TMP/NAME.log: the failing
# start (it must exit 1), then the session and SIGTERM. False, the reason
# in WHY, if either did not behave.
WHY=""
gw_run() {
	local name=$1 log=$2 port rc
	shift 2
	port=$(loc_free_port)
	gw_yaml "$TMP/$name-fail.yaml" "$port" "$TMP/missing/audit.jsonl" "$log"
	gw_yaml "$TMP/$name.yaml" "$port" "$TMP/audit.jsonl" "$log"
	"$@" "$SUBGATED" -c "$TMP/$name-fail.yaml" >>"$TMP/$name.log" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || { WHY="the failing start exited $rc, not 1"; return 1; }
	"$@" "$SUBGATED" -c "$TMP/$name.yaml" >>"$TMP/$name.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	if ! wait_until 5 loc_port_open 127.0.0.1 "$port"; then
		WHY="subgated did not listen: $(tail -n 2 "$TMP/$name.log")"
	elif ! session "$port"; then
		WHY="no 421 from the gateway"
	else
		WHY=""
	fi
	gw_stop
	[ -n "$WHY" ] && return 1
	[ "$GW_RC" = 0 ] || { WHY="subgated exited '$GW_RC' on SIGTERM"; return 1; }
}

# check FORM FILE [FACILITY]: every line of FILE in FORM (plain, journal,
# syslog: one datagram a line), its priority that of its level (plus
# FACILITY * 8). Prints the levels seen ("debug error info warn"), or
# "bad: LINE".
cat >"$TMP/check.py" <<'EOF'
import re, sys
form, path = sys.argv[1], sys.argv[2]
base = int(sys.argv[3]) * 8 if len(sys.argv) > 3 else 0
sev = {"error": 3, "warn": 4, "info": 6, "debug": 7}
pat = {
    "plain": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ()level=(\w+) event=\w",
    "journal": r"<(\d)>level=(\w+) event=\w",
    "syslog": r"<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d subgated\[\d+\]: "
              r"level=(\w+) event=\w",
}[form]
seen = set()
for line in open(path, encoding="latin-1").read().splitlines():
    m = re.fullmatch(pat + r".*", line)
    if (m is None or m.group(2) not in sev or
            (form != "plain" and int(m.group(1)) != base + sev[m.group(2)])):
        print("bad: " + line[:200])
        sys.exit(1)
    seen.add(m.group(2))
print(" ".join(sorted(seen)))
EOF
ALL="debug error info warn"

# expect NAME FORM FILE [FACILITY]: pass NAME if check finds every level.
expect() {
	local name=$1 got
	shift
	got=$("$PY" "$TMP/check.py" "$@")
	if [ "$got" = "$ALL" ]; then
		pass "$name"
	elif [ -z "$got" ] || [[ $got == bad:* ]]; then
		fail "$name" "${got:-no lines}"
	else
		fail "$name" "levels $got, want $ALL"
	fi
}

LOG_DEBUG="{ level: debug }"

# ------------------------------------------------------------ stderr

if gw_run plain "$LOG_DEBUG" env -u JOURNAL_STREAM; then
	expect logs_plain plain "$TMP/plain.log"
else
	fail logs_plain "$WHY"
fi

: >"$TMP/other"
if gw_run foreign "$LOG_DEBUG" env JOURNAL_STREAM="$(stat -c %d:%i "$TMP/other")"; then
	expect logs_foreign_stream plain "$TMP/foreign.log"
else
	fail logs_foreign_stream "$WHY"
fi

: >"$TMP/journal.log"
if gw_run journal "$LOG_DEBUG" env JOURNAL_STREAM="$(stat -c %d:%i "$TMP/journal.log")"; then
	expect logs_journal journal "$TMP/journal.log"
else
	fail logs_journal "$WHY"
fi

# ------------------------------------------------------------ journald

if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null &&
	command -v journalctl >/dev/null; then
	UNIT=sg-logs-$$
	port=$(loc_free_port)
	gw_yaml "$TMP/unit.yaml" "$port" "$TMP/audit.jsonl" "{ level: info }"
	jl() { journalctl -q -o cat -u "$UNIT" "$@"; }
	if ! systemd-run --quiet --collect --unit="$UNIT" "$SUBGATED" -c "$TMP/unit.yaml"; then
		fail logs_journalctl "systemd-run failed"
	elif ! wait_until 5 loc_port_open 127.0.0.1 "$port" || ! session "$port"; then
		fail logs_journalctl "no session through the unit: $(jl | tail -n 2)"
	else
		systemctl stop "$UNIT"
		wait_until 5 eval 'jl -p warning | grep -q event=upstream_connect_failed'
		w=$(jl -p warning)
		a=$(jl)
		if ! grep -q event=upstream_connect_failed <<<"$w"; then
			fail logs_journalctl "journalctl -p warning lacks the warn line"
		elif grep -q level=info <<<"$w"; then
			fail logs_journalctl "journalctl -p warning shows info lines"
		elif ! grep -q event=start <<<"$a" || grep -q '^<' <<<"$a"; then
			fail logs_journalctl "the unit's lines: $(head -n 2 <<<"$a")"
		else
			pass logs_journalctl
		fi
	fi
	UNIT=""
else
	echo "SKIP logs_journalctl: systemd is not running (PID 1: $(ps -p 1 -o comm=))"
fi

# ------------------------------------------------------------ syslog

# The receiver: one datagram a line (a newline inside one shows as \n).
loc_bg "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b"\\n") + b"\n")' \
	"$TMP/dev-log.sock" "$TMP/datagrams"
wait_until 5 test -S "$TMP/dev-log.sock"

# in_devlog CMD...: CMD in a private mount namespace whose /dev is a tmpfs
# of links to the real /dev's entries, /dev/log this test's socket. It
# execs CMD, so CMD keeps its process id.
mkdir "$TMP/dev"
cat >"$TMP/in_devlog" <<EOF
#!/bin/bash
exec unshare --mount --propagation private bash -c '
	set -e
	mount --rbind /dev "$TMP/dev"
	mount -t tmpfs -o mode=755 sg-logs-dev /dev
	for f in "$TMP/dev"/*; do
		[ "\${f##*/}" = log ] || ln -s "\$f" "/dev/\${f##*/}"
	done
	: >/dev/log
	mount --bind "$TMP/dev-log.sock" /dev/log
	exec "\$@"' in_devlog "\$@"
EOF
chmod 755 "$TMP/in_devlog"

if gw_run syslog "{ level: debug, target: syslog, facility: local3 }" "$TMP/in_devlog"; then
	wait_until 5 grep -q event=exit "$TMP/datagrams"
	if [ -s "$TMP/syslog.log" ]; then
		fail logs_syslog "lines on stderr: $(head -n 2 "$TMP/syslog.log")"
	else
		expect logs_syslog syslog "$TMP/datagrams" 19
	fi
else
	fail logs_syslog "$WHY"
fi

loc_summary t_logs
