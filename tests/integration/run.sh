#!/bin/bash
# run.sh - subgate integration tests: subgated in a gateway network namespace
# between a subscriber namespace and an "internet" namespace with real peers
# (Postfix smtp-sink, aiosmtpd MX and MSA, swaks, raw Python clients).
#
#   sudo tests/integration/run.sh [TEST_NAME_PATTERN]
#
# Environment: SUBGATED=/path/to/subgated (default: the newest
# build*/proxy/subgated in the repo; built into build-it/ if there is none),
# SG_KEEP_TMP=1 keeps the temp dir (configs, logs, audit files, transcripts).
#
# Prints "PASS name" or "FAIL name: reason" per test, and last a line
# "N passed, N failed, N skipped". Exits non-zero if any test failed.
set -euo pipefail

# shellcheck source=./lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FILTER=${1:-}
PASSED=0
FAILED=0
SKIPPED=0
GW_NAME=""
T=""	# the running test's own temp dir

ALL_TESTS=(
	redirect_v4_delivery redirect_v6_delivery
	submission_auth_plain submission_auth_login no_password_recorded
	tls_starttls starttls_injection
	passthrough_587 passthrough_465 passthrough_v6_587 passthrough_server_halfclose
	connect_fail_closed_port connect_fail_no_host
	loop_own_address
	smuggling_normalize smuggling_reject
	pipelining_order client_halfclose multi_txn passthrough_not_limited
	long_line nul_in_command garbage_before_ehlo
	silent_client trickling_client upstream_silent_greeting
	upstream_reset_mid_data
	many_6000
	sigterm_drain
	tproxy_gateway_source tproxy_subscriber_source
)

# ------------------------------------------------------------------ harness

# fail REASON: end the current test (it runs in a subshell) with REASON.
fail() {
	printf '%s\n' "$*" >"$SG_TMP/why"
	exit 1
}

# jqe FILE FILTER: jq -e on a file holding one JSON object.
jqe() { jq -e "$2" "$1" >/dev/null 2>&1; }
jqr() { jq -r "$2" "$1" 2>/dev/null; }

# use_gw NAME INTERCEPT [EXTRA_YAML]: make sure subgated runs with that
# config (restarting it if another one runs). NAME "none": none running.
use_gw() {
	local name=$1
	if [ "$name" = "$GW_NAME" ] && gw_alive; then
		return 0
	fi
	gw_stop
	GW_NAME=""
	[ "$name" = none ] && return 0
	gw_start "$(gw_config "$@")" || return 1
	GW_NAME=$name
}

# run_test NAME NFT GW_NAME INTERCEPT [EXTRA_YAML]
run_test() {
	local name=$1 nft=$2
	shift 2
	if [ -n "$FILTER" ] && ! grep -qE -- "$FILTER" <<<"$name"; then
		return 0
	fi
	rm -f "$SG_TMP/why"
	if [ "$nft" != "$NFT_MODE" ]; then
		if ! nft_load "$nft" 2>"$SG_TMP/nft.err"; then
			FAILED=$((FAILED + 1))
			echo "FAIL $name: cannot load the $nft table (subgated --print-nft): $(head -c 300 "$SG_TMP/nft.err")"
			return 0
		fi
		NFT_MODE=$nft
		gw_stop
		GW_NAME=""
	fi
	if ! use_gw "$@" 2>"$SG_TMP/gw.err"; then
		FAILED=$((FAILED + 1))
		echo "FAIL $name: subgated did not start: $(tail -c 400 "$SG_TMP/gw.err" | tr '\n' ' ')"
		return 0
	fi
	local t0=$SECONDS rc=0
	T=$SG_TMP/t/$name
	mkdir -p "$T"
	(
		trap - EXIT
		set +e
		"t_$name"
	) || rc=$?
	if [ $rc = 0 ] && [ "$1" != none ] && ! gw_alive; then
		echo "gateway process died during the test: $(tail -n 3 "$GW_LOG" | tr '\n' ' ')" >"$SG_TMP/why"
		rc=1
	fi
	if [ $rc = 0 ] && ! audit_valid; then
		echo "audit file has a line that is not a v1 JSON object" >"$SG_TMP/why"
		rc=1
	fi
	if [ $rc = 0 ]; then
		PASSED=$((PASSED + 1))
		echo "PASS $name ($((SECONDS - t0))s)"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $name: $(cat "$SG_TMP/why" 2>/dev/null || echo "exit status $rc")"
	fi
	if ! gw_alive; then
		GW_PID=""
		GW_NAME=""
	fi
	# A test that ran its own subgated (GW_NAME none) may have left it
	# behind on failure: only subgated runs in the gateway namespace.
	if [ "$1" = none ]; then
		gw_reap
	fi
}

gw_reap() {
	local pids
	pids=$(ip netns pids "$NS_GW" 2>/dev/null || true)
	[ -z "$pids" ] && return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	sleep 1
	pids=$(ip netns pids "$NS_GW" 2>/dev/null || true)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

# session_of EHLO: the session record (compact JSON) whose ehlo is EHLO;
# waits up to 10 s for it (it is written when the session ends).
session_of() {
	local sel=".type==\"session\" and .ehlo==\"$1\""
	wait_until 10 audit_has "$sel" || true
	audit_sel "$sel" | tail -n 1
}
txns_of() { audit_sel ".type==\"txn\" and .session==\"$1\""; }

# mx_mail_froms HELO: the envelope senders smtp-sink received in sessions
# whose EHLO was HELO, sorted, one per line, without <>.
mx_mail_froms() {
	local f
	grep -lx -- "X-Helo-Args: $1" "$MX_DIR"/v4/m.* "$MX_DIR"/v6/m.* 2>/dev/null |
		while IFS= read -r f; do
			sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$f" | head -n 1
		done | sort
}

# A message whose bytes the aiosmtpd MX must store exactly: dot-stuffed
# lines, 8-bit data, a 998-octet line, a Message-ID. $1: file for the wire
# form (with the final "."), $2: file for what the MX must store.
make_message() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import os, random, sys
wire, stored, msgid = sys.argv[1], sys.argv[2], sys.argv[3]
rnd = random.Random(msgid)
lines = [b"Message-ID: <" + msgid.encode() + b">", b"From: <sender@sub.example>",
         b"To: <rcpt@mx.example>", b"Subject: byte-exact " + msgid.encode(),
         b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=utf-8",
         b"Content-Transfer-Encoding: 8bit", b""]
lines += [b".leading dot", b"..two dots", b".", b"x" * 998, "ümlaut ✓".encode()]
alphabet = bytes(range(32, 127)) + bytes(range(128, 256))
for i in range(3000):
    n = rnd.randrange(0, 200)
    ln = bytes(rnd.choice(alphabet) for _ in range(n))
    if rnd.random() < 0.05:
        ln = b"." + ln
    lines.append(ln)
body = b"".join(l + b"\r\n" for l in lines)
stuffed = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
open(stored, "wb").write(body)
open(wire, "wb").write(stuffed + b".\r\n")
EOF
}

