"""The TrainingJobPolicy benchmark: one policy over N jobs (half v1, half v2) that no manifest
names, k of each kind over its limit. It counts, from the simulator's request log, what the
first pass and each later pass cost against the batched bound ceil(V/1000) list pages +
ceil(A/50) search pages, and the detail calls against the jobs stopped
(docs/benchmarks.md, "Runtime-limit policies")."""

import math
import shutil
import tempfile
import time

from benchlib import (count_by_operation, http_text, metric, proc_status, sim_requests,
                      start_daemon, start_sim, v2_job_id, wait_for, write_manifests, write_seed)

LIST_PAGE = 1000  # v1 ListJobs page of a policy pass (controller/core/policy_lister.h)
SEARCH_PAGE = 50  # v2 search page (kMaxSearchLimit)
UNDER, OVER = 1, 2  # v2 id groups, see v2_job_id
HOUR_MS = 3_600_000
POLICY = """apiVersion: modelarts-controller.io/v1
kind: TrainingJobPolicy
metadata:
  name: cap-exp
spec:
  nameGlob: "exp-*"
  maxRuntime: 72h
"""


def write_world(work, n, over):
    """n jobs, half of each kind, running for 1h; `over` of each kind have run 100h."""
    half = n // 2
    v1, v2 = [], []
    for i in range(half):
        ran = 100 * HOUR_MS if i < over else HOUR_MS
        v1.append({"job_id": 1 + i, "job_name": f"exp-v1-{i}",
                   "versions": [{"version_id": 1, "status": 8, "duration_ms": ran}]})
        group = OVER if i < over else UNDER
        v2.append({"id": v2_job_id(group, i), "name": f"exp-v2-{i}", "phase": "Running",
                   "duration_ms": ran})
    seed = write_seed(work, v1_jobs=v1, v2_jobs=v2)
    mdir = f"{work}/manifests"
    write_manifests(mdir, [POLICY])
    return seed, mdir, half


def passes(records, gap_ms=2000):
    """The policy passes among records: runs of list and search pages with no gap over
    gap_ms, each as (list pages, search pages)."""
    runs, last_ms = [], None
    for r in records:
        if r["operation"] not in ("list", "search_jobs"):
            continue
        if last_ms is None or r["time_ms"] - last_ms > gap_ms:
            runs.append({"list": 0, "search_jobs": 0})
        runs[-1][r["operation"]] += 1
        last_ms = r["time_ms"]
    return [(run["list"], run["search_jobs"]) for run in runs]


def search_bound(active):
    """Search pages for `active` jobs: the loop stops at a short or empty page, so an exact
    multiple of the page costs one empty page more (docs/benchmarks.md, "v2 training jobs")."""
    return active // SEARCH_PAGE + 1


def run_policy(build, n, qps, burst, resync_s, over=5, periods=3):
    work = tempfile.mkdtemp(prefix=f"mactl-bench-policy-{n}-")
    procs = []
    try:
        seed, mdir, half = write_world(work, n, over)
        sim_proc, sim = start_sim(build, work, seed, "sim")
        procs.append(sim_proc)
        start = time.monotonic()
        ctl_proc, ctl = start_daemon(build, work, sim, mdir, [
            "--qps", str(qps), "--burst", str(burst), "--workers", "8", "--poll", "1s",
            "--resync", f"{resync_s}s"])
        procs.append(ctl_proc)

        def stops():
            ops = count_by_operation(sim_requests(sim))
            return ops.get("stop", 0) + ops.get("terminate", 0)
        ok = wait_for(lambda: stops() >= 2 * over, timeout=120, interval=0.2)
        first_s = time.monotonic() - start
        time.sleep(resync_s * periods)
        records = sim_requests(sim)
        metrics = http_text(f"{ctl}/metrics")
        return {"n": n, "half": half, "over": over, "ok": ok, "first_s": first_s,
                "passes": passes(records), "calls": count_by_operation(records),
                "window_s": time.monotonic() - start, "resync_s": resync_s,
                "policy_stops": metric(
                    metrics, 'modelarts_controller_runtime_limit_stops_total{source="policy"}'),
                "peak_rss": proc_status(ctl_proc.p.pid, "VmHWM")}
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, qps, burst, resync_s):
    print(f"\n## Runtime-limit policies\n\nqps={qps:g} burst={burst} workers=8; resync "
          f"{resync_s}s; one TrainingJobPolicy (nameGlob exp-*, maxRuntime 72h) over N jobs no "
          f"manifest names, N/2 v1 and N/2 v2, all running 1h except k of each kind at 100h\n")
    print("Every pass, from the simulator's request log (runs of list and search pages); the "
          "bound is ceil(V/1000) list pages + ceil(A/50) search pages (one more when A is a "
          "multiple of 50), V = v1 jobs, A = non-terminal v2 jobs; detail calls and stops over "
          "the whole run:\n")
    print("| jobs | k per kind | passes | list pages per pass | search pages per pass | bound "
          "(list + search) | detail calls | stops + terminates | policy stops metric | "
          "daemon start to last stop | peak RSS |")
    print("|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        calls = r["calls"]
        lists = ", ".join(str(p[0]) for p in r["passes"])
        searches = ", ".join(str(p[1]) for p in r["passes"])
        first_bound = f"{math.ceil(r['half'] / LIST_PAGE)} + {search_bound(r['half'])}"
        later_bound = f"{math.ceil(r['half'] / LIST_PAGE)} + {search_bound(r['half'] - r['over'])}"
        details = calls.get("get_version", 0) + calls.get("get_job", 0)
        stops = calls.get("stop", 0) + calls.get("terminate", 0)
        print(f"| {r['n']} | {r['over']} | {len(r['passes'])} | {lists} | {searches} | "
              f"{first_bound}, then {later_bound} | {details} | {stops} | "
              f"{r['policy_stops']:.0f} | {r['first_s']:.1f} s{'' if r['ok'] else ' (timeout)'} | "
              f"{r['peak_rss'] / 2**20:.1f} MiB |")
