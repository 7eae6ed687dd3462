#!/usr/bin/env python3
"""SMTP client for the relay_out_*.sh tests: load with acknowledgements,
a transaction left hanging in DATA, and SMTP smuggling variants.

  load --server ADDR:PORT --to RCPT --count N --ack FILE --prefix P
        one message per connection, each with the header X-Test-Id: P-i;
        every id whose end of data got a 250 is appended to FILE (flushed
        and fsync'd at once) — the harness's journal of promises. A broken
        or refused connection loses only the message in flight (never
        acknowledged); the next one is tried after a short pause.
  half --server ADDR:PORT --to RCPT --id ID
        start a message, send half of its content, print "ready", then
        wait until the connection is closed by the other side.
  smuggle --server ADDR:PORT --to RCPT --prefix P
        one transaction per RELIABILITY I-01 end-of-data variant, each
        carrying a smuggled second transaction (X-Test-Id: P-smuggled-k)
        after the bogus end, then the real CRLF.CRLF; prints one TAP line
        per variant: the relay must not answer 250 to it.
"""
import argparse
import os
import socket
import sys
import time

VARIANTS = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r",
            b"\r.\r\n", b"\n.\r", b"\r\n\x00.\r\n"]


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


class Smtp:
    def __init__(self, server, timeout=30):
        self.s = socket.create_connection(server, timeout=timeout)
        self.buf = b""

    def reply(self):
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) < 4 or line[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return int(line[:3] or b"0")
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def cmd(self, line, want):
        self.s.sendall(line + b"\r\n")
        code = self.reply()
        if code != want:
            raise ConnectionError("%r: %d" % (line, code))

    def envelope(self, sender, rcpt):
        if self.reply() != 220:
            raise ConnectionError("no greeting")
        self.cmd(b"EHLO inside.test", 250)
        self.cmd(b"MAIL FROM:<" + sender + b">", 250)
        self.cmd(b"RCPT TO:<" + rcpt + b">", 250)
        self.cmd(b"DATA", 354)

    def close(self):
        try:
            self.s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        self.s.close()


def message(ident):
    return (b"From: sender@insecure.test\r\nTo: user@insecure.test\r\n"
            b"Subject: " + ident + b"\r\nX-Test-Id: " + ident + b"\r\n\r\n"
            b"body of " + ident + b"\r\n" + b"filler line\r\n" * 20)


def ack(path, ident):
    with open(path, "a") as f:
        f.write(ident + "\n")
        f.flush()
        os.fsync(f.fileno())


def cmd_load(a):
    lost = 0
    for i in range(1, a.count + 1):
        ident = "%s-%d" % (a.prefix, i)
        try:
            c = Smtp(a.server)
            c.envelope(a.sender.encode(), a.to.encode())
            c.s.sendall(message(ident.encode()) + b".\r\n")
            if c.reply() == 250:
                ack(a.ack, ident)
            c.close()
        except (OSError, ConnectionError, ValueError):
            lost += 1
            time.sleep(0.2)
        time.sleep(a.pause)
    print("# load: %d sent, %d not acknowledged" % (a.count, lost))
    return 0


def cmd_half(a):
    c = Smtp(a.server)
    c.envelope(a.sender.encode(), a.to.encode())
    m = message(a.id.encode())
    c.s.sendall(m[:len(m) // 2])
    print("ready", flush=True)
    try:
        while c.s.recv(4096):
            pass
    except OSError:
        pass
    return 0


def cmd_smuggle(a):
    bad = 0
    for k, v in enumerate(VARIANTS):
        ident = b"%s-smuggled-%d" % (a.prefix.encode(), k)
        c = Smtp(a.server)
        try:
            c.envelope(a.sender.encode(), a.to.encode())
            body = (b"Subject: carrier\r\n\r\ncarrier" + v +
                    b"MAIL FROM:<ceo@insecure.test>\r\n"
                    b"RCPT TO:<" + a.to.encode() + b">\r\nDATA\r\n"
                    b"X-Test-Id: " + ident + b"\r\n\r\nsmuggled\r\n"
                    b"\r\n.\r\n")
            c.s.sendall(body)
            code = c.reply()
        except (OSError, ConnectionError, ValueError):
            code = 0
        c.close()
        ok = code != 250
        bad += not ok
        print("%s - variant %d %r not accepted as a message (reply %d)" % (
            "ok" if ok else "not ok", k, v, code), flush=True)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("load", "half", "smuggle"))
    ap.add_argument("--server", required=True, type=addr)
    ap.add_argument("--to", required=True)
    ap.add_argument("--sender", default="sender@insecure.test")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--ack")
    ap.add_argument("--prefix", default="m")
    ap.add_argument("--id", default="half")
    ap.add_argument("--pause", type=float, default=0.0)
    a = ap.parse_args()
    return {"load": cmd_load, "half": cmd_half, "smuggle": cmd_smuggle}[
        a.what](a)


if __name__ == "__main__":
    sys.exit(main())
