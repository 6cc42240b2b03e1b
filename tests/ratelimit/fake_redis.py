#!/usr/bin/env python3
"""fake_redis.py - a hostile Redis for the tests of issue 9 item 8.

Speaks RESP well enough for hiredis and subgate's handshakes (PING, AUTH,
SELECT, ROLE, SCRIPT LOAD, SUBSCRIBE), then answers the data commands with
what MODE says: wrong types, out-of-range script results, huge bulk
strings, records carrying terminal escape sequences. Every connection gets
the same treatment; the server runs until killed.

usage: fake_redis.py PORT MODE [HUGE_OCTETS [REPORT]]
  script   EVALSHA answers cycle through replies a real limiter script
           never gives (deny index past the plan, allow 2, negative retry,
           strings, short arrays, a bare integer)
  types    every data command gets the wrong type: integers for arrays,
           arrays of integers / nils / nested arrays for strings, a cursor
           that is an array; SCAN's cursor never ends
  huge     data commands get bulk strings of HUGE_OCTETS (default 4 MiB)
  endless  data commands get a bulk string announced as 1 GiB whose octets
           keep coming until the client hangs up
  wide     data commands get an array announced with 100 million elements
           whose elements (":1") keep coming until the client hangs up
REPORT: a file that gets a line "OCTETS" for every endless reply, the
octets sent before the client hung up.
  escape   records (audit, assignment) and error replies carry ESC, BEL,
           CSI sequences and C1 controls in the subscriber and NAS names
"""
import json
import socket
import sys
import threading

ESC = "\x1b]0;pwned\x07\x1b[31mevil\x1b[0m\x9b2J"


def bulk(b):
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return b"$%d\r\n%s\r\n" % (len(b), b)


def arr(items):
    return b"*%d\r\n" % len(items) + b"".join(items)


class Endless:
    """A reply that never ends: head, then chunk after chunk."""
    def __init__(self, head, chunk):
        self.head, self.chunk = head, chunk


def integer(n):
    return b":%d\r\n" % n


NIL = b"$-1\r\n"
OK = b"+OK\r\n"

SCRIPT_REPLIES = [
    arr([integer(0), integer(99), integer(5)]),     # deny index past plan
    arr([integer(0), integer(0), integer(5)]),      # deny index 0
    arr([integer(2), integer(0), integer(0)]),      # allow is 0/1
    arr([integer(1), integer(0), integer(-7)]),     # retry below -1
    arr([integer(0), integer(1), integer(1 << 62)]),  # retry absurd
    arr([bulk("1"), bulk("0"), bulk("0")]),         # strings
    arr([integer(1), integer(0)]),                  # short
    arr([integer(1), NIL, arr([])]),                # nil, nested
    integer(1),                                     # not an array
    b"-ERR " + ESC.encode("utf-8", "surrogateescape") + b"\r\n",
]


def asg_record(sub, nas_name):
    return json.dumps({
        "v": 1, "type": "assignment", "node": "gw9", "event": "start",
        "time": "2030-01-01T00:00:00.000Z", "subscriber": sub,
        "class": "residential", "prefix": "100.64.3.7/32",
        "start": "2030-01-01T00:00:00.000Z", "start_ms": 1000,
        "nas": "192.0.2.10", "nas_name": nas_name,
        "acct_session_id": "s" + ESC, "calling_station_id": "",
        "source": "radius"}, separators=(",", ":"))


def audit_record(sub):
    return json.dumps({
        "v": 1, "id": "e1", "type": "session", "node": "gw9",
        "start": "2030-01-01T00:00:00.000Z", "start_ms": 1000,
        "subscriber": sub, "identity": "radius", "class": "residential",
        "src": "100.64.3.7", "src_port": 40000, "dst": "192.0.2.25",
        "dst_port": 25, "transactions": 0}, separators=(",", ":"))


