#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Send raw request records ("<length>\n<bytes>", rawreq.py / sign.py) N times in turn over
# one keep-alive connection and check each answer's status: the load of a callgrind run
# (profile.sh PROFILE_TOOL=callgrind), where wrk's rate would mean nothing.
#   sendn.py HOST PORT FILE N [STATUS]      STATUS: the answer expected (default 200)
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawreq  # noqa: E402


def answer(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("sendn: connection closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("sendn: connection closed in a body")
        rest += chunk
    return status, rest[length:]


def main():
    host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    want = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    reqs = rawreq.records(path)
    sock = socket.create_connection((host, port), timeout=60)
    buf = b""
    for i in range(n):
        sock.sendall(reqs[i % len(reqs)])
        status, buf = answer(sock, buf)
        if status != want:
            raise SystemExit(f"sendn: request {i} answered {status}, expected {want}")
    sock.close()


if __name__ == "__main__":
    main()
