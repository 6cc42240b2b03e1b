#!/bin/bash
# t_policy.sh - the port-25 policy and its Redis limits end to end, all on
# loopback: its own redis-server (free port, no persistence), a Python MX
# that logs every command it receives, an echo server behind a passthrough
# listener (the 587 stand-in), and three subgated processes sharing that
# Redis: A and B fail open, C fails closed. Clients are Python and bind
# their own 127.0.0.x source address, so every check has a subscriber of
# its own (the subscriber of an unknown address is the address).
#
#   tests/integration/t_policy.sh
#
# Environment: SUBGATED=/path/to/subgated (default: the newest
# build*/proxy/subgated), SUBGATE=/path/to/subgate (the CLI, next to it),
# SG_KEEP_TMP=1 keeps the temp dir. Prints "PASS name" / "FAIL name:
# reason" per check and a summary line; exits non-zero if any failed.
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib_local.sh"
loc_init sg_policy

expect_eq() {	# expect_eq NAME WANT GOT
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want [$2], got [$3]"; fi
}

loc_need_subgated setup
loc_need setup redis-server redis-cli

RPORT=$(loc_free_port)
MPORT=$(loc_free_port)
EPORT=$(loc_free_port)
A25=$(loc_free_port); A587=$(loc_free_port)
B25=$(loc_free_port); B587=$(loc_free_port)
C25=$(loc_free_port); C587=$(loc_free_port)
MXLOG=$TMP/mx.log

# ------------------------------------------------------------ peers

evalsha_calls() {
	rcli info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0
}

