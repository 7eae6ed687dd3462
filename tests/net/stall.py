#!/usr/bin/python3
"""tests/net/stall.py -- an SMTP peer that stalls in the TLS handshake.

It greets with 220, answers EHLO advertising STARTTLS, answers STARTTLS
with "220 2.0.0 go ahead" and then never sends a byte of TLS: whatever the
client sends afterwards is read and dropped until the client gives up or
--hold seconds pass. Every connection and command is logged to --log.
The server stops by itself after --lifetime seconds; connections are
bounded by --max-conns.
"""
import argparse
import os
import socket
import threading
import time

LOCK = threading.Lock()


def log(path, msg):
    with LOCK, open(path, "a", encoding="utf-8") as f:
        f.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), msg))


def serve(conn, peer, args):
    deadline = time.monotonic() + args.hold
    conn.settimeout(1.0)
    buf = b""
    stalled = False
    try:
        conn.sendall(b"220 %s ESMTP stall\r\n" % args.name.encode())
        while time.monotonic() < deadline:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            if not data:
                log(args.log, "%s closed%s" % (peer, " during stall" if stalled else ""))
                return
            if stalled:
                log(args.log, "%s sent %d bytes after STARTTLS (ignored)" % (peer, len(data)))
                continue
            buf += data
            if len(buf) > 8192:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = line.strip().decode("ascii", "replace")
                log(args.log, "%s cmd %s" % (peer, cmd))
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    conn.sendall(b"250-%s\r\n250-PIPELINING\r\n250 STARTTLS\r\n" % args.name.encode())
                elif verb == "STARTTLS":
                    conn.sendall(b"220 2.0.0 go ahead\r\n")
                    log(args.log, "%s stalling" % peer)
                    stalled = True
                    buf = b""
                    break
                elif verb == "QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 2.0.0 ok\r\n")
        log(args.log, "%s hold time over" % peer)
    except OSError as e:
        log(args.log, "%s error %s" % (peer, e))
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--name", default="stall.test")
    p.add_argument("--log", required=True)
    p.add_argument("--pidfile")
    p.add_argument("--hold", type=float, default=300.0)
    p.add_argument("--lifetime", type=float, default=3600.0)
    p.add_argument("--max-conns", type=int, default=64)
    args = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.addr, args.port))
    s.listen(16)
    s.settimeout(1.0)
    if args.pidfile:
        with open(args.pidfile, "w", encoding="ascii") as f:
            f.write("%d\n" % os.getpid())
    log(args.log, "listening on %s:%d" % (args.addr, args.port))
    end = time.monotonic() + args.lifetime
    sem = threading.BoundedSemaphore(args.max_conns)
    while time.monotonic() < end:
        try:
            conn, peer = s.accept()
        except socket.timeout:
            continue
        peer = "%s:%d" % peer
        if not sem.acquire(blocking=False):
            conn.close()
            continue
        log(args.log, "%s connected" % peer)

        def run(c=conn, pr=peer):
            try:
                serve(c, pr, args)
            finally:
                sem.release()

        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()
