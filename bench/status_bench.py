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
Standalone (not part of bench/run.py); prints one Markdown table. A measurement, not a test.

  bench/status_bench.py --build build --objects 10000 100000 --repeat 3
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

PROJECT = "bench0123456789abcdef0123456789ab"
TOKEN = "bench-token"
QUERIES = ["/status", "/status?limit=500", "/status?phase=Error&limit=500",
           "/status?name=obj-{mid}"]


def wait_for(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def write_world(work, n):
    jobs = [{"job_id": 1000 + i, "job_name": f"job-{i}", "versions": [{"version_id": 1, "status": 8}]}
            for i in range(n)]
    seed = os.path.join(work, "seed.json")
    with open(seed, "w") as f:
        json.dump({"projects": [{"project_id": PROJECT, "jobs": jobs}]}, f)
    mdir = os.path.join(work, "manifests")
    os.makedirs(mdir)
    doc = ("apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n"
           "  name: obj-{i}\nspec:\n  jobId: {job}\n  versionId: 1\n  desiredState: Running\n")
    for start in range(0, n, 500):
        with open(os.path.join(mdir, f"objects-{start // 500:04d}.yaml"), "w") as f:
            f.write("---\n".join(doc.format(i=i, job=1000 + i) for i in range(start, min(n, start + 500))))
    return seed, mdir


def rss(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(port, path, pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    base = rss(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    cpu0 = cpu_seconds(pid)
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
    cpu = cpu_seconds(pid) - cpu0
    done.set()
    sampler.join()
    hwm = rss(pid, "VmHWM") - base if hwm_reset else None
    return {"status": status, "first_ms": first * 1000, "whole_s": whole, "bytes": size,
            "cpu_s": cpu, "rss_delta": peak[0] - base, "hwm_delta": hwm,
            "chunked": chunked}


def run_one(build, n, wait, keep, repeat=1):
    work = tempfile.mkdtemp(prefix=f"mactl-status-{n}-")
    procs = []
    try:
        seed, mdir = write_world(work, n)
        port_file = os.path.join(work, "sim.port")
        sim_log = open(os.path.join(work, "sim.log"), "w")
        procs.append(subprocess.Popen(
            [f"{build}/modelarts-sim", "--listen", "127.0.0.1:0", "--port-file", port_file, "--seed", seed,
             "--token", TOKEN, "--log-level", "warn"], stdout=sim_log, stderr=subprocess.STDOUT))
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 60)
        sim = "http://127.0.0.1:" + open(port_file).read().strip()
        log_path = os.path.join(work, "controller.log")
        log = open(log_path, "w")
        ctl = subprocess.Popen(
            [f"{build}/modelarts-controller", "run", "--manifests", mdir, "--endpoint", sim,
             "--project-id", PROJECT, "--listen", "127.0.0.1:0", "--log-format", "json",
             "--log-level", "info", "--qps", "5000", "--burst", "5000", "--workers", "8"],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OS_TOKEN=TOKEN))
        procs.append(ctl)

        def port():
            with open(log_path) as f:
                for line in f:
                    try:
                        j = json.loads(line)
                    except ValueError:
                        continue
                    if j.get("msg") == "http server listening":
                        return int(j["address"].rsplit(":", 1)[1])
            return None
        if not wait_for(lambda: port() is not None, 60):
            raise SystemExit(f"the daemon logged no port; see {log_path}")
        ctl_port = port()

        def ready():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ctl_port}/readyz", timeout=5) as r:
                    return r.status == 200
            except Exception:
                return False
        t0 = time.monotonic()
        observed = wait_for(ready, wait, interval=1)
        ready_s = time.monotonic() - t0
        rows = []
        for q in QUERIES:
            path = q.format(mid=n // 2)
            measure(ctl_port, path, ctl.pid)  # warm-up
            rows.append((path, [measure(ctl_port, path, ctl.pid) for _ in range(repeat)]))
        return {"n": n, "ready": observed, "ready_s": ready_s, "rss": rss(ctl.pid), "rows": rows}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
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
