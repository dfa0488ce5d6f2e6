#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# One benchmark measurement: probe once, then RUNS wrk runs (a fresh batch of signed
# requests right before each), the median of each figure appended to the results file
# as one JSON line. A probe answered UnknownOperationException (or an --na-status) is
# recorded as n/a, and so is an issuance from a CA the setup could not create; any other
# error (or that missing CA) is recorded and, with --fatal, exits 1. An issuance's record
# names the key of the CA's certificate (ca_key): an emulator may ignore KeyAlgorithm
# (moto makes every CA RSA-2048). With --fatal a CA of another key is an error.
#
#   measure.py RESULTS SERVER OP URL [options]
#     --sign OP STATE EXTRA N   requests signed by sign.py (EXTRA: CSR dir, pool or -)
#     --raw FILE                requests already made (rawreq.py)
#     --once-pool FILE          RevokeCertificate: split the ARNs of FILE across the runs,
#                               each sent once (the last one is kept for the probe)
#     --collect FILE            append the CertificateArn of every answer to FILE
#     --static DOCROOT PORT     measure httpd serving a static file of the same size too,
#                               a static run after each run of the operation
#     --na-status 404,...       probe answers that mean "not there yet" (n/a)
#     --want-type TYPE          the Content-Type a successful answer must have
#     --want-key                an issuance from a CA of another key than the op's is n/a
#     --twin NAME URL DIR       the same signed requests against a second endpoint (the
#                               empty store beside the seeded one) after each run, from
#                               DIR's state.json and its pool and collect files (named as
#                               this run's); reported as server NAME
#     --speed                   an issuance run followed by its crypto bound measured
#                               again (crypto.sh, 1 s): the record's "bound"
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from http.client import HTTPResponse
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bodies  # noqa: E402
import rawreq  # noqa: E402
import report  # noqa: E402
import sign    # noqa: E402


def probe(url, raw):
    """Send one raw request: (status, error type, body, content type)."""
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=60) as s:
        s.sendall(raw)
        resp = HTTPResponse(s)
        resp.begin()
        body = resp.read()
    etype = resp.getheader("x-amzn-ErrorType") or ""
    if resp.status >= 300 and not etype and body[:1] == b"{":
        try:
            etype = json.loads(body).get("__type", "")
        except ValueError:
            pass
    return resp.status, etype.split(":")[0].split("#")[-1], body, resp.getheader("Content-Type")


def wrk(url, reqs, a, mode, collect):
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{a.duration}s", "--timeout", "10s",
           "-s", os.path.join(HERE, "req.lua"), url, "--", reqs, mode, str(a.threads)]
    if collect:
        cmd.append(collect)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 120)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:300]}")
    return json.loads(lines[-1])


def median_of(runs):
    keys = ("rps", "p50_us", "p99_us")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def emit(a, rec):
    rec.update(server=a.server, op=a.op)
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if "rps" in rec:
        what = (f"{rec['rps']:10.1f} req/s  p50 {rec['p50_us'] / 1000:.2f} ms"
                f"  p99 {rec['p99_us'] / 1000:.2f} ms")
    else:
        what = "n/a: " + rec["na"] if "na" in rec else "ERROR: " + rec["error"]
    print(f"  {a.server:8} {a.op:36} {what}", flush=True)


def checked(i, r):
    if r["bad_status"] or r["socket_errors"] or r["timeouts"]:
        raise RuntimeError(f"run {i + 1}: {r['bad_status']} error answers, "
                           f"{r['socket_errors']} socket errors, {r['timeouts']} timeouts; "
                           f"first: {r['sample']}")
    return r


def answered(runs):
    """A run may end before a slow server (moto issues about one certificate a second)
    answers any request: it counts as 0/s, marked too few to trust. Runs none of which
    got an answer mean a server that does not answer."""
    if runs and not any(r["requests"] for r in runs):
        raise RuntimeError(f"no answer in any of {len(runs)} runs")
    return runs