cat > "$TMP/peers.py" <<'EOF'
# mx PORT LOG: an MX that logs every command line; 235 to AUTH, 220 to
# STARTTLS and then swallows everything (an opaque "TLS" stream).
# echo PORT: echoes every byte (the passthrough upstream).
import socketserver, sys, threading, itertools
class T(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024
kind, port = sys.argv[1], int(sys.argv[2])
if kind == "echo":
    class E(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                b = self.request.recv(65536)
                if not b:
                    return
                self.request.sendall(b)
    T(("127.0.0.1", port), E).serve_forever()
log = open(sys.argv[3], "a", buffering=1)
lk = threading.Lock()
ids = itertools.count(1)
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 mx.test ESMTP")
        data = False
        for line in self.rfile:
            if data:
                if line.rstrip(b"\r\n") == b".":
                    data = False
                    w("250 2.0.0 Ok: queued as Q%d" % next(ids))
                continue
            with lk:
                log.write(line.decode("latin-1").rstrip("\r\n") + "\n")
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                w("250-mx.test"); w("250-PIPELINING"); w("250-AUTH PLAIN")
                w("250 STARTTLS")
            elif cmd == b"DATA":
                data = True; w("354 go ahead")
            elif cmd == b"AUTH":
                w("235 2.7.0 ok")
            elif cmd == b"STAR":
                w("220 2.0.0 go")
                while self.rfile.read(65536):
                    pass
                return
            elif cmd == b"QUIT":
                w("221 bye"); return
            else:
                w("250 ok")
T(("127.0.0.1", port), H).serve_forever()
EOF

cat > "$TMP/cli.py" <<'EOF'
# Clients. Each binds its own source address (127.0.0.x = one subscriber).
import socket, sys, threading, time
def conn(src, port, timeout=15):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s, s.makefile("rb")
def reply(f):
    out = []
    while True:
        l = f.readline().decode("latin-1").rstrip("\r\n")
        out.append(l)
        if len(l) < 4 or l[3] != "-":
            return out
cmd = sys.argv[1]
if cmd == "par":	# par SRC N PORT[,PORT..]: N parallel greetings; counts by code
    src, n, ports = sys.argv[2], int(sys.argv[3]), [int(p) for p in sys.argv[4].split(",")]
    res, lk, bar = [], threading.Lock(), threading.Barrier(n)
    def one(i):
        bar.wait()
        try:
            s, f = conn(src, ports[i % len(ports)])
            l = reply(f)[-1]
            try:
                s.sendall(b"QUIT\r\n"); reply(f)
            except Exception:
                pass
            s.close()
        except Exception as e:
            l = "ERR " + str(e)
        with lk:
            res.append(l)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print("220=%d 421=%d other=%d" % (sum(x.startswith("220") for x in res),
        sum(x.startswith("421") for x in res),
        sum(not x[:3] in ("220", "421") for x in res)))
    for x in res:
        if not x.startswith("220"):
            print("first-refusal:", x); break
elif cmd == "mail":	# mail SRC PORT TAG: one whole message; prints the last reply
    src, port, tag = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s, f = conn(src, port)
    g = reply(f)[-1]
    if not g.startswith("220"):
        print(g); sys.exit(0)
    out = []
    for c in [b"EHLO c", b"MAIL FROM:<a@x>", ("RCPT TO:<%s@x>" % tag).encode(), b"DATA"]:
        s.sendall(c + b"\r\n"); out.append(reply(f)[-1])
    s.sendall(b"Subject: " + tag.encode() + b"\r\n\r\nbody\r\n.\r\n")
    out.append(reply(f)[-1])
    s.sendall(b"QUIT\r\n"); reply(f)
    print(" | ".join(out))
elif cmd == "pipe":	# pipe SRC PORT TAG N: N RCPTs pipelined in one write
    src, port, tag, n = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    s, f = conn(src, port)
    reply(f)
    s.sendall(b"EHLO c\r\n"); reply(f)
    cmds = [b"MAIL FROM:<a@x>"] + [("RCPT TO:<%s-r%d@x>" % (tag, i)).encode() for i in range(1, n + 1)]
    s.sendall(b"".join(c + b"\r\n" for c in cmds))
    print(" ".join(reply(f)[-1][:3] for _ in cmds))
    s.sendall(b"QUIT\r\n"); reply(f)
elif cmd == "auth":	# auth SRC PORT: MAIL twice unauthenticated, AUTH, MAIL x4
    src, port = sys.argv[2], int(sys.argv[3])
    s, f = conn(src, port)
    reply(f)
    codes = []
    for c in [b"EHLO c", b"MAIL FROM:<a@x>", b"RSET", b"MAIL FROM:<a@x>",
              b"AUTH PLAIN AHVzZXIAcGFzcw==", b"MAIL FROM:<a@x>", b"RSET",
              b"MAIL FROM:<a@x>", b"RSET", b"MAIL FROM:<a@x>", b"RSET",
              b"MAIL FROM:<a@x>"]:
        s.sendall(c + b"\r\n"); codes.append(reply(f)[-1][:3])
    print(" ".join(codes))
elif cmd == "tls":	# tls SRC PORT BYTES: STARTTLS, then push BYTES; bytes accepted, seconds
    src, port, total = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s, f = conn(src, port, timeout=30)
    reply(f)
    s.sendall(b"EHLO c\r\n"); reply(f)
    s.sendall(b"STARTTLS\r\n"); r = reply(f)[-1]
    if not r.startswith("220"):
        print("refused", r); sys.exit(0)
    t0, sent, chunk = time.time(), 0, b"\x16" * 16384
    try:
        if total == 0:
            s.recv(1)	# wait for the gateway to end it
        while sent < total:
            sent += s.send(chunk[:min(len(chunk), total - sent)])
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    except Exception:
        pass
    print("sent=%d secs=%.1f" % (sent, time.time() - t0))
elif cmd == "seq":	# seq SRC PORT CMD...: each reply's code; EOF once closed
    src, port = sys.argv[2], int(sys.argv[3])
    s, f = conn(src, port)
    codes = [reply(f)[-1][:3]]
    for c in sys.argv[4:]:
        try:
            s.sendall(c.encode() + b"\r\n")
            l = reply(f)[-1]
        except Exception:
            l = ""
        codes.append(l[:3] if l else "EOF")
    print(" ".join(codes))
elif cmd == "hold":	# hold SRC PORT SECS: a session that stays open
    src, port, secs = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    s, f = conn(src, port)
    print(reply(f)[-1][:3], flush=True)
    time.sleep(secs)
    s.sendall(b"QUIT\r\n"); reply(f)
EOF
cli() { "$PY" "$TMP/cli.py" "$@"; }

session_field() {	# session_field GW SRC FIELD...: of its last session record
	"$PY" - "$TMP/audit-$1.jsonl" "$2" "${@:3}" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "session" and r.get("src") == sys.argv[2]:
        last = r
print(" ".join(str(last.get(k)) for k in sys.argv[3:]) if last else "none")
EOF
}

# wait_clients N: until Redis has N client connections (the gateways'
# workers reconnect with backoff, up to 5 s apart).
wait_clients() {
	for _ in $(seq 100); do
		[ "$(rcli client list 2>/dev/null | grep -c 'id=')" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

gw_conf() {	# gw_conf NAME P25 P587 ON_FAILURE
	cat > "$TMP/$1.yaml" <<EOF
node: gw-$1
workers: 2
listeners:
  - { listen: "127.0.0.1:$2", mode: smtp, intercept: none, upstream: "127.0.0.1:$MPORT" }
  - { listen: "127.0.0.1:$3", mode: passthrough, intercept: none, upstream: "127.0.0.1:$EPORT" }
redis: { address: "127.0.0.1:$RPORT", timeout: 100ms, connect_timeout: 500ms, on_failure: $4 }
policy:
  default_class: res
  classes:
    res:
      action: tempfail
      lockout: { violations: 3, within: 10m, duration: 1h }
      mx: { connections: 10/1m, concurrent: 50, messages: 1/1h, recipients: 3/1h }
      submission: { messages: 3/1h }
      tls: { connections: 10/1m, concurrent: 5, bytes: 256k/1h, duration: 3s }
    tight:
      action: refuse_submission
      mx: { concurrent: 2 }
  prefixes:
    - { prefix: "127.0.1.0/24", class: tight }
audit:
  path: $TMP/audit-$1.jsonl
  index: none
log:
  level: info
EOF
}

redis_up_twice() { [ "$(grep -c 'event=redis_up' "$1")" -ge 2 ]; }	# both workers
start_gw() {	# start_gw NAME
	if ! loc_gw_start "$TMP/$1.yaml" "$TMP/$1.log" redis_up_twice "$TMP/$1.log"; then
		echo "FAIL setup: subgated $1 did not start: $(tail -3 "$TMP/$1.log")"
		exit 1
	fi
	eval "GW_$1=$GW_PID"
}

loc_redis_start "$RPORT" || { echo "FAIL setup: redis-server"; exit 1; }
loc_bg "$PY" "$TMP/peers.py" mx "$MPORT" "$MXLOG"
loc_bg "$PY" "$TMP/peers.py" echo "$EPORT"
gw_conf A "$A25" "$A587" open
gw_conf B "$B25" "$B587" open
gw_conf C "$C25" "$C587" closed
start_gw A
start_gw B
start_gw C

# ------------------------------------------------------------ limits

# 20 parallel sessions of one subscriber, connections 10/1m: exactly 10.
out=$(cli par 127.0.0.10 20 "$A25")
expect_eq exact_under_concurrency "220=10 421=10 other=0" "$(echo "$out" | head -1)"
case "$out" in
*"421 4.7.1 Too many connections from your address, try again in "*" seconds"*)
	pass connect_tempfail_reply ;;
*) fail connect_tempfail_reply "$out" ;;
esac

# Two gateways, one Redis: 30 sessions spread over A and B, one limit of 10.
out=$(cli par 127.0.0.30 30 "$A25,$B25" | sed -n 1p)
expect_eq two_nodes_one_limit "220=10 421=20 other=0" "$out"

# Concurrency: leases (class tight, concurrent 2, refuse_submission).
cli hold 127.0.1.5 "$A25" 3 > "$TMP/hold1" &
h1=$!
cli hold 127.0.1.5 "$B25" 3 > "$TMP/hold2" &
h2=$!
sleep 1
out=$(cli par 127.0.1.5 1 "$A25")
case "$out" in
*"other=1"*"first-refusal: 554 5.7.1 Port 25 is for server-to-server mail. Submit your mail on port 587 with authentication"*)
	pass concurrent_limit_refuse_submission ;;
*) fail concurrent_limit_refuse_submission "$out" ;;
esac
wait $h1 $h2
expect_eq concurrent_holders "220 220" "$(cat "$TMP/hold1") $(cat "$TMP/hold2")"
expect_eq lease_given_back "220=1 421=0 other=0" "$(cli par 127.0.1.5 1 "$A25" | sed -n 1p)"

