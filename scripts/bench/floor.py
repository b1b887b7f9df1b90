#!/usr/bin/env python3
"""What N connections cost the server alone: the lower bound of any TLS
enumeration that needs N of them.

Each connection does what one probe of a scanner must: connect, the
protocol's STARTTLS dialog (none for implicit TLS), one TLS 1.2 ClientHello
(Python's own, built once, never changed), and read the server's first flight
up to ServerHelloDone. K run at a time. No parsing, no decisions: whatever a
real scanner does on top of this is its own cost.

    floor.py HOST PORT N K smtp|imap|pop3|implicit
Prints the wall time in seconds.
"""

import concurrent.futures as cf
import socket
import ssl
import sys
import time


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="mail.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def reply(f, multiline_smtp=False):
    while True:
        line = f.readline()
        if not line or not multiline_smtp or line[3:4] != b"-":
            return line


def starttls(s, f, proto):
    if proto == "smtp":
        reply(f, True)
        s.sendall(b"EHLO bench.test\r\n")
        reply(f, True)
        s.sendall(b"STARTTLS\r\n")
        reply(f, True)
    elif proto == "pop3":
        reply(f)
        s.sendall(b"STLS\r\n")
        reply(f)
    elif proto == "imap":
        reply(f)
        s.sendall(b"a STARTTLS\r\n")
        while not reply(f).startswith(b"a "):
            pass


def main():
    host, port, n, k, proto = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    hello = client_hello()

    def one(_):
        with socket.create_connection((host, port), timeout=10) as s:
            f = s.makefile("rb")
            starttls(s, f, proto)
            s.sendall(hello)
            got = b""
            while b"\x0e\x00\x00\x00" not in got and len(got) < 1 << 20:
                data = s.recv(65536)
                if not data:
                    break
                got += data

    started = time.monotonic()
    with cf.ThreadPoolExecutor(k) as pool:
        list(pool.map(one, range(n)))
    print(f"{time.monotonic() - started:.4f}")


if __name__ == "__main__":
    main()
