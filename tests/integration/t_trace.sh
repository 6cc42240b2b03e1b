#!/usr/bin/env bash
# t_trace.sh - the audit trail end to end, on loopback, with real peers:
# its own redis-server, a small Python MX that answers "250 2.0.0 Ok: queued
# as <id>" and takes AUTH PLAIN/LOGIN, subgated (intercept: none) in front
# of it, swaks as the subscriber. Then `subgate trace` must find the message
# by Message-ID, by queue id, by address+port+time, by recipient (HMAC with
# the configured key), by destination and by subscriber, from Redis and from
# the JSON-lines file; and no log, record or Redis dump may hold a password.
#
# GeoIP: mkmmdb.pl writes an ASN and a Country database covering only
# documentation ranges (203.0.113.0/24 -> AS64500 DE, fd00::/8 -> AS64504
# CH, ...) into the temp dir, and subgated reads them. On loopback nothing
# is in them (no dst_* fields). Then, in network namespaces of their own
# (lib.sh's topology: subscriber 100.64.0.2, gateway with nftables redirect,
# "internet" with the MX at 203.0.113.10 and fd00:203::10), a subscriber's
# mail must leave session and txn records with the destination's AS number,
# organisation and country, found again by `subgate trace`. Test hosts use
# documentation / shared / ULA addresses only, never a public one. Without
# network namespaces (not root) that part prints SKIP lines.
#
# Prints "PASS name" / "FAIL name" per check and a summary line, exits
# non-zero if any failed. usage: t_trace.sh [BUILD_DIR]: subgated and the
# subgate CLI from BUILD_DIR/proxy; without it, SUBGATED=/path/to/subgated
# (default: the newest build*/proxy/subgated) and the CLI beside it.
# SG_KEEP_TMP=1 keeps the temp dir.
set -uo pipefail

# lib_local.sh, and through it lib.sh: the namespace topology of the GeoIP
# part; its cleanup removes the namespaces too.
# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_t_trace
BUILD=${1:-${BUILD:-}}
if [ -n "$BUILD" ]; then
	SUBGATED=$BUILD/proxy/subgated
	SUBGATE=$BUILD/proxy/cli/subgate
fi

PW_PLAIN='Pw-plain-8Hq2Zr5'
PW_LOGIN='Pw-login-3Kx9Vt1'
MID='<t-trace.1@example.net>'

check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

loc_need_subgated t_trace_build
[ -x "$SUBGATE" ] || { echo "FAIL t_trace_build: $SUBGATE missing"; exit 1; }
loc_need t_trace_tools redis-server redis-cli swaks
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
	{ echo "FAIL t_trace_tools: libmaxmind-db-writer-perl needed (deploy/install-deps.sh)"; exit 1; }

RPORT=$(loc_free_port); MXPORT=$(loc_free_port); GWPORT=$(loc_free_port)

# ---------------------------------------------------------------- peers
# uncompressed, so that the secrets check below reads the RDB as it is
loc_redis_start "$RPORT" redis.log --rdbcompression no