# Pipelined RCPTs past the recipients limit (3): refusals in order, and the
# upstream never sees a refused RCPT.
out=$(cli pipe 127.0.0.11 "$A25" p11 6)
expect_eq pipelined_rcpt_order "250 250 250 250 452 452 452" "$out"
sleep 0.3
seen=$(grep -c '^RCPT TO:<p11-r' "$MXLOG")
refused_seen=$(grep -c '^RCPT TO:<p11-r[456]@' "$MXLOG")
expect_eq upstream_never_sees_refused_rcpt "3 0" "$seen $refused_seen"

# ... and those three violations locked the subscriber out.
out=$(cli par 127.0.0.11 1 "$A25")
case "$out" in
*"421 4.7.1 Too many violations"*) pass lockout_after_violations ;;
*) fail lockout_after_violations "$out" ;;
esac
if [ -x "$SUBGATE" ]; then
	out=$("$SUBGATE" locks -c "$TMP/A.yaml" list)
	case "$out" in
	*127.0.0.11*) pass lock_listed ;;
	*) fail lock_listed "$out" ;;
	esac
	out=$("$SUBGATE" locks -c "$TMP/A.yaml" lift 127.0.0.11)
	expect_eq lock_lifted "127.0.0.11 lifted" "$out"
else
	fail lock_listed "no subgate CLI at $SUBGATE"
	rcli del 'sg:{sub:127.0.0.11}:lock:l' >/dev/null