def static_twin(a, size, tmp):
    """A static file of size bytes in --static's docroot: (URL, its raw request)."""
    docroot, port = a.static
    name = f"static-{size}"
    with open(os.path.join(docroot, name), "wb") as f:
        f.write(os.urandom(size))
    os.chmod(os.path.join(docroot, name), 0o644)
    surl = f"http://127.0.0.1:{port}/"
    raw = os.path.join(tmp, "static")
    rawreq.write_get(surl + name, raw)
    return surl, raw


# The CA key of each issuance operation (bodies.ISSUE), as `openssl speed` names it.
SPEED_ALGS = {label: alg for alg, label in report.CA_KEYS.items()}


def speed_bound(alg, tmp):
    """The crypto bound of one issuance on the machine as it is now: crypto.sh for one
    second, the bound as the table computes it."""
    out = os.path.join(tmp, "speed.jsonl")
    open(out, "w").close()
    try:
        subprocess.run(["sh", os.path.join(HERE, "crypto.sh"), out, "1", "1",
                        *sorted({alg, "ecdsap256"})], check=True, capture_output=True,
                       timeout=120)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"crypto.sh {alg}: {e.stderr.strip()[:200]}")
    _, speed, _ = report.digest(report.load(out)[0])
    lim = report.bound(speed, alg)
    if not lim:
        raise RuntimeError(f"crypto.sh printed no bound for {alg}")
    return lim


def run_all(a, make_batch, mode, twin, alg, tmp):
    """RUNS runs of the operation, each followed by one of its twin when there is one:
    side by side in time, a drift of the machine moves both alike. twin: (URL, its
    make_batch, mode, collect file). With alg, each run is followed by its crypto bound
    measured again (its "bound"): the VM's speed moves by a tenth within the half hour
    a full run takes."""
    runs, twin_runs = [], []
    for i in range(a.runs):
        runs.append(checked(i, wrk(a.url, make_batch(i), a, mode, a.collect)))
        if twin:
            turl, tbatch, tmode, tcollect = twin
            twin_runs.append(checked(i, wrk(turl, tbatch(i), a, tmode, tcollect)))
        if alg:
            runs[-1]["bound"] = speed_bound(alg, tmp)
    return answered(runs), answered(twin_runs)


def deal_pool(path, runs, tmp, tag):
    """The certificates of a pool file, each to be revoked once: one for the probe, the
    rest dealt to the runs (files tmp/<tag>probe, tmp/<tag>pool.<i>). None, or why not."""
    with open(path) as f:
        arns = f.read().split()
    if len(arns) < runs + 1:
        return f"only {len(arns)} certificates to revoke in {os.path.basename(path)}"
    with open(os.path.join(tmp, tag + "probe"), "w") as f:
        f.write(arns.pop() + "\n")
    for i in range(runs):
        with open(os.path.join(tmp, f"{tag}pool.{i}"), "w") as f:
            f.write("\n".join(arns[i::runs]) + "\n")
    return None


