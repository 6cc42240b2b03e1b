#!/bin/bash
# t_smarthost.sh - smarthost redirect end to end on loopback: subgated sends
# every port-25 session to an aiosmtpd smarthost (policy action redirect,
# mx deny) and must deliver there through STARTTLS (RFC 3207) with AUTH
# (RFC 4954), never touching the destination the subscriber dialled; the
# failure cases answer the subscriber with a 421; the admin endpoint counts.
# A relay that offers XCLIENT learns the subscriber's address and port
# (Postfix XCLIENT_README), unless smarthost.xclient is off; Postfix's
# smtp-sink, which offers XCLIENT without ADDR, gets none.
#
#   tests/integration/t_smarthost.sh
#
# Self-contained: its own certificate (openssl), smarthosts (aiosmtpd on
# /usr/bin/python3; smtp-sink from Postfix), subgated (SUBGATED=...,
# default the newest build*/proxy/subgated), 127.0.0.1-127.0.0.7 only, no
# root needed. Prints
# "PASS name" or "FAIL name: reason" per check and a summary line;
# exits non-zero if any check failed. SG_KEEP_TMP=1 keeps the temp dir.
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init t_smarthost
T=$TMP
GW=127.0.0.1
P_SMTP=$(loc_free_port)		# subgated, port-25 listener (intercept none)
P_ADMIN=$(loc_free_port)	# subgated admin endpoint
DEST=127.0.0.2			# the "original destination": must stay untouched
P_DEST=$(loc_free_port)
SMART=127.0.0.3			# smarthost: STARTTLS required, AUTH required
P_SMART=$(loc_free_port)
PLAIN=127.0.0.4			# smarthost without TLS or AUTH
P_PLAIN=$(loc_free_port)
P_NOBODY=$(loc_free_port)	# nobody listens
XC=127.0.0.5			# smarthost offering XCLIENT as Postfix does
P_XC=$(loc_free_port)
XCR=127.0.0.6			# the same, refusing XCLIENT
P_XCR=$(loc_free_port)
SINK=127.0.0.7			# Postfix smtp-sink: XCLIENT without ADDR
P_SINK=$(loc_free_port)
USER=relay@gw.test
PASS='Relay-pw-9fQ2x'

loc_need_subgated setup
loc_need setup openssl curl jq smtp-sink
"$PY" -c 'import aiosmtpd' 2>/dev/null || { echo "FAIL setup: aiosmtpd not installed"; exit 1; }

# ------------------------------------------------------------------ peers

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/smart.key" -out "$T/smart.crt" -days 2 -subj "/CN=smart.test" \
    -addext "subjectAltName=DNS:smart.test" 2>/dev/null
loc_secret "$T/pw" "$PASS"
loc_secret "$T/pw_wrong" not-the-password

cat >"$T/smarthost.py" <<'EOF'
# smarthost.py HOST PORT STORE [CERT KEY USER PASSWORD]: with a certificate,
# STARTTLS and AUTH are required; every accepted message is stored as JSON
# (TLS version, cipher, AUTH user, envelope, content), every AUTH logged.
# XCLIENT_REPLY set: EHLO offers XCLIENT with Postfix 3.9's attributes,
# XCLIENT is answered so, and every EHLO and XCLIENT is logged (xclient.log).
import asyncio, json, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
XREPLY = os.environ.get("XCLIENT_REPLY")

host, port, store = sys.argv[1:4]
tls = len(sys.argv) > 4
os.makedirs(store, exist_ok=True)
n = [0]

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == sys.argv[6].encode()
          and auth_data.password == sys.argv[7].encode())
    with open(os.path.join(store, "auth.log"), "a") as f:
        f.write("%s %s %s tls=%s\n" % (mechanism, auth_data.login.decode(errors="replace"),
                                       "ok" if ok else "bad", session.ssl is not None))
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

def xlog(line):
    with open(os.path.join(store, "xclient.log"), "a") as f:
        f.write(line + "\n")

class XSMTP(SMTP):
    async def smtp_XCLIENT(self, arg):
        xlog("XCLIENT " + arg)
        await self.push(XREPLY)

