#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# The benchmark table: results.jsonl (medians, written by measure.py, crypto.sh, ...) ->
# one table printed, and bench-results/latest.{md,json} plus a dated copy of each.
#   report.py RESULTS OUTDIR --quick 0|1 --duration S --runs N --elapsed S
# RESULTS may also be an earlier latest.json (to render it again).
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

# (label, module op, limit, peers): limit is ("crypto", CA key), ("static", op) - httpd
# serving a file of the answer's size - or ("empty", op) - the same op on the store before
# it was seeded (its twin, server "empty", else the module's own row).
ROWS = [
    ("IssueCertificate, P-256 CA", "IssueCertificate-P256", ("crypto", "ecdsap256"),
     ("cfssl", "moto")),
    ("IssueCertificate, P-384 CA", "IssueCertificate-P384", ("crypto", "ecdsap384"),
     ("moto",)),
    ("IssueCertificate, P-521 CA", "IssueCertificate-P521", ("crypto", "ecdsap521"),
     ("moto",)),
    ("IssueCertificate, RSA-2048 CA", "IssueCertificate-RSA2048", ("crypto", "rsa2048"),
     ("moto",)),
    ("IssueCertificate, RSA-4096 CA", "IssueCertificate-RSA4096", ("crypto", "rsa4096"),
     ("moto",)),
    ("GetCertificate", "GetCertificate", ("static", "GetCertificate"), ("moto",)),
    ("DescribeCertificateAuthority", "DescribeCertificateAuthority",
     ("static", "DescribeCertificateAuthority"), ("moto",)),
    ("GetCertificateAuthorityCertificate", "GetCertificateAuthorityCertificate",
     ("static", "GetCertificateAuthorityCertificate"), ("moto",)),
    ("ListTags", "ListTags", ("static", "ListTags"), ("moto",)),
    ("RevokeCertificate", "RevokeCertificate", ("static", "RevokeCertificate"), ("moto",)),
    ("CRL download, small", "CRL-small", ("static", "CRL-small"), ()),
    ("OCSP", "OCSP", ("static", "OCSP"), ()),
    ("CRL download, 1,000,000 entries", "CRL-1M", ("static", "CRL-1M"), ()),
    ("IssueCertificate, P-256 CA, 1M stored", "IssueCertificate-P256@1M",
     ("empty", "IssueCertificate-P256"), ()),
    ("GetCertificate, 1M stored", "GetCertificate@1M", ("empty", "GetCertificate"), ()),
    ("DescribeCertificateAuthority, 1M stored", "DescribeCertificateAuthority@1M",
     ("empty", "DescribeCertificateAuthority"), ()),
    ("ListTags, 1M stored", "ListTags@1M", ("empty", "ListTags"), ()),
    ("RevokeCertificate, 1M stored", "RevokeCertificate@1M", ("empty", "RevokeCertificate"), ()),
]
PEERS = ("cfssl", "moto")
# Marked †, too short to trust: runs of fewer than FEW_ANY requests, or of fewer than FEW
# that ended early (each certificate revoked once: the pool ran out).
FEW, FEW_ANY = 200, 50
DURATION = 10  # the run length asked for, set by main()
HEAD = ["operation", "req/s", "p50 ms", "p99 ms", "limit", "ratio to limit", "target",
        "vs cfssl", "vs moto"]
# The targets of issue 7, as the least ratio to the row's limit (an "@1M" row: no more
# than 10 % slower than on the empty store). GetCertificate also wants a p99 of at most
# P99_TARGET times the static file's; the CRL build and the peers have targets of their own.
TARGETS = {"IssueCertificate-P256": 0.25, "IssueCertificate-P384": 0.6,
           "IssueCertificate-P521": 0.5, "IssueCertificate-RSA2048": 0.6,
           "IssueCertificate-RSA4096": 0.85, "GetCertificate": 0.5,
           "DescribeCertificateAuthority": 0.6, "GetCertificateAuthorityCertificate": 0.6,
           "RevokeCertificate": 0.1, "CRL-small": 0.9, "CRL-1M": 0.9}
