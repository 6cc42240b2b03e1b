#!/bin/bash
# t_fulldisk.sh - a full disk under the audit file (docs/audit.md "When the
# disk is full"), all on loopback: the audit file lives on a tmpfs of its
# own (256 KiB, mounted here, unmounted on every exit path) that dd fills
# until writes fail with ENOSPC. Peers: Postfix's smtp-sink as the MX, a
# Python echo server behind a passthrough listener (the 587 stand-in).
# Clients: swaks for port 25, Python for the passthrough and for a session
# that is held open across the failure.
#
#   run 1, audit.on_write_error: continue
#     port 25 keeps delivering while the file fails; the passthrough moves
#     1 MB byte-exact; the log and /metrics show the error and the queue;
#     after the filler is removed every queued record is in the file once.
#   run 2, audit.on_write_error: tempfail
#     a new port-25 session gets the 421 greeting of
#     policy.replies.audit_down and is closed; a session already running
#     finishes and delivers; the passthrough still moves 1 MB byte-exact;
#     after the filler is removed new sessions pass again; at SIGTERM with
#     the disk full again, the queued records go to standard error and are
#     counted (event=audit_records_lost), and subgated exits 0.
#
#   tests/integration/t_fulldisk.sh        (root: it mounts a tmpfs)
#
# Environment: SUBGATED=/path/to/subgated (default: the newest
# build*/proxy/subgated), SG_KEEP_TMP=1 keeps the temp dir (the tmpfs is
# unmounted anyway). Prints "PASS name" / "FAIL name: reason" per check and
# a summary line; exits non-zero if any failed.
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_fulldisk

expect_eq() {	# expect_eq NAME WANT GOT
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want [$2], got [$3]"; fi
}

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root (mount -t tmpfs)"
	exit 1
fi
loc_need_subgated setup
loc_need setup swaks smtp-sink curl jq mount umount dd

MNT=$TMP/audit-fs
MOUNTED=0

# fd_cleanup - every process first (subgated holds the audit file open),
# then the tmpfs, then lib_local's cleanup (temp dir, exit status).
fd_cleanup() {
	local rc=$?
	set +e
	loc_stop
	if [ "$MOUNTED" = 1 ]; then
		cp -p "$MNT"/audit-* "$TMP"/ 2>/dev/null	# for SG_KEEP_TMP=1
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	(exit "$rc")
	loc_cleanup
}
trap fd_cleanup EXIT

mkdir -p "$MNT"
# subgated (started as root, then $SG_USER) creates the file SIGHUP reopens
# after a rotation: the directory is that user's, as /var/log/subgate is
if ! mount -t tmpfs -o "size=256k,mode=0700,uid=$(id -u "$SG_USER"),gid=$(id -g "$SG_USER")" tmpfs "$MNT"; then
	echo "FAIL setup: mount -t tmpfs"
	exit 1
fi
MOUNTED=1

SINKPORT=$(loc_free_port)
EPORT=$(loc_free_port)

# smtp-sink runs as nobody: its dump directory must be reachable.
chmod 711 "$TMP"
mkdir -m 777 "$TMP/mx"

# ------------------------------------------------------------ peers