def batch_maker(a, tmp, state, tag, pooled):
    """make_batch(i, probe_only): the request file of run i (signed against state's
    endpoint right before the run), or of the probe."""
    def make_batch(i, probe_only=False):
        if a.raw:
            return a.raw
        op, _, extra, n = a.sign
        if pooled:
            extra, n = os.path.join(tmp, f"{tag}probe" if probe_only else f"{tag}pool.{i}"), "0"
        out = os.path.join(tmp, f"{tag}reqs.{i}")
        sign.write_batch(op, state, extra, 1 if probe_only else int(n), out)
        return out
    return make_batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("server")
    ap.add_argument("op")
    ap.add_argument("url")
    ap.add_argument("--sign", nargs=4)
    ap.add_argument("--raw")
    ap.add_argument("--once-pool")
    ap.add_argument("--collect")
    ap.add_argument("--static", nargs=2)
    ap.add_argument("--twin", nargs=3)
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--na-status", default="")
    ap.add_argument("--want-type")
    ap.add_argument("--want-key", action="store_true")
    ap.add_argument("--fatal", action="store_true")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    ap.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 2)))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 2)))
    ap.add_argument("--conns", type=int, default=int(os.environ.get("BENCH_CONNS", 16)))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="measure.", dir=os.environ.get("BENCH_TMP"))
    mode, pooled = "cycle", bool(a.once_pool)
    if pooled:
        why = deal_pool(a.once_pool, a.runs, tmp, "")
        if why:
            emit(a, {"na": why})
            return 0
        mode = "once"
    make_batch = batch_maker(a, tmp, a.sign[1] if a.sign else None, "", pooled)
    # The signed twin: the same requests signed for its endpoint, from its own files.
    twin_files = None
    if a.twin:
        tdir = a.twin[2]
        same = (lambda f: os.path.join(tdir, os.path.basename(f)) if f else None)
        twin_files = (os.path.join(tdir, "state.json"), same(a.once_pool), same(a.collect))
        why = pooled and deal_pool(twin_files[1], a.runs, tmp, "twin.")
        if why:
            emit(a, {"na": "twin: " + why})
            return 0
    na_status = {int(s) for s in a.na_status.split(",") if s}
    extra = {}
    if a.sign and a.sign[0] in bodies.ISSUE:
        with open(a.sign[1]) as f:
            state = json.load(f)
        name, _, want = bodies.ISSUE[a.sign[0]]
        extra["ca_key"] = state.get("ca_keys", {}).get(name)
        why = bodies.missing(a.sign[0], state)
        if not why and extra["ca_key"] != want and (a.fatal or a.want_key):
            why = f"CA key {extra['ca_key']}, not {want}"
        if why:
            emit(a, {"error": why} if a.fatal else {"na": why})
            return 1 if a.fatal else 0
    try:
        status, etype, body, ctype = probe(a.url, rawreq.records(make_batch("p", True))[0])
        if etype == "UnknownOperationException" or status in na_status:
            emit(a, {"na": f"HTTP {status} {etype}".strip()})
            return 0
        if status >= 300:
            raise RuntimeError(f"probe: HTTP {status} {etype} {body[:200]!r}")
        if a.want_type and (ctype or "").split(";")[0].strip() != a.want_type:
            raise RuntimeError(f"probe: Content-Type {ctype}, not {a.want_type}")
        twin, twin_server = None, None
        if a.static:
            surl, sraw = static_twin(a, len(body), tmp)
            # module-redis's twins are static-redis: each store's httpd has its own.
            twin, twin_server = (surl, lambda i: sraw, "cycle", None), \
                "static" + a.server[len("module"):]
        elif twin_files:
            tbatch = batch_maker(a, tmp, twin_files[0], "twin.", pooled)
            twin, twin_server = (a.twin[1], tbatch, mode, twin_files[2]), a.twin[0]
        alg = SPEED_ALGS[bodies.ISSUE[a.sign[0]][2]] \
            if a.speed and a.sign and a.sign[0] in bodies.ISSUE else None
        runs, twin_runs = run_all(a, make_batch, mode, twin, alg, tmp)
        rec = dict(median_of(runs), size=len(body), content_type=ctype, runs=runs, **extra)
        if alg:
            rec["bound"] = statistics.median(r["bound"] for r in runs)
        # The static file has the probe's size: say so when the answers grew meanwhile
        # (a CRL rebuilt during the run), as wrk saw them, headers included.
        seen = statistics.median(r["bytes"] / max(1, r["requests"]) for r in runs)
        if seen > 2 * len(body) + 2048 or seen < len(body) / 2:
            rec["size_mismatch"] = seen
            print(f"measure: {a.op}: answers of {seen:.0f} bytes on average during the runs, "
                  f"{len(body)} at the probe", file=sys.stderr)
        emit(a, rec)
        if twin:
            server, a.server = a.server, twin_server
            emit(a, dict(median_of(twin_runs), size=len(body), runs=twin_runs))
            a.server = server
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        emit(a, {"error": str(e)})
        print(f"measure: {a.server} {a.op}: {e}", file=sys.stderr)
        return 1 if a.fatal else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
