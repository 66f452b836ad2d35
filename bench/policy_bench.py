"""What a TrainingJobPolicy costs (docs/benchmarks.md, "Runtime-limit policies"): one policy
over N jobs of one kind, no other manifest, most jobs under the limit and a few over it.

Per kind (v1 `TrainingJobVersion`, v2 `TrainingJob`), against its own simulator seeded with N
RUNNING jobs: `over` of them have run 48 h, the rest 1 h, and the policy's maxRuntime is 24 h.
The daemon runs at a short --resync; once every over-limit job has been stopped, the bench
counts, over `periods` resync periods, the listing pages the daemon made (its
api_requests_total{operation}) and the policy passes the simulator saw (runs of listing pages
with no gap over 2 s in its request log), against the bounds: ceil(N/1000) list pages (v1) or
ceil(A/50) search pages (v2, A = the jobs still non-terminal) per pass, and over the whole run
exactly one detail call and one stop per over-limit job and none for any other job.
"""

import math
import os
import shutil
import tempfile
import time

from benchlib import (api_calls, http_text, sim_requests, start_daemon, start_sim, v2_job_id,
                      wait_for, write_seed)

LIMIT_H, UNDER_H, OVER_H = 24, 1, 48
HOUR_MS = 3600 * 1000
SEARCH_PAGE = 50  # kMaxSearchLimit in controller/cloud/training_job_client.h
KINDS = {
    # kind: (manifest kind, listing op, page size, detail op, stop op)
    "v1": ("TrainingJobVersion", "list", 1000, "get_version", "stop"),
    "v2": ("TrainingJob", "search_jobs", SEARCH_PAGE, "get_job", "terminate"),
}


def policy_manifest(kind):
    return (f"apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\n"
            f"metadata:\n  name: cap-{kind}\nspec:\n  jobKinds: [{KINDS[kind][0]}]\n"
            f"  maxRuntime: {LIMIT_H}h\n")


def job_ref(kind, i):
    """The id the simulator's request paths carry for job i."""
    return str(1000 + i) if kind == "v1" else v2_job_id(1, i)


def write_world(work, kind, n, over):
    """Jobs 0..over-1 are over the limit, the rest under it."""
    hours = [OVER_H if i < over else UNDER_H for i in range(n)]
    if kind == "v1":
        seed = write_seed(work, v1_jobs=[
            {"job_id": 1000 + i, "job_name": f"exp-{i}",
             "versions": [{"version_id": 1, "status": 8, "duration_ms": h * HOUR_MS}]}
            for i, h in enumerate(hours)])
    else:
        seed = write_seed(work, v2_jobs=[
            {"id": v2_job_id(1, i), "name": f"exp-{i}", "phase": "Running", "duration_ms": h * HOUR_MS}
            for i, h in enumerate(hours)])
    mdir = os.path.join(work, "manifests")
    os.makedirs(mdir)
    with open(os.path.join(mdir, "policy.yaml"), "w") as f:
        f.write(policy_manifest(kind))
    return seed, mdir


def passes(records, op, first_seq, last_seq, gap_ms=2000):
    """Page counts of the passes among records: runs of `op` pages with no gap over gap_ms,
    kept when the run began inside [first_seq, last_seq]."""
    runs, last_ms = [], None
    for r in records:
        if r["operation"] != op:
            continue
        if last_ms is None or r["time_ms"] - last_ms > gap_ms:
            runs.append({"first_seq": r["seq"], "pages": 0})
        runs[-1]["pages"] += 1
        last_ms = r["time_ms"]
    return [run["pages"] for run in runs if first_seq <= run["first_seq"] <= last_seq]


def calls_per_job(records, op, kind, n):
    """For each job index, how many `op` calls named it (the segment after /training-jobs/)."""
    index = {job_ref(kind, i): i for i in range(n)}
    counts = {}
    for r in records:
        if r["operation"] != op or "/training-jobs/" not in r["path"]:
            continue
        ref = r["path"].split("/training-jobs/", 1)[1].split("/", 1)[0].split("?", 1)[0]
        if ref in index:
            counts[index[ref]] = counts.get(index[ref], 0) + 1
    return counts


