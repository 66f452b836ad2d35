"""The v2 (`kind: TrainingJob`) benchmark: convergence of N desired-Stopped Running jobs
against the rate-limit bound N/qps, then three steady-state resync periods in which d
observe-only objects' jobs end, counted against ceil(A/page) search pages plus d detail calls
(docs/benchmarks.md, "v2 training jobs")."""

import math
import os
import shutil
import tempfile
import time

from benchlib import (PROJECT, api_calls, count_by_operation, http_json, http_text, metric,
                      objects_in_phase, proc_cpu_seconds, proc_status, sim_requests,
                      start_daemon, start_sim, v2_job_id, v2_manifest, wait_for, write_manifests,
                      write_seed)

SEARCH_PAGE = 50  # kMaxSearchLimit in controller/cloud/training_job_client.h
MANAGED, WATCHED, OTHER_ACTIVE, OTHER_ENDED = 1, 2, 3, 4  # id groups, see v2_job_id


def world_sizes(n):
    """(watched, other_active): observe-only objects whose jobs end during the steady state,
    and Running jobs no manifest names, so the search lists more than our own jobs."""
    return max(1, n // 100), n // 10


def write_world(work, n):
    watched, other_active = world_sizes(n)
    jobs, documents = [], []
    for i in range(n):
        jobs.append({"id": v2_job_id(MANAGED, i), "name": f"job-{i}", "phase": "Running"})
        documents.append(v2_manifest(f"obj-{i}", v2_job_id(MANAGED, i)))
    for i in range(watched):
        jobs.append({"id": v2_job_id(WATCHED, i), "name": f"watch-{i}", "phase": "Running"})
        documents.append(v2_manifest(f"watch-{i}", v2_job_id(WATCHED, i), "Running"))
    for i in range(other_active):
        jobs.append({"id": v2_job_id(OTHER_ACTIVE, i), "name": f"other-{i}", "phase": "Running"})
    for i in range(100):
        jobs.append({"id": v2_job_id(OTHER_ENDED, i), "name": f"done-{i}", "phase": "Completed"})
    seed = write_seed(work, v2_jobs=jobs)
    mdir = os.path.join(work, "manifests")
    write_manifests(mdir, documents)
    return seed, mdir


def terminates(sim):
    """(terminate calls, jobs that accepted more than one) from the simulator's bookkeeping."""
    jobs = http_json(f"{sim}/_sim/training-jobs", timeout=300)
    return (sum(j["terminate_calls"] for j in jobs),
            sum(1 for j in jobs if j["terminates_accepted"] > 1))


def terminate_times(records):
    """Seconds from the daemon's first request to the first and the last terminate the
    simulator received."""
    if not records:
        return float("nan"), float("nan")
    first = min(r["time_ms"] for r in records)
    times = [r["time_ms"] for r in records if r["operation"] == "terminate"] or [first]
    return (min(times) - first) / 1000, (max(times) - first) / 1000


def mean_latency(metrics_text, operation):
    """Mean seconds per request of one operation, from the daemon's duration histogram."""
    def series(part):
        return f'modelarts_controller_api_request_duration_seconds_{part}{{operation="{operation}"}}'
    count = metric(metrics_text, series("count"))
    return metric(metrics_text, series("sum")) / count if count else float("nan")


def converge(sim, ctl, n, watched, qps, start):
    """Waits until every object is Converged; the time since start (the daemon's launch) and
    what it cost, from both sides."""
    ok = wait_for(lambda: objects_in_phase(ctl, "Converged") >= n + watched,
                  timeout=max(120, 6 * n / qps), interval=0.2)
    seconds = time.monotonic() - start
    records = sim_requests(sim)
    calls, twice = terminates(sim)
    first, last = terminate_times(records)
    return {"ok": ok, "convergence_s": seconds, "terminates": calls, "stopped_twice": twice,
            "first_terminate_s": first, "last_terminate_s": last,
            "terminate_latency_s": mean_latency(http_text(f"{ctl}/metrics"), "terminate"),
            "initial": count_by_operation(records),
            "seq": max((r["seq"] for r in records), default=0)}


def end_watched_jobs(sim, watched):
    for i in range(watched):
        http_json(f"{sim}/_sim/training-jobs/{PROJECT}/{v2_job_id(WATCHED, i)}",
                  body={"phase": "Completed"})


def sweeps(records, last_seq_in_window, gap_ms=2000):
    """The searches among records: runs of search pages with no gap over gap_ms, each as its
    page count, kept when its first page came before the window ended."""
    runs = []
    last_ms = None
    for r in records:
        if r["operation"] != "search_jobs":
            continue
        if last_ms is None or r["time_ms"] - last_ms > gap_ms:
            runs.append({"first_seq": r["seq"], "pages": 0})
        runs[-1]["pages"] += 1
        last_ms = r["time_ms"]
    return [run["pages"] for run in runs if run["first_seq"] <= last_seq_in_window]


def steady_state(sim, ctl, ctl_pid, seq0, watched, resync_s, periods=3):
    """Counts `periods` resync periods; the watched objects' jobs end after the first one."""
    before = api_calls(http_text(f"{ctl}/metrics"))
    t0 = time.monotonic()
    cpu0 = proc_cpu_seconds(ctl_pid)
    time.sleep(resync_s)
    end_watched_jobs(sim, watched)
    time.sleep(max(0.0, t0 + resync_s * periods - time.monotonic()))
    cpu1 = proc_cpu_seconds(ctl_pid)
    after = api_calls(http_text(f"{ctl}/metrics"))
    window = time.monotonic() - t0
    seq_end = max((r["seq"] for r in sim_requests(sim, seq0)), default=seq0)
    time.sleep(3)  # let a search that began in the window finish, to count its pages
    records = sim_requests(sim, seq0)
    watched_prefix = v2_job_id(WATCHED, 0)[:8]
    details = [r for r in records if r["operation"] == "get_job" and r["seq"] <= seq_end]
    return {"window_s": window, "periods": window / resync_s,
            "calls": {op: after.get(op, 0) - before.get(op, 0) for op in after},
            "sweeps": sweeps(records, seq_end),
            "details_watched": sum(1 for r in details if f"/training-jobs/{watched_prefix}" in r["path"]),
            "details_other": sum(1 for r in details if f"/training-jobs/{watched_prefix}" not in r["path"]),
            "idle_cpu_per_min": (cpu1 - cpu0) / window * 60}


def run_v2(build, n, qps, burst, resync_s):
    work = tempfile.mkdtemp(prefix=f"mactl-bench-v2-{n}-")
    procs = []
    try:
        seed, mdir = write_world(work, n)
        watched, other_active = world_sizes(n)
        sim_proc, sim = start_sim(build, work, seed, "sim")
        procs.append(sim_proc)
        start = time.monotonic()
        ctl_proc, ctl = start_daemon(build, work, sim, mdir, [
            "--qps", str(qps), "--burst", str(burst), "--workers", "8", "--poll", "1s",
            "--resync", f"{resync_s}s"])
        procs.append(ctl_proc)
        result = converge(sim, ctl, n, watched, qps, start)
        result.update(steady_state(sim, ctl, ctl_proc.p.pid, result["seq"], watched, resync_s))
        result.update({"n": n, "watched": watched, "active": other_active + watched,
                       "bound_s": n / qps, "qps": qps, "peak_rss": proc_status(ctl_proc.p.pid, "VmHWM")})
        return result
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


def print_convergence(rows):
    print("Convergence (every desired-Stopped job terminated and the daemon reports every object "
          "Converged). Where the time goes, from the simulator's request log, in seconds from the "
          "daemon's first request: 'first terminate' (after the first search), 'last terminate'; "
          "'terminate latency' = the daemon's mean request time of a terminate; 'all calls/qps' = "
          "every call of the first pass at the rate limit:\n")
    print("| objects | terminates sent | stopped twice | first terminate | last terminate | "
          "terminate latency | convergence | bound N/qps | ratio | initial search pages | "
          "initial details | all calls/qps | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']} | {r['terminates']} | {r['stopped_twice']} | {r['first_terminate_s']:.1f} s | "
              f"{r['last_terminate_s']:.1f} s | {r['terminate_latency_s'] * 1000:.0f} ms | "
              f"{r['convergence_s']:.1f} s{'' if r['ok'] else ' (timeout)'} | {r['bound_s']:.1f} s | "
              f"{r['convergence_s'] / r['bound_s']:.2f}× | {r['initial'].get('search_jobs', 0)} | "
              f"{r['initial'].get('get_job', 0)} | {sum(r['initial'].values()) / r['qps']:.1f} s | "
              f"{r['peak_rss'] / 2**20:.1f} MiB |")


def print_steady_state(rows):
    print(f"\nSteady state over about three resync periods, timed between two scrapes (A = "
          f"non-terminal jobs in the project, page = {SEARCH_PAGE}; the d watched objects' jobs "
          f"end after the first period, so A drops by d then; detail calls are counted over the "
          f"whole window, with d beside them; 'searches' = runs of search pages that began in the "
          f"window, from the simulator's log, so a search the final scrape cut in two counts "
          f"whole):\n")
    print("| objects | A | search pages/period | searches in window | pages per search | "
          "bound ceil(A/page) | detail calls | d | of them for watched jobs | other calls | "
          "CPU/min idle |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        calls = r["calls"]
        pages = calls.get("search_jobs", 0) / r["periods"]
        other = sum(v for op, v in calls.items() if op not in ("search_jobs", "get_job"))
        print(f"| {r['n']} | {r['active']} | {pages:.1f} | {len(r['sweeps'])} in {r['periods']:.2f} periods | "
              f"{', '.join(str(p) for p in r['sweeps'])} | {math.ceil(r['active'] / SEARCH_PAGE)} | "
              f"{calls.get('get_job', 0):.0f} | {r['watched']} | {r['details_watched']} | {other:.0f} | "
              f"{r['idle_cpu_per_min']:.2f} s |")


def print_tables(rows, qps, burst, resync_s):
    print(f"\n## v2 training jobs\n\nqps={qps:g} burst={burst} workers=8 poll 1s; sim kill-delay 0s; "
          f"resync {resync_s}s; N desired-Stopped Running jobs, N/100 observe-only objects "
          f"(desired Running), N/10 Running jobs and 100 Completed jobs no manifest names\n")
    print_convergence(rows)
    print_steady_state(rows)
