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

Standalone on purpose: bench/run.py measures the rest (convergence, calls, RSS).
"""

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

PROJECT = "bench0123456789abcdef0123456789ab"
TOKEN = "bench-token"
SPARE_JOB = 900000


def http_json(url, timeout=60, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.loads(r.read())


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def manifest(name, job, desired="Stopped"):
    return (f"apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\n"
            f"metadata:\n  name: {name}\nspec:\n  jobId: {job}\n  versionId: 1\n"
            f"  desiredState: {desired}\n")


def write_world(work, n, edits):
    jobs = [{"job_id": 1000 + i, "job_name": f"job-{i}", "versions": [{"version_id": 1, "status": 8}]}
            for i in range(n)]
    jobs += [{"job_id": SPARE_JOB + i, "job_name": f"edit-{i}", "versions": [{"version_id": 1, "status": 8}]}
             for i in range(edits + 1)]  # the last one calibrates the clocks
    seed = os.path.join(work, "seed.json")
    with open(seed, "w") as f:
        json.dump({"projects": [{"project_id": PROJECT, "jobs": jobs}]}, f)
    mdir = os.path.join(work, "manifests")
    os.makedirs(mdir)
    for start in range(0, n, 500):
        with open(os.path.join(mdir, f"objects-{start // 500:04d}.yaml"), "w") as f:
            f.write("---\n".join(manifest(f"obj-{i}", 1000 + i) for i in range(start, min(n, start + 500))))
    return seed, mdir


class Proc:
    def __init__(self, args, log, env=None):
        self.log = open(log, "w")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
        self.log.close()


def read_port_file(path):
    return os.path.exists(path) and open(path).read().strip()


def listening_port(log):
    with open(log) as f:
        for line in f:
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get("msg") == "http server listening":
                return j["address"].rsplit(":", 1)[1]
    return None


def converged(ctl, objects):
    with urllib.request.urlopen(f"{ctl}/metrics", timeout=60) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith('modelarts_controller_objects{phase="Converged"}'):
            return float(line.rsplit(" ", 1)[1]) >= objects
    return False


def requests_since(sim, seq):
    return http_json(f"{sim}/_sim/requests?since={seq}", timeout=120)


def clock_offset(sim, seq):
    """Seconds to add to a request's time_ms/1000 to put it on time.monotonic(): one API call
    whose log entry lies between two readings of our clock (error: half its round trip)."""
    job = SPARE_JOB + 10**6  # absent: a cheap 4xx, logged all the same
    t0 = time.monotonic()
    try:
        http_json(f"{sim}/v1/{PROJECT}/training-jobs/{job}/versions/1", headers={"X-Auth-Token": TOKEN})
    except Exception:
        pass
    t1 = time.monotonic()
    mine = [r for r in requests_since(sim, seq) if f"/training-jobs/{job}/" in r["path"]]
    if not mine:
        sys.exit("calibration request not found in the simulator's log")
    return (t0 + t1) / 2 - mine[-1]["time_ms"] / 1000, (t1 - t0) / 2


def write_edit(mdir, i, mode):
    path = os.path.join(mdir, f"edit-{i}.yaml")
    text = manifest(f"edit-{i}", SPARE_JOB + i)
    t = time.monotonic()
    if mode == "rename":
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
    else:
        with open(path, "w") as f:
            f.write(text)
    return t


def run_one(build, n, edits, mode, qps, burst, resync, log_level="info", keep=False):
    work = tempfile.mkdtemp(prefix=f"mactl-edit-{n}-")
    procs = []
    try:
        seed, mdir = write_world(work, n, edits)
        port_file = os.path.join(work, "sim.port")
        procs.append(Proc([f"{build}/modelarts-sim", "--listen", "127.0.0.1:0", "--port-file", port_file,
                           "--seed", seed, "--token", TOKEN, "--kill-delay", "0s", "--log-level", "warn"],
                          os.path.join(work, "sim.log")))
        wait_for(lambda: read_port_file(port_file), 30)
        sim = "http://127.0.0.1:" + read_port_file(port_file)
        log = os.path.join(work, "controller.log")
        procs.append(Proc([f"{build}/modelarts-controller", "run", "--manifests", mdir, "--endpoint", sim,
                           "--project-id", PROJECT, "--listen", "127.0.0.1:0", "--log-format", "json",
                           "--log-level", log_level, "--qps", str(qps), "--burst", str(burst), "--workers", "8", "--poll", "1s",
                           "--resync", f"{resync}s"], log, dict(os.environ, OS_TOKEN=TOKEN)))
        wait_for(lambda: listening_port(log) is not None, 30)
        ctl = "http://127.0.0.1:" + listening_port(log)
        if not wait_for(lambda: converged(ctl, n), max(120, 4 * n / qps), interval=0.5):
            sys.exit(f"N={n}: the daemon did not converge; see {log}")
        seq = max((r["seq"] for r in requests_since(sim, 0)), default=0)
        offset, error = clock_offset(sim, seq)
        latencies = []
        for i in range(edits):
            job_path = f"/training-jobs/{SPARE_JOB + i}/versions/1/stop"
            t = write_edit(mdir, i, mode)
            stop = [None]

            def stopped():
                for r in requests_since(sim, seq):
                    seq_seen = r["seq"]
                    if r["operation"] == "stop" and job_path in r["path"]:
                        stop[0] = r
                    seq_max[0] = max(seq_max[0], seq_seen)
                return stop[0] is not None
            seq_max = [seq]
            if wait_for(stopped, 30, interval=0.01):
                latencies.append(stop[0]["time_ms"] / 1000 + offset - t)
            seq = seq_max[0]
            time.sleep(0.05)  # one edit at a time: let the last one's reload settle
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
