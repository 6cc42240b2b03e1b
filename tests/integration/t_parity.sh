#!/bin/bash
# t_parity.sh - differential test of the SMTP parser (issue 9 item 1): a
# table of odd command lines goes through subgated to a private Postfix
# smtpd (its own config and queue directories under the temp dir, started
# with "postfix -c"; the system's /etc/postfix is never touched; no qmgr,
# so accepted mail stays in its incoming queue) and to an aiosmtpd MX
# (peers.py smtpd). For every message an upstream accepted (read from its
# own queue or store), the audit file must hold an "accepted" transaction
# with its Message-ID, its recipients and its size, and the limiter must
# have counted it: each case has a subscriber of its own with
# mx.messages 1/1h, so its next plain message must be refused.
#
#   tests/integration/t_parity.sh        (as root: Postfix's master)
#
# Environment: SUBGATED, SG_KEEP_TMP=1 (see lib_local.sh).
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_parity

loc_need_subgated setup
loc_need setup redis-server redis-cli postfix postcat
[ "$(id -u)" -eq 0 ] || { echo "FAIL setup: run as root (Postfix master)"; exit 1; }

RPORT=$(loc_free_port)
PFPORT=$(loc_free_port)
AIOPORT=$(loc_free_port)
G_PF=$(loc_free_port)
G_AIO=$(loc_free_port)
# Postfix's own users must reach its directories: not under the 0700 TMP.
PF=$(mktemp -d /tmp/sg_parity_pf.XXXXXX)
chmod 755 "$PF"

# ------------------------------------------------------------ Postfix

pf_stop() {
	postfix -c "$PF/etc" stop >/dev/null 2>&1
	[ -n "${SG_KEEP_TMP:-}" ] && echo "kept $PF" || rm -rf "$PF"
}
trap 'rc=$?; pf_stop; (exit $rc); loc_cleanup' EXIT
mkdir -p "$PF/etc" "$PF/spool" "$PF/data"
chown postfix "$PF/data"
cat > "$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.test
mydomain = pf.test
mydestination = pf.test
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
smtpd_peername_lookup = no
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
alias_maps =
alias_database =
local_recipient_maps =
EOF
cat > "$PF/etc/master.cf" <<EOF
127.0.0.1:$PFPORT inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
rewrite   unix - - n - - trivial-rewrite
anvil     unix - - n - 1 anvil
proxymap  unix - - n - - proxymap
postlog   unix-dgram n - n - 1 postlogd
EOF
if ! postfix -c "$PF/etc" check >"$TMP/pf-check.log" 2>&1 ||
	! postfix -c "$PF/etc" start >"$TMP/pf-start.log" 2>&1; then
	echo "FAIL setup: postfix: $(tail -n 3 "$PF/maillog" 2>/dev/null | tr '\n' ' ')"
	exit 1
fi

# ------------------------------------------------------------ gateway

loc_redis_start "$RPORT" || { echo "FAIL setup: redis-server"; exit 1; }
loc_bg "$PY" "$(dirname "${BASH_SOURCE[0]}")/peers.py" smtpd \
	--listen "127.0.0.1:$AIOPORT" --store "$TMP/aio" --name aio >"$TMP/aio.log" 2>&1
cat > "$TMP/gw.yaml" <<EOF
node: gw-parity
workers: 1
listeners:
  - { listen: "127.0.0.1:$G_PF", mode: smtp, intercept: none, upstream: "127.0.0.1:$PFPORT" }
  - { listen: "127.0.0.1:$G_AIO", mode: smtp, intercept: none, upstream: "127.0.0.1:$AIOPORT" }
redis: { address: "127.0.0.1:$RPORT", timeout: 500ms, connect_timeout: 500ms, on_failure: open }
policy:
  default_class: res
  classes:
    res:
      action: tempfail
      mx: { messages: 1/1h }
audit:
  path: $TMP/audit.jsonl
  index: none
log:
  level: info
EOF
redis_up() { grep -q 'event=redis_up' "$TMP/gw.log"; }
if ! loc_gw_start "$TMP/gw.yaml" "$TMP/gw.log" redis_up; then
	echo "FAIL setup: subgated did not start: $(tail -3 "$TMP/gw.log")"
	exit 1
fi
wait_until 10 loc_port_open 127.0.0.1 "$PFPORT" || { echo "FAIL setup: postfix smtpd"; exit 1; }
wait_until 10 loc_port_open 127.0.0.1 "$AIOPORT" || { echo "FAIL setup: aiosmtpd"; exit 1; }

