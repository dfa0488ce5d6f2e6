#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Send raw request records ("<length>\n<bytes>", rawreq.py / sign.py) N times in turn over
# one keep-alive connection and check each answer's status: the load of a callgrind run
# (profile.sh PROFILE_TOOL=callgrind), where wrk's rate would mean nothing.
#   sendn.py HOST PORT FILE N [STATUS]      STATUS: the answer expected (default 200)
import socket
import sys


def load(path):
    data, out, pos = open(path, "rb").read(), [], 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        n = int(data[pos:nl])
        out.append(data[nl + 1:nl + 1 + n])
        pos = nl + 1 + n
    return out


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
    reqs = load(path)
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