class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if XREPLY:
            xlog("EHLO " + hostname)
            responses.insert(-1, "250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME "
                             "PORT LOGIN DESTADDR DESTPORT")
        return responses

    async def handle_DATA(self, server, session, envelope):
        n[0] += 1
        qid = "SMART%04d" % n[0]
        c = server.transport.get_extra_info("cipher")
        meta = {"queue_id": qid, "peer": session.peer[0], "helo": session.host_name,
                "tls": session.ssl is not None, "cipher": c[0] if c else None,
                "tls_version": c[1] if c else None,
                "auth_user": session.auth_data.login.decode() if session.auth_data else None,
                "mail_from": envelope.mail_from, "rcpts": envelope.rcpt_tos,
                "data": envelope.original_content.decode(errors="replace")}
        with open(os.path.join(store, qid + ".json"), "w") as f:
            json.dump(meta, f)
        return "250 2.0.0 Ok: queued as " + qid

kw = {}
if tls:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    kw = dict(tls_context=ctx, require_starttls=True, auth_required=True,
              auth_require_tls=True, authenticator=authenticator)

async def main():
    srv = await asyncio.get_running_loop().create_server(
        lambda: XSMTP(Handler(), hostname="smart.test", **kw), host, int(port))
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
EOF

cat >"$T/dest.py" <<'EOF'
# dest.py HOST PORT LOG: the destination the subscriber dialled; it must
# never be contacted while sessions are redirected. Logs every connection.
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
while True:
    c, a = s.accept()
    with open(sys.argv[3], "a") as f:
        f.write("connection from %s:%d\n" % a)
    c.sendall(b"220 dest.test ESMTP\r\n")
    c.close()
EOF

cat >"$T/client.py" <<'EOF'
# client.py HOST PORT TAG: a subscriber sending one message; prints the
# greeting and every reply code, one per line.
import smtplib, sys
host, port, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    s = smtplib.SMTP(timeout=15)
    code, msg = s.connect(host, port)
    print("greeting", code, msg.decode(errors="replace"))
    print("local %s %d" % s.sock.getsockname()[:2])
    code, msg = s.ehlo("subscriber.test")
    print("ehlo", code)
    r = s.sendmail("alice@sub.test", ["bob@dest.test"],
                   "Subject: %s\r\nMessage-ID: <%s@sub.test>\r\n\r\nvia the smarthost\r\n" % (tag, tag))
    print("sent", r)
    s.quit()
    print("quit ok")
except smtplib.SMTPResponseException as e:
    print("reply", e.smtp_code, e.smtp_error.decode(errors="replace"))
except Exception as e:
    print("error", type(e).__name__, e)
EOF

loc_bg "$PY" "$T/smarthost.py" $SMART "$P_SMART" "$T/store" "$T/smart.crt" \
    "$T/smart.key" "$USER" "$PASS" 2>"$T/smarthost.log"
loc_bg "$PY" "$T/smarthost.py" $PLAIN "$P_PLAIN" "$T/store_plain" 2>"$T/plain.log"
loc_bg "$PY" "$T/dest.py" $DEST "$P_DEST" "$T/dest.log"
XCLIENT_REPLY="220 xclient.test ESMTP for the subscriber" \
    loc_bg "$PY" "$T/smarthost.py" $XC "$P_XC" "$T/store_xc" 2>"$T/xc.log"
XCLIENT_REPLY="550 5.7.0 Error: insufficient authorization" \
    loc_bg "$PY" "$T/smarthost.py" $XCR "$P_XCR" "$T/store_xcr" 2>"$T/xcr.log"
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)
loc_bg smtp-sink -v "${sink_user[@]}" -h sink.test $SINK:"$P_SINK" 16 >"$T/sink.log" 2>&1
for hp in "$SMART $P_SMART" "$PLAIN $P_PLAIN" "$DEST $P_DEST" "$XC $P_XC" \
    "$XCR $P_XCR" "$SINK $P_SINK"; do
	# shellcheck disable=SC2086
	wait_until 5 loc_port_open $hp || { echo "FAIL setup: peer $hp did not start"; exit 1; }
