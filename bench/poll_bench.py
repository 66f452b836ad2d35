"""Calls per poll: N converged objects and ONE object held in a transition (v1: KILLING,
v2: Terminating, sticky in the simulator), a short --poll and a resync too long to fall in
the window, so every call in the window is what polling that one object costs. The bound is
one detail call per poll (docs/benchmarks.md, "Calls per poll")."""

import math
import os
import shutil
import tempfile
import time

from benchlib import (PROJECT, count_by_operation, http_json, objects_in_phase, sim_requests,
                      start_daemon, start_sim, v1_manifest, v2_job_id, v2_manifest, wait_for,
                      write_manifests, write_seed)

V1_LIST_PAGE = 1000  # jobs per v1 list page
V2_SEARCH_PAGE = 50  # kMaxSearchLimit in controller/cloud/training_job_client.h
KILLED, COMPLETED, KILLING = 12, 10, 9


def v1_world(work, n):
    """n managed versions already KILLED, 100 unmanaged jobs; job 1000 is held KILLING."""
    jobs = [{"job_id": 1000 + i, "job_name": f"job-{i}", "versions": [{"version_id": 1, "status": KILLED}]}
            for i in range(n)]
    jobs += [{"job_id": 800000 + i, "job_name": f"other-{i}",
              "versions": [{"version_id": 1, "status": COMPLETED}]} for i in range(100)]
    mdir = os.path.join(work, "manifests")
    write_manifests(mdir, [v1_manifest(f"obj-{i}", 1000 + i, 1) for i in range(n)])
    return write_seed(work, v1_jobs=jobs), mdir


def hold_v1(sim):
    http_json(f"{sim}/_sim/versions/{PROJECT}/1000/1", body={"status": KILLING, "sticky": True})


def v2_world(work, n):
    """n managed jobs already Terminated, n/10 unmanaged Running jobs; job 0 is held
    Terminating."""
    jobs = [{"id": v2_job_id(1, i), "name": f"job-{i}", "phase": "Terminated"} for i in range(n)]
    jobs += [{"id": v2_job_id(3, i), "name": f"other-{i}", "phase": "Running"} for i in range(n // 10)]
    mdir = os.path.join(work, "manifests")
    write_manifests(mdir, [v2_manifest(f"obj-{i}", v2_job_id(1, i)) for i in range(n)])
    return write_seed(work, v2_jobs=jobs), mdir


def hold_v2(sim):
    http_json(f"{sim}/_sim/training-jobs/{PROJECT}/{v2_job_id(1, 0)}",
              body={"phase": "Terminating", "sticky": True})


KINDS = {
    # kind: (world, hold, detail operation, listing operation, page bound for n objects)
    "v1": (v1_world, hold_v1, "get_version", "list", lambda n: math.ceil((n + 100) / V1_LIST_PAGE)),
    "v2": (v2_world, hold_v2, "get_job", "search_jobs", lambda n: math.ceil((n // 10 + 1) / V2_SEARCH_PAGE)),
}


def run_poll(build, kind, n, poll_s, window_s, qps):
    world, hold, detail_op, listing_op, pages_bound = KINDS[kind]
    work = tempfile.mkdtemp(prefix=f"mactl-bench-poll-{kind}-{n}-")
    procs = []
    try:
        seed, mdir = world(work, n)
        sim_proc, sim = start_sim(build, work, seed, "sim")
        procs.append(sim_proc)
        hold(sim)
        ctl_proc, ctl = start_daemon(build, work, sim, mdir, [
            "--qps", str(qps), "--burst", "20", "--workers", "8", "--poll", f"{poll_s}s",
            "--resync", "30m"])
        procs.append(ctl_proc)
        settled = wait_for(lambda: objects_in_phase(ctl, "Converged") >= n - 1
                           and objects_in_phase(ctl, "Stopping") >= 1,
                           timeout=max(120, 4 * n / qps), interval=0.5)
        time.sleep(poll_s)  # let the last first-pass calls finish
        seq0 = max((r["seq"] for r in sim_requests(sim)), default=0)
        t0 = time.monotonic()
        time.sleep(window_s)
        records = sim_requests(sim, seq0)
        window = time.monotonic() - t0
        polls = window / poll_s
        calls = count_by_operation(records)
        return {"kind": kind, "n": n, "settled": settled, "window_s": window, "polls": polls,
                "details": calls.get(detail_op, 0) / polls, "pages": calls.get(listing_op, 0) / polls,
                "other": sum(v for op, v in calls.items() if op not in (detail_op, listing_op)) / polls,
                "pages_bound": pages_bound(n), "detail_op": detail_op, "listing_op": listing_op}
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows, poll_s):
    print(f"\n## Calls per poll\n\nN converged objects, one held in a transition (v1 KILLING, v2 "
          f"Terminating; sticky in the simulator); --poll {poll_s}s, --resync 30m, so every call in "
          f"the window is a poll of that one object; polls = window / poll period (jittered ±10 %):\n")
    print("| kind | objects | window | polls | detail calls/poll | listing pages/poll | "
          "one listing (pages) | other calls/poll | bound: calls per poll |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kind']} | {r['n']}{'' if r['settled'] else ' (not settled)'} | "
              f"{r['window_s']:.0f} s | {r['polls']:.1f} | {r['details']:.2f} ({r['detail_op']}) | "
              f"{r['pages']:.2f} ({r['listing_op']}) | {r['pages_bound']} | {r['other']:.2f} | 1 detail |")
