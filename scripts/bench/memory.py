#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Resident memory of an httpd child (the largest) before and after at least 100,000 API
# requests (a mix of reads and issuance), in bounded wrk runs with freshly signed
# requests; also after the first run, so that warm-up and growth can be told apart.
#   memory.py RESULTS HTTPD_DIR STATE CSR_DIR URL [REQUESTS]
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sign  # noqa: E402

MIX = [("DescribeCertificateAuthority", 300), ("GetCertificate", 300), ("ListTags", 300),
       ("GetCertificateAuthorityCertificate", 300), ("IssueCertificate-P256", 100)]
MAX_CHUNKS = 100


def rss(httpd_dir):
    out = subprocess.run(["sh", os.path.join(HERE, "rss.sh"), httpd_dir], capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]), int(out[1])


def main():
    results, httpd_dir, state, csr_dir, url = sys.argv[1:6]
    target = int(sys.argv[6]) if len(sys.argv) > 6 else 100000
    tmp = os.environ.get("BENCH_TMP", "/tmp")
    duration = int(os.environ.get("BENCH_DURATION", 10))
    threads = int(os.environ.get("BENCH_THREADS", 2))
    conns = int(os.environ.get("BENCH_CONNS", 16))
    before, _ = rss(httpd_dir)
    warm = None
    total, chunks = 0, 0
    trace = []  # [requests so far, RSS kB] after each run: growth and warm-up told apart
    while total < target and chunks < MAX_CHUNKS:
        batch = os.path.join(tmp, "memory.reqs")
        with open(batch, "wb") as f:
            for op, n in MIX:
                part = batch + ".part"
                sign.write_batch(op, state, csr_dir, n, part)
                with open(part, "rb") as p:
                    f.write(p.read())
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout",
                              "10s", "-s", os.path.join(HERE, "req.lua"), url, "--", batch,
                              "cycle", str(threads)],
                             capture_output=True, text=True, timeout=duration + 120)
        r = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1])
        if r["bad_status"] or r["socket_errors"] or r["timeouts"]:
            raise SystemExit(f"memory: errors during the run: {r}")
        total += r["requests"]
        chunks += 1
        trace.append([total, rss(httpd_dir)[0]])
        if warm is None:
            warm, warm_requests = trace[-1][1], total
    after, hwm = rss(httpd_dir)
    rec = {"server": "module", "op": "memory", "before_kb": before, "warm_kb": warm,
           "warm_requests": warm_requests, "after_kb": after, "hwm_kb": hwm, "requests": total,
           "trace": trace}
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"  module   child RSS: {before / 1024:.1f} MiB before, {warm / 1024:.1f} MiB after "
          f"{warm_requests} requests, {after / 1024:.1f} MiB after {total} (peak "
          f"{hwm / 1024:.1f} MiB)", flush=True)
    print("           RSS after each run: " + ", ".join(f"{n}: {kb / 1024:.1f}" for n, kb in trace),
          flush=True)


if __name__ == "__main__":
    main()
