#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0.
# Seed the sqlite store directly (the server stopped), for the scale items: copies of one
# certificate the module issued, each with a fresh random serial, every other column as the
# module wrote it; revoked (KEY_COMPROMISE, at the issuing time) or not.
#   seed.py DB CA_ID N revoked|active      add N copies
#   seed.py DB CA_ID =T revoked|active     add copies until the CA holds T certificates
import sqlite3
import sys
import time

BATCH = 100000


def main():
    db, ca_id, count, mode = sys.argv[1:5]
    if mode not in ("revoked", "active"):
        raise SystemExit("usage: seed.py DB CA_ID N|=T revoked|active")
    con = sqlite3.connect(db, timeout=60)
    held = con.execute("SELECT count(*) FROM certs WHERE ca_id = ?", (ca_id,)).fetchone()[0]
    n = max(0, int(count[1:]) - held) if count.startswith("=") else int(count)
    cols = [r[1] for r in con.execute("PRAGMA table_info(certs)")]
    if not {"ca_id", "serial", "revoked_at", "revocation_reason"} <= set(cols):
        raise SystemExit(f"seed: unexpected certs columns {cols}")
    row = con.execute("SELECT * FROM certs WHERE ca_id = ? AND revoked_at IS NULL LIMIT 1",
                      (ca_id,)).fetchone()
    if row is None:
        raise SystemExit(f"seed: no certificate of {ca_id} to copy")
    tmpl = dict(zip(cols, row))
    if mode == "revoked":
        tmpl["revoked_at"] = tmpl["issued_at"]
        tmpl["revocation_reason"] = "KEY_COMPROMISE"
    # A positive 16-octet serial like the module's: first octet 0x40-0x7f.
    serial = "printf('%02x', 64 + (abs(random()) % 64)) || lower(hex(randomblob(15)))"
    exprs = [serial if c == "serial" else "?" for c in cols]
    args = [tmpl[c] for c in cols if c != "serial"]
    sql = (f"WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < ?) "
           f"INSERT OR IGNORE INTO certs ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM k")
    t0 = time.time()
    done = 0
    while done < n:
        k = min(BATCH, n - done)
        with con:
            con.execute(sql, [k] + args)
        done += k
    count = con.execute("SELECT count(*) FROM certs WHERE ca_id = ?", (ca_id,)).fetchone()[0]
    con.close()
    print(f"seed: {n} {mode} certificates added to {ca_id} in {time.time() - t0:.1f} s "
          f"(it holds {count})", file=sys.stderr)


if __name__ == "__main__":
    main()
