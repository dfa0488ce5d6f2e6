#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Time and peak memory for the module to build the CRL of the scale CA (setup.py scale),
# seeded with N-1 revocations (seed.py), right after httpd was restarted: the Nth revocation
# through the API (when RevokeCertificate exists) makes a CRL build due, then the CRL URL
# is fetched until it holds about N entries (bounded: 600 s; 10 s of 404s mean "no CRL
# route": n/a).
#   crlbuild.py RESULTS HTTPD_DIR STATE N
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))


def rss(httpd_dir):
    """The largest peak resident size (kB) of httpd's children and its parent."""
    out = subprocess.run(["sh", os.path.join(HERE, "rss.sh"), httpd_dir], capture_output=True,
                         text=True, check=True).stdout.split()
    return max(int(out[1]), int(out[3]))


def emit(results, rec):
    rec.update(server="module", op="crl-build-http")
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print("  module   CRL build through the API: " + (f"n/a: {rec['na']}" if "na" in rec else
          f"{rec['seconds']:.1f} s, peak {rec['peak_kb'] / 1024:.0f} MiB (idle "
          f"{rec['idle_kb'] / 1024:.0f} MiB), {rec['bytes']} bytes"),
          flush=True)


def main():
    results, httpd_dir, state_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(state_file) as f:
        state = json.load(f)
    url = state.get("scale_crl_url")
    if not url:
        return emit(results, {"na": "no CRL distribution point in the certificates"})
    base = rss(httpd_dir)
    t0 = time.monotonic()
    pca = boto3.client("acm-pca", endpoint_url=state["endpoint"], region_name="us-east-1")
    serial = state["scale_certs"][-1].rsplit("/", 1)[1]
    try:
        pca.revoke_certificate(CertificateAuthorityArn=state["ca_scale"],
                               CertificateSerial=":".join(serial[i:i + 2]
                                                          for i in range(0, len(serial), 2)),
                               RevocationReason="KEY_COMPROMISE")
    except ClientError as e:
        if e.response["Error"]["Code"] != "UnknownOperationException":
            print(f"crlbuild: the revocation that triggers the build failed: {e}",
                  file=sys.stderr)
    size = 0
    while time.monotonic() - t0 < 600:
        try:
            with urllib.request.urlopen(url, timeout=600) as r:
                size = len(r.read())
            if size > 20 * n:
                break
        except urllib.error.HTTPError as e:
            if e.code != 404 or time.monotonic() - t0 > 10:
                if e.code == 404:
                    return emit(results, {"na": "the CRL URL answers 404"})
                raise SystemExit(f"crlbuild: HTTP {e.code} for {url}")
        time.sleep(0.5)
    else:
        raise SystemExit(f"crlbuild: no CRL of {n} entries after 600 s (last {size} bytes)")
    seconds = time.monotonic() - t0
    peak = rss(httpd_dir)
    emit(results, {"entries": n, "seconds": seconds, "peak_kb": peak, "idle_kb": base,
                   "bytes": size})


if __name__ == "__main__":
    main()