# ------------------------------------------------------------ the table

# One case: lines sent one at a time (replies read); a DATA answered 354
# or a BDAT line carries the message. Each (case, upstream) pair is one
# subscriber (its own 127.0.x.y source). Prints "NAME SRC MID" per case.
cat > "$TMP/cases.py" <<'EOF'
import socket, sys
CASES = [
    ("plain",      ["MAIL FROM:<a@x.test>", "RCPT TO:<r1@pf.test>", "DATA"]),
    ("lower_ws",   ["mail from:<a@x.test>  ", "rcpt to:<r1@pf.test> \t", "data "]),
    ("params",     ["MAIL FROM:<a@x.test> SIZE=120 BODY=8BITMIME", "RCPT TO:<r1@pf.test>", "DATA"]),
    ("tab_sep",    ["MAIL\tFROM:<a@x.test>", "RCPT\tTO:<r1@pf.test>", "DATA"]),
    ("vt_verb",    ["\x0bMAIL FROM:<a@x.test>", "\x0bRCPT TO:<r1@pf.test>", "\x0bDATA"]),
    ("ff_sep",     ["MAIL\x0cFROM:<a@x.test>", "RCPT\x0cTO:<r1@pf.test>", "DATA\x0c"]),
    ("lead_space", [" MAIL FROM:<a@x.test>", " RCPT TO:<r1@pf.test>", " DATA"]),
    ("rset_arg",   ["MAIL FROM:<a@x.test>", "RCPT TO:<r1@pf.test>", "RSET x", "DATA"]),
    ("rset_vt",    ["MAIL FROM:<a@x.test>", "RCPT TO:<r1@pf.test>", "RSET\x0b", "DATA"]),
    ("ehlo_bare",  ["MAIL FROM:<a@x.test>", "RCPT TO:<r1@pf.test>", "EHLO", "HELO", "DATA"]),
    ("two_rcpts",  ["MAIL FROM:<a@x.test>", "RCPT TO:<r1@pf.test>", "RCPT TO:<r2@pf.test>", "QUIT x", "DATA"]),
    ("bdat_last",  ["MAIL FROM:<a@x.test>", "RCPT TO:<r1@pf.test>", "BDAT"]),
    ("bdat_pipe",  ["MAIL FROM:<a@x.test>\r\nRCPT TO:<r1@pf.test>\r\nRCPT TO:<r2@pf.test>\r\nBDAT"]),
]
port, base = int(sys.argv[1]), sys.argv[2]
def reply(f):
    # A peer that closed ("QUIT x") may answer our next line with a reset
    # instead of an end of file, depending on timing: both are "closed".
    while True:
        try:
            l = f.readline().decode("latin-1").rstrip("\r\n")
        except ConnectionResetError:
            return ""
        if len(l) < 4 or l[3] != "-":
            return l
for i, (name, lines) in enumerate(CASES):
    src = "%s.%d" % (base, 10 + i)
    mid = "<%s-%s@parity.test>" % (name, base.replace(".", "-"))
    body = ("Message-ID: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n" % (mid, name, name)).encode()
    s = socket.socket(); s.settimeout(20); s.bind((src, 0)); s.connect(("127.0.0.1", port))
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO c.test\r\n"); reply(f)
    for l in lines:
        if l.endswith("BDAT"):
            s.sendall(l[:-4].encode() + b"BDAT %d LAST\r\n" % len(body) + body)
            for _ in range(l.count("\r\n")):
                reply(f)
            reply(f)
            break
        try:
            s.sendall(l.encode() + b"\r\n")
        except OSError:
            break
        r = reply(f)
        if not r:
            break
        if l.strip(" \t\x0b\x0c").upper().startswith("DATA") and r.startswith("354"):
            s.sendall(body + b".\r\n"); reply(f)
    try:
        s.sendall(b"QUIT\r\n")	# "QUIT x": Postfix has already closed
    except OSError:
        pass
    s.close()
    # the limiter must have counted an accepted message: the next is refused
    s = socket.socket(); s.settimeout(20); s.bind((src, 0)); s.connect(("127.0.0.1", port))
    f = s.makefile("rb")
    last = reply(f)
    for c in [b"EHLO c.test", b"MAIL FROM:<b@x.test>", b"RCPT TO:<r9@pf.test>", b"DATA"]:
        if not last[:1] in ("2", "3"):
            break
        s.sendall(c + b"\r\n"); last = reply(f)
    if last.startswith("354"):
        s.sendall(b"Message-ID: <next-%s@parity.test>\r\n\r\nx\r\n.\r\n" % src.encode())
        last = reply(f)
    s.close()
    print(name, src, mid, "next=" + last[:3])
