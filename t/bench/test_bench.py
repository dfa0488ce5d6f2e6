#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The benchmark's own decisions (scripts/bench), which `make bench` alone would only
show in a table: what a row is compared with, which runs fail the measurement, how the
runs and their twins alternate. No server: wrk is replaced by a recorder; crypto.sh runs
the real `openssl speed` for a second; sched.py reads two processes spinning on one core.

    test_bench.py      prints one TAP-like line per check; exit status 0 when all pass
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from types import SimpleNamespace

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "bench"))
import measure  # noqa: E402
import report   # noqa: E402

failed = 0
n = 0


def check(ok, what):
    global failed, n
    n += 1
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}")


def run(rps, requests=1000, **errors):
    r = {"rps": rps, "p50_us": 500, "p99_us": 2000, "requests": requests, "duration": 10.0,
         "bad_status": 0, "socket_errors": 0, "timeouts": 0, "sample": ""}
    r.update(errors)
    return r


def rec(server, op, rps, **more):
    return dict({"server": server, "op": op, "rps": rps, "p50_us": 500, "p99_us": 2000,
                 "runs": [run(rps)]}, **more)


def row_of(recs, op):
    meas, speed, crl = report.digest(recs)
    _, data, _ = report.table_rows(meas, speed, crl, None, 1000000)
    return next(d for d in data if d["op"] == op and d["store"] == "sqlite")


def speed(alg, sign, verify):
    return {"server": "openssl", "op": "speed", "alg": alg, "sign": sign, "verify": verify,
            "run": 1}


# A 1M row against the empty store's twin (runs alternating), else the empty store's row.
empty_row = rec("module", "GetCertificate", 2000)
seeded = rec("module", "GetCertificate@1M", 900)
row = row_of([empty_row, seeded, rec("empty", "GetCertificate@1M", 1000)], "GetCertificate@1M")
check(row["limit_rps"] == 1000 and "alternating" in row["limit"] and row["target"]["met"],
      "an @1M row is compared with its alternating twin (900/s against 1,000/s: met)")
row = row_of([empty_row, seeded], "GetCertificate@1M")
check(row["limit_rps"] == 2000 and not row["target"]["met"],
      "without a twin, the empty store's own row is the limit")

# An issuance row against the bound measured after its runs, else the start-of-run one.
start = [speed("ecdsap256", 60000, 20000), speed("ecdsap521", 6000, 3000)]
row = row_of(start + [rec("module", "IssueCertificate-P521", 2000, bound=4000)],
             "IssueCertificate-P521")
check(row["limit_rps"] == 4000 and "after each run" in row["limit"] and row["target"]["met"],
      "an issuance row takes the bound measured after its runs")
row = row_of(start + [rec("module", "IssueCertificate-P521", 2000)], "IssueCertificate-P521")
check(abs(row["limit_rps"] - 1 / (1 / 6000 + 1 / 20000)) < 1e-6 and not row["target"]["met"],
      "without it, the start-of-run bound of crypto.sh")

# Which runs fail a measurement.
try:
    measure.checked(0, run(0, requests=0))
    ok = True
except RuntimeError:
    ok = False
check(ok, "a run that ended before a slow server answered is not an error")
for what, bad in (("error answers", {"bad_status": 3}), ("socket errors", {"socket_errors": 1}),
                  ("timeouts", {"timeouts": 2})):
    try:
        measure.checked(0, run(100, **bad))
        ok = False
    except RuntimeError:
        ok = True
    check(ok, f"a run with {what} fails the measurement")
try:
    measure.answered([run(0, requests=0), run(0, requests=0)])
    ok = False
except RuntimeError:
    ok = True
check(ok and measure.answered([run(0, requests=0), run(5, requests=10)]),
      "runs none of which got an answer fail; one answered run is enough")

# A revocation pool dealt to the runs, one certificate kept for the probe.
tmp = tempfile.mkdtemp(prefix="test_bench.")
pool = os.path.join(tmp, "issued")
with open(pool, "w") as f:
    f.write("\n".join(f"arn{i}" for i in range(7)) + "\n")