def run_policy(build, kind, n, over, resync_s, periods, qps):
    work = tempfile.mkdtemp(prefix=f"mactl-policy-{kind}-{n}-")
    procs = []
    _, list_op, page, detail_op, stop_op = KINDS[kind]
    try:
        seed, mdir = write_world(work, kind, n, over)
        sim_proc, sim = start_sim(build, work, seed, "sim")
        procs.append(sim_proc)
        start = time.monotonic()
        ctl_proc, ctl = start_daemon(build, work, sim, mdir, [
            "--qps", str(qps), "--burst", str(max(20, int(qps / 4))), "--resync", f"{resync_s}s"])
        procs.append(ctl_proc)
        stopped = wait_for(lambda: api_calls(http_text(f"{ctl}/metrics")).get(stop_op, 0) >= over,
                           timeout=120 + 4 * n / page / qps, interval=0.5)
        settle_s = time.monotonic() - start
        time.sleep(resync_s / 2)  # past the pass that stopped them
        seq0 = max((r["seq"] for r in sim_requests(sim)), default=0)
        before = api_calls(http_text(f"{ctl}/metrics"))
        t0 = time.monotonic()
        time.sleep(resync_s * periods)
        after = api_calls(http_text(f"{ctl}/metrics"))
        window = time.monotonic() - t0
        records = sim_requests(sim)
        seq1 = max((r["seq"] for r in records), default=seq0)
        time.sleep(3)  # let a pass that began in the window finish, to count its pages
        records = sim_requests(sim)
        details = calls_per_job(records, detail_op, kind, n)
        stops = calls_per_job(records, stop_op, kind, n)
        return {
            "kind": kind, "n": n, "over": over, "resync_s": resync_s, "stopped": stopped,
            "settle_s": settle_s, "window_s": window, "list_op": list_op, "page": page,
            "window_pages": after.get(list_op, 0) - before.get(list_op, 0),
            "window_calls": {op: after.get(op, 0) - before.get(op, 0) for op in after},
            "passes": passes(records, list_op, seq0 + 1, seq1),
            "bound_pages": math.ceil((n if kind == "v1" else n - over) / page),
            "details_over": [details.get(i, 0) for i in range(over)],
            "stops_over": [stops.get(i, 0) for i in range(over)],
            "details_under": sum(c for i, c in details.items() if i >= over),
            "stops_under": sum(c for i, c in stops.items() if i >= over),
            "total": api_calls(http_text(f"{ctl}/metrics")),
        }
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


def once_text(counts, op):
    """'each once' when every over-limit job got exactly one call, else the counts."""
    if counts and all(c == 1 for c in counts):
        return f"{len(counts)} {op}, each once"
    return f"{sum(counts)} {op} for {len(counts)} jobs: {counts}"


def print_table(rows, qps):
    print(f"\nRuntime-limit policies: one TrainingJobPolicy (maxRuntime {LIMIT_H}h) over N RUNNING jobs "
          f"of one kind, a few at {OVER_H} h, the rest at {UNDER_H} h; no other manifest; "
          f"--qps {qps:g}; listing pages per pass counted over several --resync periods:\n")
    print("| kind | N | over | resync | window | pages in window (metrics) | passes seen | pages per pass | "
          "bound per pass | detail calls (over-limit) | stops (over-limit) | detail/stop calls to other jobs |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---:|")
    for r in rows:
        per_pass = ", ".join(str(p) for p in r["passes"]) or "none"
        print(f"| {r['kind']} | {r['n']} | {r['over']} | {r['resync_s']} s | {r['window_s']:.0f} s | "
              f"{r['window_pages']:.0f} {r['list_op']} | {len(r['passes'])} | {per_pass} | "
              f"{r['bound_pages']} (ceil({'N' if r['kind'] == 'v1' else 'A'}/{r['page']})) | "
              f"{once_text(r['details_over'], 'detail')} | {once_text(r['stops_over'], 'stop')} | "
              f"{r['details_under'] + r['stops_under']} |")
    for r in rows:
        calls = ", ".join(f"{op} {c:.0f}" for op, c in sorted(r["total"].items()) if c)
        print(f"\n{r['kind']}: over-limit jobs stopped {'' if r['stopped'] else 'NOT all '}within "
              f"{r['settle_s']:.0f} s of the start; calls over the whole run: {calls}; "
              f"in the window: " + (", ".join(f"{op} {c:.0f}" for op, c in sorted(r["window_calls"].items()) if c)
                                    or "none"))