done
for i in $(seq 1 20); do	# the readiness probe is logged: forget it
	[ -s "$T/dest.log" ] && break
	sleep 0.1
done
rm -f "$T/dest.log"

# ---------------------------------------------------------------- gateway

# gw NAME SMARTHOST_YAML: (re)start subgated with that smarthost section.
gw() {
	local name=$1
	gw_stop
	cat >"$T/$name.yaml" <<EOF
node: gw.test
workers: 2
listeners:
  - listen: "$GW:$P_SMTP"
    mode: smtp
    intercept: none
    upstream: "$DEST:$P_DEST"
policy:
  default_class: redir
  classes:
    redir:
      action: redirect
      mx: { deny: true }
$2
audit:
  path: "$T/$name.audit"
admin:
  listen: "$GW:$P_ADMIN"
log:
  level: debug
EOF
	loc_gw_start "$T/$name.yaml" "$T/$name.log" loc_port_open $GW "$P_ADMIN" ||
		{ fail "$name" "subgated did not start"; return 1; }
}

smarthost_yaml() { # STARTTLS VERIFY_NAME PASSWORD_FILE [ADDRESS]
	cat <<EOF
smarthost:
  address: "${4:-$SMART:$P_SMART}"
  starttls: $1
  ca_file: "$T/smart.crt"
  verify_name: "$2"
  auth_user: "$USER"
  auth_password_file: "$3"
  helo_name: "gw.test"
EOF
}

send() { "$PY" "$T/client.py" $GW "$P_SMTP" "$1" >"$T/$1.out" 2>&1; }

# ------------------------------------------------------------------ tests

# 1. delivery through STARTTLS and AUTH
if gw ok "$(smarthost_yaml require smart.test "$T/pw")"; then
	send m1
	f=$(grep -l '"<m1@sub.test>"\|m1@sub.test' "$T"/store/SMART*.json 2>/dev/null | head -1)
	if ! grep -q '^quit ok' "$T/m1.out"; then
		fail smarthost_delivery "client: $(tr '\n' ' ' <"$T/m1.out")"
	elif [ -z "$f" ]; then
		fail smarthost_delivery "message not at the smarthost"
	elif ! jq -e '.tls == true and (.tls_version == "TLSv1.2" or .tls_version == "TLSv1.3")
	    and .auth_user == "'"$USER"'" and .rcpts == ["bob@dest.test"]' "$f" >/dev/null; then
		fail smarthost_delivery "smarthost saw $(cat "$f")"
	else
		pass smarthost_delivery
	fi

	if grep -q '^greeting 220 smart.test' "$T/m1.out"; then
		pass smarthost_greeting_relayed
	else
		fail smarthost_greeting_relayed "$(head -1 "$T/m1.out")"
	fi

	if grep -q "^PLAIN $USER ok tls=True" "$T/store/auth.log"; then
		pass smarthost_auth_over_tls
	else
		fail smarthost_auth_over_tls "auth.log: $(cat "$T/store/auth.log" 2>/dev/null)"
	fi

	if [ -s "$T/dest.log" ]; then
		fail smarthost_destination_untouched "$(cat "$T/dest.log")"
	else
		pass smarthost_destination_untouched
	fi

	curl -s "http://$GW:$P_ADMIN/metrics" >"$T/metrics"
	if grep -q '^subgate_redirected_total 1$' "$T/metrics" &&
	    grep -q '^subgate_transactions_total 1$' "$T/metrics" &&
	    grep -q '^subgate_smarthost_failures_total 0$' "$T/metrics" &&
	    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$GW:$P_ADMIN/healthz")" = 200 ]; then
		pass smarthost_metrics
	else
		fail smarthost_metrics "$(grep -E '^subgate_(redirected|transactions|smarthost)' "$T/metrics" | tr '\n' ' ')"
	fi
	gw_stop

	rec=$(grep '"type":"session"' "$T/ok.audit" | head -1)
	if echo "$rec" | jq -e '.redirected_to == "'"$SMART:$P_SMART"'" and .dst == "'"$DEST"'"
	    and .greeting_host == "smart.test" and .end_reason == "quit"' >/dev/null 2>&1; then
		pass smarthost_audit_redirected_to
	else
		fail smarthost_audit_redirected_to "record: $rec"
	fi

	if grep -rqF "$PASS" "$T/ok.log" "$T/ok.audit"; then
		fail smarthost_no_password_recorded "password in log or audit"
	else
		pass smarthost_no_password_recorded
	fi