fi
expect_eq passes_after_lift "220=1 421=0 other=0" "$(cli par 127.0.0.11 1 "$B25" | sed -n 1p)"
if grep '"decisions"' "$TMP/audit-A.jsonl" | grep -q '"limit":"sub.mx.rcpt","verdict":"452 4.5.3'; then
	pass audit_decisions
else
	fail audit_decisions "no decisions with sub.mx.rcpt in the audit file"
fi

# Messages: 1/1h unauthenticated; after AUTH 235 the submission set (3/1h).
expect_eq auth_switches_to_submission_limits \
	"250 250 250 451 235 250 250 250 250 250 250 451" "$(cli auth 127.0.0.70 "$A25")"

# TLS: STARTTLS counted, bytes budget (256k/1h) and life (3 s) in the tunnel.
# The tunnel takes exactly 256 KiB (in 64 KiB chunks, one decision each)
# beyond the 18 plaintext octets of "EHLO c" and "STARTTLS", then ends.
cli tls 127.0.0.80 "$A25" 2000000 >/dev/null
sleep 0.3
out=$(session_field A 127.0.0.80 bytes_from_client end_reason)
expect_eq tls_byte_budget "262162 tls_bytes_limit" "$out"
out=$(cli tls 127.0.0.81 "$A25" 0)
secs=$(echo "$out" | sed -n 's/.*secs=\([0-9]*\)\..*/\1/p')
if [ -n "$secs" ] && [ "$secs" -ge 2 ] && [ "$secs" -le 5 ] &&
   grep -q 'event=policy_tls_end .*limit=duration' "$TMP/A.log"; then
	pass tls_duration
else
	fail tls_duration "$out"
fi

# Passthrough never asks: no EVALSHA, no key for its subscriber.
before=$(evalsha_calls)
out=$("$PY" "$SG_DIR/clients.py" echo --src 127.0.0.60 --port "$A587" --mb 4 --secs 0.5)
after=$(evalsha_calls)
expect_eq passthrough_exact "exact" "$out"
expect_eq passthrough_no_redis "$before 0" "$after $(rcli --scan --pattern 'sg:{sub:127.0.0.60}*' | wc -l)"

