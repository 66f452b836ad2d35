#!/usr/bin/env python3
"""Reproducible large run for profiling the daemon's memory and idle CPU (issue 16).

Starts the real simulator seeded with N RUNNING v1 jobs (every 100th also managing a
non-latest version, as bench/run.py does) and the real daemon with N manifests, all desired
Stopped, at the default --resync (5m) unless told otherwise. It waits until every object is
Converged, then measures over --idle seconds: the daemon's peak RSS (VmHWM), its RSS, and
its CPU seconds per minute, all from /proc. Optionally it wraps the daemon (e.g. in
heaptrack) or attaches `perf record` for the idle window.

Build first (RelWithDebInfo keeps symbols for perf and heaptrack; no tests needed):

  cmake -S . -B build-prof -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMACTL_BUILD_TESTS=OFF
  cmake --build build-prof --target modelarts-controller modelarts-sim
  python3 bench/profile.py --build build-prof --n 100000
  python3 bench/profile.py --n 10000 --wrap "heaptrack -o /tmp/heap"
  python3 bench/profile.py --n 100000 --perf /tmp/perf.data

The set-up uses --qps 1000 by default so that 100k stops take 100 s rather than 500 s; the
steady state this measures does not depend on it (it makes ceil(J/1000) + k calls a period).
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bench  # noqa: E402  (process, metrics and /proc helpers)
from run import write_world  # noqa: E402  (the world of bench/run.py)


def free_port():
    """A loopback port free now (the daemon logs its address only at --log-level info)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_pid(mdir):
    """The pid of the daemon reading mdir (under a wrapper it is not the pid we started)."""
    for _ in range(300):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/comm") as f:
                    comm = f.read().strip()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().split(b"\0")
            except OSError:
                continue
            if comm == "modelarts-contr" and mdir.encode() in cmdline:
                return int(entry)
        time.sleep(0.1)
    sys.exit("daemon process not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-prof")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--qps", type=float, default=1000)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--resync", default="", help="daemon --resync; empty keeps the default (5m)")
    ap.add_argument("--idle", type=float, default=180, help="seconds of steady state measured")
    ap.add_argument("--wrap", default="", help="command prefix for the daemon, e.g. 'heaptrack -o f'")
    ap.add_argument("--perf", default="", help="perf.data path: perf record -g over the idle window")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix=f"mactl-profile-{args.n}-")
    procs = []
    pid = 0
    try:
        seed, mdir, objects = write_world(work, args.n, 0, 100)
        sim_proc, sim = bench.start_sim(args.build, work, seed, "sim")
        procs.append(sim_proc)
        log = os.path.join(work, "controller.log")
        port = free_port()
        cmd = shlex.split(args.wrap) + [
            f"{args.build}/modelarts-controller", "run", "--manifests", mdir, "--endpoint", sim,
            "--project-id", bench.PROJECT, "--listen", f"127.0.0.1:{port}", "--log-format", "json",
            "--log-level", "warn", "--qps", str(args.qps), "--burst", str(args.burst),
            "--workers", "8", "--poll", "1s"]
        if args.resync:
            cmd += ["--resync", args.resync]
        start = time.monotonic()
        ctl = bench.Proc(cmd, log, dict(os.environ, OS_TOKEN=bench.TOKEN))
        procs.append(ctl)
        pid = daemon_pid(mdir) if args.wrap else ctl.p.pid
        url = f"http://127.0.0.1:{port}"

        def serving():
            try:
                bench.http_text(f"{url}/healthz", timeout=5)
                return True
            except urllib.error.HTTPError:
                return True  # serving, whatever it says about health
            except OSError:
                return False
        if not bench.wait_for(serving, 600, interval=0.5):
            sys.exit("daemon did not start; see " + log)

        def converged():
            text = bench.http_text(f"{url}/metrics", timeout=120)
            return bench.metric(text, 'modelarts_controller_objects{phase="Converged"}') >= objects
        ok = bench.wait_for(converged, timeout=max(600, 8 * args.n / args.qps), interval=1)
        convergence = time.monotonic() - start
        hwm_converged = bench.proc_status(pid, "VmHWM")

        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-F", "99", "--call-graph", "dwarf,16384",
                                     "-p", str(pid), "-o", args.perf, "--", "sleep", str(args.idle)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu0, t0 = bench.proc_cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle)
        cpu1, window = bench.proc_cpu_seconds(pid), time.monotonic() - t0
        if perf:
            perf.wait()
        calls = bench.api_calls(bench.http_text(f"{url}/metrics", timeout=120))
        result = {
            "objects": objects, "converged": ok, "convergence_s": round(convergence, 1),
            "peak_rss_mib_at_convergence": round(hwm_converged / 2**20, 1),
            "peak_rss_mib": round(bench.proc_status(pid, "VmHWM") / 2**20, 1),
            "rss_mib": round(bench.proc_status(pid, "VmRSS") / 2**20, 1),
            "idle_window_s": round(window, 1),
            "idle_cpu_s_per_min": round((cpu1 - cpu0) / window * 60, 3),
            "api_calls_total": calls,
        }
        print(json.dumps(result, indent=2))
    finally:
        if args.wrap and pid:
            os.kill(pid, signal.SIGTERM)  # the wrapper may not pass SIGTERM on
            ctl.p.wait(300)
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
