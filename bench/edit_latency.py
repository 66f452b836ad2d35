#!/usr/bin/env python3
"""Edit-to-stop latency of the real daemon against the real simulator over loopback.

For each object count N: starts modelarts-sim seeded with N running jobs (managed, desired
Stopped, in files of 500 documents) plus M spare running jobs, starts modelarts-controller on
the manifest tree, waits until every object is Converged, then writes M new manifests one by
one, each naming one spare job, and times each from just before its write to the stop request
the simulator logged for that job (the request log's timestamp, put on this process's clock by
a calibration request, so polling the log adds nothing to the figure). Prints p50/p99/max.

  bench/edit_latency.py --build build --sizes 1000,10000 --edits 50
  bench/edit_latency.py --mode rename        # an editor's write-and-rename instead

Standalone on purpose: bench/run.py measures the rest (convergence, calls, RSS); its issue16
part (bench/issue16_bench.py) reuses measure_edits below.
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time

from benchlib import (PROJECT, TOKEN, http_json, last_seq, objects_in_phase, sim_requests,
                      start_daemon, start_sim, v1_manifest, wait_for, write_manifests, write_seed)

SPARE_JOB = 900000


def spare_jobs(count, status=8):
    """The jobs the edits name (RUNNING by default), plus one more that calibrates the clocks."""
    return [{"job_id": SPARE_JOB + i, "job_name": f"edit-{i}", "versions": [{"version_id": 1, "status": status}]}
            for i in range(count + 1)]


def write_world(work, n, edits):
    jobs = [{"job_id": 1000 + i, "job_name": f"job-{i}", "versions": [{"version_id": 1, "status": 8}]}
            for i in range(n)]
    seed = write_seed(work, v1_jobs=jobs + spare_jobs(edits))
    mdir = os.path.join(work, "manifests")
    write_manifests(mdir, [v1_manifest(f"obj-{i}", 1000 + i, 1) for i in range(n)])
    return seed, mdir


def clock_offset(sim, seq):
    """Seconds to add to a request's time_ms/1000 to put it on time.monotonic(): one API call
    whose log entry lies between two readings of our clock (error: half its round trip)."""
    job = SPARE_JOB + 10**6  # absent: a cheap 4xx, logged all the same
    t0 = time.monotonic()
    try:
        http_json(f"{sim}/v1/{PROJECT}/training-jobs/{job}/versions/1", timeout=60,
                  headers={"X-Auth-Token": TOKEN})
    except Exception:
        pass
    t1 = time.monotonic()
    mine = [r for r in sim_requests(sim, seq) if f"/training-jobs/{job}/" in r["path"]]
    if not mine:
        sys.exit("calibration request not found in the simulator's log")
    return (t0 + t1) / 2 - mine[-1]["time_ms"] / 1000, (t1 - t0) / 2


def write_edit(mdir, i, mode):
    path = os.path.join(mdir, f"edit-{i}.yaml")
    text = v1_manifest(f"edit-{i}", SPARE_JOB + i, 1)
    t = time.monotonic()
    if mode == "rename":
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
    else:
        with open(path, "w") as f:
            f.write(text)
    return t


def measure_edits(sim, mdir, first, count, mode, gap_s=0.05):
    """Writes edits first..first+count-1 one at a time, gap_s apart after each stop; returns
    (latencies in seconds, clock calibration error in seconds). Spare jobs first.. must be
    RUNNING and not yet named."""
    seq = last_seq(sim)
    offset, error = clock_offset(sim, seq)
    latencies = []
    for i in range(first, first + count):
        job_path = f"/training-jobs/{SPARE_JOB + i}/versions/1/stop"
        t = write_edit(mdir, i, mode)
        stop = [None]
        seq_max = [seq]

        def stopped():
            for r in sim_requests(sim, seq):
                if r["operation"] == "stop" and job_path in r["path"]:
                    stop[0] = r
                seq_max[0] = max(seq_max[0], r["seq"])
            return stop[0] is not None
        if wait_for(stopped, 30, interval=0.01):
            latencies.append(stop[0]["time_ms"] / 1000 + offset - t)
        seq = seq_max[0]
        time.sleep(gap_s)  # one edit at a time: let the last one's reload settle
    return latencies, error


def run_one(build, n, edits, mode, qps, burst, resync, log_level="info", keep=False):
    work = tempfile.mkdtemp(prefix=f"mactl-edit-{n}-")
    procs = []
    try:
        seed, mdir = write_world(work, n, edits)
        sim_proc, sim = start_sim(build, work, seed, "sim")
        procs.append(sim_proc)
        ctl_proc, ctl = start_daemon(build, work, sim, mdir, [
            "--qps", str(qps), "--burst", str(burst), "--workers", "8", "--poll", "1s",
            "--resync", f"{resync}s"], log_level=log_level)
        procs.append(ctl_proc)
        if not wait_for(lambda: objects_in_phase(ctl, "Converged") >= n, max(120, 4 * n / qps),
                        interval=0.5):
            sys.exit(f"N={n}: the daemon did not converge; see {work}/controller.log")
        latencies, error = measure_edits(sim, mdir, 0, edits, mode)
        return {"n": n, "latencies": latencies, "edits": edits, "error": error}
    finally:
        for p in reversed(procs):
            p.stop()
        if keep:
            print(f"N={n}: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--mode", choices=["write", "rename"], default="write",
                    help="write: open, write, close in place; rename: write a .tmp, rename it in")
    ap.add_argument("--qps", type=float, default=200)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--resync", type=int, default=20)
    ap.add_argument("--log-level", default="info", help="the daemon's; debug logs each reload")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, manifests)")
    args = ap.parse_args()
    rows = [run_one(args.build, int(s), args.edits, args.mode, args.qps, args.burst, args.resync,
                    args.log_level, args.keep)
            for s in args.sizes.split(",")]
    print(f"Edit-to-stop ({args.mode}), from the write to the stop in the simulator's request log; "
          f"qps={args.qps:g} burst={args.burst} resync {args.resync}s, workers 8:\n")
    print("| objects | edits stopped | p50 | p99 | max |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        ms = [x * 1000 for x in r["latencies"]]
        print(f"| {r['n']} | {len(ms)}/{r['edits']} | {pct(ms, 0.5):.1f} ms | {pct(ms, 0.99):.1f} ms | "
              f"{max(ms) if ms else float('nan'):.1f} ms |")
    print(f"\n(clock calibration error at most ±{max(r['error'] for r in rows) * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
