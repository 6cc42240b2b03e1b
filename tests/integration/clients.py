#!/usr/bin/python3
"""Subscriber-side clients for subgate's integration tests (Debian python3).

  clients.py chat --dst HOST --port P STEP...
      A raw SMTP client driven by steps; prints one JSON object:
      {"replies":[{"code":N,"text":"..."}...], "eof":bool, "elapsed":s,
       "error":str|null, "received":"..."}.
      Steps:
        r            read one (possibly multi-line) reply
        s:TEXT       send TEXT (Python escapes: \\r \\n \\x00 ...)
        sf:FILE      send the bytes of FILE as they are
        tls          STARTTLS handshake now (no certificate check); records
                     "plain_after_220": bytes that arrived in clear after
                     the last reply, before the handshake
        shut         half-close: shutdown(SHUT_WR), keep reading
        sleep:SEC    pause
        touch:FILE   create FILE (tell the test script we got here)
        wait:FILE    wait (<= 60 s) until FILE exists
        eof:SEC      read until the peer closes (or SEC passes); any reply
                     lines seen are recorded
        trickle:TEXT:INTERVAL:MAX  send TEXT one byte every INTERVAL s,
                     stop when the peer closes or MAX s have passed; then
                     record whatever came back
      A reply read times out after --timeout seconds (default 30).

  clients.py pt --dst HOST --port P --size BYTES [--server-first]
      Pass-through client: sends BYTES of random data while reading, then
      half-closes (SHUT_WR) and reads until EOF. Prints JSON with the sha256
      of what it sent, of the random part it received, the trailer (the
      peer's sha256 of what it received) and whether trailer == own hash.
      --server-first: first byte "S" only, then read the peer's data until
      the peer half-closes, then send the rest and half-close (no trailer;
      compare with the peer's log).

  clients.py send --server HOST --port P --from A --to B [--ehlo N]
         [--auth PLAIN|LOGIN --user U --password P] [--tls]
         [--header "Message-Id: <x>"] [--body TEXT]
      smtplib fallback for swaks (Debian's swaks lacks IPv6 and TLS unless
      libio-socket-inet6-perl / libnet-ssleay-perl are installed). Prints
      JSON: {"ok":bool,"data_reply":"250 ...","error":...}.

  clients.py many --dst HOST --port P --count N [--timeout S] [--src A]...
         [--hold-file FILE --hold S]
      Opens N connections at once (asyncio; from the --src addresses in
      turn, if any), reads each one's first reply, holds them all until
      every one answered or timed out, then closes. Prints JSON counts:
      greeted (220), refused421, other, reset, timeout, connect_failed.
      --hold-file: once every one answered, write the counts so far to FILE
      (at once, whole) and keep the connections open up to S seconds more,
      or until FILE.done exists.
"""

import argparse
import asyncio
import codecs
import hashlib
import json
import os
import resource
import smtplib
import socket
import ssl
import sys
import threading
import time


def unescape(s):
    return codecs.escape_decode(s.encode("utf-8", "surrogateescape"))[0]


def connect(host, port, timeout=15):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


class Chat:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.buf = b""
        self.eof = False
        self.timeout = timeout
        self.replies = []
        self.received = b""
        self.send_failed = False

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no reply")
        self.sock.settimeout(left)
        try:
            b = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no reply")
        except ConnectionResetError:
            b = b""
            self.replies.append({"code": -2, "text": "RESET"})
        if not b:
            self.eof = True
            return False
        self.buf += b
        self.received += b
        return True

    def line(self, deadline):
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                if self.buf:
                    ln, self.buf = self.buf, b""
                    return ln
                return None
        ln, _, self.buf = self.buf.partition(b"\n")
        return ln + b"\n"

    def reply(self, timeout=None, record_eof=True):
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        while True:
            ln = self.line(deadline)
            if ln is None:
                break
            lines.append(ln.decode("utf-8", "replace").rstrip("\r\n"))
            if len(ln) < 4 or ln[3:4] != b"-":
                break
        if not lines:
            if record_eof:
                self.replies.append({"code": -1, "text": "EOF"})
            return None
        try:
            code = int(lines[-1][:3])
        except ValueError:
            code = 0
        self.replies.append({"code": code, "text": "\n".join(lines)})
        return code

    def send(self, data):
        # A peer that closes while we send is an outcome to record, not an
        # error: whatever it answered before closing is still read after.
        if self.send_failed:
            return
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            self.replies.append({"code": -3, "text": "SEND: %s" % e})
            self.send_failed = True


