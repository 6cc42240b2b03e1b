#!/usr/bin/python3
"""Third-party-ish peers for subgate's integration tests.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd). Every server runs in
the "internet" namespace of the test topology and listens only on the
documentation addresses it is given.

  peers.py smtpd   --listen 203.0.113.20:25 --store DIR --name msa
                   [--cert C --key K] [--user U --password P]
      An aiosmtpd server that stores what it accepts: the MX (no AUTH, no
      TLS) or the home MSA (STARTTLS with --cert/--key; AUTH PLAIN/LOGIN with
      --user/--password, also in the clear: auth_require_tls=False). Every
      accepted message is stored as DIR/<queue-id>.eml (raw bytes as
      received) plus DIR/<queue-id>.json (peer, helo, mail_from, rcpts, auth
      user, tls, size, sha256); the reply is "250 2.0.0 Ok: queued as ID".

  peers.py ptpeer  --listen 203.0.113.30:587 --listen 203.0.113.30:465
                   --size BYTES --log FILE
      Pass-through peer. Per connection, full duplex: it reads everything
      the client sends until the client half-closes, while at the same time
      sending BYTES of fresh random data. When both are done it sends the
      32-byte sha256 of what it received, then closes. One JSON line per
      connection goes to FILE: peer, port, recv_bytes, recv_sha256,
      sent_bytes (random part), sent_sha256. The client checks the trailer
      and the sha256 of the random part against this log, so both
      directions are verified byte for byte and the client's half-close
      must have reached the peer.
      The client's first byte (part of the data and of the hash) selects
      the order: "S" = server first: the peer sends its random bytes, then
      half-closes (SHUT_WR) at once and only then reads the client's data
      until EOF; no trailer then (the client checks against the log). Any
      other first byte: the full-duplex order above.

  peers.py silent  --listen 203.0.113.41:25
      Accepts connections and never says a word (upstream greeting timeout).

  peers.py resetmx --listen 203.0.113.40:25 --after BYTES [--fin]
      A broken MX: greets, accepts EHLO/MAIL/RCPT, answers DATA with 354,
      reads BYTES of message data, then resets the connection (RST via
      SO_LINGER 0; --fin closes normally instead).
"""

import argparse
import asyncio
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time