SCALE_TARGET, P99_TARGET = 0.9, 2.0
CRL_TIME_TARGET, CRL_PEAK_TARGET = 0.1, 2.0      # of the X509_CRL API's time; of the CRL size
PEER_TARGETS = {"cfssl": (1.0, ("IssueCertificate-P256",)), "moto": (100.0, None)}  # None: all
CA_KEYS = {"ecdsap256": "P-256", "ecdsap384": "P-384", "ecdsap521": "P-521",
           "rsa2048": "RSA-2048", "rsa3072": "RSA-3072", "rsa4096": "RSA-4096"}


def load(path):
    """The records of results.jsonl, or of the "measurements" of an earlier report."""
    with open(path) as f:
        text = f.read()
    if text.startswith("{\n"):
        doc = json.loads(text)
        return doc["measurements"], doc
    else:
        return [json.loads(ln) for ln in text.splitlines() if ln.strip()], {}


def digest(recs):
    """(measurements by (server, op), crypto medians by algorithm, CRL builds by server)."""
    meas = {(r["server"], r["op"]): r for r in recs
            if r["op"] not in ("speed", "crl-build", "crl-build-http", "scale", "memory", "load")}
    speed = {}
    for r in recs:
        if r["op"] == "speed":
            speed.setdefault(r["alg"], []).append(r)
    speed = {a: {"sign": statistics.median(x["sign"] for x in v),
                 "verify": statistics.median(x["verify"] for x in v)} for a, v in speed.items()}
    crl = {}
    for server in ("module", "openssl"):
        runs = [r for r in recs if r["op"] == "crl-build" and r["server"] == server]
        if runs:
            crl[server] = {k: statistics.median(r[k] for r in runs)
                           for k in ("seconds", "cpu_seconds", "peak_kb", "base_kb", "bytes",
                                     "entries")}
            crl[server]["runs"] = runs
    http = [r for r in recs if r["op"] == "crl-build-http"]
    if http:
        crl["http"] = http[-1]
    return meas, speed, crl


def bound(speed, key):
    """Issuances/s on all cores: one CA signature plus one P-256 CSR verification."""
    if key not in speed or "ecdsap256" not in speed:
        return None
    return 1 / (1 / speed[key]["sign"] + 1 / speed["ecdsap256"]["verify"])