def run_chat(args):
    t0 = time.monotonic()
    out = {"error": None}
    c = None
    try:
        c = Chat(connect(args.dst, args.port), args.timeout)
        out["local_port"] = c.sock.getsockname()[1]
        for step in args.steps:
            kind, _, rest = step.partition(":")
            if kind == "r":
                c.reply()
            elif kind == "s":
                c.send(unescape(rest))
            elif kind == "sf":
                with open(rest, "rb") as f:
                    c.send(f.read())
            elif kind == "tls":
                out["plain_after_220"] = c.buf.decode("utf-8", "replace")
                c.buf = b""
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                c.sock.settimeout(args.timeout)
                try:
                    c.sock = ctx.wrap_socket(c.sock)
                    out["tls"] = c.sock.version()
                except (ssl.SSLError, OSError) as e:
                    out["tls"] = None
                    out["tls_error"] = str(e)
                    break
            elif kind == "shut":
                c.sock.shutdown(socket.SHUT_WR)
            elif kind == "sleep":
                time.sleep(float(rest))
            elif kind == "touch":
                open(rest, "w").close()
            elif kind == "wait":
                end = time.monotonic() + 60
                while not os.path.exists(rest) and time.monotonic() < end:
                    time.sleep(0.05)
            elif kind == "eof":
                end = time.monotonic() + float(rest)
                while not c.eof and time.monotonic() < end:
                    try:
                        if c.reply(max(0.01, end - time.monotonic()), record_eof=False) is None:
                            break
                    except TimeoutError:
                        break
            elif kind == "trickle":
                text, interval, mx = rest.rsplit(":", 2)
                data = unescape(text)
                end = time.monotonic() + float(mx)
                i = 0
                c.sock.setblocking(False)
                while time.monotonic() < end and not c.eof:
                    try:
                        c.sock.send(data[i % len(data):i % len(data) + 1])
                        i += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        break
                    time.sleep(float(interval))
                    try:
                        b = c.sock.recv(65536)
                        if not b:
                            c.eof = True
                        else:
                            c.buf += b
                            c.received += b
                    except BlockingIOError:
                        pass
                    except OSError:
                        c.eof = True
                out["trickled"] = i
                c.sock.setblocking(True)
                while c.buf:
                    c.reply(1)
            else:
                raise SystemExit("unknown step " + step)
    except TimeoutError as e:
        out["error"] = "timeout: %s" % e
    except OSError as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    if c:
        out["replies"] = c.replies
        out["eof"] = c.eof
        out["received"] = c.received.decode("utf-8", "replace")
        c.sock.close()
    else:
        out["replies"] = []
        out["eof"] = True
    out["elapsed"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out))


def run_pt(args):
    s = connect(args.dst, args.port, timeout=120)
    local_port = s.getsockname()[1]
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sh = hashlib.sha256()
    got = bytearray()
    err = []

    def reader():
        try:
            while True:
                b = s.recv(262144)
                if not b:
                    break
                got.extend(b)
        except OSError as e:
            err.append("recv: %s" % e)

    t = threading.Thread(target=reader)
    t0 = time.monotonic()
    sent = 0
    try:
        first = b"S" if args.server_first else b"D"
        sh.update(first)
        s.sendall(first)
        sent = 1
        if args.server_first:
            reader()        # until the peer's FIN; our direction stays open
        else:
            t.start()
        while sent < args.size:
            n = min(262144, args.size - sent)
            chunk = os.urandom(n)
            sh.update(chunk)
            s.sendall(chunk)
            sent += n
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        err.append("send: %s" % e)
    if not args.server_first:
        t.join(300)
    else:
        try:
            s.settimeout(60)
            while s.recv(65536):     # the peer closes after reading all
                pass
        except OSError:
            pass
    s.close()
    if args.server_first:
        body, trailer = bytes(got), b""
    else:
        body, trailer = bytes(got[:-32]), bytes(got[-32:])
    out = {
        "local_port": local_port,
        "sent_bytes": sent,
        "sent_sha256": sh.hexdigest(),
        "recv_total": len(got),
        "recv_bytes": len(body),
        "recv_sha256": hashlib.sha256(body).hexdigest(),
        "trailer": trailer.hex(),
        "trailer_ok": trailer == sh.digest(),
        "elapsed": round(time.monotonic() - t0, 3),
        "error": "; ".join(err) or None,
    }
    print(json.dumps(out))


def run_echo(args):
    """MB of random bytes through an echo peer, paced over SECS, from a
    chosen source address: prints "exact" or what differs."""
    s = socket.socket()
    s.settimeout(60)
    s.bind((args.src, 0))
    s.connect((args.dst, args.port))
    data = os.urandom(args.mb << 20)
    got = bytearray()

    def rd():
        while len(got) < len(data):
            b = s.recv(1 << 20)
            if not b:
                return
            got.extend(b)
    t = threading.Thread(target=rd)
    t.start()
    n = args.chunks
    step = len(data) // n
    for i in range(n):
        s.sendall(data[i * step:(i + 1) * step if i < n - 1 else len(data)])
        time.sleep(args.secs / n)
    t.join(60)
    s.close()
    print("exact" if hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
          else "differs got=%d want=%d" % (len(got), len(data)))


