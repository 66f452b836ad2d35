#!/usr/bin/env python3
"""Benchmarks of the real daemon against the real simulator over loopback.

For each object count N it measures:
  * convergence: time from start until every desired-Stopped version has been stopped
    and the daemon reports every object Converged, against the rate-limit bound N/qps
    (each stop costs one request, so no controller can beat N/qps);
  * API calls per object for the initial pass and for one steady-state resync (the
    batched observer should need ceil(N/1000) list pages plus one detail call per
    non-latest version);
  * edit-to-stop latency: a new manifest written to the watched directory until the
    simulator receives the stop (p50/p99 over repeated edits, at the smallest N).
Prints a Markdown table; figures are ratios to bounds measured in the same run.
"""

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

PROJECT = "bench0123456789abcdef0123456789ab"
TOKEN = "bench-token"


def http_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def http_text(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def metric(text, series):
    """Value of one exact series, e.g. 'objects{phase="Converged"}' with its prefix."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == series:
            return float(value)
    return 0.0


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def manifest(name, job, version, desired="Stopped"):
    return (f"apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\n"
            f"metadata:\n  name: {name}\nspec:\n  jobId: {job}\n  versionId: {version}\n"
            f"  desiredState: {desired}\n")


def write_world(work, n, extra_jobs, non_latest):
    """Seed: n managed jobs (RUNNING latest; every `non_latest`-th one also manages a
    RUNNING older version), plus extra RUNNING jobs for the edit test and 100 unmanaged
    jobs so the list is not only ours."""
    jobs = []
    objects = []
    for i in range(n):
        job_id = 1000 + i
        if non_latest and i % non_latest == 0:
            jobs.append({"job_id": job_id, "job_name": f"job-{i}",
                         "versions": [{"version_id": 1, "status": 8}, {"version_id": 2, "status": 8}]})
            objects.append((f"obj-{i}", job_id, 1))
        else:
            jobs.append({"job_id": job_id, "job_name": f"job-{i}", "versions": [{"version_id": 1, "status": 8}]})
            objects.append((f"obj-{i}", job_id, 1))
    for i in range(extra_jobs):
        jobs.append({"job_id": 900000 + i, "job_name": f"edit-{i}", "versions": [{"version_id": 1, "status": 8}]})
    for i in range(100):
        jobs.append({"job_id": 800000 + i, "job_name": f"other-{i}", "versions": [{"version_id": 1, "status": 10}]})
    seed = os.path.join(work, "seed.json")
    with open(seed, "w") as f:
        json.dump({"projects": [{"project_id": PROJECT, "jobs": jobs}]}, f)
    mdir = os.path.join(work, "manifests")
    os.makedirs(mdir)
    per_file = 500
    for start in range(0, len(objects), per_file):
        with open(os.path.join(mdir, f"objects-{start // per_file:04d}.yaml"), "w") as f:
            f.write("---\n".join(manifest(*o) for o in objects[start:start + per_file]))
    return seed, mdir, len(objects)


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


def sim_requests(sim):
    return http_json(f"{sim}/_sim/requests", timeout=120)


def count_ops(requests, since_seq=0):
    counts = {}
    for r in requests:
        if r.get("seq", 0) > since_seq:
            counts[r["operation"]] = counts.get(r["operation"], 0) + 1
    return counts


def run_one(build, n, qps, burst, edits, non_latest, resync_s):
    work = tempfile.mkdtemp(prefix=f"mactl-bench-{n}-")
    procs = []
    try:
        seed, mdir, objects = write_world(work, n, edits, non_latest)
        port_file = os.path.join(work, "sim.port")
        procs.append(Proc([f"{build}/modelarts-sim", "--listen", "127.0.0.1:0", "--port-file", port_file,
                           "--seed", seed, "--token", TOKEN, "--kill-delay", "0s", "--log-level", "warn"],
                          os.path.join(work, "sim.log")))
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 10)
        sim = "http://127.0.0.1:" + open(port_file).read().strip()
        env = dict(os.environ, OS_TOKEN=TOKEN)
        log = os.path.join(work, "controller.log")
        start = time.monotonic()
        procs.append(Proc([f"{build}/modelarts-controller", "run", "--manifests", mdir, "--endpoint", sim,
                           "--project-id", PROJECT, "--listen", "127.0.0.1:0", "--log-format", "json",
                           "--log-level", "info", "--qps", str(qps), "--burst", str(burst), "--workers", "8",
                           "--poll", "1s", "--resync", f"{resync_s}s"], log, env))

        def port():
            with open(log) as f:
                for line in f:
                    try:
                        j = json.loads(line)
                    except ValueError:
                        continue
                    if j.get("msg") == "http server listening":
                        return j["address"].rsplit(":", 1)[1]
            return None
        wait_for(lambda: port() is not None, 30)
        ctl = "http://127.0.0.1:" + port()

        def converged():
            text = http_text(f"{ctl}/metrics")
            return metric(text, 'modelarts_controller_objects{phase="Converged"}') >= objects
        ok = wait_for(converged, timeout=max(120, 4 * n / qps), interval=0.2)
        convergence = time.monotonic() - start
        reqs = sim_requests(sim)
        initial = count_ops(reqs)
        last_seq = max((r["seq"] for r in reqs), default=0)
        stops = initial.get("stop", 0)
        bound = stops / qps

        # One steady-state resync: everything is converged, so the daemon only observes.
        time.sleep(resync_s * 1.25)
        resync = count_ops(sim_requests(sim), last_seq)

        latencies = []
        for i in range(edits):
            job = 900000 + i
            seen_before = max((r["seq"] for r in sim_requests(sim)), default=0)
            t0 = time.monotonic()
            path = os.path.join(mdir, f"edit-{i}.yaml")
            with open(path + ".tmp", "w") as f:
                f.write(manifest(f"edit-{i}", job, 1))
            os.rename(path + ".tmp", path)

            def stopped():
                for r in http_json(f"{sim}/_sim/requests"):
                    if r.get("seq", 0) > seen_before and r["operation"] == "stop" and f"/{job}/versions/1/stop" in r["path"]:
                        return True
                return False
            if wait_for(stopped, 30, interval=0.005):
                latencies.append(time.monotonic() - t0)
        return {
            "n": objects, "ok": ok, "convergence_s": convergence, "stops": stops, "bound_s": bound,
            "initial": initial, "resync": resync, "latencies": latencies,
        }
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--qps", type=float, default=200)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--non-latest-every", type=int, default=100)
    ap.add_argument("--resync", type=int, default=20)
    args = ap.parse_args()
    rows = []
    for i, n in enumerate(int(s) for s in args.sizes.split(",")):
        r = run_one(args.build, n, args.qps, args.burst, args.edits if i == 0 else 0,
                    args.non_latest_every, args.resync)
        rows.append(r)
        print(f"bench: N={r['n']} done", file=sys.stderr)
    print(f"qps={args.qps:g} burst={args.burst} workers=8; sim kill-delay 0s; resync {args.resync}s\n")
    print("| objects | stops | convergence | bound N/qps | ratio | initial calls/object | "
          "resync list | resync detail | resync calls/object | non-latest (k) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        k = r["n"] // args.non_latest_every if args.non_latest_every else 0
        total_initial = sum(r["initial"].values())
        resync_total = r["resync"].get("list", 0) + r["resync"].get("get_version", 0) + r["resync"].get("stop", 0)
        print(f"| {r['n']} | {r['stops']} | {r['convergence_s']:.1f} s{'' if r['ok'] else ' (timeout)'} | "
              f"{r['bound_s']:.1f} s | {r['convergence_s'] / r['bound_s']:.2f}× | {total_initial / r['n']:.3f} | "
              f"{r['resync'].get('list', 0)} | {r['resync'].get('get_version', 0)} | {resync_total / r['n']:.4f} | {k} |")
    lat = rows[0]["latencies"]
    if lat:
        print(f"\nedit-to-stop latency over {len(lat)} edits at N={rows[0]['n']}: "
              f"p50 {pct(lat, 0.5) * 1000:.0f} ms, p99 {pct(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