cat > "$TMP/peers.py" <<'EOF'
# echo PORT: echoes every byte (the passthrough upstream).
import socketserver, sys
class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
class E(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            b = self.request.recv(65536)
            if not b:
                return
            self.request.sendall(b)
T(("127.0.0.1", int(sys.argv[1])), E).serve_forever()
EOF

cat > "$TMP/cli.py" <<'EOF'
import socket, sys, time, os
def reply(f):
    out = []
    while True:
        l = f.readline().decode("latin-1").rstrip("\r\n")
        out.append(l)
        if len(l) < 4 or l[3] != "-":
            return out
cmd = sys.argv[1]
if cmd == "held":	# held PORT GOFILE TAG: greet, EHLO, wait for GOFILE, then one message
    port, go, tag = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(30)
    f = s.makefile("rb")
    g = reply(f)[-1]
    if not g.startswith("220"):
        print(g); sys.exit(0)
    s.sendall(b"EHLO held.sub.example\r\n"); reply(f)
    print("greeted", flush=True)
    end = time.time() + 60
    while not os.path.exists(go):
        if time.time() > end:
            print("no go file"); sys.exit(1)
        time.sleep(0.05)
    out = []
    for c in [b"MAIL FROM:<held@sub.example>", b"RCPT TO:<rcpt@mx.example>", b"DATA"]:
        s.sendall(c + b"\r\n"); out.append(reply(f)[-1])
    s.sendall(("Message-Id: <%s@fulldisk.test>\r\nSubject: held\r\n\r\nbody\r\n.\r\n" % tag).encode())
    out.append(reply(f)[-1])
    s.sendall(b"QUIT\r\n"); reply(f)
    print(out[-1])
EOF

loc_bg smtp-sink -u nobody -h mx.fulldisk.test -d "$TMP/mx/m." "127.0.0.1:$SINKPORT" 64 \
	>"$TMP/sink.log" 2>&1
loc_bg "$PY" "$TMP/peers.py" "$EPORT"
if ! wait_until 5 loc_port_open 127.0.0.1 "$SINKPORT" ||
	! wait_until 5 loc_port_open 127.0.0.1 "$EPORT"; then
	echo "FAIL setup: peers did not start: $(tail -3 "$TMP/sink.log")"
	exit 1
fi

delivered() { find "$TMP/mx" -type f | wc -l; }

# ------------------------------------------------------------ helpers

gw_conf() {	# gw_conf NAME MODE: fresh ports P25, P587, PADM for it
	local p25 p587 padm
	p25=$(loc_free_port); p587=$(loc_free_port); padm=$(loc_free_port)
	P25=$p25 P587=$p587 PADM=$padm
	cat > "$TMP/$1.yaml" <<EOF
node: gw-$1
workers: 2
listeners:
  - { listen: "127.0.0.1:$p25", mode: smtp, intercept: none, upstream: "127.0.0.1:$SINKPORT" }
  - { listen: "127.0.0.1:$p587", mode: passthrough, intercept: none, upstream: "127.0.0.1:$EPORT" }
audit:
  path: $MNT/audit-$1.jsonl
  index: none
  on_write_error: $2
admin:
  listen: "127.0.0.1:$padm"
log:
  level: info
EOF
}

start_gw() {	# start_gw NAME (after its gw_conf)
	if ! loc_gw_start "$TMP/$1.yaml" "$TMP/$1.log" loc_port_open 127.0.0.1 "$PADM"; then
		echo "FAIL setup: subgated $1 did not start: $(tail -3 "$TMP/$1.log")"
		exit 1
	fi
}

metric() {	# metric NAME: its value on the running gateway's /metrics
	curl -s "http://127.0.0.1:$PADM/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }

mail() {	# mail TAG: one message through port 25 with swaks; transcript in TMP/swaks-TAG
	swaks --server 127.0.0.1 --port "$P25" --from "s-$1@sub.example" \
		--to rcpt@mx.example --helo client.sub.example --timeout 20 \
		--header "Message-Id: <$1@fulldisk.test>" --body "full disk test $1" \
		>"$TMP/swaks-$1" 2>&1
}
# last_reply FILE: the last server line of a swaks transcript
last_reply() { grep '^<' "$1" | tail -1 | sed 's/^<[-~*]* *//'; }
# accepted TAG: the reply to the end of data was 2xx
accepted() { grep -A1 '^ -> \.$' "$TMP/swaks-$1" | grep -q '^<-  250 '; }

fill() {	# fill: the tmpfs full (ENOSPC from here on)
	dd if=/dev/zero of="$MNT/filler" bs=4k >/dev/null 2>&1
	dd if=/dev/zero of="$MNT/filler2" bs=512 >/dev/null 2>&1
	# shellcheck disable=SC2320
	if (printf 'x' >>"$MNT/probe") 2>/dev/null; then
		rm -f "$MNT/probe"
		return 1
	fi
	rm -f "$MNT/probe"
}
unfill() { rm -f "$MNT/filler" "$MNT/filler2"; }

# count AUDIT JQ: records in AUDIT matching JQ (lines that are not JSON skipped)
count() { jq -R -c "fromjson? | select($2)" "$1" | wc -l; }
# dups AUDIT: session ids or (session, seq) pairs written more than once
dups() {
	jq -R -r 'fromjson? | if .type == "session" then .id
		elif .type == "txn" then "\(.session)-\(.seq)" else empty end' "$1" |
		sort | uniq -d | wc -l
}

check_alive() {	# check_alive NAME
	if gw_alive; then pass "alive_$1"; else fail "alive_$1" "subgated died"; fi
}
check_sanitizers() {	# check_sanitizers NAME: after exit (leak reports come last)
	if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP/$1.log"; then
		fail "sanitizers_$1" "$(grep -m1 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP/$1.log")"
	else
		pass "sanitizers_$1"
	fi
}

# ============================================================ run 1: continue

gw_conf cont continue
A1=$MNT/audit-cont.jsonl
start_gw cont
N1=5

if fill; then pass cont_disk_full; else fail cont_disk_full "a write still succeeds"; fi

"$PY" "$SG_DIR/clients.py" echo --port "$P587" --mb 1 --secs 3 --chunks 32 >"$TMP/pass-cont" 2>&1 &
pt=$!
PIDS+=("$pt")
ok=0
for i in $(seq $N1); do
	mail "cont-$i"
	accepted "cont-$i" && ok=$((ok + 1))
done
expect_eq cont_port25_accepted "$N1" "$ok"
wait_until 5 test "$(delivered)" -ge "$N1"
expect_eq cont_port25_delivered "$N1" "$(delivered)"
wait "$pt"
expect_eq cont_passthrough_exact exact "$(cat "$TMP/pass-cont")"

# 5 port-25 sessions, 5 transactions, 1 passthrough session: 11 records,
# none in the file yet, all queued.
wait_until 3 metric_is subgate_audit_queued_records $((2 * N1 + 1))
expect_eq cont_queued_metric $((2 * N1 + 1)) "$(metric subgate_audit_queued_records)"
expect_eq cont_failing_metric 1 "$(metric subgate_audit_failing)"
curl -s "http://127.0.0.1:$PADM/metrics" | grep '^subgate_audit' >"$TMP/metrics-cont"
expect_eq cont_nothing_in_file 0 "$(count "$A1" 'true')"
expect_eq cont_no_tempfail_refusals 0 "$(metric subgate_audit_tempfail_sessions_total)"
we=$(metric subgate_audit_write_errors_total)
if [ "${we:-0}" -ge 1 ]; then pass cont_write_errors_counted; else fail cont_write_errors_counted "[$we]"; fi
if grep -q 'event=audit_write_failed error="No space left on device"' "$TMP/cont.log"; then
	pass cont_logged
else
	fail cont_logged "no audit_write_failed line"
fi
n=$(grep -c 'event=audit_write_failed' "$TMP/cont.log")
if [ "$n" -le 2 ]; then pass cont_log_rate_limited; else fail cont_log_rate_limited "$n lines"; fi

# (b) room again: the retry timer writes the queue out, in order, once.
unfill
wait_until 5 metric_is subgate_audit_failing 0
expect_eq cont_recovered_metric 0 "$(metric subgate_audit_failing)"
expect_eq cont_queue_empty 0 "$(metric subgate_audit_queued_records)"
if grep -q "event=audit_write_recovered written_from_queue=$((2 * N1 + 1)) " "$TMP/cont.log"; then
	pass cont_recovered_logged
else
	fail cont_recovered_logged "$(grep 'audit_write_recovered' "$TMP/cont.log")"
fi
expect_eq cont_smtp_sessions_in_file "$N1" "$(count "$A1" '.type == "session" and .mode == "smtp"')"
expect_eq cont_txns_in_file "$N1" "$(count "$A1" '.type == "txn" and .outcome == "accepted"')"
expect_eq cont_passthrough_in_file 1 "$(count "$A1" '.type == "session" and .mode == "passthrough"')"
expect_eq cont_no_duplicates 0 "$(dups "$A1")"
want=$(seq -f 'cont-%g@fulldisk.test' $N1 | sort | tr '\n' ' ')
got=$(jq -R -r 'fromjson? | select(.type == "txn") | .message_id' "$A1" | tr -d '<>' | sort | tr '\n' ' ')
expect_eq cont_every_message_id "$want" "$got"
expect_eq cont_every_line_json "$(wc -l <"$A1")" "$(count "$A1" '.v == 1')"
expect_eq cont_nothing_lost 0 "$(metric subgate_audit_records_lost_total)"

# (d) SIGTERM with nothing queued: exit 0, nothing lost.
check_alive cont
gw_stop
expect_eq cont_exit_0 0 "$GW_RC"
check_sanitizers cont
if grep -q 'event=audit_records_lost\|audit record not written' "$TMP/cont.log"; then
	fail cont_none_lost_at_exit "$(grep -m1 'audit_records_lost' "$TMP/cont.log")"
else
	pass cont_none_lost_at_exit
fi

# ============================================================ run 2: tempfail

gw_conf temp tempfail
A2=$MNT/audit-temp.jsonl
start_gw temp
rm -f "$TMP/mx"/*

# A session that is running when the disk fills: greeted now, its message
# sent after the refusals below.
"$PY" "$TMP/cli.py" held "$P25" "$TMP/go" held-1 >"$TMP/held" 2>&1 &
held=$!
PIDS+=("$held")
wait_until 5 grep -q greeted "$TMP/held"

if fill; then pass temp_disk_full; else fail temp_disk_full "a write still succeeds"; fi

# The first session after the fill passes: nothing has failed yet. Its
# records are the first the file refuses; from then on port 25 tempfails.
mail temp-1
if accepted temp-1; then
	pass temp_first_session_passes
else
	fail temp_first_session_passes "$(last_reply "$TMP/swaks-temp-1")"
fi
wait_until 3 metric_is subgate_audit_failing 1
expect_eq temp_failing_metric 1 "$(metric subgate_audit_failing)"

"$PY" "$SG_DIR/clients.py" echo --port "$P587" --mb 1 --secs 3 --chunks 32 >"$TMP/pass-temp" 2>&1 &
pt=$!
PIDS+=("$pt")
NREF=3
refused=0
for i in $(seq $NREF); do
	mail "temp-ref-$i"
	r=$(grep -m1 '^<\*\* ' "$TMP/swaks-temp-ref-$i" | sed 's/^<\*\* //')
	[ "$r" = "421 4.3.0 Temporary local problem, try again later" ] && refused=$((refused + 1))
done
expect_eq temp_new_sessions_421 "$NREF" "$refused"
if grep -q '^ -> MAIL\|^ -> EHLO' "$TMP/swaks-temp-ref-1"; then
	fail temp_refused_at_greeting "swaks got past the greeting"
else
	pass temp_refused_at_greeting
fi
expect_eq temp_refusals_metric "$NREF" "$(metric subgate_audit_tempfail_sessions_total)"
curl -s "http://127.0.0.1:$PADM/metrics" | grep '^subgate_audit' >"$TMP/metrics-temp"
n=$(grep -c 'event=audit_tempfail ' "$TMP/temp.log")
expect_eq temp_refusal_logged_once 1 "$n"
wait "$pt"
expect_eq temp_passthrough_exact exact "$(cat "$TMP/pass-temp")"

# The held session goes on and delivers.
touch "$TMP/go"
wait "$held"
case "$(tail -1 "$TMP/held")" in
"250 "*) pass temp_running_session_continues ;;
*) fail temp_running_session_continues "$(cat "$TMP/held")" ;;
esac
expect_eq temp_delivered_while_full 2 "$(delivered)"

# Room again: the flag clears by itself and port 25 passes.
unfill
wait_until 5 metric_is subgate_audit_failing 0
expect_eq temp_recovered_metric 0 "$(metric subgate_audit_failing)"
mail temp-after
if accepted temp-after; then
	pass temp_passes_after_recovery
else
	fail temp_passes_after_recovery "$(last_reply "$TMP/swaks-temp-after")"
fi
expect_eq temp_delivered 3 "$(delivered)"
wait_until 3 test "$(count "$A2" '.type == "session" and .mode == "smtp"')" -ge $((NREF + 3))

# Every session once: temp-1, the refused ones, the held one, temp-after.
expect_eq temp_smtp_sessions_in_file $((NREF + 3)) "$(count "$A2" '.type == "session" and .mode == "smtp"')"
expect_eq temp_refused_recorded "$NREF" "$(count "$A2" '.type == "session" and .class == "blocked" and .end_reason == "policy" and .decisions[0].limit == "audit_write_failed"')"
expect_eq temp_txns_in_file 3 "$(count "$A2" '.type == "txn" and .outcome == "accepted"')"
expect_eq temp_passthrough_in_file 1 "$(count "$A2" '.type == "session" and .mode == "passthrough"')"
expect_eq temp_no_duplicates 0 "$(dups "$A2")"
got=$(jq -R -r 'fromjson? | select(.type == "txn") | .message_id' "$A2" | tr -d '<>' | sort | tr '\n' ' ')
expect_eq temp_every_message_id "held-1@fulldisk.test temp-1@fulldisk.test temp-after@fulldisk.test " "$got"
expect_eq temp_nothing_lost 0 "$(metric subgate_audit_records_lost_total)"

# (d) SIGTERM while the disk is full again: what is still queued goes to
# standard error, one "subgated: audit record not written: {...}" line per
# record, and is counted (event=audit_records_lost count=N); exit 0.
# Rotated first (mv + SIGHUP, as logrotate does) so the new file is empty
# and its first record needs a page the tmpfs no longer has: the whole
# record is refused, not cut short inside the old file's last page.
mv "$A2" "$A2.1"
kill -HUP "$GW_PID"
wait_until 3 test -e "$A2"
fill
mail temp-last
accepted temp-last || fail temp_last_passes "$(last_reply "$TMP/swaks-temp-last")"
wait_until 3 metric_is subgate_audit_queued_records 2
expect_eq temp_queued_at_sigterm 2 "$(metric subgate_audit_queued_records)"
check_alive temp
gw_stop
expect_eq temp_exit_0 0 "$GW_RC"
check_sanitizers temp
expect_eq temp_lost_logged 1 "$(grep -c 'event=audit_records_lost count=2 where=stderr' "$TMP/temp.log")"
grep '^subgated: audit record not written: ' "$TMP/temp.log" |
	sed 's/^subgated: audit record not written: //' >"$TMP/stderr-records"
expect_eq temp_stderr_records 2 "$(count "$TMP/stderr-records" '.v == 1')"
expect_eq temp_stderr_is_last_session 2 "$(count "$TMP/stderr-records" '(.type == "txn" and .message_id == "<temp-last@fulldisk.test>") or (.type == "session" and .mode == "smtp")')"
expect_eq temp_stderr_not_in_file 0 "$(count "$A2" '.type == "txn" and .message_id == "<temp-last@fulldisk.test>"')"

loc_summary t_fulldisk
