#!/usr/bin/env python3
"""Test client and spool reader for the relay_in_*.sh integration tests.

Subcommands (each prints TAP lines "ok - ..." / "not ok - ..." where it
checks something, so tests/run.sh counts them):

  send HOST PORT --count N [--log FILE] [--body FILE] [--bind ADDR]
        one message per transaction on one connection; every queue id that
        came with a 250 is appended to --log (and fsync'd) as soon as it is
        seen. Exits 0 when all were sent, 3 when the connection broke.
  chat HOST PORT CMD...  the greeting, then each command and its reply, in
                      turn; prints the reply codes on one line, "closed"
                      if the server closed the connection
  half HOST PORT      start a message, send half of it, print "ready", wait
  wait-data HOST PORT SIZE GOFILE
                      MAIL, RCPT, DATA; print "ready"; once GOFILE exists
                      send SIZE bytes of content; print the final reply
  smuggle HOST PORT   every RELIABILITY I-01 variant, in one write and one
                      byte per write: one 554 5.6.0, then QUIT is answered
  inject HOST PORT    STARTTLS with plaintext in the same write (I-03)
  spool DIR [QID]     verify every object in DIR/queue (magic, record
                      lengths, SHA-256 END record); list "qid size", or
                      print the content of QID
"""
import hashlib
import os
import socket
import ssl
import struct
import sys
import time


def tap(ok, what):
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    return ok


class Smtp:
    def __init__(self, host, port, bind=None, timeout=10):
        self.s = socket.socket(socket.AF_INET6 if ":" in host
                               else socket.AF_INET)
        if bind:
            self.s.bind((bind, 0))
        self.s.settimeout(timeout)
        self.s.connect((host, int(port)))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def send_bytewise(self, data):
        for i in range(len(data)):
            self.s.sendall(data[i:i + 1])

    def reply(self):
        """The next complete reply as (code, text); (0, '') on EOF."""
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) < 4 or line[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    text = b"\r\n".join(lines[:i + 1]).decode("latin-1")
                    return int(line[:3]), text
            chunk = self.s.recv(65536)
            if not chunk:
                return 0, ""
            self.buf += chunk

    def expect(self, code, what):
        got, text = self.reply()
        return tap(got == code, "%s: %d (got %d %s)" % (what, code, got,
                                                        text.strip()[:80]))

    def pending(self, wait=0.3):
        """Bytes that arrive within wait seconds, unasked."""
        self.s.settimeout(wait)
        try:
            data = self.buf + self.s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            data = self.buf
        self.s.settimeout(10)
        return data

    def close(self):
        self.s.close()


def message(i):
    return ("From: sender@example.org\r\nTo: rcpt@example.net\r\n"
            "Subject: message %d\r\nMessage-Id: <%d.%f@example.org>\r\n"
            "\r\nline one\r\n.leading dot\r\n..two dots\r\n"
            "last line %d\r\n" % (i, i, time.time(), i)).encode()


def stuff(body):
    out = []
    for line in body.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)


def cmd_send(args):
    host, port = args[0], args[1]
    count, log, body, bind = 1, None, None, None
    i = 2
    while i < len(args):
        if args[i] == "--count":
            count = int(args[i + 1])
        elif args[i] == "--log":
            log = args[i + 1]
        elif args[i] == "--body":
            body = open(args[i + 1], "rb").read()
        elif args[i] == "--bind":
            bind = args[i + 1]
        i += 2
    try:
        c = Smtp(host, port, bind)
        code, _ = c.reply()
        if code != 220:
            print("greeting %d" % code)
            return 2
        c.send(b"EHLO client.example\r\n")
        c.reply()
        for n in range(count):
            data = body if body is not None else message(n)
            c.send(b"MAIL FROM:<sender@example.org>\r\n"
                   b"RCPT TO:<rcpt@example.net>\r\nDATA\r\n")
            codes = [c.reply()[0] for _ in range(3)]
            if codes != [250, 250, 354]:
                print("refused: %s" % codes)
                return 2
            c.send(stuff(data) + b"\r\n.\r\n")
            code, text = c.reply()
            if code != 250:
                print("end of data: %d %s" % (code, text))
                return 2 if code else 3
            qid = text.split()[-1]
            if log:
                with open(log, "a") as f:
                    f.write(qid + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            else:
                print(qid)
        c.send(b"QUIT\r\n")
        c.reply()
        return 0
    except (OSError, socket.timeout):
        return 3


def cmd_chat(args):
    c = Smtp(args[0], args[1])
    codes = [c.reply()[0]]
    for cmd in args[2:]:
        if codes[-1] == 0:
            break
        try:
            c.send(cmd.encode() + b"\r\n")
            codes.append(c.reply()[0])
        except OSError:
            codes.append(0)
    if codes[-1] != 0:
        try:
            c.s.settimeout(2)
            while c.reply()[0] != 0:
                pass
        except OSError:
            pass
    print(" ".join("closed" if x == 0 else str(x) for x in codes))
    return 0


def cmd_wait_data(args):
    c = Smtp(args[0], args[1], timeout=30)
    c.reply()
    c.send(b"EHLO client.example\r\n")
    c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
           b"DATA\r\n")
    codes = [c.reply()[0] for _ in range(3)]
    if codes != [250, 250, 354]:
        print("refused %s" % codes, flush=True)
        return 2
    print("ready", flush=True)
    while not os.path.exists(args[3]):
        time.sleep(0.05)
    line = b"x" * 76 + b"\r\n"
    c.send(b"Subject: big\r\n\r\n" + line * (int(args[2]) // 78) +
           b".\r\n")
    code, text = c.reply()
    print(text.strip(), flush=True)
    return 0


def cmd_half(args):
    c = Smtp(args[0], args[1])
    c.reply()
    c.send(b"EHLO client.example\r\n")
    c.reply()
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
           b"DATA\r\n")
    if [c.reply()[0] for _ in range(3)] != [250, 250, 354]:
        print("refused", flush=True)
        return 2
    c.send(b"Subject: half\r\n\r\nthe first half of a message\r\n")
    print("ready", flush=True)
    time.sleep(30)


