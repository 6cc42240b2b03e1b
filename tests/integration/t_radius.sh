#!/bin/bash
# t_radius.sh - RADIUS accounting and subscriber identity against real peers,
# all on loopback: its own redis-server (free port, no persistence), an SMTP
# sink, subgated (intercept none, identity.radius on 127.0.0.1), radclient
# (freeradius-utils), swaks, and raw datagrams from Python.
#
#   tests/integration/t_radius.sh
#
# Environment: SUBGATED=/path/to/subgated (default: the newest
# build*/proxy/subgated), SG_KEEP_TMP=1 keeps the temp dir.
# Prints "PASS name" / "FAIL name: reason" per check and a summary line;
# exits non-zero if any failed. Cleans up on every exit path.
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_radius
SECRET='s3cret-nas1'

check() {	# check NAME REASON COMMAND...
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

loc_need_subgated setup
loc_need setup redis-server redis-cli radclient swaks

RPORT=$(loc_free_port tcp)
APORT=$(loc_free_port udp)
SPORT=$(loc_free_port tcp)
MPORT=$(loc_free_port tcp)
AUDIT=$TMP/audit.jsonl
LOG=$TMP/subgated.log

# ------------------------------------------------------------ peers

loc_redis_start "$RPORT"

# An SMTP sink: 250 to everything, "queued as" after DATA.
cat > "$TMP/sink.py" <<'EOF'
import socketserver, sys, itertools
ids = itertools.count(1)
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 sink.test ESMTP")
        data = False
        for line in self.rfile:
            if data:
                if line.rstrip(b"\r\n") == b".":
                    data = False
                    w("250 2.0.0 Ok: queued as Q%d" % next(ids))
                continue
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                w("250-sink.test"); w("250 PIPELINING")
            elif cmd == b"DATA":
                data = True; w("354 go ahead")
            elif cmd == b"QUIT":
                w("221 bye"); return
            else:
                w("250 ok")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
loc_bg "$PY" "$TMP/sink.py" "$MPORT"

loc_secret "$TMP/nas1.secret" "$SECRET"
cat > "$TMP/gw.yaml" <<EOF
node: gw-radius-test
workers: 2
listeners:
  - listen: "127.0.0.1:$SPORT"
    mode: smtp
    intercept: none
    upstream: "127.0.0.1:$MPORT"
redis: { address: "127.0.0.1:$RPORT", timeout: 200ms }
identity:
  static:
    - { prefix: "10.0.0.0/8", subscriber: "static-corp" }
  radius:
    listen: "127.0.0.1:$APORT"
    clients:
      - { address: "127.0.0.1", secret_file: $TMP/nas1.secret, name: bras1 }
  history: 8d
audit:
  path: $AUDIT
log:
  level: info
EOF

loc_gw_start "$TMP/gw.yaml" "$LOG" grep -q 'event=radius_history_loaded' "$LOG"
if ! grep -q 'event=radius_listening' "$LOG"; then
	echo "FAIL setup: subgated did not start: $(tail -3 "$LOG")"
	exit 1
fi

# ------------------------------------------------------------ helpers

acct() {	# acct SECRET ATTRS... ; radclient's exit status (0: answered)
	local secret=$1
	shift
	printf '%s\n' "$@" | radclient -r 1 -t 1 "127.0.0.1:$APORT" acct "$secret" \
		> "$TMP/radclient.out" 2>&1
}

records() {	# records SUBSCRIBER EVENT: assignment records in the audit file
	grep '"type":"assignment"' "$AUDIT" 2>/dev/null |
		grep "\"subscriber\":\"$1\"" | grep -c "\"event\":\"$2\""
}

smtp_session() {	# one message through subgated; prints nothing
	swaks --server "127.0.0.1:$SPORT" --from a@example.org --to b@example.net \
		--header "Subject: $1" --timeout 10 > "$TMP/swaks.$1" 2>&1
}

session_subscriber() {	# the audit session record of the message with subject $1
	local n
	for n in $(seq 40); do
		"$PY" - "$AUDIT" "$1" <<'EOF' && return 0
import json, sys
subs = {}
for line in open(sys.argv[1]):
    try: r = json.loads(line)
    except ValueError: continue
    if r.get("type") == "session" and r.get("transactions", 0) >= 1:
        subs[r["id"]] = r
# sessions are sequential in this script: the Nth by start is the Nth sent
ids = sorted(subs, key=lambda i: subs[i]["start"])
if len(ids) < int(sys.argv[2]):
    sys.exit(1)
r = subs[ids[int(sys.argv[2]) - 1]]
print(r.get("subscriber"), r.get("subscriber_source"), r.get("policy_class"),
      r.get("start"))
EOF
		sleep 0.1
	done
	return 1
}

redis_who() {	# redis_who ADDR TIME_MS: "who held ADDR at T" over Redis,
		# the way cli/assignments.c asks (plens, masked key, ZREVRANGEBYSCORE)
	"$PY" - "$RPORT" "$1" "$2" <<'EOF'
import ipaddress, json, subprocess, sys
port, addr, t = sys.argv[1], ipaddress.ip_address(sys.argv[2]), int(sys.argv[3])
def r(*a):
    return subprocess.run(["redis-cli", "-p", port, "--raw"] + list(a),
                          capture_output=True, text=True).stdout.splitlines()
found = []
for pl in r("SMEMBERS", "sg:asg:plens"):
    fam, n = pl.split("/")
    if int(fam) != addr.version:
        continue
    net = ipaddress.ip_network("%s/%s" % (addr, n), strict=False)
    for m in r("ZREVRANGEBYSCORE", "sg:{asg:%s}:h" % net, str(t), "-inf",
               "LIMIT", "0", "16"):
        rec = json.loads(m)
        if rec["start_ms"] <= t and rec.get("end_ms", t) >= t:
            found.append((net.prefixlen, rec["start_ms"], rec["subscriber"]))
found.sort(reverse=True)
print(found[0][2] if found else "nobody")
EOF
}

# raw datagrams: sign an Accounting-Request as a NAS does (RFC 2866 §3)
cat > "$TMP/raw.py" <<'EOF'
import hashlib, os, socket, struct, sys, time
def attr(t, v): return bytes([t, len(v) + 2]) + v
def request(secret, ident, attrs):
    body = b"".join(attrs)
    hdr = struct.pack("!BBH", 4, ident, 20 + len(body))
    auth = hashlib.md5(hdr + b"\0" * 16 + body + secret).digest()
    return hdr + auth + body
def sendrecv(pkt, port, src="127.0.0.1", sock=None, wait=1.0):
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if sock is None:
        s.bind((src, 0))
    s.settimeout(wait)
    s.sendto(pkt, ("127.0.0.1", port))
    try:
        return s.recv(4096)
    except socket.timeout:
        return None
mode, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
start = [attr(40, struct.pack("!I", 1)), attr(1, b"carol"),
         attr(8, socket.inet_aton("100.64.9.9")), attr(44, b"rtx-1")]
if mode == "retransmit":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    pkt = request(secret, 77, start)
    a = sendrecv(pkt, port, sock=s)
    time.sleep(0.2)
    b = sendrecv(pkt, port, sock=s)
    print("answered" if a and b and a == b and a[0] == 5 and a[1] == 77 else "no")
elif mode == "malformed":
    pkt = bytearray(request(secret, 78, start))
    pkt[21] = 1   # first attribute's Length octet: 1 (attr_len)
    print("answered" if sendrecv(bytes(pkt), port) else "no")
elif mode == "truncated":
    print("answered" if sendrecv(request(secret, 79, start)[:30], port) else "no")
elif mode == "unknown_nas":
    print("answered" if sendrecv(request(secret, 80, start), port, src="127.0.0.2") else "no")
elif mode == "class_odd":
    # a Class naming no class, with octets a log line must not carry raw
    odd = [attr(40, struct.pack("!I", 1)), attr(1, b"grace"),
           attr(8, socket.inet_aton("100.64.9.1")), attr(44, b"sess-grace"),
           attr(25, b'xyzzy\nness" x=1\xff')]
    print("answered" if sendrecv(request(secret, 81, odd), port) else "no")
EOF
raw() { "$PY" "$TMP/raw.py" "$1" "$APORT" "$SECRET"; }

# ------------------------------------------------------------ checks

# 1. Start for alice on 127.0.0.1 (the loopback source swaks will have)
check start_answered "radclient got no Accounting-Response: $(tail -2 "$TMP/radclient.out" 2>/dev/null)" \
	acct "$SECRET" 'Acct-Status-Type = Start' 'User-Name = "alice"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-alice"' \
	'Calling-Station-Id = "02-00-00-00-00-01"' 'NAS-IP-Address = 127.0.0.1'
check start_recorded "no start record for alice" test "$(records alice start)" = 1
check start_in_redis "Redis has no history for 127.0.0.1/32" \
	test "$(rcli zcard 'sg:{asg:127.0.0.1/32}:h')" = 1

# 2. wrong secret: dropped, no response, nothing stored
if acct wrong-secret 'Acct-Status-Type = Start' 'User-Name = "mallory"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-m"'; then
	fail wrong_secret_dropped "answered a request signed with the wrong secret"
else
	pass wrong_secret_dropped
fi
check wrong_secret_not_stored "mallory was stored" test "$(records mallory start)" = 0

# 3. a session through the gateway is attributed to alice
smtp_session first
T1=$(date +%s%3N)
read -r SUB SRC CLS START1 <<< "$(session_subscriber 1)"
check session_alice "first session: subscriber=$SUB source=$SRC" \
	test "$SUB $SRC $CLS" = "alice radius default"

# 4. Interim keeps alice; a retransmission of it is answered and stored once
check interim_answered "no response to Interim-Update" \
	acct "$SECRET" 'Acct-Status-Type = Interim-Update' 'User-Name = "alice"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-alice"'
check interim_recorded "no interim record" test "$(records alice interim)" = 1
check retransmit_answered "retransmission not answered with the same response" \
	test "$(raw retransmit)" = answered
check retransmit_stored_once "carol stored more than once" test "$(records carol start)" = 1

# 5. malformed, truncated, unknown NAS: no response
check malformed_dropped "answered a malformed packet" test "$(raw malformed)" = no
check truncated_dropped "answered a truncated packet" test "$(raw truncated)" = no
check unknown_nas_dropped "answered an unknown NAS" test "$(raw unknown_nas)" = no

# 6. the address moves to bob: alice's assignment ends, bob's starts
sleep 0.05
check move_answered "no response to bob's Start" \
	acct "$SECRET" 'Acct-Status-Type = Start' 'User-Name = "bob"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-bob"'
check moved_recorded "no moved record for alice" test "$(records alice moved)" = 1
smtp_session second
T2=$(date +%s%3N)
read -r SUB2 SRC2 _ _ <<< "$(session_subscriber 2)"
check session_bob "second session: subscriber=$SUB2" test "$SUB2 $SRC2" = "bob radius"
read -r SUB1AGAIN _ _ _ <<< "$(session_subscriber 1)"
check earlier_still_alice "first record now says $SUB1AGAIN" test "$SUB1AGAIN" = alice
check redis_then_alice "Redis: $(redis_who 127.0.0.1 "$T1") at T1" \
	test "$(redis_who 127.0.0.1 "$T1")" = alice
check redis_now_bob "Redis: $(redis_who 127.0.0.1 "$T2") at T2" \
	test "$(redis_who 127.0.0.1 "$T2")" = bob

# 7. bob's Stop; then Accounting-On ends the NAS's other sessions
check stop_answered "no response to Stop" \
	acct "$SECRET" 'Acct-Status-Type = Stop' 'User-Name = "bob"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-bob"' \
	'Acct-Delay-Time = 2'
check stop_recorded "no stop record for bob" test "$(records bob stop)" = 1
smtp_session third
read -r SUB3 SRC3 _ _ <<< "$(session_subscriber 3)"
check session_after_stop "third session: $SUB3 $SRC3" test "$SUB3 $SRC3" = "127.0.0.1 address"
check acct_on_answered "no response to Accounting-On" \
	acct "$SECRET" 'Acct-Status-Type = Accounting-On' 'NAS-IP-Address = 127.0.0.1'
check nas_reboot_recorded "carol's assignment not ended by Accounting-On" \
	test "$(records carol nas_reboot)" = 1

# 8. Redis down: answered after the file write, replayed when it is back
kill -TERM "$REDIS_PID"
for _ in $(seq 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
check redis_down_answered "no response while Redis is down" \
	acct "$SECRET" 'Acct-Status-Type = Start' 'User-Name = "dave"' \
	'Framed-IP-Address = 100.64.7.7' 'Acct-Session-Id = "sess-dave"'
check redis_down_recorded "dave not in the audit file" test "$(records dave start)" = 1
loc_redis_start "$RPORT" redis2.log
for _ in $(seq 100); do
	[ "$(rcli zcard 'sg:{asg:100.64.7.7/32}:h' 2>/dev/null)" = 1 ] && break
	sleep 0.1
done
check redis_replayed "dave's record not replayed into Redis" \
	test "$(rcli zcard 'sg:{asg:100.64.7.7/32}:h')" = 1

# 9. counters at exit
gw_stop
FINAL=$(grep 'event=radius_stats_final' "$LOG")
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$FINAL"; }
check counters_logged "no radius_stats_final line" test -n "$FINAL"
check counter_bad_auth "bad_auth=$(counter bad_auth)" test "$(counter bad_auth)" -ge 1
check counter_unknown_nas "unknown_nas=$(counter unknown_nas)" test "$(counter unknown_nas)" -ge 1
check counter_parse "parse_attr_len=$(counter parse_attr_len) parse_truncated=$(counter parse_truncated)" \
	test "$(counter parse_attr_len)" -ge 1 -a "$(counter parse_truncated)" -ge 1
check counter_retransmits "retransmits=$(counter retransmits)" test "$(counter retransmits)" -ge 1
check drop_logged "no radius_dropped log line" grep -q 'event=radius_dropped.*reason=bad_auth' "$LOG"
check no_secret_logged "the NAS secret appears in a log or record" \
	bash -c "! grep -rqF -- '$SECRET' '$LOG' '$AUDIT'"
check exit_clean "subgated exited $GW_RC" test "$GW_RC" = 0
if grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG"; then
	fail sanitizers "$(grep -m1 'AddressSanitizer\|runtime error' "$LOG")"
else
	pass sanitizers
fi

# 10. identity.radius.class_attribute: Class names the policy class
AUDIT=$TMP/audit2.jsonl
LOG2=$TMP/subgated2.log
cat > "$TMP/gw2.yaml" <<EOF
node: gw-radius-class
workers: 2
listeners:
  - listen: "127.0.0.1:$SPORT"
    mode: smtp
    intercept: none
    upstream: "127.0.0.1:$MPORT"
policy:
  default_class: residential
  classes:
    residential: {}
    business: {}
identity:
  radius:
    listen: "127.0.0.1:$APORT"
    clients:
      - { address: "127.0.0.1", secret_file: $TMP/nas1.secret, name: bras1 }
    class_attribute: Class
audit:
  path: $AUDIT
log:
  level: info
EOF
if loc_gw_start "$TMP/gw2.yaml" "$LOG2" grep -q 'event=radius_listening' "$LOG2"; then
	pass class_gw_started
else
	fail class_gw_started "$(tail -3 "$LOG2")"
fi
check class_no_unsupported_warning "the class_attribute warning is still logged" \
	bash -c "! grep -q 'radius_class_attribute_unsupported' '$LOG2'"
check class_start_answered "no response to erin's Start: $(tail -2 "$TMP/radclient.out" 2>/dev/null)" \
	acct "$SECRET" 'Acct-Status-Type = Start' 'User-Name = "erin"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-erin"' \
	'Class = "business"'
check class_record "erin's start record does not say class business from RADIUS" \
	grep -q '"subscriber":"erin","class":"business","class_source":"radius"' "$AUDIT"
smtp_session class1
read -r SUB SRC CLS _ <<< "$(session_subscriber 1)"
check class_session_business "session: subscriber=$SUB source=$SRC policy_class=$CLS" \
	test "$SUB $SRC $CLS" = "erin radius business"
check class_unknown_answered "no response to frank's Start" \
	acct "$SECRET" 'Acct-Status-Type = Start' 'User-Name = "frank"' \
	'Framed-IP-Address = 127.0.0.1' 'Acct-Session-Id = "sess-frank"' \
	'Class = "gold"'
check class_unknown_record "frank's record does not fall back to residential" \
	grep -q '"subscriber":"frank","class":"residential","prefix"' "$AUDIT"
smtp_session class2
read -r SUB SRC CLS _ <<< "$(session_subscriber 2)"
check class_session_default "session: subscriber=$SUB source=$SRC policy_class=$CLS" \
	test "$SUB $SRC $CLS" = "frank radius residential"
check class_unknown_logged "no radius_class_unknown line for gold" \
	grep -q 'event=radius_class_unknown nas=127.0.0.1 attribute=Class value="gold" class=residential' "$LOG2"
check class_odd_answered "the odd Class was not answered" test "$(raw class_odd)" = answered
check class_odd_escaped "the odd Class is not logged escaped" \
	grep -qF 'value="xyzzy\x0aness\x22 x=1\xff"' "$LOG2"
check class_odd_not_stored "the odd Class reached the audit file" \
	bash -c "! grep -q 'xyzzy' '$AUDIT'"
gw_stop
FINAL=$(grep 'event=radius_stats_final' "$LOG2")
check class_counter "class_unknown=$(counter class_unknown)" test "$(counter class_unknown)" = 2
check class_exit_clean "subgated exited $GW_RC" test "$GW_RC" = 0
if grep -q 'ERROR: AddressSanitizer\|runtime error' "$LOG2"; then
	fail class_sanitizers "$(grep -m1 'AddressSanitizer\|runtime error' "$LOG2")"
else
	pass class_sanitizers
fi

loc_summary t_radius