cat >"$TMP/mx.py" <<'EOF'
# A minimal MX: EHLO with AUTH PLAIN LOGIN, any credentials accepted,
# "250 2.0.0 Ok: queued as QT<n>" after the data, logged on stderr with
# the peer as Postfix logs it ("QT0001: client=[192.0.2.1]:40123").
# usage: mx.py PORT [HOST...]   (default host 127.0.0.1)
import asyncio, sys
n = 0
async def handle(r, w):
    global n
    peer = w.get_extra_info("peername")
    def send(s): w.write((s + "\r\n").encode())
    send("220 mx.test ESMTP t_trace")
    while True:
        line = await r.readline()
        if not line:
            break
        cmd = line.decode("latin-1").strip()
        u = cmd.upper()
        if u.startswith("EHLO"):
            send("250-mx.test"); send("250-AUTH PLAIN LOGIN"); send("250 8BITMIME")
        elif u.startswith("HELO"):
            send("250 mx.test")
        elif u.startswith("AUTH PLAIN"):
            if len(cmd.split()) < 3:
                send("334 "); await r.readline()
            send("235 2.7.0 Authentication successful")
        elif u.startswith("AUTH LOGIN"):
            if len(cmd.split()) < 3:
                send("334 VXNlcm5hbWU6"); await r.readline()
            send("334 UGFzc3dvcmQ6"); await r.readline()
            send("235 2.7.0 Authentication successful")
        elif u.startswith("MAIL") or u.startswith("RCPT") or u.startswith("RSET") or u.startswith("NOOP"):
            send("250 2.1.0 Ok")
        elif u == "DATA":
            send("354 End data with <CR><LF>.<CR><LF>")
            while True:
                d = await r.readline()
                if not d or d in (b".\r\n", b".\n"):
                    break
            n += 1
            print("QT%04d: client=[%s]:%d" % (n, peer[0], peer[1]),
                  file=sys.stderr, flush=True)
            send("250 2.0.0 Ok: queued as QT%04d" % n)
        elif u == "QUIT":
            send("221 2.0.0 Bye"); await w.drain(); break
        else:
            send("502 5.5.2 Error")
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, sys.argv[2:] or "127.0.0.1", int(sys.argv[1]))
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
EOF
loc_bg "$PY" "$TMP/mx.py" "$MXPORT" 2>"$TMP/mx.log"

loc_secret "$TMP/hmac.key" trace-test-key
# GeoIP databases of documentation ranges only, made now (mkmmdb.pl).
mkdir -p "$TMP/mmdb"
perl "$SG_DIR/mkmmdb.pl" "$TMP/mmdb" 2>"$TMP/mkmmdb.log"
check mkmmdb test -s "$TMP/mmdb/test-asn.mmdb" -a -s "$TMP/mmdb/test-country.mmdb"
GEOIP="geoip:
  asn_db: $TMP/mmdb/test-asn.mmdb
  country_db: $TMP/mmdb/test-country.mmdb"
cat >"$TMP/subgate.yaml" <<EOF
node: trace-gw
workers: 2
listeners:
  - listen: "127.0.0.1:$GWPORT"
    mode: smtp
    intercept: none
    upstream: "127.0.0.1:$MXPORT"
audit:
  path: $TMP/audit.jsonl
  recipients: hmac
  hmac_key_file: $TMP/hmac.key
  index: redis
  retention: 8d
redis:
  address: "127.0.0.1:$RPORT"
$GEOIP
EOF

# ready: the index is up and a connection is taken (a session of its own)
gw_ready() { grep -q event=audit_index_up "$GW_LOG" && loc_port_open 127.0.0.1 "$GWPORT"; }
loc_gw_start "$TMP/subgate.yaml" "$TMP/subgated.log" gw_ready

# ---------------------------------------------------------------- traffic
swaks -4 --server "127.0.0.1:$GWPORT" --ehlo pc.t-trace --from bot@example.net \
	--to 'Victim@Example.ORG' --header "Message-Id: $MID" >"$TMP/swaks1.log" 2>&1
check swaks_mx grep -q "queued as QT" "$TMP/swaks1.log"
swaks -4 --server "127.0.0.1:$GWPORT" --from alice@home.example --to b@example.org \
	--auth PLAIN --auth-user alice@home.example --auth-password "$PW_PLAIN" \
	>"$TMP/swaks2.log" 2>&1
check swaks_auth_plain grep -q "235 2.7.0" "$TMP/swaks2.log"
swaks -4 --server "127.0.0.1:$GWPORT" --from carol@home.example --to c@example.org \
	--auth LOGIN --auth-user carol@home.example --auth-password "$PW_LOGIN" \
	>"$TMP/swaks3.log" 2>&1