fi

# expect421 NAME STARTTLS VERIFY PWFILE ADDRESS PATTERN LOGPATTERN
expect421() {
	local name=$1
	gw "$name" "$(smarthost_yaml "$2" "$3" "$4" "$5")" || return
	send "$name"
	gw_stop
	if ! grep -qE "^(greeting|reply) 421 $6" "$T/$name.out"; then
		fail "$name" "client: $(tr '\n' ' ' <"$T/$name.out")"
	elif ! grep -q "$7" "$T/$name.log"; then
		fail "$name" "log lacks: $7"
	else
		pass "$name"
	fi
}

n_auth=$(wc -l <"$T/store/auth.log" 2>/dev/null || echo 0)
# 2. the certificate does not carry the configured name: nothing is sent
expect421 smarthost_wrong_name require other.test "$T/pw" "$SMART:$P_SMART" \
    "4.4.1 No secure connection" 'reason=smarthost_tls error="certificate verify failed: hostname mismatch"'
if [ "$(wc -l <"$T/store/auth.log")" = "$n_auth" ]; then
	pass smarthost_wrong_name_no_auth_sent
else
	fail smarthost_wrong_name_no_auth_sent "the smarthost saw an AUTH"
fi
# 3. the smarthost refuses the credentials
expect421 smarthost_wrong_password require smart.test "$T/pw_wrong" "$SMART:$P_SMART" \
    "4.7.0 The mail relay refused" 'reason=smarthost_auth error="smarthost refused AUTH: 535'
# 4. nobody listens
expect421 smarthost_down require smart.test "$T/pw" "$SMART:$P_NOBODY" \
    "4.4.1 Mail relay unavailable" 'event=upstream_connect_failed'
# 5. starttls: require and the smarthost offers no STARTTLS
expect421 smarthost_require_no_starttls require smart.test "$T/pw" "$PLAIN:$P_PLAIN" \
    "4.4.1 No secure connection" 'reason=smarthost_no_starttls'
# 6. opportunistic with AUTH configured and no STARTTLS: no password in clear
expect421 smarthost_no_cleartext_auth opportunistic smart.test "$T/pw" "$PLAIN:$P_PLAIN" \
    "4.4.1 No secure connection" 'reason=smarthost_auth_cleartext'

# 6b. AUTH without verify_name: a configuration error (a CA-valid
# certificate of any other host would get the password)
printf 'node: gw.test\n%s\n' "$(smarthost_yaml require "" "$T/pw")" >"$T/noname.yaml"
if "$SUBGATED" --check-config -c "$T/noname.yaml" >"$T/noname.out" 2>&1; then
	fail smarthost_auth_needs_verify_name "loaded: $(cat "$T/noname.out")"
elif grep -q 'smarthost.auth_user: requires smarthost.verify_name' "$T/noname.out"; then
	pass smarthost_auth_needs_verify_name
else
	fail smarthost_auth_needs_verify_name "$(cat "$T/noname.out")"
fi

# 7. opportunistic without AUTH: delivered in clear
if gw opportunistic "smarthost:
  address: \"$PLAIN:$P_PLAIN\"
  starttls: opportunistic"; then
	send m7
	gw_stop
	f=$(grep -l 'm7@sub.test' "$T"/store_plain/SMART*.json 2>/dev/null | head -1)
	if grep -q '^quit ok' "$T/m7.out" && [ -n "$f" ] &&
	    jq -e '.tls == false and .auth_user == null' "$f" >/dev/null; then
		pass smarthost_opportunistic_clear
	else
		fail smarthost_opportunistic_clear "$(tr '\n' ' ' <"$T/m7.out")"
	fi
fi

