"""What every benchmark in bench/ shares: starting the simulator and the daemon, reading
their metrics and request logs, and waiting without busy loops."""

import json
import os
import signal
import subprocess
import time
import urllib.request

PROJECT = "bench0123456789abcdef0123456789ab"
TOKEN = "bench-token"


def http_json(url, timeout=30, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
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


def objects_in_phase(ctl, phase):
    return metric(http_text(f"{ctl}/metrics"), f'modelarts_controller_objects{{phase="{phase}"}}')


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


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


def sim_requests(sim, since=0):
    return http_json(f"{sim}/_sim/requests?since={since}", timeout=120)


def last_seq(sim):
    return max((r["seq"] for r in sim_requests(sim)), default=0)


def count_by_operation(records):
    counts = {}
    for r in records:
        counts[r["operation"]] = counts.get(r["operation"], 0) + 1
    return counts


def api_calls(metrics_text):
    """Requests the daemon made, by operation (auth excluded), from its own metrics."""
    counts = {}
    for line in metrics_text.splitlines():
        if not line.startswith("modelarts_controller_api_requests_total{"):
            continue
        labels, _, value = line.rpartition(" ")
        op = labels.split('operation="', 1)[1].split('"', 1)[0]
        if op != "auth":
            counts[op] = counts.get(op, 0) + float(value)
    return counts


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB
    return 0


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start_sim(build, work, seed, name, kill_delay="0s"):
    """The simulator on a free port; kill_delay None keeps its default."""
    port_file = os.path.join(work, f"{name}.port")
    delay = [] if kill_delay is None else ["--kill-delay", kill_delay]
    proc = Proc([f"{build}/modelarts-sim", "--listen", "127.0.0.1:0", "--port-file", port_file,
                 "--seed", seed, "--token", TOKEN, "--log-level", "warn"] + delay,
                os.path.join(work, f"{name}.log"))
    wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 60)
    return proc, "http://127.0.0.1:" + open(port_file).read().strip()


def daemon_port(log):
    """The port the daemon logged it listens on, or None before it has."""
    with open(log) as f:
        for line in f:
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get("msg") == "http server listening":
                return j["address"].rsplit(":", 1)[1]
    return None


def start_daemon(build, work, sim, mdir, flags, log_level="info", port_timeout=30):
    """The daemon on a free port with JSON logs in work/controller.log; returns (Proc, URL).
    The log level must be info or finer: the port is read from the log."""
    env = dict(os.environ, OS_TOKEN=TOKEN)
    log = os.path.join(work, "controller.log")
    proc = Proc([f"{build}/modelarts-controller", "run", "--manifests", mdir, "--endpoint", sim,
                 "--project-id", PROJECT, "--listen", "127.0.0.1:0", "--log-format", "json",
                 "--log-level", log_level] + flags, log, env)
    if not wait_for(lambda: daemon_port(log) is not None, port_timeout):
        raise SystemExit(f"the daemon logged no port; see {log}")
    return proc, "http://127.0.0.1:" + daemon_port(log)


def write_manifests(mdir, documents, per_file=500):
    os.makedirs(mdir)
    for start in range(0, len(documents), per_file):
        with open(os.path.join(mdir, f"objects-{start // per_file:04d}.yaml"), "w") as f:
            f.write("---\n".join(documents[start:start + per_file]))


def write_seed(work, v1_jobs=(), v2_jobs=()):
    seed = os.path.join(work, "seed.json")
    project = {"project_id": PROJECT, "jobs": list(v1_jobs)}
    if v2_jobs:
        project["training_jobs"] = list(v2_jobs)
    with open(seed, "w") as f:
        json.dump({"projects": [project]}, f)
    return seed


def v1_manifest(name, job, version, desired="Stopped"):
    return (f"apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\n"
            f"metadata:\n  name: {name}\nspec:\n  jobId: {job}\n  versionId: {version}\n"
            f"  desiredState: {desired}\n")


def v2_manifest(name, job_id, desired="Stopped"):
    return (f"apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\n"
            f"metadata:\n  name: {name}\nspec:\n  trainingJobId: {job_id}\n"
            f"  desiredState: {desired}\n")


def v2_job_id(group, i):
    """A UUID that says which group of the world a v2 job belongs to."""
    return f"{group:08x}-0000-4000-8000-{i:012x}"