check swaks_auth_login grep -q "235 2.7.0" "$TMP/swaks3.log"

# SIGTERM: subgated drains, writes every record, flushes the index, exits 0.
gw_stop
check sigterm_exit_0 [ "$GW_RC" = 0 ]
# 4 sessions (the readiness probe above is one, without a transaction)
check records_complete test "$(grep -c '"type":"session"' "$TMP/audit.jsonl")" -eq 4 -a \
	"$(grep -c '"type":"txn"' "$TMP/audit.jsonl")" -eq 3
check index_flushed grep -q 'event=audit_index_stop queued=7 indexed=7 dropped=0 errors=0' "$TMP/subgated.log"

# Facts of the first session from its record.
read -r SID SPORT START QID < <("$PY" - "$TMP/audit.jsonl" "$MID" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("type") == "txn" and r.get("message_id") == sys.argv[2]:
        print(r["session"], r["src_port"], r["start"], r["queue_id"])
EOF
)
check record_queue_id grep -qx 'QT[0-9]*' <<<"${QID:-}"
check record_rcpt_hmac_only bash -c "! grep -qi victim '$TMP/audit.jsonl'"
check record_no_geo_for_loopback bash -c "! grep -q dst_asn '$TMP/audit.jsonl'"

# ---------------------------------------------------------------- trace
T=(trace -c "$TMP/subgate.yaml")
F=(trace --file "$TMP/audit.jsonl")
found() {	# found NAME ARGS...: exit 0 and the session id in the output
	local name=$1; shift
	local out rc=0
	out=$("$SUBGATE" "$@" 2>"$TMP/err") || rc=$?
	if [ "$rc" -eq 0 ] && grep -q "$SID" <<<"$out"; then pass "$name"
	else fail "$name" "rc=$rc $(head -c 300 "$TMP/err")"; fi
}
for src in redis file; do
	if [ $src = redis ]; then A=("${T[@]}"); else A=("${F[@]}"); fi
	found trace_${src}_message_id "${A[@]}" --message-id "$MID"
	found trace_${src}_message_id_bare "${A[@]}" --message-id "${MID:1:-1}"
	found trace_${src}_queue_id "${A[@]}" --queue-id "$QID"
	found trace_${src}_addr_port_time "${A[@]}" --addr 127.0.0.1 --port "$SPORT" --at "$START"
	found trace_${src}_rcpt_hmac "${A[@]}" --rcpt '<Victim@example.org>' --hmac-key-file "$TMP/hmac.key"
	found trace_${src}_dst "${A[@]}" --dst 127.0.0.1 --from -1h
	found trace_${src}_subscriber "${A[@]}" --subscriber 127.0.0.1 --from -1h --to now
done
found trace_config_key_rcpt "${T[@]}" --rcpt 'Victim@EXAMPLE.org'
# the local part is compared as written (RFC 5321 2.4), the domain is not
rc=0; "$SUBGATE" "${T[@]}" --rcpt 'victim@example.org' >/dev/null 2>&1 || rc=$?
check trace_rcpt_local_part_exact [ "$rc" -eq 1 ]
found trace_redis_option "trace" --redis "127.0.0.1:$RPORT" --message-id "$MID"

