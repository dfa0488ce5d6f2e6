# Licensed under the Apache License, Version 2.0.
"""How the cores were shared while a load ran: the machine's idle share, and for the
threads of the given processes the cores they ran on and how many of them waited, on
average, in a run queue for a core (Linux's /proc/PID/task/TID/schedstat: time on the
CPU, time runnable but waiting, slices run). Both at once tell whether an operation
waits for want of work (idle, nothing waiting) or for the scheduler (idle while threads
wait for a core).
  sched.py SECONDS PID...   prints one line after SECONDS
"""
import os
import sys
import time


def threads(pids):
    """{tid: (ns on a cpu, ns waiting in a run queue, slices)} of the processes' threads."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    out[tid] = tuple(int(v) for v in f.read().split()[:3])
            except (OSError, ValueError):
                pass  # the thread ended meanwhile
    return out


def cpu_idle():
    """(idle + iowait, all) jiffies of the machine."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)


def main():
    secs, pids = float(sys.argv[1]), sys.argv[2:]
    before, idle0, t0 = threads(pids), cpu_idle(), time.monotonic()
    time.sleep(secs)
    after, idle1, dt = threads(pids), cpu_idle(), time.monotonic() - t0
    run = wait = slices = 0
    for tid, (r, w, n) in after.items():
        r0, w0, n0 = before.get(tid, (0, 0, 0))
        run, wait, slices = run + r - r0, wait + w - w0, slices + n - n0
    idle = 100.0 * (idle1[0] - idle0[0]) / max(idle1[1] - idle0[1], 1)
    print(f"sched: cores {idle:.0f} % idle; httpd ran on {run / 1e9 / dt:.2f} cores, and "
          f"{wait / 1e9 / dt:.1f} of its threads waited for a core on average "
          f"({wait / max(slices, 1) / 1e3:.0f} us before each of {slices / dt:.0f} "
          "slices a second)")


if __name__ == "__main__":
    main()