def fnum(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def cell(rec):
    if rec is None:
        return "—"
    if "na" in rec:
        return f"n/a ({rec['na']})"
    if "error" in rec:
        return "ERROR"
    runs = rec.get("runs") or [{"requests": FEW, "duration": DURATION}]
    n = statistics.median(r["requests"] for r in runs)
    d = statistics.median(r["duration"] for r in runs)
    few = n < FEW_ANY or (n < FEW and d < 0.8 * DURATION)
    return fnum(rec["rps"]) + ("†" if few else "")


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def scale_label(label, n):
    """The labels name 1,000,000 / 1M; a run with BENCH_SCALE_N says its own number."""
    if n == 1000000:
        return label
    return label.replace("1,000,000", f"{n:,}").replace("1M", f"{n:,}")


def met(ok):
    return "met" if ok else "not met"


def target(op, rec, lim, slim):
    """(cell, JSON) of the row's issue-7 target on its ratio to the limit; slim: the limit's
    record (GetCertificate's p99 against the static file's)."""
    t = SCALE_TARGET if "@" in op else TARGETS.get(op)
    if t is None:
        return "—", None
    rps = rec.get("rps")
    if not (rps and lim):
        return f"≥ {t:.2f}×", {"ratio_to_limit": t, "met": None}
    r = rps / lim
    doc = {"ratio_to_limit": t, "met": r >= t}
    text = f"≥ {t:.2f}×: {met(doc['met'])}"
    if not doc["met"] and f"{r:.2f}" == f"{t:.2f}":
        text += f" ({r:.3f}×)"  # the ratio column rounds it up to the target
    if op == "GetCertificate" and slim and slim.get("p99_us"):
        r = rec["p99_us"] / slim["p99_us"]
        doc.update(p99_to_limit=P99_TARGET, p99_ratio=r, p99_met=r <= P99_TARGET)
        text += f"; p99 ≤ {P99_TARGET:.0f}×: {met(doc['p99_met'])} ({r:.1f}×)"
    return text, doc


def crl_row(crl, n):
    """The CRL build: the module's against the plain X509_CRL API's on the same store,
    medians of the runs; the ratios are those of each run (module run i / openssl run i,
    taken back to back), their median. (table row, the figures for the JSON)"""
    m, o, h = crl.get("module"), crl.get("openssl"), crl.get("http")

    def fig(r):
        return (f"{r['seconds']:.2f} s ({r['cpu_seconds']:.2f} s CPU), peak +"
                f"{(r['peak_kb'] - r['base_kb']) / 1024:.0f} MiB")
    val = fig(m) if m else "—"
    if h:
        val += (f"; through the API {h['seconds']:.1f} s" if "seconds" in h else
                f"; through the API n/a ({h.get('na')})")
    lim = f"X509_CRL API: {fig(o)}" if o else "—"
    r, doc, goal = "—", {}, []
    if m and o:
        pairs = list(zip(m["runs"], o["runs"]))
        t = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
        c = statistics.median(a["cpu_seconds"] / b["cpu_seconds"] for a, b in pairs)
        r = f"{t:.3f}× time ({c:.3f}× CPU)"
        doc.update(ratio_time=t, ratio_cpu=c)
        goal.append(f"time ≤ {CRL_TIME_TARGET:.2f}×: {met(t <= CRL_TIME_TARGET)}")
    if m and m.get("bytes"):
        pk = (m["peak_kb"] - m["base_kb"]) * 1024 / m["bytes"]
        r += f", peak {pk:.2f}× CRL size"
        doc["ratio_peak_to_size"] = pk
        goal.append(f"peak ≤ {CRL_PEAK_TARGET:.0f}×: {met(pk <= CRL_PEAK_TARGET)}")
    doc["target"] = {"ratio_time": CRL_TIME_TARGET, "ratio_peak_to_size": CRL_PEAK_TARGET,
                     "met_time": doc["ratio_time"] <= CRL_TIME_TARGET
                     if "ratio_time" in doc else None,
                     "met_peak": doc["ratio_peak_to_size"] <= CRL_PEAK_TARGET
                     if "ratio_peak_to_size" in doc else None}
    return ([scale_label("CRL build, 1,000,000 entries", n), val, "—", "—", lim, r,
             "; ".join(goal) or "—", "—", "—"], doc)


# The module on the Redis provider repeats the rows of the empty store (no scale items),
# after the SQLite store's rows, the CRL build and the memory, each against the same
# kind of limit: its own static twins (static-redis), the same crypto bounds. The peers
# are compared with the SQLite rows only.
REDIS = ("module-redis", "static-redis", " (Redis)")


def table_rows(meas, speed, crl, mem, n):
    """(table rows, their JSON, notes): notes["peers"] the ratio of each row to each peer
    (their targets), notes["keys"] the peers whose CA had another key than the row's."""
    rows, data, notes = [], [], {"peers": [], "keys": set()}

    def store_rows(server, static, suffix):
        sqlite = server == "module"
        for label, op, (kind, lref), peers in ROWS:
            rec = meas.get((server, op))
            if rec is not None:
                row, doc = one_row(meas, speed, notes, scale_label(label, n) + suffix, op,
                                   rec, (kind, lref, static), peers if sqlite else ())
                rows.append(row)
                data.append(dict(doc, store="sqlite" if sqlite else "redis"))

    store_rows("module", "static", "")
    if "module" in crl or "openssl" in crl:
        row, doc = crl_row(crl, n)
        rows.append(row)
        data.append({"operation": row[0], "op": "crl-build", "entries": n, **doc,
                     **{k: v for k, v in crl.items() if k != "http"},
                     "through_api": crl.get("http")})
    if mem:
        rows.append([f"child RSS over {mem['requests']:,} requests",
                     f"{mem['after_kb'] / 1024:.1f} MiB after", "—", "—",
                     f"{mem['before_kb'] / 1024:.1f} MiB before, {mem['warm_kb'] / 1024:.1f} "
                     f"after {mem['warm_requests']:,}",
                     f"{mem['after_kb'] / mem['warm_kb']:.2f}× since warm", "—", "—", "—"])
        data.append({"operation": rows[-1][0], "op": "memory",
                     "ratio_since_warm": mem["after_kb"] / mem["warm_kb"], **mem})
    store_rows(*REDIS)
    return rows, data, notes


def one_row(meas, speed, notes, label, op, rec, limit, peers):
    """One operation's table row and JSON; limit: (kind, op or CA key, static server)."""
    kind, lref, static = limit
    rps = rec.get("rps")
    lrec, lim = None, None
    if kind == "crypto":
        lim, what = bound(speed, lref), f"crypto bound ({CA_KEYS.get(lref, lref)} CA)"
        # Measured again after each run (measure.py --speed): the machine as the row saw it.
        if rec.get("bound"):
            lim, what = rec["bound"], what + ", openssl speed after each run"
    elif kind == "static":
        lrec = meas.get((static, lref))
        what = f"static {rec.get('size', lrec.get('size', '?') if lrec else '?')} B"
    else:
        # The @1M runs alternate with the same runs on a copy of the store made before
        # the seeding (scale.sh, server "empty"): the VM's speed drifts by a tenth or more
        # in the twenty minutes since the empty store's own row, which a result file
        # without that twin compares with.
        lrec, what = meas.get(("empty", op)), "empty store, runs alternating"
        if not (lrec and lrec.get("rps")):
            lrec, what = meas.get(("module", lref)), "empty store"
    if lrec:
        lim = lrec.get("rps")
    if kind != "crypto" and rec.get("size_mismatch"):
        what += f" (answers averaged {rec['size_mismatch']:,.0f} B)"
    tcell, tdoc = target(op, rec, lim, lrec if kind == "static" else None)
    prs, pkeys = {}, {}
    out = [label, cell(rec), f"{rec['p50_us'] / 1000:.2f}" if rps else "—",
           f"{rec['p99_us'] / 1000:.2f}" if rps else "—",
           f"{fnum(lim)}/s {what}" if lim else "—", ratio(rps, lim), tcell]
    for peer in PEERS:
        prec = meas.get((peer, op.split("@")[0])) if peer in peers else None
        prs[peer] = prec.get("rps") if prec else None
        # A peer's CA of another key than the row's (moto makes every CA RSA-2048).
        odd = ""
        if prec and prec.get("ca_key") and kind == "crypto" \
                and prec["ca_key"] != CA_KEYS.get(lref):
            odd, pkeys[peer] = "‡", prec["ca_key"]
            notes["keys"].add((peer, prec["ca_key"]))
        out.append(f"{ratio(rps, prs[peer])} ({cell(prec)}{odd}/s)" if rps and prs[peer]
                   else ("—" if prec is None else cell(prec)))
        if rps and prs[peer] and "@" not in op:
            notes["peers"].append((peer, op, label, rps / prs[peer]))
    doc = {"operation": label, "op": op, "rps": rps, "p50_ms": rec.get("p50_us", 0) / 1000
           if rps else None, "p99_ms": rec.get("p99_us", 0) / 1000 if rps else None,
           "limit_rps": lim, "limit": what, "ratio_to_limit": rps / lim
           if rps and lim else None, "target": tdoc, "peers_rps": prs,
           "ratio_to_peers": {p: rps / v for p, v in prs.items() if rps and v},
           "peers_ca_key": pkeys, "na": rec.get("na"), "error": rec.get("error")}
    return out, doc


def peer_lines(notes):
    """The peers' targets of issue 7, each against the figures of this run; the ‡ note."""
    out = []
    for peer, (t, ops) in PEER_TARGETS.items():
        got = [x for x in notes["peers"] if x[0] == peer and (ops is None or x[1] in ops)]
        want = f"≥ {t:.1f}×" if t < 10 else f"≥ {t:.0f}×"
        if not got:
            continue
        if ops is not None and len(got) == 1:
            out.append(f"{want} {peer} for {got[0][2]}: {got[0][3]:.2f}×, "
                       f"{met(got[0][3] >= t)}")
            continue
        low = min(got, key=lambda x: x[3])
        n_met = sum(1 for x in got if x[3] >= t)
        out.append(f"{want} {peer} on every operation: met by {n_met} of the {len(got)} "
                   f"measured against it (lowest: {low[2]}, {low[3]:.2f}×)")
    text = ["Targets against the peers (issue 7): " + "; ".join(out) + "."] if out else []
    for peer, key in sorted(notes["keys"]):
        text.append(f"‡ {peer} made this row's CA with the key {key}, whatever KeyAlgorithm "
                    f"asked for.")
    return text


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break

    def cmd(*c):
        try:
            return subprocess.run(c, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    rev = cmd("git", "rev-parse", "--short", "HEAD")
    if cmd("git", "status", "--porcelain", "--untracked-files=no") not in ("", "?"):
        rev += "+dirty"
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "openssl": cmd("openssl", "version").split(" (")[0],
            "httpd": cmd("/usr/sbin/apache2", "-v").replace("Server version: ", ""),
            "mpm": os.environ.get("BENCH_MPM", "?"),
            "commit": rev, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def markdown(rows, info, a, speed, notes):
    out = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    b = [f"{CA_KEYS[k]} {fnum(bound(speed, k))}/s" for k in CA_KEYS if bound(speed, k)]
    few = any("†" in c for r in rows for c in r)
    out += ["", f"Crypto bound of one issuance (1/(1/sign + 1/verify of a P-256 CSR), "
                f"`openssl speed` on {info['nproc']} cores): " + ", ".join(b) + ".",
            *peer_lines(notes),
            (f"† too few requests per run to trust (under {FEW_ANY}, or under {FEW} in a "
             f"run cut short by its pool of certificates). "
             if few else "") +
            f"{'QUICK run' if a.quick else 'Full run'}: median of {a.runs} wrk runs of "
            f"{a.duration} s each, {a.elapsed} s in all. Machine: {info['nproc']} × "
            f"{info['cpu']}, Linux {info['kernel']}, {info['openssl']}, {info['httpd']} "
            f"({info.get('mpm', '?')} MPM); "
            f"commit {info['commit']}, {info['date']}; load average "
            f"{info.get('load_start', '?')} at the start, {info.get('load_end', '?')} at the end."]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("outdir")
    ap.add_argument("--quick", type=int)
    ap.add_argument("--duration", type=int)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--elapsed", type=int)
    a = ap.parse_args()
    recs, prev = load(a.results)
    for k, dflt in (("quick", 0), ("duration", prev.get("duration_s", 0)),
                    ("runs", prev.get("runs", 3)), ("elapsed", prev.get("elapsed_s", 0))):
        if getattr(a, k) is None:
            setattr(a, k, int(prev.get(k, dflt)))
    global DURATION
    DURATION = a.duration or DURATION
    info = prev.get("machine") or machine()
    for r in recs:
        if r["op"] == "load":
            info["load_" + r["at"]] = r["loadavg"]
    meas, speed, crl = digest(recs)
    mem = next((r for r in recs if r["op"] == "memory"), None)
    scale = next((r["entries"] for r in recs if r["op"] == "scale"), 1000000)
    rows, data, notes = table_rows(meas, speed, crl, mem, scale)
    md = markdown(rows, info, a, speed, notes)
    widths = [max(len(r[i]) for r in rows + [HEAD]) for i in range(len(HEAD))]
    print()
    for r in [HEAD] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print("\n" + md.split("\n\n", 1)[1])
    os.makedirs(a.outdir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    doc = {"machine": info, "quick": bool(a.quick), "duration_s": a.duration, "runs": a.runs,
           "elapsed_s": a.elapsed, "crypto": speed,
           "crypto_bound": {k: bound(speed, k) for k in speed}, "rows": data,
           "measurements": recs}
    for name in ("latest", f"bench-{stamp}"):
        with open(os.path.join(a.outdir, name + ".md"), "w") as f:
            f.write(md)
        with open(os.path.join(a.outdir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
    print(f"bench: results in {a.outdir}/latest.md and latest.json")


if __name__ == "__main__":
    main()