# delivery_check NAME DST SRC_EXPECT MXPEER_EXPECT: a byte-exact message
# through the gateway to the aiosmtpd MX at DST; checks the MX's copy, the
# peer address the MX saw, and the audit session + txn records.
delivery_check() {
	local name=$1 dst=$2 src=$3 mxpeer=$4 msgid="$1-$RANDOM@sub.example" c meta sess sid txn qid
	make_message "$T/$name.wire" "$T/$name.stored" "$msgid"
	c=$T/$name.chat
	chat "$c" "$dst" -- r "s:EHLO $name.sub.example\r\n" r \
		"s:MAIL FROM:<$name@sub.example>\r\n" r "s:RCPT TO:<rcpt@mx.example>\r\n" r \
		"s:DATA\r\n" r "sf:$T/$name.wire" r "s:QUIT\r\n" r eof:5
	jqe "$c" '[.replies[].code] == [220,250,250,250,354,250,221]' ||
		fail "$name: unexpected replies: $(jq -c '[.replies[].text]' "$c" 2>/dev/null || cat "$c")"
	qid=$(jqr "$c" '.replies[5].text' | sed -n 's/.*queued as \([A-Z0-9]*\).*/\1/p')
	[ -n "$qid" ] || fail "$name: no queue id in the MX's reply"
	wait_until 5 test -e "$QMX_DIR/$qid.json" || fail "$name: MX has no message $qid"
	cmp -s "$QMX_DIR/$qid.eml" "$T/$name.stored" ||
		fail "$name: message stored by the MX differs from the one sent ($(cmp "$QMX_DIR/$qid.eml" "$T/$name.stored" 2>&1 | head -n 1))"
	meta=$QMX_DIR/$qid.json
	[ "$(jqr "$meta" .peer)" = "$mxpeer" ] ||
		fail "$name: MX saw peer $(jqr "$meta" .peer), expected $mxpeer"
	sess=$(session_of "$name.sub.example")
	[ -n "$sess" ] || fail "$name: no audit session record with ehlo $name.sub.example"
	echo "$sess" >"$T/$name.session.json"
	# the upstream side is what the MX logged: address and port
	jqe "$T/$name.session.json" ".upstream_src == \"$(jqr "$meta" .peer)\" and
		.upstream_src_port == $(jqr "$meta" .peer_port)" ||
		fail "$name: record's upstream side $(jq -c '[.upstream_src, .upstream_src_port]' "$T/$name.session.json"), MX saw $(jq -c '[.peer, .peer_port]' "$meta")"
	jqe "$T/$name.session.json" "
		.mode == \"smtp\" and .class == \"mx\" and .src == \"$src\" and
		.src_port == $(jqr "$c" .local_port) and .dst == \"$dst\" and .dst_port == 25 and
		.transactions == 1 and (.id|type) == \"string\" and .node != null" ||
		fail "$name: session record wrong: $sess"
	sid=$(jqr "$T/$name.session.json" .id)
	txn=$(txns_of "$sid")
	[ "$(grep -c . <<<"$txn")" = 1 ] || fail "$name: expected 1 txn record for session $sid, got: $txn"
	echo "$txn" >"$T/$name.txn.json"
	jqe "$T/$name.txn.json" "
		.seq == 1 and .mail_from == \"$name@sub.example\" and .rcpts == [\"rcpt@mx.example\"] and
		.rcpt_count == 1 and (.message_id | test(\"$msgid\")) and .reply_code == 250 and
		.queue_id == \"$qid\" and (.reply | test(\"queued as $qid\")) and
		((.size - $(stat -c %s "$T/$name.stored")) | if . < 0 then -. else . end) <= 300" ||
		fail "$name: txn record wrong (stored size $(stat -c %s "$T/$name.stored")): $txn"
}

# ------------------------------------------------------------------- tests

t_redirect_v4_delivery() {
	delivery_check rv4 "$QMX4" "$SUB4" "$GWNET4"
	# And the plain tools: swaks to Postfix's smtp-sink.
	send_mail "$T/swaks.out" --server "$MX4" --ehlo rv4-swaks.sub.example --msgid "rv4-swaks@sub.example" ||
		fail "swaks to smtp-sink through the gateway failed: $(tail -n 4 "$T/swaks.out" | tr '\n' ' ')"
	[ "$(mx_count 'Message-Id: <rv4-swaks@sub.example>')" = 1 ] || fail "smtp-sink did not get the swaks message"
	local s
	s=$(session_of rv4-swaks.sub.example)
	jq -e ".class==\"mx\" and .dst==\"$MX4\" and .transactions==1" <<<"$s" >/dev/null ||
		fail "swaks session record wrong: $s"
}

t_redirect_v6_delivery() {
	delivery_check rv6 "$QMX6" "$SUB6" "$GWNET6"
	send_mail "$T/swaks.out" --server "$MX6" --ehlo rv6-swaks.sub.example --msgid "rv6-swaks@sub.example" ||
		fail "mail to smtp-sink [$MX6] through the gateway failed: $(tail -n 4 "$T/swaks.out" | tr '\n' ' ')"
	[ "$(mx_count 'Message-Id: <rv6-swaks@sub.example>')" = 1 ] || fail "smtp-sink did not get the IPv6 message"
	grep -q "^X-Client-Addr: ipv6:$GWNET6\$" "$(mx_files 'Message-Id: <rv6-swaks@sub.example>')" ||
		fail "smtp-sink saw another peer than ipv6:$GWNET6"
}

submission_check() {
	local mech=$1 ehlo meta s
	ehlo=sub-${mech,,}.sub.example
	send_mail "$T/send.out" --server "$MSA4" --auth "$mech" --ehlo "$ehlo" --msgid "$ehlo@sub.example" ||
		fail "AUTH $mech submission through the gateway failed: $(tail -n 4 "$T/send.out" | tr '\n' ' ')"
	meta=$(store_meta "$MSA_DIR" "$ehlo@sub.example")
	[ -n "$meta" ] || fail "the MSA did not store the message"
	jq -e ".auth_user == \"$MSA_USER\"" <<<"$meta" >/dev/null || fail "MSA: message not authenticated: $meta"
	s=$(session_of "$ehlo")
	[ -n "$s" ] || fail "no audit session record with ehlo $ehlo"
	jq -e ".class == \"submission\" and .auth_user == \"$MSA_USER\" and .auth_mech == \"$mech\" and
		.dst == \"$MSA4\" and .dst_port == 25 and .transactions == 1" <<<"$s" >/dev/null ||
		fail "session record wrong (want class submission, auth_user, auth_mech $mech): $s"
}
t_submission_auth_plain() { submission_check PLAIN; }
t_submission_auth_login() { submission_check LOGIN; }

# No file the gateway wrote may contain the password, in clear or in any of
# the base64 forms AUTH PLAIN / LOGIN carry it. Runs after the AUTH tests.
t_no_password_recorded() {
	local forms f pat hit=""
	local bad='Wr0ng-Pw-77xQ' b64u b64p plain badplain s
	b64u=$(printf '%s' "$MSA_USER" | base64 -w0)
	b64p=$(printf '%s' "$MSA_PASS" | base64 -w0)
	plain=$(printf '\0%s\0%s' "$MSA_USER" "$MSA_PASS" | base64 -w0)
	badplain=$(printf '\0%s\0%s' "$MSA_USER" "$bad" | base64 -w0)
	send_mail "$T/p.out" --server "$MSA4" --auth PLAIN --ehlo pw-plain.sub.example || true
	send_mail "$T/l.out" --server "$MSA4" --auth LOGIN --ehlo pw-login.sub.example || true
	# AUTH PLAIN without initial response (334 continuation), AUTH LOGIN
	# with the user name as initial response, and a wrong password.
	chat "$T/noir.json" "$MSA4" -- r "s:EHLO pw-noir.sub.example\r\n" r "s:AUTH PLAIN\r\n" r "s:$plain\r\n" r "s:QUIT\r\n" r
	chat "$T/loginir.json" "$MSA4" -- r "s:EHLO pw-loginir.sub.example\r\n" r "s:AUTH LOGIN $b64u\r\n" r "s:$b64p\r\n" r "s:QUIT\r\n" r
	chat "$T/bad.json" "$MSA4" -- r "s:EHLO pw-bad.sub.example\r\n" r "s:AUTH PLAIN $badplain\r\n" r "s:QUIT\r\n" r
	jqe "$T/noir.json" '[.replies[].code] == [220,250,334,235,221]' ||
		fail "AUTH PLAIN without initial response through the gateway: $(jq -c '[.replies[].text]' "$T/noir.json")"
	jqe "$T/loginir.json" '[.replies[].code] == [220,250,334,235,221]' ||
		fail "AUTH LOGIN with initial response through the gateway: $(jq -c '[.replies[].text]' "$T/loginir.json")"
	jqe "$T/bad.json" '[.replies[].code] == [220,250,535,221]' ||
		fail "AUTH with a wrong password through the gateway: $(jq -c '[.replies[].text]' "$T/bad.json")"
	for s in pw-noir pw-loginir; do
		session_of "$s.sub.example" | jq -e ".class == \"submission\" and .auth_user == \"$MSA_USER\"" >/dev/null ||
			fail "$s: want class submission with auth_user: $(session_of "$s.sub.example")"
	done
	session_of pw-bad.sub.example | jq -e '.class == "mx"' >/dev/null ||
		fail "failed AUTH (535) must leave the session class mx: $(session_of pw-bad.sub.example)"
	forms=("$MSA_PASS" "$plain" "$b64p" "$bad" "$badplain"
		"$(printf '%s' "$bad" | base64 -w0)"
		"$(printf '%s\0%s\0%s' "$MSA_USER" "$MSA_USER" "$MSA_PASS" | base64 -w0)")
	for f in "$SG_TMP"/gw-*.log "$SG_TMP"/audit-*.jsonl "$SG_TMP"/gw-*.yaml; do
		[ -e "$f" ] || continue
		for pat in "${forms[@]}"; do
			grep -qaF -- "$pat" "$f" && hit="$hit $(basename "$f"):'$pat'"
		done
	done
	[ -z "$hit" ] || fail "password found in gateway output:$hit"
	# The test must have exercised AUTH at all.
	[ "$(audit_count '.type=="session" and .class=="submission"')" -ge 2 ] ||
		fail "no submission sessions recorded, nothing was checked"
}

t_tls_starttls() {
	local meta s
	send_mail "$T/send.out" --server "$MSA4" --tls --auth PLAIN --ehlo tls.sub.example --msgid "tls-1@sub.example" ||
		fail "STARTTLS submission through the gateway failed: $(tail -n 4 "$T/send.out" | tr '\n' ' ')"
	meta=$(store_meta "$MSA_DIR" "tls-1@sub.example")
	jq -e '.tls == true' <<<"$meta" >/dev/null || fail "MSA did not get the message over TLS: $meta"
	s=$(session_of tls.sub.example)
	[ -n "$s" ] || fail "no audit session record with ehlo tls.sub.example"
	jq -e ".class == \"tls\" and .dst == \"$MSA4\" and (.auth_user == null or .auth_user == \"\")" <<<"$s" >/dev/null ||
		fail "session record wrong (want class tls, no auth_user: AUTH was inside TLS): $s"
}

# STARTTLS command injection (CVE-2011-0411 style): plaintext pipelined
# after STARTTLS must not reach the server (it would run inside TLS).
t_starttls_injection() {
	local c=$T/inj.json s
	chat "$c" "$MSA4" -- r "s:EHLO inj.sub.example\r\n" r \
		"s:STARTTLS\r\nMAIL FROM:<inj@evil.example>\r\n" r tls \
		"s:EHLO inj2.sub.example\r\n" r "s:MAIL FROM:<ok@sub.example>\r\n" r "s:QUIT\r\n" r
	jqe "$c" '.replies[2].code == 220 and .tls != null' ||
		fail "STARTTLS did not work: $(cat "$c")"
	jqe "$c" '(.plain_after_220 // "") == ""' || fail "plaintext reply after 220: $(jqr "$c" .plain_after_220)"
	jqe "$c" '[.replies[3:][].code] == [250,250,221] and (.replies[3].text | test("msa.example.net"))' ||
		fail "the injected MAIL reached the server (or TLS broke): $(jq -c '[.replies[].text], .tls_error' "$c")"
	s=$(session_of inj.sub.example)
	jq -e '.class == "tls" and .dropped_after_starttls >= 1' <<<"$s" >/dev/null ||
		fail "session record: want class tls and dropped_after_starttls > 0: $s"
}

# passthrough_check DST PORT SRC [--server-first]: 10 MB each way through
# the pass-through tunnel, both directions checked byte for byte against the
# peer's log, and the session record. Leaves the peer's record in
# $T/pt-PORT.peer.
passthrough_check() {
	local dst=$1 port=$2 src=$3 sf=${4:-} c=$T/pt-$2.json peer s n
	in_sub "$PY" "$SG_DIR/clients.py" pt --dst "$dst" --port "$port" --size $((10 * 1024 * 1024 + 4321)) ${sf:+"$sf"} >"$c" 2>&1 ||
		fail "pass-through client failed: $(cat "$c")"
	if [ -z "$sf" ]; then
		jqe "$c" '.error == null and .trailer_ok' ||
			fail "port $port: the peer did not receive exactly what the client sent (or the half-close did not arrive): $(cat "$c")"
	else
		jqe "$c" '.error == null' || fail "port $port (server first): $(cat "$c")"
	fi
	wait_until 5 grep -q "$(jqr "$c" .sent_sha256)" "$PT_LOG"
	peer=$(grep -F "\"recv_sha256\": \"$(jqr "$c" .sent_sha256)\"" "$PT_LOG" | tail -n 1)
	[ -n "$peer" ] || fail "port $port: no peer record with the client's hash (the peer got other bytes, or none)"
	echo "$peer" >"$T/pt-$port.peer"
	jq -e --argjson cl "$(cat "$c")" '.recv_bytes == $cl.sent_bytes and .sent_bytes == $cl.recv_bytes and
		.sent_sha256 == $cl.recv_sha256 and .error == null' <<<"$peer" >/dev/null ||
		fail "port $port: client->peer or peer->client bytes differ: client $(cat "$c") peer $peer"
	n=$(jqr "$c" .recv_total)
	wait_until 10 audit_has ".type==\"session\" and .mode==\"passthrough\" and .src_port==$(jqr "$c" .local_port)" || true
	s=$(audit_sel ".type==\"session\" and .mode==\"passthrough\" and .src_port==$(jqr "$c" .local_port)" | tail -n 1)
	[ -n "$s" ] || fail "port $port: no passthrough session record for src_port $(jqr "$c" .local_port)"
	jq -e ".class == \"passthrough\" and .src == \"$src\" and .dst == \"$dst\" and .dst_port == $port and
		.bytes_from_client == $(jqr "$c" .sent_bytes) and .bytes_to_client == $n" <<<"$s" >/dev/null ||
		fail "port $port: session record wrong (sent $(jqr "$c" .sent_bytes), received $n): $s"
}
t_passthrough_587() { passthrough_check "$PT4" 587 "$SUB4"; }
t_passthrough_465() { passthrough_check "$PT4" 465 "$SUB4"; }
t_passthrough_v6_587() { passthrough_check "$PT6" 587 "$SUB6"; }
# The other half-close: the server sends everything and half-closes first;
# the client then still sends its 10 MB through the half-closed tunnel.
t_passthrough_server_halfclose() {
	passthrough_check "$PT4" 465 "$SUB4" --server-first
	passthrough_check "$PT6" 587 "$SUB6" --server-first
}

connect_fail_check() {
	local dst=$1 maxt=$2 c=$T/cf.json s
	chat "$c" "$dst" -- r eof:10
	jqe "$c" '.replies[0].code == 421 and (.replies[0].text | test("^421 4\\.4\\.1 "))' ||
		fail "dialling $dst:25: want 421 4.4.1, got: $(cat "$c")"
	jqe "$c" ".eof and .elapsed < $maxt" || fail "dialling $dst:25: not closed within ${maxt}s: $(cat "$c")"
	wait_until 10 audit_has ".type==\"session\" and .dst==\"$dst\" and .src_port==$(jqr "$c" .local_port)" ||
		fail "no session record for the failed connection to $dst"
}
# 203.0.113.30 is up but has nothing on port 25: RST.
t_connect_fail_closed_port() { connect_fail_check "$PT4" 5; }
# 203.0.113.99 does not exist: connect_timeout (3 s) or no ARP answer.
t_connect_fail_no_host() {
	connect_fail_check "$NOBODY4" 10
	connect_fail_check "$NOBODY6" 10
}

t_loop_own_address() {
	local a c sel
	for a in "$GWSUB4" "$GWNET4" "$GWSUB6"; do
		c=$T/loop-$a.json
		chat "$c" "$a" -- r eof:5
		# Either the defined refusal, or closed without a word; never a
		# greeting (that would be subgate talking to itself) or a hang.
		if jqe "$c" '.replies[0].code == 554 and (.replies[0].text | test("^554 5\\.4\\.6"))'; then
			# refused, and on record like any port-25 session
			sel=".type==\"session\" and .src_port==$(jqr "$c" .local_port) and .end_reason==\"loop\" and .class==\"blocked\""
			wait_until 10 audit_has "$sel" ||
				fail "dialling the gateway's own $a:25: 554 5.4.6 but no session record with end_reason loop"
		else
			jqe "$c" '.eof and ([.replies[] | select(.code > 0)] | length) == 0' ||
				fail "dialling the gateway's own $a:25: want 554 5.4.6 or a clean close, got: $(cat "$c")"
		fi
		jqe "$c" '.elapsed < 8' || fail "dialling $a:25 took $(jqr "$c" .elapsed)s"
	done
	# The pass-through listener must not connect to itself either.
	for a in "$GWSUB4" "$GWSUB6"; do
		c=$T/loop587-$a.json
		CHAT_TIMEOUT=5 chat "$c" "$a" 587 -- r eof:3
		jqe "$c" '([.replies[] | select(.code > 0)] | length) == 0 and .elapsed < 8' ||
			fail "dialling the gateway's own $a:587: want a clean close, got: $(cat "$c")"
	done
	gw_alive || fail "gateway died"
	send_mail "$T/after.out" --server "$MX4" --ehlo loop-after.sub.example ||
		fail "delivery after the loop attempts failed"
}

# Payload separators: the bare-LF/CR "end of data" forms of SMTP smuggling.
SMUGGLE_SEPS=('\n.\n' '\n.\r\n' '\r\n.\n' '\r.\r\n' '\r\n.\r')

smuggle_chat() {
	local out=$1 ehlo=$2 i=$3 sep=$4
	chat "$out" "$MX4" -- r "s:EHLO $ehlo\r\n" r \
		"s:MAIL FROM:<outer-$i@sub.example>\r\n" r "s:RCPT TO:<victim@mx.example>\r\n" r \
		"s:DATA\r\n" r \
		"s:Subject: outer $i\r\n\r\nhello${sep}MAIL FROM:<smuggled-$i@evil.example>\r\nRCPT TO:<victim2@mx.example>\r\nDATA\r\nSubject: smuggled $i\r\n\r\nsmuggled body\r\n.\r\n" \
		eof:3 "s:QUIT\r\n" eof:5
}

t_smuggling_normalize() {
	local i=0 sep ehlo c s sid mx au
	for sep in "${SMUGGLE_SEPS[@]}"; do
		i=$((i + 1))
		ehlo=smug-n-$i.sub.example
		c=$T/smug-$i.json
		smuggle_chat "$c" "$ehlo" "$i" "$sep"
		s=$(session_of "$ehlo")
		[ -n "$s" ] || fail "variant $i ($sep): no session record"
		sid=$(jq -r .id <<<"$s")
		sleep 0.3
		# What the MX accepted must be exactly what the audit shows as accepted.
		mx=$(mx_mail_froms "$ehlo" | tr '\n' ' ')
		au=$(txns_of "$sid" | jq -r 'select(.reply_code == 250) | .mail_from' | sort | tr '\n' ' ')
		[ "$mx" = "$au" ] ||
			fail "variant $i ($sep): MX accepted [${mx}] but audit records [${au}] (hidden message)"
		[ -n "$mx" ] || fail "variant $i ($sep): nothing delivered at all under normalize: $(cat "$c")"
		jq -e ".normalized_newlines >= 1" <<<"$s" >/dev/null ||
			fail "variant $i ($sep): normalized_newlines not counted: $s"
	done
}

t_smuggling_reject() {
	local i=0 sep ehlo c
	for sep in "${SMUGGLE_SEPS[@]}"; do
		i=$((i + 1))
		ehlo=smug-r-$i.sub.example
		c=$T/smug-$i.json
		smuggle_chat "$c" "$ehlo" "$i" "$sep"
		jqe "$c" '[.replies[] | select(.text | test("^554 5\\.6\\.11"))] | length == 1' ||
			fail "variant $i ($sep): want 554 5.6.11, got $(jq -c '[.replies[].text]' "$c")"
		jqe "$c" '.eof' || fail "variant $i ($sep): connection not closed after 554"
		session_of "$ehlo" >/dev/null
		sleep 0.3
		[ -z "$(mx_mail_froms "$ehlo")" ] ||
			fail "variant $i ($sep): the MX got a message: $(mx_mail_froms "$ehlo" | tr '\n' ' ')"
	done
}

# PIPELINING (RFC 2920): a reply the gateway gives itself (500 for an
# over-long line) must come in command order among the upstream's replies.
t_pipelining_order() {
	local c=$T/pipe.json long
	long=$(head -c 10240 /dev/zero | tr '\0' 'y')
	chat "$c" "$MX4" -- r "s:EHLO pipe.sub.example\r\n" r \
		"s:MAIL FROM:<pipe@sub.example>\r\nNOOP $long\r\nRCPT TO:<a@mx.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n" \
		r r r r r "s:Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n" r r
	jqe "$c" '[.replies[].code] == [220,250,250,500,250,250,354,250,221]' ||
		fail "pipelined replies out of order or wrong: $(jq -c '[.replies[].text | .[0:40]]' "$c" 2>/dev/null || cat "$c")"
	jqe "$c" '.replies[3].text | test("^500 5\\.5\\.2")' || fail "want 500 5.5.2 in 4th place: $(jqr "$c" '.replies[3].text')"
	session_of pipe.sub.example >/dev/null
	local sid
	sid=$(session_of pipe.sub.example | jq -r .id)
	txns_of "$sid" | jq -e '.rcpt_count == 2 and .rcpts == ["a@mx.example","b@mx.example"] and .reply_code == 250' >/dev/null ||
		fail "txn record wrong: $(txns_of "$sid")"
}

# A client that pipelines its last commands and QUIT, then half-closes
# (printf ... | nc): it must still get every reply.
t_client_halfclose() {
	local c=$T/half.json
	chat "$c" "$MX4" -- r "s:EHLO half.sub.example\r\nMAIL FROM:<half@sub.example>\r\nRCPT TO:<r@mx.example>\r\nDATA\r\nSubject: half\r\n\r\nbody\r\n.\r\nQUIT\r\n" \
		shut r r r r r r eof:5
	jqe "$c" '[.replies[].code] == [220,250,250,250,354,250,221] and .eof' ||
		fail "after the client's half-close: $(jq -c '[.replies[].text | .[0:40]]' "$c" 2>/dev/null || cat "$c")"
	[ "$(mx_mail_froms half.sub.example)" = half@sub.example ] || fail "message not delivered"
}

# Several transactions in one session: one txn record each, in order, each
# with its own queue id.
t_multi_txn() {
	local c=$T/multi.json i steps=() sid q
	for i in 1 2 3; do
		steps+=("s:MAIL FROM:<m$i@sub.example>\r\n" r "s:RCPT TO:<r$i@mx.example>\r\n" r "s:DATA\r\n" r
			"s:Message-ID: <multi-$i-$$@sub.example>\r\nSubject: $i\r\n\r\nbody $i\r\n.\r\n" r)
		[ $i = 2 ] && steps+=("s:MAIL FROM:<aborted@sub.example>\r\n" r "s:RSET\r\n" r)
	done
	chat "$c" "$QMX4" -- r "s:EHLO multi.sub.example\r\n" r "${steps[@]}" "s:QUIT\r\n" r
	jqe "$c" '[.replies[].code] == [220,250, 250,250,354,250, 250,250,354,250, 250,250, 250,250,354,250, 221]' ||
		fail "replies: $(jq -c '[.replies[].text | .[0:40]]' "$c" 2>/dev/null || cat "$c")"
	sid=$(session_of multi.sub.example | jq -r .id)
	[ -n "$sid" ] || fail "no session record"
	session_of multi.sub.example | jq -e '.transactions == 3 or .transactions == 4' >/dev/null ||
		fail "session record: $(session_of multi.sub.example)"
	for i in 1 2 3; do
		q=$(txns_of "$sid" | jq -r "select(.mail_from == \"m$i@sub.example\") | .queue_id")
		if [ -z "$q" ] || [ ! -e "$QMX_DIR/$q.json" ]; then
			fail "txn m$i: queue id '$q' not at the MX"
		fi
		jq -e ".mail_from == \"m$i@sub.example\" and .rcpts == [\"r$i@mx.example\"]" "$QMX_DIR/$q.json" >/dev/null ||
			fail "txn m$i: queue id $q belongs to another message: $(cat "$QMX_DIR/$q.json")"
	done
	txns_of "$sid" | jq -s -e 'map(select(.reply_code == 250)) | map(.seq) as $s | ($s == ($s | sort)) and ($s | unique | length) == 3' >/dev/null ||
		fail "txn seq numbers: $(txns_of "$sid" | jq -c '{seq, mail_from, outcome}' | tr '\n' ' ')"
}

# RFC 5068 4.1: no limit may refuse 587/465. With max_sessions 1 per worker
# and the SMTP side full, pass-through must still work byte for byte.
t_passthrough_not_limited() {
	local i pids=()
	for i in 1 2 3 4; do
		chat "$T/hold-$i.json" "$MX4" -- r "s:EHLO hold-$i.sub.example\r\n" r sleep:8 "s:QUIT\r\n" r &
		pids+=($!)
	done
	sleep 1
	passthrough_check "$PT4" 587 "$SUB4"
	passthrough_check "$PT4" 465 "$SUB4"
	wait "${pids[@]}" || true
	# The limit did bite on port 25 (else this test proved nothing): at most
	# 2 of the 4 SMTP sessions were served, the others got a 421.
	local served refused
	served=$(cat "$T"/hold-*.json | jq -s '[.[] | select(.replies[0].code == 220)] | length')
	refused=$(cat "$T"/hold-*.json | jq -s '[.[] | select(.replies[0].code == 421)] | length')
	if [ "$served" -gt 2 ] || [ $((served + refused)) != 4 ]; then
		fail "max_sessions 1 x 2 workers: $served of 4 SMTP sessions served, $refused refused with 421"
	fi
}

# A normal transaction after the odd input proves the session went on.
TXN_STEPS=("s:MAIL FROM:<after@sub.example>\r\n" r "s:RCPT TO:<rcpt@mx.example>\r\n" r
	"s:DATA\r\n" r "s:Subject: after\r\n\r\nstill here\r\n.\r\n" r "s:QUIT\r\n" r)

t_long_line() {
	local c=$T/ll.json long
	long=$(head -c 10240 /dev/zero | tr '\0' 'x')
	chat "$c" "$MX4" -- r "s:EHLO ll.sub.example\r\n" r "s:NOOP $long\r\n" r "s:NOOP\r\n" r "${TXN_STEPS[@]}"
	jqe "$c" '.replies[2].text | test("^500 5\\.5\\.2")' ||
		fail "10 KB line: want 500 5.5.2, got: $(jq -c '[.replies[].text]' "$c" 2>/dev/null || cat "$c")"
	jqe "$c" '[.replies[3:][].code] == [250,250,250,354,250,221]' ||
		fail "session did not go on normally after the long line: $(jq -c '[.replies[].text]' "$c")"
	[ "$(mx_mail_froms ll.sub.example)" = after@sub.example ] || fail "message after the long line not delivered"
	! grep -qa "$long" "$MX_DIR"/v4/m.* 2>/dev/null || fail "the long line reached the MX"
}

t_nul_in_command() {
	local c=$T/nul.json
	chat "$c" "$MX4" -- r "s:EHLO nul.sub.example\r\n" r "s:NOOP\x00hidden\r\n" r \
		"s:MAIL FROM:<nul@sub.example>\x00RCPT TO:<x@evil.example>\r\n" r "s:NOOP\r\n" r "${TXN_STEPS[@]}"
	jqe "$c" '(.replies[2].code / 100 | floor) == 5 and (.replies[3].code / 100 | floor) == 5' ||
		fail "NUL in a command: want 5xx twice, got: $(jq -c '[.replies[].text]' "$c" 2>/dev/null || cat "$c")"
	jqe "$c" '[.replies[4:][].code] == [250,250,250,354,250,221]' ||
		fail "session did not go on normally after NUL: $(jq -c '[.replies[].text]' "$c")"
	[ "$(mx_mail_froms nul.sub.example)" = after@sub.example ] ||
		fail "MX got [$(mx_mail_froms nul.sub.example | tr '\n' ' ')], want only after@sub.example"
}

t_garbage_before_ehlo() {
	local c=$T/garbage.json g
	# Binary junk (a TLS ClientHello-like start, high bytes, no CR/LF/NUL),
	# then an HTTP request line, then plain words: three lines, three replies.
	g=$("$PY" -c 'import random; r=random.Random(7); a=[b for b in range(1,256) if b not in (10,13)]; print("".join("\\x%02x" % b for b in [0x16,3,1,2,1,1] + [r.choice(a) for _ in range(300)]))')
	chat "$c" "$MX4" -- r "s:$g\r\n" r "s:GET / HTTP/1.1\r\n" r "s:hello there\r\n" r \
		"s:EHLO garbage.sub.example\r\n" r "${TXN_STEPS[@]}"
	jqe "$c" '[.replies[1:4][].code / 100 | floor] == [5,5,5]' ||
		fail "garbage lines: want three 5xx replies, got: $(jq -c '[.replies[].text]' "$c" 2>/dev/null || cat "$c")"
	jqe "$c" '[.replies[4:][].code] == [250,250,250,354,250,221]' ||
		fail "EHLO and a transaction after garbage did not work: $(jq -c '[.replies[].text]' "$c")"
	[ "$(mx_mail_froms garbage.sub.example)" = after@sub.example ] || fail "message after garbage not delivered"
	session_of garbage.sub.example | jq -e '.class == "mx" and .transactions == 1' >/dev/null ||
		fail "session record missing or wrong: $(session_of garbage.sub.example)"
}

t_silent_client() {
	local c=$T/idle.json
	chat "$c" "$MX4" -- r "s:EHLO idle.sub.example\r\n" r eof:20
	jqe "$c" '.replies[0].code == 220 and .replies[1].code == 250' || fail "no greeting/EHLO: $(cat "$c")"
	jqe "$c" '.replies[2].text | test("^421 4\\.4\\.")' ||
		fail "silent client: want 421 4.4.x after client_idle (2s), got: $(jq -c '[.replies[].text]' "$c")"
	jqe "$c" '.eof and .elapsed >= 1.5 and .elapsed < 8' ||
		fail "silent client: closed after $(jqr "$c" .elapsed)s (client_idle 2s), eof=$(jqr "$c" .eof)"
}

t_trickling_client() {
	local c=$T/trickle.json
	chat "$c" "$MX4" -- r "s:EHLO trickle.sub.example\r\n" r "trickle:NOOP aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:0.5:45"
	jqe "$c" '.eof' || fail "trickling client (1 byte/0.5s) not cut off within 45s: $(cat "$c")"
	jqe "$c" '.elapsed < 25' || fail "trickling client cut off only after $(jqr "$c" .elapsed)s (client_idle 2s, session_max_time 10s)"
	jqe "$c" '[.replies[] | select(.text | test("^421 4\\."))] | length >= 1' ||
		fail "trickling client closed without a 421: $(jq -c '[.replies[].text]' "$c")"
}

# An upstream that accepts and never greets: 421 after timeouts.greeting (2s).
t_upstream_silent_greeting() {
	local c=$T/silent.json
	chat "$c" "$SILENT4" -- r eof:5
	jqe "$c" '.replies[0].text | test("^421 4\\.4\\.")' ||
		fail "silent upstream: want 421 4.4.x, got: $(cat "$c")"
	jqe "$c" '.eof and .elapsed >= 1.5 and .elapsed < 8' ||
		fail "silent upstream: closed after $(jqr "$c" .elapsed)s (greeting timeout 2s)"
}

t_upstream_reset_mid_data() {
	local c=$T/reset.json
	"$PY" -c 'import sys; sys.stdout.write("Subject: big\r\n\r\n" + "".join("line %06d of a message that the upstream will not take\r\n" % i for i in range(1000)))' >"$T/body"
	chat "$c" "$RST4" -- r "s:EHLO reset.sub.example\r\n" r "s:MAIL FROM:<reset@sub.example>\r\n" r \
		"s:RCPT TO:<rcpt@mx.example>\r\n" r "s:DATA\r\n" r "sf:$T/body" eof:10
	jqe "$c" '[.replies[0:5][].code] == [220,250,250,250,354]' || fail "setup: $(jq -c '[.replies[].text]' "$c" 2>/dev/null || cat "$c")"
	jqe "$c" '[.replies[] | select(.text | test("^421 4\\.4\\.2"))] | length == 1' ||
		fail "upstream reset mid-DATA: want 421 4.4.2, got: $(jq -c '[.replies[].text]' "$c")"
	jqe "$c" '.eof' || fail "connection not closed after the upstream reset"
	gw_alive || fail "gateway died"
	send_mail "$T/after.out" --server "$MX4" --ehlo reset-after.sub.example ||
		fail "delivery after the upstream reset failed"
	session_of reset.sub.example >/dev/null
	[ -n "$(session_of reset.sub.example)" ] || fail "no session record for the reset session"
}

t_many_6000() {
	local c=$T/many.json n rss
	in_sub bash -c 'ulimit -n 20000; exec "$@"' _ "$PY" "$SG_DIR/clients.py" many --dst "$MX4" --count 6000 \
		--timeout 120 --hold-file "$T/hold" --hold 60 >"$c" 2>&1 &
	local cpid=$!
	wait_until 150 test -e "$T/hold" || true
	n=$(in_gw ss -Htn state established "( sport = :10025 )" | wc -l)
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status" 2>/dev/null || echo "?")
	touch "$T/hold.done"
	wait "$cpid" || true
	jqe "$c" '.greeted + .refused421 == 6000' ||
		fail "6000 connections: not all got a greeting or a 421: $(cat "$c")"
	echo "6000 held: $n established on :10025, subgated VmRSS ${rss} KiB, $(jq -c . "$c")" >"$T/note"
	gw_alive || fail "gateway died under 6000 connections"
	send_mail "$T/after.out" --server "$QMX4" --ehlo many-after.sub.example --msgid many-after@sub.example ||
		fail "delivery after 6000 connections failed: $(tail -n 4 "$T/after.out" | tr '\n' ' ')"
	[ -n "$(store_meta "$QMX_DIR" many-after@sub.example)" ] || fail "message after the 6000 not stored"
}

t_sigterm_drain() {
	local cfg a=$T/a.json b=$T/b.json n=$T/new.json apid bpid i
	cfg=$(gw_config drain redirect 'shutdown: { drain_timeout: 6s }')
	gw_start "$cfg" || fail "subgated did not start"
	chat "$a" "$QMX4" -- r "s:EHLO drain-a.sub.example\r\n" r "s:MAIL FROM:<drain@sub.example>\r\n" r \
		"s:RCPT TO:<rcpt@mx.example>\r\n" r "touch:$T/a.ready" "wait:$T/go" "s:DATA\r\n" r \
		"s:Message-ID: <drain-a@sub.example>\r\nSubject: drain\r\n\r\nfinished during drain\r\n.\r\n" r \
		"s:QUIT\r\n" r eof:5 &
	apid=$!
	chat "$b" "$MX4" -- r "s:EHLO drain-b.sub.example\r\n" r "touch:$T/b.ready" eof:30 &
	bpid=$!
	wait_until 10 test -e "$T/a.ready" -a -e "$T/b.ready" || fail "clients did not get ready"
	kill -TERM "$GW_PID"
	sleep 1
	gw_alive || fail "gateway exited at once on SIGTERM instead of draining"
	# A new connection during drain is not steered to the draining
	# process: intercept.on_down open routes it to the MX directly.
	CHAT_TIMEOUT=5 chat "$n" "$MX4" -- r "s:QUIT\r\n" r eof:2
	jqe "$n" '[.replies[].code] == [220, 221]' || fail "new session during drain did not reach the MX directly: $(cat "$n")"
	in_gw nft list set inet subgate serving | grep -q 'elements' &&
		fail "the set serving still has elements while draining: $(in_gw nft list set inet subgate serving | tr '\n' ' ')"
	touch "$T/go"
	wait "$apid" || true
	jqe "$a" '[.replies[].code] == [220,250,250,250,354,250,221]' ||
		fail "session in progress did not complete during drain: $(jq -c '[.replies[].text]' "$a" 2>/dev/null || cat "$a")"
	[ -n "$(store_meta "$QMX_DIR" drain-a@sub.example)" ] || fail "message sent during drain not at the MX"
	for ((i = 0; i < 120; i++)); do
		gw_alive || break
		sleep 0.1
	done
	gw_alive && fail "gateway still running 12s after SIGTERM (drain_timeout 6s)"
	GW_RC=0
	wait "$GW_PID" || GW_RC=$?
	[ "$GW_RC" = 0 ] || fail "exit status $GW_RC after SIGTERM, want 0"
	wait "$bpid" || true
	jqe "$b" '.eof' || fail "idle session not closed at drain timeout"
	jqe "$b" '[.replies[] | select(.code == 421)] | length <= 1' || fail "idle session: $(cat "$b")"
	audit_has '.type=="session" and .ehlo=="drain-a.sub.example" and .transactions==1' ||
		fail "no session record for the drained session"
	audit_has '.type=="session" and .ehlo=="drain-b.sub.example"' ||
		fail "no session record for the session cut at drain timeout"
	audit_has '.type=="txn" and .message_id != null and (.message_id|test("drain-a@sub.example"))' ||
		fail "no txn record for the message sent during drain"
	audit_has ".type==\"session\" and .src_port==$(jqr "$n" .local_port)" &&
		fail "the connection made during drain went through subgated"
	return 0
}

tproxy_check() {
	local tag=$1 src4=$2 src6=$3 s f
	delivery_check "$tag-4" "$QMX4" "$SUB4" "$src4"
	delivery_check "$tag-6" "$QMX6" "$SUB6" "$src6"
	send_mail "$T/swaks.out" --server "$MX4" --ehlo "$tag-swaks.sub.example" ||
		fail "swaks through the TPROXY gateway failed: $(tail -n 4 "$T/swaks.out" | tr '\n' ' ')"
	f=$(mx_files "^X-Helo-Args: $tag-swaks.sub.example\$")
	[ "$(grep -c . <<<"$f")" = 1 ] || fail "smtp-sink has $(grep -c . <<<"$f") messages from $tag-swaks, want 1"
	grep -q "^X-Client-Addr: $src4\$" "$f" ||
		fail "smtp-sink saw peer $(sed -n 's/^X-Client-Addr: //p' "$f"), want $src4"
	passthrough_check "$PT4" 587 "$SUB4"
	jq -e ".peer == \"$src4\"" "$T/pt-587.peer" >/dev/null ||
		fail "pass-through peer saw $(jq -r .peer "$T/pt-587.peer"), want $src4"
	chat "$T/loop.json" "$GWSUB4" -- r eof:5
	jqe "$T/loop.json" '([.replies[] | select(.code == 220)] | length) == 0 and .elapsed < 8' ||
		fail "TPROXY: dialling the gateway itself: $(cat "$T/loop.json")"
	s=$(in_gw nft list table inet subgate | grep -c 'tproxy ip to :10025' || true)
	[ "$s" -ge 1 ] || fail "TPROXY rule set not loaded"
}
t_tproxy_gateway_source() { tproxy_check tpg "$GWNET4" "$GWNET6"; }
# The MX must see the subscriber's own address (IP_TRANSPARENT bind).
t_tproxy_subscriber_source() { tproxy_check tps "$SUB4" "$SUB6"; }

# --------------------------------------------------------------------- main

NFT_MODE=""
IDLE_YAML='smtp: { bare_newline: normalize, timeouts: {greeting: 2s, command: 30s, data_init: 30s, data_block: 30s, data_end: 30s, client_idle: 2s} }
limits: { buffer: 256k, max_sessions: 0, session_max_time: 10s }'
REJECT_YAML='smtp: { bare_newline: reject, timeouts: {greeting: 30s, command: 30s, data_init: 30s, data_block: 30s, data_end: 30s, client_idle: 60s} }'

main() {
	local t
	if ! sg_netns_possible; then
		echo "SKIP: network namespaces unavailable"
		echo "0 passed, 0 failed, ${#ALL_TESTS[@]} skipped"
		exit 0
	fi
	for t in jq smtp-sink swaks openssl nft ss; do
		command -v "$t" >/dev/null || {
			echo "SKIP: $t not installed (deploy/install-deps.sh)"
			echo "0 passed, 0 failed, ${#ALL_TESTS[@]} skipped"
			exit 0
		}
	done
	sg_init
	if ! find_subgated; then
		echo "building subgated into $SG_ROOT/build-it ..." >&2
		if cmake -S "$SG_ROOT" -B "$SG_ROOT/build-it" >"$SG_TMP/build.log" 2>&1 &&
			cmake --build "$SG_ROOT/build-it" -j2 --target subgated >>"$SG_TMP/build.log" 2>&1; then
			SUBGATED=$SG_ROOT/build-it/proxy/subgated
		else
			tail -n 20 "$SG_TMP/build.log" >&2
			for t in "${ALL_TESTS[@]}"; do echo "FAIL $t: subgated could not be built"; done
			echo "0 passed, ${#ALL_TESTS[@]} failed"
			exit 1
		fi
	fi
	echo "subgated: $SUBGATED; temp: $SG_TMP" >&2
	ulimit -n 20000 2>/dev/null || true
	swaks_probe
	topo_up
	peers_up

	run_test redirect_v4_delivery redirect base redirect
	run_test redirect_v6_delivery redirect base redirect
	run_test submission_auth_plain redirect base redirect
	run_test submission_auth_login redirect base redirect
	run_test no_password_recorded redirect base redirect
	run_test tls_starttls redirect base redirect
	run_test starttls_injection redirect base redirect
	run_test passthrough_587 redirect base redirect
	run_test passthrough_465 redirect base redirect
	run_test passthrough_v6_587 redirect base redirect
	run_test passthrough_server_halfclose redirect base redirect
	run_test connect_fail_closed_port redirect base redirect
	run_test connect_fail_no_host redirect base redirect
	run_test loop_own_address redirect base redirect
	run_test smuggling_normalize redirect base redirect
	run_test pipelining_order redirect base redirect
	run_test client_halfclose redirect base redirect
	run_test multi_txn redirect base redirect
	run_test long_line redirect base redirect
	run_test nul_in_command redirect base redirect
	run_test garbage_before_ehlo redirect base redirect
	run_test upstream_reset_mid_data redirect base redirect
	# 6000 from one address: per_source off, or it would refuse all but 256
	run_test many_6000 redirect many redirect \
		'limits: { buffer: 256k, max_sessions: 0, session_max_time: 1h, per_source: 0 }'
	run_test smuggling_reject redirect reject redirect "$REJECT_YAML"
	run_test silent_client redirect idle redirect "$IDLE_YAML"
	run_test trickling_client redirect idle redirect "$IDLE_YAML"
	run_test upstream_silent_greeting redirect idle redirect "$IDLE_YAML"
	run_test passthrough_not_limited redirect limited redirect 'limits: { buffer: 256k, max_sessions: 1, session_max_time: 1h }'
	run_test sigterm_drain redirect none
	run_test tproxy_gateway_source tproxy tproxy-gw tproxy
	run_test tproxy_subscriber_source tproxy tproxy-sub tproxy 'upstream: { connect_timeout: 3s, source: subscriber, allow: ["fd00:203::/64"] }'
	gw_stop

	for t in "$SG_TMP"/t/*/note; do
		[ -e "$t" ] && echo "note $(basename "$(dirname "$t")"): $(cat "$t")"
	done
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ]
}

main "$@"