# ------------------------------------------------------------ Redis trouble

# A 587 transfer runs through the pause, the kill and the restart.
"$PY" "$SG_DIR/clients.py" echo --src 127.0.0.61 --port "$A587" --mb 16 --secs 9 > "$TMP/pass61" &
p61=$!
sleep 0.5

# Paused longer than the deadline: A fails open onto the fallback, C closed.
rcli client pause 3000 >/dev/null
sleep 0.2
out=$(cli mail 127.0.0.40 "$A25" pause40)
case "$out" in
*"250 2.0.0 Ok: queued"*) pass redis_paused_open_passes ;;
*) fail redis_paused_open_passes "$out" ;;
esac
out=$(cli par 127.0.0.41 1 "$C25")
case "$out" in
*"421 4.3.0 Temporary local problem"*) pass redis_paused_closed_421 ;;
*) fail redis_paused_closed_421 "$out" ;;
esac
sleep 3

# Killed: open still passes, closed refuses; then restarted on the same port.
kill -KILL "$REDIS_PID"
sleep 0.3
out=$(cli mail 127.0.0.42 "$A25" kill42)
case "$out" in
*"250 2.0.0 Ok: queued"*) pass redis_down_open_passes ;;
*) fail redis_down_open_passes "$out" ;;
esac
expect_eq redis_down_open_fallback_enforces "220=10 421=5 other=0" \
	"$(cli par 127.0.0.43 15 "$A25" | sed -n 1p)"
out=$(cli par 127.0.0.44 1 "$C25")
case "$out" in
*"421 4.3.0"*) pass redis_down_closed_421 ;;
*) fail redis_down_closed_421 "$out" ;;
esac
loc_redis_start "$RPORT" || fail redis_restart "redis-server did not come back"
ok=0
for _ in $(seq 80); do
	out=$(cli par 127.0.0.45 1 "$C25" | sed -n 1p)
	[ "$out" = "220=1 421=0 other=0" ] && { ok=1; break; }
	sleep 0.25
done
[ $ok = 1 ] && pass redis_recovered_closed_passes || fail redis_recovered_closed_passes "$out"
# every worker of A, B and C (2 each) back on Redis, plus redis-cli itself
wait_clients 7 || fail redis_reconnect_all "$(rcli client list | grep -c id=) clients"
sleep 0.5	# a degraded limiter's probe (every 200 ms) ends the fallback
cli par 127.0.0.46 1 "$A25" >/dev/null
if [ "$(rcli exists 'sg:{sub:127.0.0.46}:mx.conn:r')" = 1 ]; then
	pass redis_recovered_open_uses_redis
else
	fail redis_recovered_open_uses_redis "no key for 127.0.0.46 in Redis"
fi
wait $p61
expect_eq passthrough_through_outage "exact" "$(cat "$TMP/pass61")"

# SCRIPT FLUSH: NOSCRIPT recovered, decisions still from Redis, still exact.
rcli script flush >/dev/null
expect_eq script_flush_exact "220=10 421=2 other=0" "$(cli par 127.0.0.50 12 "$A25,$B25" | sed -n 1p)"
if [ "$(rcli exists 'sg:{sub:127.0.0.50}:mx.conn:r')" = 1 ]; then
	pass script_flush_from_redis
else
	fail script_flush_from_redis "no key for 127.0.0.50"
fi

# Odd and huge ids cannot break a key: a lock for a 2 kB id with braces,
# colons and CR/LF is listed hashed and the gateway is unaffected.
if [ -x "$SUBGATE" ]; then
	weird=$(printf '{x}:y\r\n%.0s' $(seq 300))
	"$SUBGATE" locks -c "$TMP/A.yaml" lift "$weird" >/dev/null
	expect_eq odd_id_lift_not_locked 1 $?
fi

# ------------------------------------------------------------ credentials