rc=0; "$SUBGATE" "${T[@]}" --addr 127.0.0.1 --port 1 --at "$START" >/dev/null 2>&1 || rc=$?
check trace_other_port_not_found [ "$rc" -eq 1 ]
rc=0; "$SUBGATE" "${T[@]}" --addr 127.0.0.1 --at 2020-01-01T00:00:00Z >/dev/null 2>&1 || rc=$?
check trace_other_time_not_found [ "$rc" -eq 1 ]
rc=0; "$SUBGATE" "${F[@]}" --message-id '<nobody@nowhere>' >/dev/null 2>&1 || rc=$?
check trace_unknown_mid_exit_1 [ "$rc" -eq 1 ]
rc=0; "$SUBGATE" trace --message-id x >/dev/null 2>&1 || rc=$?
check trace_no_source_exit_2 [ "$rc" -eq 2 ]
rc=0; "$SUBGATE" trace --redis "127.0.0.1:$(loc_free_port)" --message-id x >/dev/null 2>&1 || rc=$?
check trace_redis_down_exit_2 [ "$rc" -eq 2 ]
"$SUBGATE" "${T[@]}" --json --message-id "$MID" >"$TMP/json.out" 2>/dev/null
check trace_json "$PY" -c "
import json, sys
rs = [json.loads(l) for l in open('$TMP/json.out')]
assert any(r['type'] == 'txn' and r['queue_id'] == '$QID' for r in rs), rs
assert any(r['type'] == 'session' and r['id'] == '$SID' and r['class'] == 'mx' for r in rs), rs
"
gzip -c "$TMP/audit.jsonl" >"$TMP/audit.jsonl.1.gz"
found trace_gzip_file trace --file "$TMP/audit.jsonl.1.gz" --queue-id "$QID"
found trace_submission_by_user_session trace --file "$TMP/audit.jsonl" --subscriber 127.0.0.1 --from -1h

# ---------------------------------------------------------------- secrets
rcli save >/dev/null
rcli --scan --pattern 'sg:*' | while read -r k; do
	rcli --raw get "$k" 2>/dev/null
	rcli --raw zrange "$k" 0 -1 2>/dev/null
done >"$TMP/redis-dump.txt"
check auth_user_recorded grep -q '"auth_user":"alice@home.example"' "$TMP/audit.jsonl"
check auth_login_user_recorded grep -q '"auth_user":"carol@home.example"' "$TMP/audit.jsonl"
check redis_has_records grep -q "$SID" "$TMP/redis-dump.txt"
B64_PLAIN=$(printf '\0%s\0%s' alice@home.example "$PW_PLAIN" | base64 -w0)
B64_LOGIN=$(printf '%s' "$PW_LOGIN" | base64 -w0)
leak=0
for f in "$TMP/audit.jsonl" "$TMP/subgated.log" "$TMP/redis-dump.txt" "$TMP/dump.rdb" "$TMP/redis.log"; do
	[ -e "$f" ] || continue
	for s in "$PW_PLAIN" "$PW_LOGIN" "$B64_PLAIN" "$B64_LOGIN"; do
		if grep -aqF -- "$s" "$f"; then echo "  secret found in $f" >&2; leak=1; fi
	done
done
check no_password_anywhere [ "$leak" -eq 0 ]

