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

--world issue16 runs the world of bench/issue16_bench.py instead (versions already KILLED, the
daemon at its DEFAULT flags: --qps 10 --burst 20 --workers 4 --poll 10s): the world of the
issue-16 table's peak RSS. --timeline FILE writes the daemon's VmRSS and VmHWM once a second
(with the objects converged so far), and --smaps prints /proc/<pid>/smaps summed by kind of
mapping (the main heap, other anonymous mappings: malloc arenas and large blocks, thread
stacks, files) at convergence and after the idle window (docs/benchmarks.md, "The 100k peak in
the issue-16 world").

  python3 bench/profile.py --build build-release --world issue16 --n 100000 --idle 60 \
      --timeline /tmp/rss.tsv --smaps
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
import threading
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bench  # noqa: E402  (process, metrics and /proc helpers)
import issue16_bench  # noqa: E402  (the world of the issue-16 table)
from run import write_world  # noqa: E402  (the world of bench/run.py)

MiB = 2**20
STACK_KB = 8192  # glibc's default thread stack (ulimit -s), mapped with a guard page beside it


def smaps_summary(pid):
    """Resident MiB by kind of mapping: the main heap, thread stacks (8 MiB anonymous mappings),
    other anonymous mappings (malloc's per-thread arenas and blocks above its mmap threshold),
    file mappings (the binary and libraries), the main stack."""
    kinds = {"heap": 0, "anon": 0, "stacks": 0, "files": 0, "stack": 0}
    counts = {"anon": 0, "stacks": 0}
    kind, size = None, 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                path = fields[5] if len(fields) > 5 else ""
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                size = (hi - lo) // 1024
                if path == "[heap]":
                    kind = "heap"
                elif path == "[stack]":
                    kind = "stack"
                elif path.startswith("["):
                    kind = None
                elif path:
                    kind = "files"
                else:
                    kind = "stacks" if size == STACK_KB else "anon"
                    counts[kind] += 1
            elif fields[0] == "Rss:" and kind:
                kinds[kind] += int(fields[1])
    out = {k: round(v / 1024, 1) for k, v in kinds.items()}
    out["anon_mappings"], out["thread_stacks"] = counts["anon"], counts["stacks"]
    return out


class Timeline:
    """VmRSS and VmHWM of the daemon once a second, with the objects converged so far."""

    def __init__(self, pid, path):
        self.pid, self.path, self.rows, self.converged = pid, path, [], 0
        self.started = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.wait(1.0):
            try:
                rss, hwm = bench.proc_status(self.pid, "VmRSS"), bench.proc_status(self.pid, "VmHWM")
            except OSError:
                return
            self.rows.append((time.monotonic() - self.started, rss / MiB, hwm / MiB, self.converged))

    def stop(self):
        self.done.set()
        self.thread.join()
        with open(self.path, "w") as f:
            f.write("seconds\trss_mib\thwm_mib\tconverged\n")
            for t, rss, hwm, conv in self.rows:
                f.write(f"{t:.1f}\t{rss:.1f}\t{hwm:.1f}\t{conv}\n")
        # When the high-water mark was last raised: the moment of the peak.
        peak_at = next((t for t, _, hwm, _ in self.rows if hwm >= self.rows[-1][2]), None) if self.rows else None
        return None if peak_at is None else round(peak_at, 1)


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
    ap.add_argument("--world", choices=["run", "issue16"], default="run",
                    help="run: RUNNING versions stopped at --qps (bench/run.py's world); issue16: "
                    "versions already KILLED, the daemon at its default flags (bench/issue16_bench.py)")
    ap.add_argument("--timeline", default="", help="TSV path: VmRSS and VmHWM once a second")
    ap.add_argument("--smaps", action="store_true", help="resident memory by kind of mapping")
    ap.add_argument("--edits", type=int, default=0,
                    help="issue16 world: new manifests written one at a time after the idle window, "
                    "1 s apart, as the issue-16 table's edit-to-stop does (at most 60)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix=f"mactl-profile-{args.n}-")
    procs = []
    pid = 0
    try:
        if args.world == "issue16":
            seed, mdir, _ = issue16_bench.write_world(work, args.n, 60)
            objects = args.n
        else:
            seed, mdir, objects = write_world(work, args.n, 0, 100)
        sim_proc, sim = bench.start_sim(args.build, work, seed, "sim")
        procs.append(sim_proc)
        log = os.path.join(work, "controller.log")
        port = free_port()
        cmd = shlex.split(args.wrap) + [
            f"{args.build}/modelarts-controller", "run", "--manifests", mdir, "--endpoint", sim,
            "--project-id", bench.PROJECT, "--listen", f"127.0.0.1:{port}", "--log-format", "json",
            "--log-level", "info" if args.world == "issue16" else "warn"]  # as each bench runs it
        if args.world == "run":
            cmd += ["--qps", str(args.qps), "--burst", str(args.burst), "--workers", "8", "--poll", "1s"]
        if args.resync:
            cmd += ["--resync", args.resync]
        start = time.monotonic()
        ctl = bench.Proc(cmd, log, dict(os.environ, OS_TOKEN=bench.TOKEN))
        procs.append(ctl)
        pid = daemon_pid(mdir) if args.wrap else ctl.p.pid
        url = f"http://127.0.0.1:{port}"
        timeline = Timeline(pid, args.timeline) if args.timeline else None

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
            done = bench.metric(text, 'modelarts_controller_objects{phase="Converged"}')
            if timeline:
                timeline.converged = int(done)
            return done >= objects
        qps = 10 if args.world == "issue16" else args.qps
        ok = bench.wait_for(converged, timeout=max(600, 8 * args.n / qps), interval=1)
        convergence = time.monotonic() - start
        hwm_converged = bench.proc_status(pid, "VmHWM")
        smaps_converged = smaps_summary(pid) if args.smaps else None

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
        hwm_idle = bench.proc_status(pid, "VmHWM")
        edits = []
        if args.world == "issue16" and args.edits:
            edits, _ = issue16_bench.edit_latency.measure_edits(sim, mdir, 0, min(args.edits, 60),
                                                                 "write", 1.0)
        calls = bench.api_calls(bench.http_text(f"{url}/metrics", timeout=120))
        result = {
            "objects": objects, "converged": ok, "convergence_s": round(convergence, 1),
            "peak_rss_mib_at_convergence": round(hwm_converged / 2**20, 1),
            "peak_rss_mib_after_idle": round(hwm_idle / 2**20, 1),
            "peak_rss_mib": round(bench.proc_status(pid, "VmHWM") / 2**20, 1),
            "rss_mib": round(bench.proc_status(pid, "VmRSS") / 2**20, 1),
            "idle_window_s": round(window, 1),
            "idle_cpu_s_per_min": round((cpu1 - cpu0) / window * 60, 3),
            "api_calls_total": calls,
        }
        if edits:
            result["edits_stopped"] = len(edits)
            result["edit_to_stop_max_ms"] = round(max(edits) * 1000, 1)
        if timeline:
            result["peak_reached_s"] = timeline.stop()
        if args.smaps:
            result["smaps_mib_at_convergence"] = smaps_converged
            result["smaps_mib_after_idle"] = smaps_summary(pid)
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