def parse_listen(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    return host, int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen_socket(host, port, backlog=1024):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(host) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


# --------------------------------------------------------------------- MSA

def run_smtpd(args):
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    os.makedirs(args.store, exist_ok=True)
    counter = [0]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == args.user.encode()
              and auth_data.password == args.password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            counter[0] += 1
            qid = "%s%06d%04X" % (args.name.upper(), counter[0], os.getpid() & 0xFFFF)
            raw = envelope.original_content or b""
            user = None
            if session.auth_data is not None:
                ad = session.auth_data
                user = ad.login.decode(errors="replace") if isinstance(ad, LoginPassword) else str(ad)
            meta = {
                "queue_id": qid,
                "peer": session.peer[0],
                "peer_port": session.peer[1],
                "helo": session.host_name,
                "mail_from": envelope.mail_from,
                "rcpts": envelope.rcpt_tos,
                "auth_user": user,
                "tls": session.ssl is not None,
                "size": len(raw),
                "sha256": hashlib.sha256(raw).hexdigest(),
            }
            with open(os.path.join(args.store, qid + ".eml"), "wb") as f:
                f.write(raw)
            tmp = os.path.join(args.store, qid + ".json.tmp")
            with open(tmp, "w") as f:
                json.dump(meta, f)
            os.rename(tmp, os.path.join(args.store, qid + ".json"))
            return "250 2.0.0 Ok: queued as " + qid

    kw = {}
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        kw.update(tls_context=ctx, require_starttls=False)
    if args.user:
        kw.update(authenticator=authenticator, auth_require_tls=False)

    def factory():
        return SMTP(Handler(), hostname=args.name + ".example.net", **kw)

    async def main():
        servers = []
        for spec in args.listen:
            host, port = parse_listen(spec)
            sock = listen_socket(host, port)
            servers.append(await asyncio.get_running_loop().create_server(factory, sock=sock))
        print(args.name, "ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --------------------------------------------------------- pass-through peer

def ptpeer_conn(conn, peer, lport, size, logpath, loglock):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rh = hashlib.sha256()
    sh = hashlib.sha256()
    got = [0]
    sent = [0]
    err = []

    def reader():
        try:
            while True:
                b = conn.recv(262144)
                if not b:
                    break
                got[0] += len(b)
                rh.update(b)
        except OSError as e:
            err.append("recv: %s" % e)

    def send_random():
        while sent[0] < size:
            chunk = os.urandom(min(262144, size - sent[0]))
            sh.update(chunk)
            conn.sendall(chunk)
            sent[0] += len(chunk)

    first = b""
    try:
        first = conn.recv(1)
        got[0] += len(first)
        rh.update(first)
        if first == b"S":
            # server first: all our data, FIN, then read theirs
            send_random()
            conn.shutdown(socket.SHUT_WR)
            reader()
        elif first:
            # full duplex, then the trailer after the client's FIN
            t = threading.Thread(target=reader, daemon=True)
            t.start()
            send_random()
            t.join()
            conn.sendall(rh.digest())
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(30)
            while conn.recv(65536):
                pass
    except OSError as e:
        err.append("%s" % e)
    finally:
        conn.close()
    rec = {"order": "server-first" if first == b"S" else "duplex",
           "peer": peer[0], "peer_port": peer[1], "port": lport,
           "recv_bytes": got[0], "recv_sha256": rh.hexdigest(),
           "sent_bytes": sent[0], "sent_sha256": sh.hexdigest(),
           "error": "; ".join(err) or None, "time": time.time()}
    with loglock:
        with open(logpath, "a") as f:
            f.write(json.dumps(rec) + "\n")


def run_ptpeer(args):
    loglock = threading.Lock()
    socks = []
    for spec in args.listen:
        host, port = parse_listen(spec)
        socks.append((listen_socket(host, port), port))

    def acceptor(ls, port):
        while True:
            conn, peer = ls.accept()
            threading.Thread(target=ptpeer_conn, daemon=True,
                             args=(conn, peer, port, args.size, args.log, loglock)).start()

    for ls, port in socks:
        threading.Thread(target=acceptor, args=(ls, port), daemon=True).start()
    print("ptpeer ready", flush=True)
    while True:
        time.sleep(3600)


# ---------------------------------------------------------- resetting MX

def run_resetmx(args):
    async def handle(reader, writer):
        def send(s):
            writer.write(s.encode())

        send("220 resetmx.example ESMTP\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    send("250-resetmx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    send("250 2.0.0 Ok\r\n")
                elif cmd == b"QUIT":
                    send("221 2.0.0 Bye\r\n")
                    break
                elif cmd == b"DATA":
                    send("354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    n = 0
                    while n < args.after:
                        b = await reader.read(args.after - n)
                        if not b:
                            break
                        n += len(b)
                    sock = writer.get_extra_info("socket")
                    if not args.fin:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    writer.transport.abort() if not args.fin else writer.close()
                    return
                else:
                    send("502 5.5.2 Error: command not recognized\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()

    async def main():
        for spec in args.listen:
            host, port = parse_listen(spec)
            await asyncio.start_server(handle, sock=listen_socket(host, port))
        print("resetmx ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def run_silent(args):
    conns = []

    async def handle(reader, writer):
        conns.append(writer)
        await reader.read()
        writer.close()

    async def main():
        for spec in args.listen:
            host, port = parse_listen(spec)
            await asyncio.start_server(handle, sock=listen_socket(host, port))
        print("silent ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("smtpd")
    p.add_argument("--listen", action="append", required=True)
    p.add_argument("--name", default="mx")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--store", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p = sub.add_parser("ptpeer")
    p.add_argument("--listen", action="append", required=True)
    p.add_argument("--size", type=int, default=10 * 1024 * 1024 + 12345)
    p.add_argument("--log", required=True)
    p = sub.add_parser("resetmx")
    p.add_argument("--listen", action="append", required=True)
    p.add_argument("--after", type=int, default=1000)
    p.add_argument("--fin", action="store_true")
    p = sub.add_parser("silent")
    p.add_argument("--listen", action="append", required=True)
    args = ap.parse_args()
    {"silent": run_silent, "smtpd": run_smtpd, "ptpeer": run_ptpeer, "resetmx": run_resetmx}[args.mode](args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