SMUGGLE = [
    ("LF.LF", b"\n.\n"), ("LF.CRLF", b"\n.\r\n"), ("CRLF.LF", b"\r\n.\n"),
    ("CR.CR", b"\r.\r"), ("CRLF.CR", b"\r\n.\r"), ("CR.CRLF", b"\r.\r\n"),
    ("LF.CR", b"\n.\r"), ("CRLF NUL .CRLF", b"\r\n\x00.\r\n"),
]


def cmd_smuggle(args):
    ok = True
    for name, seq in SMUGGLE:
        for bytewise in (False, True):
            how = "%s, %s" % (name, "byte by byte" if bytewise
                              else "one write")
            c = Smtp(args[0], args[1])
            c.reply()
            c.send(b"EHLO client.example\r\n")
            c.reply()
            c.send(b"MAIL FROM:<a@example.org>\r\n"
                   b"RCPT TO:<b@example.net>\r\nDATA\r\n")
            c.reply()
            c.reply()
            c.reply()
            data = (b"From: a@example.org\r\n\r\nhello" + seq +
                    b"MAIL FROM:<ceo@example.org>\r\n"
                    b"RCPT TO:<victim@example.net>\r\nDATA\r\n"
                    b"From: ceo@example.org\r\n\r\nsmuggled\r\n"
                    b"\r\n.\r\nQUIT\r\n")
            (c.send_bytewise if bytewise else c.send)(data)
            ok &= c.expect(554, "smuggling %s: rejected after the real end"
                           % how)
            ok &= c.expect(221, "smuggling %s: next reply is QUIT's" % how)
            ok &= tap(c.reply()[0] == 0,
                      "smuggling %s: nothing more, closed" % how)
            c.close()
    return 0 if ok else 1


def cmd_inject(args):
    c = Smtp(args[0], args[1])
    c.reply()
    c.send(b"EHLO client.example\r\n")
    code, text = c.reply()
    tap("STARTTLS" in text, "STARTTLS offered before TLS")
    c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
    c.expect(220, "STARTTLS accepted")
    tap(c.buf == b"", "nothing but 220 before the handshake")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    c.s = ctx.wrap_socket(c.s, server_hostname="relay.example.net")
    c.buf = b""
    tap(c.s.version() in ("TLSv1.2", "TLSv1.3"),
        "handshake done (%s)" % c.s.version())
    tap(c.pending() == b"",
        "the plaintext RSET and MAIL got no reply inside TLS")
    c.send(b"MAIL FROM:<a@example.org>\r\n")
    c.expect(503, "state reset by TLS: MAIL needs EHLO first")
    c.send(b"EHLO client.example\r\n")
    code, text = c.reply()
    tap(code == 250 and "STARTTLS" not in text,
        "EHLO after TLS does not offer STARTTLS")
    c.send(b"STARTTLS\r\n")
    c.expect(503, "second STARTTLS refused")
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
           b"DATA\r\n")
    c.expect(250, "MAIL inside TLS")
    c.expect(250, "RCPT inside TLS")
    c.expect(354, "DATA inside TLS")
    c.send(b"Subject: tls\r\n\r\nover TLS\r\n.\r\nQUIT\r\n")
    code, text = c.reply()
    tap(code == 250, "message over TLS queued")
    print("qid " + text.split()[-1])
    c.expect(221, "QUIT")
    return 0


def read_object(path):
    """(qid, content) of a verified spool object; raises on corruption."""
    data = open(path, "rb").read()
    if data[:8] != b"TGSPOOL\x01":
        raise ValueError("bad magic")
    off, content, qid = 8, b"", None
    while True:
        if off + 5 > len(data):
            raise ValueError("truncated")
        typ = data[off:off + 1]
        (n,) = struct.unpack(">I", data[off + 1:off + 5])
        if off + 5 + n > len(data):
            raise ValueError("record past the end")
        payload = data[off + 5:off + 5 + n]
        if typ == b"Z":
            if hashlib.sha256(data[:off]).digest() != payload:
                raise ValueError("checksum")
            if off + 5 + n != len(data):
                raise ValueError("bytes after END")
            return qid, content
        if typ == b"Q":
            qid = payload.decode()
        elif typ == b"D":
            content += payload
        off += 5 + n


def cmd_spool(args):
    qdir = os.path.join(args[0], "queue")
    names = sorted(os.listdir(qdir))
    if len(args) > 1:
        qid, content = read_object(os.path.join(qdir, args[1]))
        sys.stdout.buffer.write(content)
        return 0
    bad = 0
    for name in names:
        try:
            qid, content = read_object(os.path.join(qdir, name))
            if qid != name:
                raise ValueError("id differs from the name")
            print("%s %d" % (name, len(content)))
        except (ValueError, OSError) as e:
            print("corrupt %s: %s" % (name, e))
            bad += 1
    return 1 if bad else 0


def main():
    cmds = {"send": cmd_send, "chat": cmd_chat, "half": cmd_half,
            "wait-data": cmd_wait_data, "smuggle": cmd_smuggle,
            "inject": cmd_inject, "spool": cmd_spool}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        return 2
    return cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