# D: no Redis, started as an unprivileged user (nobody when run as root).
# Its block reply is the longest the configuration takes, 400 characters,
# and %l makes it longer still (cut at 511): sent whole at connect, it
# must arrive as that one line (a 256-octet buffer was sent past its end).
D25=$(loc_free_port); D587=$(loc_free_port)
mkdir -m 777 "$TMP/d"
chmod 711 "$TMP"
long="554 5.7.1$(printf ' %%l%.0s' $(seq 129))"
cat > "$TMP/d/D.yaml" <<EOF
node: gw-D
workers: 1
listeners:
  - { listen: "127.0.0.1:$D25", mode: smtp, intercept: none, upstream: "127.0.0.1:$MPORT" }
  - { listen: "127.0.0.1:$D587", mode: passthrough, intercept: none, upstream: "127.0.0.1:$EPORT" }
policy:
  default_class: res
  classes:
    res: {}
    hot:
      refuse_cleartext_auth: true
      starttls_refusal: close
      tls: { deny: true }
    warm:
      tls: { deny: true }
    blk:
      action: block
      mx: { deny: true }
  prefixes:
    - { prefix: "127.0.2.0/24", class: hot }
    - { prefix: "127.0.3.0/24", class: blk }
    - { prefix: "127.0.4.0/24", class: warm }
  replies:
    block: "$long"
audit:
  path: $TMP/d/audit-D.jsonl
  index: none
log:
  level: info
EOF
chmod 644 "$TMP/d/D.yaml"
asuser=()
[ "$(id -u)" = 0 ] && asuser=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${asuser[@]}" "$SUBGATED" -c "$TMP/d/D.yaml" >"$TMP/D.log" 2>&1 &
GW_D=$!
PIDS+=("$GW_D")
if ! wait_until 5 loc_port_open 127.0.0.1 "$D25"; then
	echo "FAIL setup: subgated D did not start: $(tail -3 "$TMP/D.log")"
	exit 1
fi

# The process holds credentials: not dumpable, so its /proc files are
# root's (proc(5)) although it runs as another user.
uid=$(awk '/^Uid:/ {print $2}' "/proc/$GW_D/status" 2>/dev/null)
owner=$(stat -c %U "/proc/$GW_D/status" 2>/dev/null)
if [ -n "$uid" ] && [ "$uid" != 0 ] && [ "$owner" = root ]; then
	pass not_dumpable
else
	fail not_dumpable "uid $uid, /proc/PID/status owned by $owner"
fi

out=$(cli par 127.0.3.5 1 "$D25" | sed -n 's/^first-refusal: //p')
want=$("$PY" -c 'print(("554 5.7.1" + " deny" * 129)[:511])')
expect_eq long_reply_at_connect "${#want} $want" "${#out} $out"

# hot: AUTH in the clear is answered 538 by the gateway and never reaches
# the MX; a refused STARTTLS ends the session (421, closed).
out=$(cli seq 127.0.2.5 "$D25" "EHLO c" "AUTH PLAIN AGhvdABzM2NyZXQ=" "NOOP" "STARTTLS" "NOOP")
expect_eq cleartext_auth_538_starttls_close "220 250 538 250 421 EOF" "$out"
sleep 0.2
if grep -q 'AGhvdABzM2NyZXQ' "$MXLOG"; then
	fail cleartext_auth_not_forwarded "the MX saw the AUTH line"
else
	pass cleartext_auth_not_forwarded
fi
# warm: the same refusal without starttls_refusal: close goes on in clear.
out=$(cli seq 127.0.4.5 "$D25" "EHLO c" "STARTTLS" "NOOP" "AUTH PLAIN AHdhcm0AeA==")
expect_eq starttls_refusal_continues "220 250 454 250 235" "$out"

for g in A B C D; do
	pid=$(eval echo "\$GW_$g")
	if kill -0 "$pid" 2>/dev/null; then pass "alive_$g"; else fail "alive_$g" "subgated $g died"; fi
	if grep -q 'runtime error\|AddressSanitizer' "$TMP/$g.log"; then
		fail "sanitizers_$g" "$(grep -m1 'runtime error\|AddressSanitizer' "$TMP/$g.log")"
	fi
done

loc_summary t_policy