why = measure.deal_pool(pool, 3, tmp, "twin.")
dealt = [open(os.path.join(tmp, f"twin.pool.{i}")).read().split() for i in range(3)]
probe = open(os.path.join(tmp, "twin.probe")).read().split()
check(why is None and probe == ["arn6"] and sorted(sum(dealt, [])) == [f"arn{i}" for i in range(6)]
      and all(len(d) == 2 for d in dealt), "a pool is dealt to the runs, the last for the probe")
check(measure.deal_pool(pool, 7, tmp, "") == "only 7 certificates to revoke in issued",
      "a pool too small for the runs and the probe says so")

# Each run followed by its twin's, then by its crypto bound; the twin from its own files.
calls = []
measure.wrk = lambda url, reqs, a, mode, collect: calls.append((url, reqs, mode, collect)) or \
    run(100 + len(calls))
measure.speed_bound = lambda alg, tmpdir: calls.append(("speed", alg)) or 5000.0
a = SimpleNamespace(runs=2, url="http://module/", collect="module/issued1m")
twin = ("http://empty/", lambda i: f"twin.reqs.{i}", "once", "module-empty/issued1m")
runs, twin_runs = measure.run_all(a, lambda i: f"reqs.{i}", "once", twin, "ecdsap521", tmp)
check(calls == [("http://module/", "reqs.0", "once", "module/issued1m"),
                ("http://empty/", "twin.reqs.0", "once", "module-empty/issued1m"),
                ("speed", "ecdsap521"),
                ("http://module/", "reqs.1", "once", "module/issued1m"),
                ("http://empty/", "twin.reqs.1", "once", "module-empty/issued1m"),
                ("speed", "ecdsap521")],
      "runs alternate with their twin's, each pair followed by the bound")
check([r.get("bound") for r in runs] == [5000.0, 5000.0] and len(twin_runs) == 2
      and "bound" not in twin_runs[0], "the bound goes with the module's runs only")

# The machine line names the MPM the run's httpd loaded (BENCH_MPM, set by common.sh).
os.environ["BENCH_MPM"] = "worker"
info = report.machine()
md = report.markdown([], info, SimpleNamespace(quick=1, runs=3, duration=2, elapsed=1), {},
                     {"keys": set(), "peers": {}})
check(info["mpm"] == "worker" and "(worker MPM)" in md, "the table names the MPM it ran under")

# The bound itself, from the real openssl speed through crypto.sh.
_, sp, _ = report.digest([speed("ecdsap256", 70000, 21000)])
check(abs(report.bound(sp, "ecdsap256") - 1 / (1 / 70000 + 1 / 21000)) < 1e-6,
      "the bound is 1/(1/sign + 1/verify)")
measure = importlib.reload(measure)  # the real wrk and speed_bound again
got = measure.speed_bound("ecdsap256", tmp)
check(got > 100, f"crypto.sh measures a P-256 bound now ({got:,.0f}/s)")

# sched.py reads the scheduler's accounting of processes' threads: two busy ones that share
# one core ran on one core between them, and one of the two waited for it at any time.
def one_core():
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


spins = [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=one_core)
         for _ in range(2)]
line = subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "scripts", "bench",
                                                    "sched.py"), "1", *(str(s.pid) for s in spins)],
                      capture_output=True, text=True, check=False).stdout
for s in spins:
    s.kill()
    s.wait()
ran = re.search(r"httpd ran on ([0-9.]+) cores, and ([0-9.]+) of its threads waited", line)
check(ran and 0.6 < float(ran.group(1)) <= 1.05 and 0.6 < float(ran.group(2)) <= 1.05,
      f"sched.py counts the cores threads ran on and the threads waiting ({line.strip()})")

shutil.rmtree(tmp)
print(f"1..{n}")
sys.exit(1 if failed else 0)
