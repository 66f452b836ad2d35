#!/usr/bin/env python3
"""Benchmarks of the real daemon against the real simulator over loopback.

Four parts, each runnable alone with --only (docs/benchmarks.md):

v1 (`kind: TrainingJobVersion`), for each object count N in --sizes:
  * convergence: time from start until every desired-Stopped version has been stopped
    and the daemon reports every object Converged, against the rate-limit bound N/qps
    (each stop costs one request, so no controller can beat N/qps);
  * API calls per object for the initial pass and per steady-state resync period,
    counted over three periods (the batched observer should need ceil(J/1000) list
    pages for the J jobs of the project plus one detail call per non-latest version);
  * peak RSS of the daemon and its CPU use per minute once everything has converged;
  * edit-to-stop latency: a new manifest written to the watched directory until the
    simulator receives the stop (p50/p99 over repeated edits, at every N);
  * the naive baseline, in the same run: bench/naive-stop.sh, the shell loop of curl
    stop calls a user would script over the same manifests, against a fresh simulator
    with the same seed: its time for one pass and what each re-run costs.
v2 (`kind: TrainingJob`), for each N in --v2-sizes (bench/v2_bench.py): convergence
  against N/qps, and steady-state search pages and detail calls per resync period against
  ceil(A/50) + d.
poll (bench/poll_bench.py): the calls one polled object costs per --poll period among
  --poll-objects converged ones, v1 and v2, against one detail call per poll.
policy (bench/policy_bench.py): one TrainingJobPolicy over --policy-sizes jobs no manifest
  names: list and search pages per pass against ceil(V/1000) + ceil(A/50), detail calls
  against the jobs it stops.
Prints Markdown tables; figures are ratios to bounds measured in the same run.
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import (PROJECT, TOKEN, api_calls, http_json, http_text, last_seq, metric,
                      proc_cpu_seconds, proc_status, sim_requests, start_daemon, start_sim,
                      v1_manifest, wait_for, write_manifests, write_seed)
import poll_bench
import policy_bench
import v2_bench


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
    seed = write_seed(work, v1_jobs=jobs)
    mdir = os.path.join(work, "manifests")
    write_manifests(mdir, [v1_manifest(*o) for o in objects])
    return seed, mdir, len(objects)


def sim_stop_calls(sim):
    """(versions that received a stop, total stop calls, versions stopped more than once)."""
    versions = http_json(f"{sim}/_sim/versions", timeout=300)
    hit = [v for v in versions if v["stop_calls"] > 0]
    return len(hit), sum(v["stop_calls"] for v in hit), sum(1 for v in hit if v["stops_accepted"] > 1)


def run_naive(build, work, seed, mdir):
    """The shell loop a user would write instead: one curl stop per manifest entry."""
    proc, sim = start_sim(build, work, seed, "naive-sim")
    try:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "naive-stop.sh")
        env = dict(os.environ, OS_TOKEN=TOKEN)
        passes = []
        for _ in range(2):  # the first pass stops; a re-run is how the loop "keeps it so"
            t0 = time.monotonic()
            out = subprocess.run(["bash", script, mdir, sim, PROJECT], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            codes = {}
            for code in out:
                codes[code] = codes.get(code, 0) + 1
            passes.append({"seconds": time.monotonic() - t0, "calls": len(out), "codes": codes})
        return passes
    finally:
        proc.stop()


def run_one(build, n, qps, burst, edits, non_latest, resync_s, naive):
    work = tempfile.mkdtemp(prefix=f"mactl-bench-{n}-")
    procs = []
    try:
        seed, mdir, objects = write_world(work, n, edits, non_latest)
        jobs_in_project = n + edits + 100
        sim_proc, sim = start_sim(build, work, seed, "sim")
        procs.append(sim_proc)
        start = time.monotonic()
        ctl_proc, ctl = start_daemon(build, work, sim, mdir, [
            "--qps", str(qps), "--burst", str(burst), "--workers", "8", "--poll", "1s",
            "--resync", f"{resync_s}s"])
        procs.append(ctl_proc)

        def converged():
            text = http_text(f"{ctl}/metrics")
            return metric(text, 'modelarts_controller_objects{phase="Converged"}') >= objects
        ok = wait_for(converged, timeout=max(120, 4 * n / qps), interval=0.2)
        convergence = time.monotonic() - start
        initial_calls = api_calls(http_text(f"{ctl}/metrics"))
        stopped_versions, stop_calls, stopped_twice = sim_stop_calls(sim)
        bound = stop_calls / qps

        # Steady state: everything is converged, so the daemon only observes. Count three
        # resync periods, and the CPU the daemon uses meanwhile.
        # The window is timed between the two scrapes, and the simulator's log tells which
        # versions the detail calls were for (it holds the last 100k requests, far more than
        # three periods make).
        periods = 3
        seq0 = last_seq(sim)
        initial = api_calls(http_text(f"{ctl}/metrics"))
        t0 = time.monotonic()
        cpu0 = proc_cpu_seconds(ctl_proc.p.pid)
        time.sleep(resync_s * periods)
        cpu1 = proc_cpu_seconds(ctl_proc.p.pid)
        after = api_calls(http_text(f"{ctl}/metrics"))
        window = time.monotonic() - t0
        measured_periods = window / resync_s
        resync = {op: (after.get(op, 0) - initial.get(op, 0)) / measured_periods for op in after}
        details_latest = 0
        for r in sim_requests(sim, seq0):
            if r["operation"] == "get_version":
                job = int(r["path"].split("/training-jobs/", 1)[1].split("/", 1)[0])
                if not (non_latest and (job - 1000) % non_latest == 0 and job < 1000 + n):
                    details_latest += 1
        resync_details_latest = details_latest / measured_periods
        peak_rss = proc_status(ctl_proc.p.pid, "VmHWM")
        idle_cpu_per_min = (cpu1 - cpu0) / window * 60

        latencies = []
        # Each edit's job is new, so its stop cannot come before its edit: polls need only
        # what arrived after the last record seen, never the whole log again.
        seen = [last_seq(sim)]
        for i in range(edits):
            job = 900000 + i
            t0 = time.monotonic()
            path = os.path.join(mdir, f"edit-{i}.yaml")
            with open(path + ".tmp", "w") as f:
                f.write(v1_manifest(f"edit-{i}", job, 1))
            os.rename(path + ".tmp", path)

            def stopped():
                found = False
                for r in sim_requests(sim, seen[0]):
                    seen[0] = max(seen[0], r["seq"])
                    found = found or (r["operation"] == "stop" and f"/{job}/versions/1/stop" in r["path"])
                return found
            if wait_for(stopped, 30, interval=0.005):
                latencies.append(time.monotonic() - t0)
            os.unlink(path)  # the naive loop below reads the same tree without the edits
        for p in reversed(procs):
            p.stop()
        procs = []
        naive_passes = run_naive(build, work, seed, mdir) if naive else None
        return {
            "n": objects, "jobs": jobs_in_project, "ok": ok, "convergence_s": convergence,
            "stops": stop_calls, "stopped_versions": stopped_versions, "stopped_twice": stopped_twice,
            "bound_s": bound, "initial": initial_calls, "resync": resync,
            "resync_details_latest": resync_details_latest, "window_s": window, "latencies": latencies,
            "peak_rss": peak_rss, "idle_cpu_per_min": idle_cpu_per_min, "naive": naive_passes,
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


def print_v1_tables(rows, args):
    print(f"qps={args.qps:g} burst={args.burst} workers=8; sim kill-delay 0s; resync {args.resync}s; "
          f"every {args.non_latest_every}th object manages a non-latest version; "
          f"the project also holds 100 unmanaged jobs\n")
    print("Convergence (every desired-Stopped version stopped and the daemon reports every object Converged):\n")
    print("| objects | stops sent | stopped twice | convergence | bound N/qps | ratio | initial calls/object | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        total_initial = sum(r["initial"].values())
        print(f"| {r['n']} | {r['stops']} | {r['stopped_twice']} | {r['convergence_s']:.1f} s"
              f"{'' if r['ok'] else ' (timeout)'} | {r['bound_s']:.1f} s | {r['convergence_s'] / r['bound_s']:.2f}× | "
              f"{total_initial / r['n']:.3f} | {r['peak_rss'] / 2**20:.1f} MiB |")
    print("\nSteady state, per resync period (about three periods, timed between two scrapes; "
          "k = non-latest versions, J = jobs in the project; 'of them latest' = detail calls the "
          "simulator saw for a version that is its job's latest):\n")
    print("| objects | J | list calls | bound ceil(J/1000) | detail calls | k | of them latest | other calls | "
          "calls/object | CPU/min idle |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        k = r["n"] // args.non_latest_every if args.non_latest_every else 0
        lists = r["resync"].get("list", 0)
        details = r["resync"].get("get_version", 0)
        other = sum(v for op, v in r["resync"].items() if op not in ("list", "get_version"))
        print(f"| {r['n']} | {r['jobs']} | {lists:.1f} | {math.ceil(r['jobs'] / 1000)} | {details:.1f} | {k} | "
              f"{r['resync_details_latest']:.1f} | {other:.1f} | {(lists + details + other) / r['n']:.4f} | {r['idle_cpu_per_min']:.2f} s |")
    print_naive(rows)
    print_edit_to_stop(rows, args.edits)


def print_naive(rows):
    if not any(r["naive"] for r in rows):
        return
    print("\nNaive baseline (bench/naive-stop.sh: a sequential curl stop per manifest entry, "
          "fresh simulator, same seed):\n")
    print("| objects | first pass | vs daemon convergence | re-run: calls | re-run: refused | "
          "re-run calls/object vs daemon resync |")
    print("|---:|---:|---:|---:|---:|---:|")
    per_call = None
    for r in rows:
        if not r["naive"]:
            if per_call:
                print(f"| {r['n']} | not run: about {per_call * r['n'] / 60:.0f} min per pass at the "
                      f"per-call time measured above | | | | |")
            continue
        first, again = r["naive"]
        per_call = first["seconds"] / max(1, first["calls"])
        resync_calls = sum(r["resync"].values())
        refused = sum(c for code, c in again["codes"].items() if code != "200")
        ratio = (again["calls"] / r["n"]) / (resync_calls / r["n"]) if resync_calls else float("inf")
        print(f"| {r['n']} | {first['seconds']:.1f} s | {first['seconds'] / r['convergence_s']:.2f}× | "
              f"{again['calls']} | {refused} | {ratio:.0f}× |")


def print_edit_to_stop(rows, edits):
    print(f"\nEdit-to-stop latency: a new manifest renamed into the tree until the simulator receives "
          f"its stop, {edits} edits per size, made in steady state while resyncs (and their list "
          f"refreshes) run; the watcher's debounce is 200 ms:\n")
    print("| objects | edits stopped | p50 | p99 | max |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        lat = r["latencies"]
        if lat:
            print(f"| {r['n']} | {len(lat)} | {pct(lat, 0.5) * 1000:.0f} ms | {pct(lat, 0.99) * 1000:.0f} ms | "
                  f"{max(lat) * 1000:.0f} ms |")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", default="v1,v2,poll,policy",
                    help="comma-separated parts to run: v1 (versions), v2 (training jobs), "
                         "poll (calls per poll), policy (TrainingJobPolicy passes)")
    ap.add_argument("--policy-sizes", default="10000", help="job counts of the policy part")
    ap.add_argument("--sizes", default="1000,10000,100000", help="object counts of the v1 part")
    ap.add_argument("--v2-sizes", default="1000,10000", help="object counts of the v2 part")
    ap.add_argument("--qps", type=float, default=200)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--non-latest-every", type=int, default=100)
    ap.add_argument("--resync", type=int, default=20)
    ap.add_argument("--naive-max", type=int, default=10000,
                    help="run the curl-loop baseline up to this many objects (it spawns a curl per "
                         "object, twice; 0 skips it)")
    ap.add_argument("--poll-objects", type=int, default=10000,
                    help="converged objects beside the one polled in the poll part")
    ap.add_argument("--poll-period", type=int, default=2, help="--poll of the poll part, seconds")
    ap.add_argument("--poll-window", type=int, default=30, help="seconds counted in the poll part")
    ap.add_argument("--poll-qps", type=float, default=1000,
                    help="--qps of the poll part (only its set-up is rate-limited)")
    args = ap.parse_args()
    args.only = set(args.only.split(","))
    unknown = args.only - {"v1", "v2", "poll", "policy"}
    if unknown:
        ap.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}")
    return args


def sizes(text):
    return [int(s) for s in text.split(",") if s]


def main():
    args = parse_args()
    # The cores may be shared (a build, other benchmarks): say how busy they were.
    load_at_start = os.getloadavg()[0]
    if "v1" in args.only:
        rows = []
        for n in sizes(args.sizes):
            rows.append(run_one(args.build, n, args.qps, args.burst, args.edits,
                                args.non_latest_every, args.resync, n <= args.naive_max))
            print(f"bench: v1 N={n} done", file=sys.stderr)
        print_v1_tables(rows, args)
    if "v2" in args.only:
        rows = []
        for n in sizes(args.v2_sizes):
            rows.append(v2_bench.run_v2(args.build, n, args.qps, args.burst, args.resync))
            print(f"bench: v2 N={n} done", file=sys.stderr)
        v2_bench.print_tables(rows, args.qps, args.burst, args.resync)
    if "poll" in args.only:
        rows = []
        for kind in ("v1", "v2"):
            rows.append(poll_bench.run_poll(args.build, kind, args.poll_objects, args.poll_period,
                                            args.poll_window, args.poll_qps))
            print(f"bench: poll {kind} done", file=sys.stderr)
        poll_bench.print_table(rows, args.poll_period)
    if "policy" in args.only:
        rows = []
        for n in sizes(args.policy_sizes):
            rows.append(policy_bench.run_policy(args.build, n, args.qps, args.burst, args.resync))
            print(f"bench: policy N={n} done", file=sys.stderr)
        policy_bench.print_table(rows, args.qps, args.burst, args.resync)
    print(f"\nLoad average (1 min) at the start: {load_at_start:.1f}, at the end: "
          f"{os.getloadavg()[0]:.1f}, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