class Conn:
    def __init__(self, sock, mode, huge, report=None):
        self.report = report
        self.s = sock
        self.mode = mode
        self.huge = huge
        self.buf = b""
        self.nscript = 0

    def read_line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_n(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def command(self):
        line = self.read_line()
        if not line.startswith(b"*"):
            return line.split()
        out = []
        for _ in range(int(line[1:])):
            h = self.read_line()
            out.append(self.read_n(int(h[1:])))
        return out

    def answer(self, argv):
        cmd = argv[0].upper().decode() if argv else ""
        sub = argv[1].upper().decode() if len(argv) > 1 else ""
        if cmd == "PING":
            return b"+PONG\r\n"
        if cmd in ("AUTH", "SELECT", "CLIENT", "HELLO"):
            return OK
        if cmd == "ROLE":
            return arr([bulk("master"), integer(0), arr([])])
        if cmd == "SCRIPT" and sub == "LOAD":
            import hashlib
            return bulk(hashlib.sha1(argv[2]).hexdigest())
        if cmd == "SUBSCRIBE":
            return arr([bulk("subscribe"), bulk(argv[1]), integer(1)])
        if cmd in ("EVALSHA", "EVAL"):
            if self.mode in ("endless", "wide"):
                return self.data(cmd, argv)
            if self.mode == "script":
                r = SCRIPT_REPLIES[self.nscript % len(SCRIPT_REPLIES)]
                self.nscript += 1
                return r
            return integer(1)
        if cmd == "SADD":
            return integer(1)
        return self.data(cmd, argv)

    def data(self, cmd, argv):
        m = self.mode
        if m == "types":
            if cmd == "SCAN":
                # a cursor that is an array, then keys that are not strings
                return arr([arr([integer(1)]), arr([integer(7), NIL])])
            if cmd == "MGET":
                return arr([integer(5)] * (len(argv) - 1) + [arr([NIL])])
            if cmd in ("ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
                       "SMEMBERS"):
                return arr([integer(3), NIL, arr([integer(1)]),
                            b"+4/32\r\n"])
            return integer(42)
        if m == "endless":
            return Endless(b"$1073741824\r\n", b"x" * 65536)
        if m == "wide":
            return Endless(b"*100000000\r\n", b":1\r\n" * 16384)
        if m == "huge":
            big = bulk(b"x" * self.huge)
            if cmd == "SCAN":
                return arr([bulk("0"), arr([big])])
            if cmd in ("ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
                       "SMEMBERS"):
                return arr([big, bulk("4/32")])
            if cmd == "MGET":
                return arr([big] * (len(argv) - 1))
            return big
        if m == "escape":
            if cmd == "SCAN":
                return arr([bulk("0"), arr([bulk("sg:{asg:100.64.3.7/32}:h")])])
            if cmd == "SMEMBERS":
                return arr([bulk("4/32")])
            if cmd in ("ZRANGE", "ZREVRANGEBYSCORE"):
                return arr([bulk(asg_record("mallory" + ESC, "bras" + ESC))])
            if cmd == "ZRANGEBYSCORE":
                return arr([bulk("e1")])
            if cmd == "MGET":
                return arr([bulk(audit_record("mallory" + ESC))])
            return b"-ERR " + ESC.encode("utf-8", "surrogateescape") + b"\r\n"
        return b"-ERR unknown mode\r\n"

    def endless(self, a):
        sent = 0
        try:
            self.s.sendall(a.head)
            while True:
                self.s.sendall(a.chunk)
                sent += len(a.chunk)
        except OSError:
            pass
        if self.report:
            with open(self.report, "a") as f:
                f.write("%d\n" % sent)

    def run(self):
        try:
            while True:
                argv = self.command()
                if not argv:
                    continue
                a = self.answer(argv)
                if isinstance(a, Endless):
                    self.endless(a)
                    return
                self.s.sendall(a)
        except (EOFError, ConnectionError, OSError, ValueError):
            pass
        finally:
            self.s.close()


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    huge = int(sys.argv[3]) if len(sys.argv) > 3 else 4 << 20
    report = sys.argv[4] if len(sys.argv) > 4 else None
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=Conn(s, mode, huge, report).run, daemon=True).start()


if __name__ == "__main__":
    main()