# 8. a relay offering XCLIENT learns the subscriber (after the gateway's
# own EHLO; the subscriber's EHLO follows) and greets it anew
xclient_gw() { # NAME ADDRESS [XCLIENT]
	gw "$1" "smarthost:
  address: \"$2\"
  starttls: off
  xclient: ${3:-auto}"
}
: >"$T/store_xc/xclient.log"
if xclient_gw xclient "$XC:$P_XC"; then
	send m8
	gw_stop
	port=$(awk '$1 == "local" { print $3 }' "$T/m8.out")
	want="XCLIENT NAME=[UNAVAILABLE] ADDR=127.0.0.1 PORT=$port DESTADDR=$DEST DESTPORT=$P_DEST"
	if ! grep -q '^quit ok' "$T/m8.out" || ! grep -q 'm8@sub.test' "$T"/store_xc/SMART*.json; then
		fail smarthost_xclient "client: $(tr '\n' ' ' <"$T/m8.out")"
	elif [ "$(cat "$T/store_xc/xclient.log")" != "$(printf 'EHLO gw.test\n%s\nEHLO subscriber.test' "$want")" ]; then
		fail smarthost_xclient "relay got: $(tr '\n' '|' <"$T/store_xc/xclient.log") want: $want"
	elif ! grep -q '^greeting 220 xclient.test ESMTP for the subscriber' "$T/m8.out"; then
		fail smarthost_xclient "greeting: $(head -1 "$T/m8.out")"
	elif ! grep -q 'event=smarthost_ready .*xclient=sent' "$T/xclient.log"; then
		fail smarthost_xclient "log lacks xclient=sent"
	else
		pass smarthost_xclient
	fi
fi

# 9. xclient: off: nothing sent (and no EHLO of the gateway's own)
: >"$T/store_xc/xclient.log"
if xclient_gw xclient_off "$XC:$P_XC" off; then
	send m9
	gw_stop
	if grep -q '^quit ok' "$T/m9.out" &&
	    [ "$(cat "$T/store_xc/xclient.log")" = "EHLO subscriber.test" ]; then
		pass smarthost_xclient_off
	else
		fail smarthost_xclient_off "relay got: $(tr '\n' '|' <"$T/store_xc/xclient.log")"
	fi
fi

# 10. offered, then refused: delivered without it, logged
if xclient_gw xclient_refused "$XCR:$P_XCR"; then
	send m10
	gw_stop
	if grep -q '^quit ok' "$T/m10.out" && grep -q 'm10@sub.test' "$T"/store_xcr/SMART*.json &&
	    grep -q 'event=smarthost_xclient_refused .*error="smarthost refused XCLIENT: 550 5.7.0' "$T/xclient_refused.log"; then
		pass smarthost_xclient_refused
	else
		fail smarthost_xclient_refused "client: $(tr '\n' ' ' <"$T/m10.out")"
	fi
fi

# 11. Postfix's smtp-sink offers "XCLIENT NAME HELO" (no ADDR): none sent
if xclient_gw xclient_sink "$SINK:$P_SINK"; then
	send m11
	gw_stop
	if ! grep -q '^quit ok' "$T/m11.out"; then
		fail smarthost_xclient_no_addr "client: $(tr '\n' ' ' <"$T/m11.out")"
	elif ! grep -q 'smtp-sink: EHLO gw.test' "$T/sink.log" ||
	    grep -q 'smtp-sink: XCLIENT' "$T/sink.log"; then
		fail smarthost_xclient_no_addr "smtp-sink: $(grep -E 'EHLO|XCLIENT' "$T/sink.log" | tr '\n' '|')"
	else
		pass smarthost_xclient_no_addr
	fi
fi

if [ -s "$T/dest.log" ]; then
	fail destination_never_contacted "$(cat "$T/dest.log")"
else
	pass destination_never_contacted
fi
if grep -l 'Sanitizer\|runtime error' "$T"/*.log >/dev/null 2>&1; then
	fail sanitizers "$(grep -l 'Sanitizer\|runtime error' "$T"/*.log | tr '\n' ' ')"
else
	pass sanitizers
fi

loc_summary t_smarthost
