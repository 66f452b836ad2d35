#!/usr/bin/env python3
"""/status at scale: what one full dump and one page cost the daemon and its caller.

Starts modelarts-sim seeded with N running jobs and modelarts-controller with one
desired-Running manifest per job (observe only, no stops), waits until /readyz says every
object was observed once (or --wait passes), then, for each query, measures:
  * first byte: request sent until the response head arrives (curl's time_starttransfer;
    http.client when curl is missing);
  * whole: until the last byte of the body;
  * bytes of the body;
  * the daemon's CPU time (user + system) while answering, which load on the machine
    does not inflate as it does the wall times;
  * the daemon's RSS growth during the request (peak sampled every 2 ms, and VmHWM after
    resetting it through /proc/PID/clear_refs).
Standalone; prints one Markdown table. A measurement, not a test. bench/run.py's issue16 part
(bench/issue16_bench.py) reuses measure() for the full dump.

  bench/status_bench.py --build build --objects 10000 100000 --repeat 3
"""

import argparse
import http.client
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

from benchlib import (proc_cpu_seconds, proc_status, start_daemon, start_sim, v1_manifest, wait_for,
                      write_manifests, write_seed)

QUERIES = ["/status", "/status?limit=500", "/status?phase=Error&limit=500",
           "/status?name=obj-{mid}"]


def write_world(work, n):
    jobs = [{"job_id": 1000 + i, "job_name": f"job-{i}", "versions": [{"version_id": 1, "status": 8}]}
            for i in range(n)]
    seed = write_seed(work, v1_jobs=jobs)
    mdir = os.path.join(work, "manifests")
    write_manifests(mdir, [v1_manifest(f"obj-{i}", 1000 + i, 1, "Running") for i in range(n)])
    return seed, mdir


def measure(port, path, pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    base = proc_status(pid, "VmRSS")
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc_status(pid, "VmRSS"))
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    cpu0 = proc_cpu_seconds(pid)
    if shutil.which("curl"):
        # curl reads 100 MB far faster than http.client, which would time itself, not the daemon.
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-D", "-", "-w",
             "\n%{http_code} %{time_starttransfer} %{time_total} %{size_download}",
             f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
        code, first, whole, size = out.rsplit("\n", 1)[1].split()
        status, first, whole, size = int(code), float(first), float(whole), int(size)
        chunked = "transfer-encoding: chunked" in out.lower()
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start = time.monotonic()
        conn.request("GET", path)
        resp = conn.getresponse()
        first = time.monotonic() - start
        size = 0
        while True:
            block = resp.read(65536)
            if not block:
                break
            size += len(block)
        whole = time.monotonic() - start
        status, chunked = resp.status, resp.getheader("Transfer-Encoding") == "chunked"
        conn.close()
    cpu = proc_cpu_seconds(pid) - cpu0
    done.set()
    sampler.join()
    hwm = proc_status(pid, "VmHWM") - base if hwm_reset else None
    return {"status": status, "first_ms": first * 1000, "whole_s": whole, "bytes": size,
            "cpu_s": cpu, "rss_delta": peak[0] - base, "hwm_delta": hwm,
            "chunked": chunked}


def run_one(build, n, wait, keep, repeat=1):
    work = tempfile.mkdtemp(prefix=f"mactl-status-{n}-")
    procs = []
    try:
        seed, mdir = write_world(work, n)
        sim_proc, sim = start_sim(build, work, seed, "sim", kill_delay=None)
        procs.append(sim_proc)
        ctl, ctl_url = start_daemon(build, work, sim, mdir,
                                    ["--qps", "5000", "--burst", "5000", "--workers", "8"], port_timeout=60)
        procs.append(ctl)
        ctl_port = int(ctl_url.rsplit(":", 1)[1])

        def ready():
            try:
                with urllib.request.urlopen(f"{ctl_url}/readyz", timeout=5) as r:
                    return r.status == 200
            except Exception:
                return False
        t0 = time.monotonic()
        observed = wait_for(ready, wait, interval=1)
        ready_s = time.monotonic() - t0
        rows = []
        for q in QUERIES:
            path = q.format(mid=n // 2)
            measure(ctl_port, path, ctl.p.pid)  # warm-up
            rows.append((path, [measure(ctl_port, path, ctl.p.pid) for _ in range(repeat)]))
        return {"n": n, "ready": observed, "ready_s": ready_s,
                "rss": proc_status(ctl.p.pid, "VmRSS"), "rows": rows}
    finally:
        for p in reversed(procs):
            p.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def spread(ms, key, unit, digits):
    """One measure over the repetitions: the value alone, or min / median / max."""
    values = sorted(m[key] for m in ms)
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{unit}"
    return " / ".join(f"{v:.{digits}f}" for v in (values[0], values[len(values) // 2], values[-1])) + unit


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--objects", type=int, nargs="+", default=[10000])
    ap.add_argument("--wait", type=float, default=600, help="seconds to wait for /readyz")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure each query this many times; times show min / median / max")
    args = ap.parse_args()
    print("| objects | query | HTTP | first byte | whole | daemon CPU | body | RSS delta (sampled / VmHWM) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.objects:
        r = run_one(args.build, n, args.wait, args.keep, args.repeat)
        note = "" if r["ready"] else f" (not all observed after {r['ready_s']:.0f} s)"
        for path, ms in r["rows"]:
            m = ms[-1]
            hwms = [x["hwm_delta"] for x in ms if x["hwm_delta"] is not None]
            hwm = f"{max(hwms) / 2**20:.1f} MiB" if hwms else "-"
            rss_delta = max(x["rss_delta"] for x in ms)
            print(f"| {n}{note} | `{path}` | {m['status']}{' chunked' if m['chunked'] else ''} | "
                  f"{spread(ms, 'first_ms', ' ms', 1)} | {spread(ms, 'whole_s', ' s', 3)} | "
                  f"{spread(ms, 'cpu_s', ' s', 2)} | {m['bytes'] / 2**20:.2f} MiB | "
                  f"{rss_delta / 2**20:.1f} / {hwm} |", flush=True)
        print(f"<!-- {n}: daemon RSS {r['rss'] / 2**20:.0f} MiB, ready after {r['ready_s']:.0f} s -->")


if __name__ == "__main__":
    main()