# ------------------------------------------- GeoIP in namespaces (doc ranges)
# subscriber 100.64.0.2 (sub ns) --25--> nft redirect --> subgated (gw ns,
# own redis-server on the namespace's 127.0.0.1) --> MX 203.0.113.10 and
# fd00:203::10 (net ns, the mx.py above). Nothing here is routed anywhere
# else; lib.sh's sg_cleanup removes the namespaces on every exit path.
geo_part() {
	local gcfg=$TMP/geo.yaml gaudit=$TMP/geo-audit.jsonl glog=$TMP/geo-subgated.log
	local mid4='t-trace.geo4@example.net' mid6='t-trace.geo6@example.net'
	if ! topo_up 2>"$TMP/topo.err" || ! nft_load redirect 2>>"$TMP/topo.err"; then
		fail geo_topology "$(head -c 300 "$TMP/topo.err")"
		return
	fi
	loc_bg ip netns exec "$NS_NET" "$PY" "$TMP/mx.py" 25 "$MX4" "$MX6" 2>"$TMP/geo-mx.log"
	loc_bg ip netns exec "$NS_GW" redis-server --port 6379 --bind 127.0.0.1 --save "" \
		--appendonly no --dir "$TMP" --logfile "$TMP/geo-redis.log"
	cat >"$gcfg" <<EOF
node: trace-geo-gw
workers: 2
listeners:
  - listen: "[::]:10025"
    mode: smtp
    intercept: redirect
upstream:
  allow: ["fd00:203::/64"]    # the ULA MX, in upstream.deny's fc00::/7
identity:
  static:
    - { prefix: "100.64.0.0/24", subscriber: "cust-geo" }
    - { prefix: "fd00:64::/64", subscriber: "cust-geo" }
audit:
  path: $gaudit
  recipients: hmac
  hmac_key_file: $TMP/hmac.key
  index: redis
redis:
  address: "127.0.0.1:6379"
$GEOIP
EOF
	wait_until 10 listening "$NS_NET" 25 "$MX4"
	wait_until 10 listening "$NS_NET" 25 "[$MX6]"
	wait_until 10 in_gw redis-cli -p 6379 ping
	loc_bg ip netns exec "$NS_GW" "$SUBGATED" -c "$gcfg" 2>"$glog"
	GW_PID=$!
	wait_until 10 listening "$NS_GW" 10025
	wait_until 5 grep -q event=audit_index_up "$glog"

	swaks_probe
	send_mail "$TMP/geo-swaks4.log" --server "$MX4" --from bot@example.net \
		--to victim@example.org --ehlo pc.t-trace-geo --msgid "$mid4"
	check geo_swaks_v4 grep -q "queued as QT" "$TMP/geo-swaks4.log"
	send_mail "$TMP/geo-swaks6.log" --server "$MX6" --from bot@example.net \
		--to victim@example.org --ehlo pc.t-trace-geo --msgid "$mid6"
	check geo_swaks_v6 grep -q "queued as QT" "$TMP/geo-swaks6.log"

	gw_stop
	check geo_sigterm_exit_0 [ "$GW_RC" = 0 ]

	# session and txn records: the destination's AS, organisation, country
	geo_rec() {	# geo_rec MID DST ASN ORG CC: both records of that message
		"$PY" - "$gaudit" "$@" <<'EOF'
import json, sys
f, mid, dst, asn, org, cc = sys.argv[1:]
rs = [json.loads(l) for l in open(f)]
t = [r for r in rs if r.get("type") == "txn" and r.get("message_id") == "<%s>" % mid]
assert len(t) == 1, t
s = [r for r in rs if r.get("type") == "session" and r["id"] == t[0]["session"]]
assert len(s) == 1, s
for r in (s[0], t[0]):
    want = {"dst": dst, "dst_port": 25, "dst_asn": int(asn), "dst_as_org": org,
            "dst_country": cc, "subscriber": "cust-geo", "subscriber_source": "static"}
    got = {k: r.get(k) for k in want}
    assert got == want, (r["type"], got, want)
print(s[0]["id"], s[0]["src"], s[0]["src_port"], t[0]["start"], t[0]["queue_id"])
EOF
	}
	local g4
	if g4=$(geo_rec "$mid4" "$MX4" 64500 'Example Transit (documentation)' DE 2>"$TMP/geo4.err"); then
		pass geo_records_v4_asn_org_country
	else fail geo_records_v4_asn_org_country "$(tail -n 1 "$TMP/geo4.err")"; fi
	if geo_rec "$mid6" "$MX6" 64504 'Example ULA Net (documentation)' CH >/dev/null 2>"$TMP/geo6.err"; then
		pass geo_records_v6_asn_org_country
	else fail geo_records_v6_asn_org_country "$(tail -n 1 "$TMP/geo6.err")"; fi
	check geo_src_is_subscriber_ns grep -q "^[0-9a-f]* $SUB4 " <<<"$g4"

	# and `subgate trace` finds them there, from Redis and from the file
	local sid src sport start qid out
	read -r sid src sport start qid <<<"$g4"
	[ -n "${sid:-}" ] || { fail geo_trace "no record"; return; }
	gfound() {	# gfound NAME ARGS...: exit 0, the session id in the output
		local name=$1 grc=0
		shift
		out=$(ip netns exec "$NS_GW" "$SUBGATE" "$@" 2>"$TMP/err") || grc=$?
		if [ "$grc" -eq 0 ] && grep -q "$sid" <<<"$out"; then pass "$name"
		else fail "$name" "rc=$grc $(head -c 300 "$TMP/err")"; fi
	}
	gfound geo_trace_redis_dst trace -c "$gcfg" --dst "$MX4" --from -1h
	gfound geo_trace_file_dst trace --file "$gaudit" --dst "$MX4"
	gfound geo_trace_redis_addr_port_time trace -c "$gcfg" --addr "$src" --port "$sport" --at "$start"
	gfound geo_trace_redis_subscriber trace -c "$gcfg" --subscriber cust-geo --from -1h --to now
	gfound geo_trace_redis_queue_id trace -c "$gcfg" --queue-id "$qid"

	# A complaint quotes what the MX logged: the gateway's address and the
	# port of its own connection (REDIRECT, upstream.source gateway), not
	# the subscriber's. trace finds the subscriber from that side too.
	local ua up
	read -r ua up < <(sed -n "s/^$qid: client=\[\(.*\)\]:\([0-9]*\)\$/\1 \2/p" "$TMP/geo-mx.log")
	if [ -z "${ua:-}" ] || [ "$ua" = "$src" ]; then
		fail geo_mx_logged_gateway_side "MX log: $(grep "^$qid" "$TMP/geo-mx.log")"
	else
		pass geo_mx_logged_gateway_side
		gfound geo_trace_redis_upstream_side trace -c "$gcfg" --addr "$ua" --port "$up" --at "$start"
		check geo_trace_upstream_side_shown grep -q "cust-geo .* via $ua:$up" <<<"$out"
		gfound geo_trace_file_upstream_side trace --file "$gaudit" --addr "$ua" --port "$up" --at "$start"
		ip netns exec "$NS_GW" "$SUBGATE" trace --file "$gaudit" --json --addr "$ua" \
			--port "$up" --at "$start" >"$TMP/geo-up.out" 2>/dev/null
		check geo_trace_json_matched_upstream "$PY" -c "
import json
rs = [json.loads(l) for l in open('$TMP/geo-up.out')]
m = [r for r in rs if r.get('matched') == 'upstream_src']
assert m and all(r['upstream_src'] == '$ua' and r['upstream_src_port'] == $up and
                 r['subscriber'] == 'cust-geo' for r in m), rs
"
		# the same port on the subscriber side is somebody else's question
		local grc=0
		ip netns exec "$NS_GW" "$SUBGATE" trace --file "$gaudit" --addr "$ua" \
			--port $((up == 65535 ? 1 : up + 1)) --at "$start" >/dev/null 2>&1 || grc=$?
		check geo_trace_upstream_other_port_none [ "$grc" -eq 1 ]
	fi
	ip netns exec "$NS_GW" "$SUBGATE" trace -c "$gcfg" --json --message-id "$mid4" \
		>"$TMP/geo-json.out" 2>/dev/null
	check geo_trace_json_geo "$PY" -c "
import json
rs = [json.loads(l) for l in open('$TMP/geo-json.out')]
assert sorted(r['type'] for r in rs) == ['session', 'txn'], rs
assert all(r['dst_asn'] == 64500 and r['dst_country'] == 'DE' and
           r['dst_as_org'] == 'Example Transit (documentation)' for r in rs), rs
"
}
if [ "$(id -u)" -ne 0 ] || ! sg_netns_possible; then
	echo "SKIP geo_*: network namespaces unavailable (run as root)"
elif ! command -v nft >/dev/null; then
	echo "SKIP geo_*: nft not installed (deploy/install-deps.sh)"
else
	geo_part
fi

loc_summary t_trace
