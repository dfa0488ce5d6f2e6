#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Unsigned raw requests for req.lua, as records "<length>\n<bytes>":
#   rawreq.py get URL OUT               GET URL (static files, CRLs)
#   rawreq.py cfssl URL CSR_DIR OUT     cfssl's POST /api/v1/cfssl/sign, one per CSR
#   rawreq.py ocsp URL DER_FILE OUT     an OCSP request (RFC 6960, POST)
import glob
import json
import sys
from urllib.parse import urlsplit


def _req(method, url, body=b"", ctype=None):
    u = urlsplit(url)
    head = f"{method} {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    if method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def records(path):
    """The requests of a records file ("<length>\n<bytes>", as _write and sign.py make)."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        n = int(data[pos:nl])
        out.append(data[nl + 1:nl + 1 + n])
        pos = nl + 1 + n
    return out


def _write(out, reqs):
    with open(out, "wb") as f:
        for r in reqs:
            f.write(b"%d\n" % len(r) + r)


def write_get(url, out):
    _write(out, [_req("GET", url)])


def write_cfssl(url, csr_dir, out):
    reqs = []
    for path in sorted(glob.glob(f"{csr_dir}/*.pem")):
        with open(path) as f:
            body = json.dumps({"certificate_request": f.read()}).encode()
        reqs.append(_req("POST", url, body, "application/json"))
    _write(out, reqs)


def write_ocsp(url, der_file, out):
    with open(der_file, "rb") as f:
        _write(out, [_req("POST", url, f.read(), "application/ocsp-request")])


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "get":
        write_get(sys.argv[2], sys.argv[3])
    elif kind == "cfssl":
        write_cfssl(sys.argv[2], sys.argv[3], sys.argv[4])
    elif kind == "ocsp":
        write_ocsp(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit("usage: rawreq.py get|cfssl|ocsp ...")
