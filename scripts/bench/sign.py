#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# SigV4-sign benchmark requests with botocore, right before a run (X-Amz-Date must be
# within 5 minutes of the server's clock).
#   sign.py OP STATE EXTRA N OUT   N signed raw HTTP requests (bodies cycled; N=0: each
#                                  body once) for wrk's req.lua, as records
#                                  "<length>\n<bytes>"
# EXTRA: the CSR directory (IssueCertificate-*), the ARN pool file (RevokeCertificate), or -.
# Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; region us-east-1.
import json
import os
import sys
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bodies import bodies, encode

REGION = "us-east-1"


def signed(endpoint, target, body, creds):
    """(headers, body) of one signed ACM PCA JSON request."""
    req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "ACMPrivateCA." + target})
    SigV4Auth(creds, "acm-pca", REGION).add_auth(req)
    headers = dict(req.headers.items())
    headers["Host"] = urlsplit(endpoint).netloc
    return headers, body


def raw(headers, body):
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def write_batch(op, state_file, extra, n, out):
    """N signed requests of OP (n=0: each body once) as records for req.lua."""
    with open(state_file) as f:
        state = json.load(f)
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    target, items = bodies(op, state, extra)
    count = n if n > 0 else len(items)
    with open(out, "wb") as f:
        for i in range(count):
            r = raw(*signed(state["endpoint"], target, encode(items[i % len(items)]), creds))
            f.write(b"%d\n" % len(r) + r)


if __name__ == "__main__":
    write_batch(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