EOF

"$PY" "$TMP/cases.py" "$G_PF" 127.0.1 > "$TMP/cases-pf.out" 2>&1 || echo "FAIL cases_postfix: $(tail -3 "$TMP/cases-pf.out")"
"$PY" "$TMP/cases.py" "$G_AIO" 127.0.2 > "$TMP/cases-aio.out" 2>&1 || echo "FAIL cases_aiosmtpd: $(tail -3 "$TMP/cases-aio.out")"

# What the upstreams accepted: "MID rcpt,rcpt SIZE" per message.
for q in "$PF"/spool/incoming/*/* "$PF"/spool/incoming/*; do
	[ -f "$q" ] || continue
	postcat -c "$PF/etc" -e -h "$q" 2>/dev/null | "$PY" -c '
import sys
mid, rc = "", []
for l in sys.stdin:
    if l.startswith("recipient: "): rc.append(l.split(None, 1)[1].strip())
    if l.lower().startswith("message-id:") and not mid: mid = l.split(None, 1)[1].strip()
print(mid, ",".join(rc))'
done > "$TMP/accepted-pf"
"$PY" - "$TMP/aio" > "$TMP/accepted-aio" <<'EOF'
import glob, json, sys, email
for j in sorted(glob.glob(sys.argv[1] + "/*.json")):
    m = json.load(open(j))
    raw = open(j[:-5] + ".eml", "rb").read()
    mid = email.message_from_bytes(raw).get("Message-ID", "")
    print(mid, ",".join(m["rcpts"]))
EOF

sleep 1	# the audit writer flushes behind the sessions
# check UPSTREAM CASES_OUT ACCEPTED: every accepted message has its record
check() {
	local verdict name why
	while read -r verdict name why; do
		case $verdict in
		PASS) pass "$1_$name" ;;
		FAIL) fail "$1_$name" "$why" ;;
		INFO) echo "$1: $why messages accepted upstream" ;;
		esac
	done < <("$PY" - "$TMP/audit.jsonl" "$2" "$3" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
txns = {}
for r in recs:
    if r.get("type") == "txn" and r.get("outcome") == "accepted":
        txns.setdefault(r.get("message_id"), []).append(r)
cases = {}
for l in open(sys.argv[2]):
    p = l.split()
    if len(p) == 4:
        cases[p[2]] = (p[0], p[3])
n = 0
for l in open(sys.argv[3]):
    p = l.split()
    if not p:
        continue
    mid, rc = p[0], sorted(p[1].split(",")) if len(p) > 1 else []
    n += 1
    t = txns.get(mid, [])
    if mid.startswith("<next-"):	# a case's second message, its first accepted
        name, nxt = "next_" + mid[6:-13], "4"
        body = len(("Message-ID: %s\r\n\r\nx\r\n" % mid).encode())
    else:
        name, nxt = cases.get(mid, (mid, "next=?"))
        nxt = nxt[5:]
        body = len(("Message-ID: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n" % (mid, name, name)).encode())
    if len(t) != 1:
        print("FAIL", name, "accepted upstream, %d audit records" % len(t)); continue
    t = t[0]
    if sorted(t.get("rcpts", [])) != rc or t.get("rcpt_count") != len(rc):
        print("FAIL", name, "rcpts %s/%s, upstream %s" % (t.get("rcpts"), t.get("rcpt_count"), rc)); continue
    if t.get("size") != body:
        print("FAIL", name, "size %s, sent %d" % (t.get("size"), body)); continue
    if nxt[:1] not in ("4", "5"):
        print("FAIL", name, "the limiter did not count it: next message got %s" % nxt); continue
    print("PASS", name, "")
print("INFO", "count", str(n))
EOF
)
}
check postfix "$TMP/cases-pf.out" "$TMP/accepted-pf"
check aiosmtpd "$TMP/cases-aio.out" "$TMP/accepted-aio"
# Something must have been compared: the plain case is accepted by both.
grep -q '<plain-127-0-1@' "$TMP/accepted-pf" && pass postfix_accepts_plain || fail postfix_accepts_plain "$(cat "$TMP/cases-pf.out")"
grep -q '<plain-127-0-2@' "$TMP/accepted-aio" && pass aiosmtpd_accepts_plain || fail aiosmtpd_accepts_plain "$(cat "$TMP/cases-aio.out")"

loc_summary t_parity
