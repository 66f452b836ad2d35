#!/usr/bin/env bash
# Checks everything under deploy/ that operators install (see docs/operations.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Debian package providing each tool; installed only when the tool is missing.
declare -A tool_package=(
  [promtool]=prometheus
  [yamllint]=yamllint
  [systemd-analyze]=systemd
  [/usr/bin/python3]=python3
  # The unit's ExecReload= runs /bin/kill; systemd-analyze verify fails when it is missing (it is in
  # every standard Debian install, but not in minimal images).
  [/bin/kill]=procps
)

missing=()
for tool in "${!tool_package[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tool_package[$tool]}")
done
# The checks below parse YAML with Debian's python3, which needs python3-yaml.
if ! dpkg-query -W -f='${Status}' python3-yaml 2>/dev/null | grep -q "install ok installed"; then
  missing+=(python3-yaml)
fi
if ((${#missing[@]} > 0)); then
  echo "check-deploy: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

failures=()
pass() { echo "check-deploy: $1: ok"; }
fail() { echo "check-deploy: $1: FAILED" >&2; failures+=("$1"); }
# Runs a check, shows its output indented, and records a failure instead of stopping, so one run
# reports every broken file.
run_check() {
  local name=$1
  shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  # Indent every line of the tool output (not a single substitution, hence sed).
  # shellcheck disable=SC2001
  if [[ -n $out ]]; then sed "s/^/    /" <<<"$out"; fi
  if ((rc == 0)); then pass "$name"; else fail "$name"; fi
}

# 1. YAML style (warnings count as errors).
run_check "yamllint" yamllint -s -c .yamllint deploy .yamllint

# 2. Alert rules: syntax, unit tests, and the example Prometheus configuration that loads them.
run_check "promtool check rules" promtool check rules deploy/prometheus/alerts.yaml
run_check "promtool test rules" promtool test rules deploy/prometheus/alerts_test.yaml
run_check "promtool check config" promtool check config deploy/prometheus/scrape.yaml

# 3. systemd unit. `systemd-analyze verify` refuses a unit whose ExecStart binary is missing, and
# the daemon is not installed here, so verify a copy whose ExecStart points at a throw-away stub
# (nothing is written outside a temporary directory). verify exits 0 on unknown keys and other
# warnings, so any output counts as a failure.
verify_unit() {
  local tmp rc=0
  tmp=$(mktemp -d)
  printf '#!/bin/sh\nexit 0\n' >"$tmp/modelarts-controller"
  chmod 0755 "$tmp/modelarts-controller"
  sed "s#^ExecStart=/usr/local/bin/modelarts-controller #ExecStart=$tmp/modelarts-controller #" \
    deploy/systemd/modelarts-controller.service >"$tmp/modelarts-controller.service"
  if ! grep -q "^ExecStart=$tmp/modelarts-controller run " "$tmp/modelarts-controller.service"; then
    echo "ExecStart no longer starts with /usr/local/bin/modelarts-controller run"
    rc=1
  else
    local out
    out=$(systemd-analyze verify "$tmp/modelarts-controller.service" 2>&1) || rc=$?
    if [[ -n $out ]]; then
      echo "$out"
      rc=1
    fi
  fi
  rm -rf "$tmp"
  return "$rc"
}
run_check "systemd-analyze verify" verify_unit

# 4. Consistency checks that no tool above makes: flags, metric names, runbook anchors, dashboard.
consistency() {
  /usr/bin/python3 - <<'PY'
import json
import pathlib
import re
import shlex
import sys

import yaml

errors = []

# Flags of `run` (README, "Command line"; --token-file is in "Credentials").
RUN_FLAGS = {
    "--manifests", "--endpoint", "--project-id", "--listen", "--workers", "--qps", "--burst",
    "--resync", "--poll", "--backoff-base", "--backoff-max", "--dry-run", "--log-format",
    "--log-level", "--ca-file", "--insecure-skip-tls-verify", "--token-file",
    # High availability (README, "Two replicas").
    "--leader-elect", "--etcd-endpoints", "--etcd-ca-file", "--etcd-cert-file", "--etcd-key-file",
    "--leader-elect-prefix", "--leader-elect-lease",
    # Runtime limits (README, "Runtime limits").
    "--policy-max-stops",
}
BOOL_FLAGS = {"--dry-run", "--insecure-skip-tls-verify", "--leader-elect"}


def check_args(where, args):
    if not args or args[0] != "run":
        errors.append(f"{where}: arguments must start with the subcommand 'run': {args[:1]}")
        return
    i = 1
    while i < len(args):
        flag, has_value, _ = args[i].partition("=")
        if flag not in RUN_FLAGS:
            errors.append(f"{where}: {args[i]!r} is not a flag of `modelarts-controller run`")
        elif flag not in BOOL_FLAGS and not has_value:
            i += 1  # the value is the next argument
            if i >= len(args) or args[i].startswith("--"):
                errors.append(f"{where}: {flag} needs a value")
                continue
        i += 1


# Kubernetes Deployment: container args.
deployment = yaml.safe_load(open("deploy/kubernetes/deployment.yaml"))
for c in deployment["spec"]["template"]["spec"]["containers"]:
    check_args(f"deployment.yaml container {c['name']}", c.get("args", []))

# systemd unit: ExecStart after the binary, with the continuation lines joined.
unit = open("deploy/systemd/modelarts-controller.service").read().replace("\\\n", " ")
exec_start = re.search(r"^ExecStart=(\S+) (.*)$", unit, re.M)
# An unbraced $VAR expands to zero or more extra flags (checked in the .env example below).
unit_args = [a for a in shlex.split(exec_start.group(2)) if not re.fullmatch(r"\$[A-Za-z_]+", a)]
check_args("modelarts-controller.service ExecStart", unit_args)

# /etc/default example: extra flags, and no secret in plain environment.
env_text = open("deploy/systemd/modelarts-controller.env").read()
for line in env_text.splitlines():
    m = re.match(r"^MODELARTS_CONTROLLER_ARGS=(.*)$", line)
    if m:
        check_args("modelarts-controller.env MODELARTS_CONTROLLER_ARGS", ["run"] + shlex.split(m.group(1)))
    if re.match(r"^(OS_TOKEN|OS_SECRET_KEY|OS_PASSWORD|OS_ACCESS_KEY)=", line):
        errors.append(f"modelarts-controller.env sets a secret in the environment: {line.split('=')[0]}")

# Metric names used by alerts, their tests and the dashboard must be ones the daemon exports
# (README, "HTTP endpoints and metrics"; docs/operations.md, "Metrics").
HISTOGRAMS = {"reconcile_duration_seconds", "workqueue_queue_duration_seconds",
              "api_request_duration_seconds", "rate_limiter_wait_seconds"}
OTHERS = {"reconcile_total", "workqueue_depth", "workqueue_adds_total", "workqueue_retries_total",
          "api_requests_total", "objects", "manifest_errors", "build_info",
          "manifests_last_reload_successful", "manifests_last_reload_success_timestamp_seconds",
          "manifest_objects", "workqueue_longest_running_processor_seconds",
          "leader", "leader_transitions_total", "leader_renewals_total",
          # Runtime limits (README, "Runtime limits").
          "policies", "runtime_limit_stops_total"}
KNOWN = {"modelarts_controller_" + m for m in OTHERS}
KNOWN |= {f"modelarts_controller_{h}{s}" for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
KNOWN |= {"process_cpu_seconds_total", "process_resident_memory_bytes",
          "process_start_time_seconds", "process_open_fds", "process_max_fds"}
LABEL_VALUES = {
    "phase": {"Pending", "Stopping", "Converged", "Drifted", "Error", "Conflict", "Paused",
              # modelarts_controller_policies' phases beside the objects' ones.
              "Enforcing", "DryRun", "PolicyLimitExceeded"},
    "result": {"success", "error", "requeue_after"},
    "operation": {"list", "get_version", "list_versions", "stop", "auth"},
}
# leader_renewals_total's result label (success, failure) differs from reconcile_total's.
LABEL_VALUES["result"] |= {"failure"}
METRIC_RE = re.compile(r"\b((?:modelarts_controller|process)_[a-z_]+)")
LABEL_RE = re.compile(r"\b(phase|result|operation)\s*=\s*\\?\"([^\"\\]*)\\?\"")


def check_promql(where, text):
    used = set(METRIC_RE.findall(text))
    for name in sorted(used - KNOWN):
        errors.append(f"{where}: unknown metric {name}")
    for label, value in LABEL_RE.findall(text):
        if value not in LABEL_VALUES[label]:
            errors.append(f"{where}: {label}={value!r} is never exported")
    return used


alerts = yaml.safe_load(open("deploy/prometheus/alerts.yaml"))
rules = [r for g in alerts["groups"] for r in g["rules"]]
used = set()
for r in rules:
    used |= check_promql(f"alerts.yaml {r.get('alert')}", r["expr"])
tests_text = open("deploy/prometheus/alerts_test.yaml").read()
check_promql("alerts_test.yaml", tests_text)
dashboard_text = open("deploy/grafana/dashboard.json").read()
used |= check_promql("dashboard.json", dashboard_text)

# PrometheusRule must carry exactly the rules of alerts.yaml.
prometheus_rule = yaml.safe_load(open("deploy/kubernetes/prometheusrule.yaml"))
if prometheus_rule.get("spec") != alerts:
    errors.append("prometheusrule.yaml spec differs from deploy/prometheus/alerts.yaml")

# Every alert: severity, summary, description, a runbook anchor that exists, and a firing test.
ops = pathlib.Path("docs/operations.md")
anchors = set()
if ops.exists():
    for line in ops.read_text().splitlines():
        m = re.match(r"^#+\s+(.*?)\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
else:
    errors.append("docs/operations.md is missing")
tests = yaml.safe_load(tests_text)
fired = {c["alertname"] for t in tests["tests"] for c in t.get("alert_rule_test", []) if c.get("exp_alerts")}
quiet = {c["alertname"] for t in tests["tests"] for c in t.get("alert_rule_test", []) if not c.get("exp_alerts")}
for r in rules:
    name = r.get("alert")
    if not name:
        continue
    if r.get("labels", {}).get("severity") not in {"critical", "warning", "info"}:
        errors.append(f"{name}: severity must be critical, warning or info")
    ann = r.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not ann.get(key):
            errors.append(f"{name}: annotation {key} is missing")
    url = ann.get("runbook_url", "")
    if not url.startswith("docs/operations.md#") or url.split("#", 1)[1] not in anchors:
        errors.append(f"{name}: runbook_url {url!r} has no matching heading in docs/operations.md")
    if name not in fired:
        errors.append(f"{name}: alerts_test.yaml never expects it to fire")
    if name not in quiet:
        errors.append(f"{name}: alerts_test.yaml never expects it to stay quiet")

# Grafana dashboard: structure Grafana needs to import it.
dash = json.loads(dashboard_text)
if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
    errors.append("dashboard.json: schemaVersion missing or too old")
for key in ("uid", "title", "panels", "templating"):
    if not dash.get(key):
        errors.append(f"dashboard.json: {key} missing")
ids = [p.get("id") for p in dash.get("panels", [])]
if len(ids) != len(set(ids)) or None in ids:
    errors.append("dashboard.json: panel ids must be present and unique")
for p in dash.get("panels", []):
    g = p.get("gridPos", {})
    if g.get("x", 0) + g.get("w", 0) > 24:
        errors.append(f"dashboard.json: panel {p.get('title')!r} is wider than the grid")
    if p.get("type") != "row" and not all(t.get("expr") for t in p.get("targets", [None]) if t):
        errors.append(f"dashboard.json: panel {p.get('title')!r} has no query")
for signal in ("modelarts_controller_objects", "modelarts_controller_reconcile_total",
               "modelarts_controller_api_requests_total",
               "modelarts_controller_api_request_duration_seconds_bucket",
               "modelarts_controller_rate_limiter_wait_seconds_bucket",
               "modelarts_controller_workqueue_depth",
               "modelarts_controller_workqueue_queue_duration_seconds_bucket",
               "modelarts_controller_manifest_errors", "process_cpu_seconds_total",
               "process_resident_memory_bytes"):
    if signal not in dashboard_text:
        errors.append(f"dashboard.json: no panel shows {signal}")

# kustomize: every listed resource exists; the placeholder Secret is never applied.
kustomization = yaml.safe_load(open("deploy/kubernetes/kustomization.yaml"))
for res in kustomization.get("resources", []):
    if not pathlib.Path("deploy/kubernetes", res).exists():
        errors.append(f"kustomization.yaml lists missing file {res}")
if "secret.example.yaml" in kustomization.get("resources", []):
    errors.append("kustomization.yaml must not apply the placeholder secret.example.yaml")

# Every Kubernetes file is a well-formed object, and the pod keeps the properties the docs promise.
for path in sorted(pathlib.Path("deploy/kubernetes").glob("*.yaml")):
    if path.name == "kustomization.yaml":
        continue
    obj = yaml.safe_load(path.read_text())
    if not isinstance(obj, dict) or not all(obj.get(k) for k in ("apiVersion", "kind", "metadata")):
        errors.append(f"{path.name}: not a Kubernetes object (apiVersion, kind, metadata)")
    elif not obj["metadata"].get("name"):
        errors.append(f"{path.name}: metadata.name missing")
spec = deployment["spec"]
pod = spec["template"]["spec"]
ctr = pod["containers"][0]
expect = {
    "replicas 1": spec.get("replicas") == 1,
    "strategy Recreate": spec.get("strategy", {}).get("type") == "Recreate",
    "runAsNonRoot": pod.get("securityContext", {}).get("runAsNonRoot") is True,
    "runAsUser/Group/fsGroup 65532": all(pod.get("securityContext", {}).get(k) == 65532
                                         for k in ("runAsUser", "runAsGroup", "fsGroup")),
    "seccomp RuntimeDefault":
        pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault",
    "no service-account token": pod.get("automountServiceAccountToken") is False,
    "allowPrivilegeEscalation false": ctr["securityContext"].get("allowPrivilegeEscalation") is False,
    "readOnlyRootFilesystem": ctr["securityContext"].get("readOnlyRootFilesystem") is True,
    "drop ALL": ctr["securityContext"].get("capabilities", {}).get("drop") == ["ALL"],
    "memory limit": bool(ctr.get("resources", {}).get("limits", {}).get("memory")),
    "no subPath mounts": all("subPath" not in m for m in ctr.get("volumeMounts", [])),
    "probes on http-metrics": all(ctr.get(p, {}).get("httpGet", {}).get("port") == "http-metrics"
                                  for p in ("livenessProbe", "readinessProbe")),
    "secret mode 0440": any(v.get("secret", {}).get("defaultMode") == 0o440
                            for v in pod.get("volumes", [])),
}
for what, ok in expect.items():
    if not ok:
        errors.append(f"deployment.yaml: expected {what}")

# The HA overlay (deploy/kubernetes-ha): its arguments are flags of `run` with the election on,
# two replicas that may roll, never on one node, and a PodDisruptionBudget.
ha_dir = pathlib.Path("deploy/kubernetes-ha")
ha_kustomization = yaml.safe_load(open(ha_dir / "kustomization.yaml"))
for res in ha_kustomization.get("resources", []):
    if not (ha_dir / res).exists():
        errors.append(f"kubernetes-ha/kustomization.yaml lists missing {res}")
for patch in ha_kustomization.get("patches", []):
    if not (ha_dir / patch["path"]).exists():
        errors.append(f"kubernetes-ha/kustomization.yaml patches with missing {patch['path']}")
ha = yaml.safe_load(open(ha_dir / "deployment-ha.yaml"))
ha_pod = ha["spec"]["template"]["spec"]
for c in ha_pod["containers"]:
    check_args(f"kubernetes-ha/deployment-ha.yaml container {c['name']}", c.get("args", []))
    if "--leader-elect" not in c.get("args", []):
        errors.append("kubernetes-ha/deployment-ha.yaml: --leader-elect missing")
ha_expect = {
    "replicas 2": ha["spec"].get("replicas") == 2,
    "strategy RollingUpdate": ha["spec"].get("strategy", {}).get("type") == "RollingUpdate",
    "required pod anti-affinity": bool(ha_pod.get("affinity", {}).get("podAntiAffinity", {})
                                       .get("requiredDuringSchedulingIgnoredDuringExecution")),
}
for what, ok in ha_expect.items():
    if not ok:
        errors.append(f"kubernetes-ha/deployment-ha.yaml: expected {what}")
pdb = yaml.safe_load(open(ha_dir / "poddisruptionbudget.yaml"))
if pdb.get("kind") != "PodDisruptionBudget" or pdb.get("spec", {}).get("minAvailable") != 1:
    errors.append("kubernetes-ha/poddisruptionbudget.yaml: expected a PDB with minAvailable 1")

# The example manifests in the ConfigMap follow the TrainingJob and TrainingJobVersion schemas
# (README, "Manifests"; `modelarts-controller validate` is the full check).
configmap = yaml.safe_load(open("deploy/kubernetes/configmap-manifests.yaml"))
data = configmap.get("data") or {}
if not data:
    errors.append("configmap-manifests.yaml: no manifests under data")
names = set()
for key, text in data.items():
    if not re.search(r"\.ya?ml$", key):
        errors.append(f"configmap-manifests.yaml: {key} does not end in .yaml/.yml (the daemon skips it)")
    for doc in yaml.safe_load_all(text):
        where = f"configmap-manifests.yaml {key}"
        meta, spec_ = doc.get("metadata", {}), doc.get("spec", {})
        kind = doc.get("kind")
        if doc.get("apiVersion") != "modelarts-controller.io/v1" or kind not in ("TrainingJob", "TrainingJobVersion"):
            errors.append(f"{where}: apiVersion/kind must be modelarts-controller.io/v1 TrainingJob or TrainingJobVersion")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", str(meta.get("name", ""))):
            errors.append(f"{where}: metadata.name must be a DNS-1123 label")
        elif meta["name"] in names:
            errors.append(f"{where}: duplicate name {meta['name']}")
        names.add(meta.get("name"))
        if kind == "TrainingJob":
            identity = {"trainingJobId", "trainingJobName"} & set(spec_)
            if len(identity) != 1:
                errors.append(f"{where}: exactly one of spec.trainingJobId and spec.trainingJobName")
            elif "trainingJobId" in identity and not re.fullmatch(
                    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", str(spec_["trainingJobId"])):
                errors.append(f"{where}: spec.trainingJobId must be a UUID")
            elif "trainingJobName" in identity and not re.fullmatch(
                    r"[A-Za-z0-9_-]{1,64}", str(spec_["trainingJobName"])):
                errors.append(f"{where}: spec.trainingJobName must be 1-64 letters, digits, '_' or '-'")
            fields = {"projectId", "trainingJobId", "trainingJobName", "desiredState", "maxRuntime"}
        else:
            for field in ("jobId", "versionId"):
                if not isinstance(spec_.get(field), int) or isinstance(spec_.get(field), bool) or spec_[field] < 1:
                    errors.append(f"{where}: spec.{field} must be an integer >= 1")
            fields = {"projectId", "jobId", "versionId", "desiredState", "maxRuntime"}
        if spec_.get("desiredState") not in ("Stopped", "Running"):
            errors.append(f"{where}: spec.desiredState must be Stopped or Running")
        if "maxRuntime" in spec_ and spec_.get("desiredState") != "Running":
            errors.append(f"{where}: spec.maxRuntime needs desiredState Running")
        unknown = set(spec_) - fields
        unknown |= set(meta) - {"name", "labels", "annotations"}
        unknown |= set(doc) - {"apiVersion", "kind", "metadata", "spec"}
        if unknown:
            errors.append(f"{where}: unknown fields {sorted(unknown)}")

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
}
run_check "consistency (flags, metrics, runbooks, alert tests, dashboard, kustomize)" consistency

if ((${#failures[@]} > 0)); then
  echo "check-deploy: ${#failures[@]} check(s) failed: ${failures[*]}" >&2
  exit 1
fi
echo "check-deploy: all checks passed"
