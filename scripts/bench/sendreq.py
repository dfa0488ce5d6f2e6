#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Send N of the raw requests in FILE (records "<length>\n<bytes>", as sign.py and
# rawreq.py write them) over one keep-alive connection, one at a time, and fail unless
# every answer is 200. For instruction counts (callgrind.sh), where wrk's rate is moot.
#   sendreq.py PORT FILE N [FIRST]
import socket
import sys


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        n = int(data[pos:nl])
        out.append(data[nl + 1:nl + 1 + n])
        pos = nl + 1 + n
    return out


def main():
    port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    reqs = records(path)
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = sock.makefile("rb")
    bad = 0
    for i in range(n):
        sock.sendall(reqs[(first + i) % len(reqs)])
        status = f.readline()
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        body = f.read(length)
        if b" 200 " not in status:
            bad += 1
            if bad <= 3:
                print(status.decode().strip(), body[:200], file=sys.stderr)
    if bad:
        raise SystemExit(f"sendreq: {bad} of {n} answers were not 200")


if __name__ == "__main__":
    main()