def run_send(args):
    out = {"ok": False, "data_reply": None, "error": None}
    msg = ""
    for h in args.header or []:
        msg += h + "\r\n"
    msg += "From: <%s>\r\nTo: <%s>\r\nSubject: subgate test\r\n\r\n" % (args.mail_from, args.to)
    msg += (args.body or "This is a subgate integration test.").replace("\n", "\r\n") + "\r\n"
    try:
        smtp = smtplib.SMTP(args.server, args.port, timeout=60,
                            local_hostname=args.ehlo or "client.example")
        smtp.ehlo()
        if args.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            code, text = smtp.starttls(context=ctx)
            if code != 220:
                raise smtplib.SMTPException("STARTTLS %d" % code)
            smtp.ehlo()
        if args.auth:
            smtp.user, smtp.password = args.user, args.password
            mech = args.auth.upper()
            code, resp = smtp.auth(mech, getattr(smtp, "auth_" + mech.lower()),
                                   initial_response_ok=(mech == "PLAIN"))
            if code != 235:
                raise smtplib.SMTPException("AUTH %d" % code)
        smtp.mail(args.mail_from)
        code, text = smtp.rcpt(args.to)
        if code >= 400:
            raise smtplib.SMTPException("RCPT %d %s" % (code, text))
        code, text = smtp.data(msg.encode())
        out["data_reply"] = "%d %s" % (code, text.decode(errors="replace"))
        out["ok"] = code == 250
        smtp.quit()
    except (smtplib.SMTPException, OSError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


def run_many(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    counts = {"greeted": 0, "refused421": 0, "other": 0, "reset": 0,
              "timeout": 0, "connect_failed": 0, "errors": {}}
    writers = []
    sem = asyncio.Semaphore(args.parallel_connects)

    async def one(i):
        try:
            async with sem:
                src = (args.src[i % len(args.src)], 0) if args.src else None
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(args.dst, args.port,
                                            local_addr=src), args.timeout)
        except Exception as e:
            counts["connect_failed"] += 1
            k = type(e).__name__
            counts["errors"][k] = counts["errors"].get(k, 0) + 1
            return
        writers.append(w)
        try:
            line = await asyncio.wait_for(r.readline(), args.timeout)
        except asyncio.TimeoutError:
            counts["timeout"] += 1
            return
        except (ConnectionError, OSError):
            counts["reset"] += 1
            return
        if line.startswith(b"220"):
            counts["greeted"] += 1
        elif line.startswith(b"421"):
            counts["refused421"] += 1
        elif not line:
            counts["reset"] += 1
        else:
            counts["other"] += 1

    async def main():
        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(args.count)))
        counts["elapsed_all_answered"] = round(time.monotonic() - t0, 3)
        if args.hold_file:
            with open(args.hold_file + ".tmp", "w") as f:
                json.dump(counts, f)
            os.rename(args.hold_file + ".tmp", args.hold_file)
            end = time.monotonic() + args.hold
            while time.monotonic() < end and not os.path.exists(args.hold_file + ".done"):
                await asyncio.sleep(0.1)
        for w in writers:
            try:
                w.write(b"QUIT\r\n")
                w.close()
            except Exception:
                pass
        await asyncio.sleep(0.5)

    asyncio.run(main())
    counts["count"] = args.count
    print(json.dumps(counts))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("chat")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("steps", nargs="*")
    p = sub.add_parser("pt")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--size", type=int, default=10 * 1024 * 1024 + 777)
    p.add_argument("--server-first", action="store_true")
    p = sub.add_parser("echo")
    p.add_argument("--src", default="127.0.0.1")
    p.add_argument("--dst", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mb", type=int, default=1)
    p.add_argument("--secs", type=float, default=1)
    p.add_argument("--chunks", type=int, default=64)
    p = sub.add_parser("send")
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--from", dest="mail_from", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--ehlo")
    p.add_argument("--auth")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--header", action="append")
    p.add_argument("--body")
    p = sub.add_parser("many")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--count", type=int, default=6000)
    p.add_argument("--timeout", type=float, default=90)
    p.add_argument("--parallel-connects", type=int, default=100000)
    p.add_argument("--src", action="append", default=[])
    p.add_argument("--hold-file")
    p.add_argument("--hold", type=float, default=0)
    args = ap.parse_args()
    rc = {"chat": run_chat, "pt": run_pt, "echo": run_echo, "send": run_send,
          "many": run_many}[args.mode](args)
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()
