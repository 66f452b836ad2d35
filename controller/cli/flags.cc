#include "controller/cli/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "api/duration.h"
#include "api/version_ref.h"
#include "controller/base/sanitize.h"
#include "controller/election/etcd_endpoint.h"

namespace mactl {
namespace {

// Arguments are echoed into errors quoted, bounded and printable: a pasted value may carry
// newlines or terminal escapes.
std::string Quoted(std::string_view text) { return "\"" + SanitizeForLog(text, 128) + "\""; }

Error FlagError(const std::string& text) {
  return MakeError(ErrorClass::kTerminal, "InvalidFlag", text);
}

Status ParseInt(const std::string& flag, const std::string& value, int min, int max, int& out) {
  int parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size() || parsed < min || parsed > max) {
    return FlagError(flag + ": want an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got " + Quoted(value));
  }
  out = parsed;
  return OkStatus();
}

Status ParsePositiveDouble(const std::string& flag, const std::string& value, double& out) {
  try {
    std::size_t used = 0;
    const double parsed = std::stod(value, &used);
    if (used != value.size() || !std::isfinite(parsed) || parsed <= 0 || parsed > 1e6) {
      throw std::invalid_argument(value);
    }
    out = parsed;
    return OkStatus();
  } catch (const std::exception&) {
    return FlagError(flag + ": want a number > 0, got " + Quoted(value));
  }
}

Status ParsePositiveDuration(const std::string& flag, const std::string& value, Duration& out) {
  Result<std::chrono::nanoseconds> parsed = ParseDuration(value);
  if (!parsed) return FlagError(flag + ": " + parsed.error().message);
  if (parsed->count() <= 0)
    return FlagError(flag + ": must be greater than 0, got " + Quoted(value));
  out = *parsed;
  return OkStatus();
}

// Comma-separated etcd URLs, each checked now so a typo fails at start-up.
Status ParseEtcdEndpoints(Flags& f, const std::string& value) {
  f.etcd_endpoints.clear();
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string url = value.substr(start, comma - start);
    if (url.empty()) return FlagError("--etcd-endpoints: empty URL in " + Quoted(value));
    if (Result<EtcdEndpoint> parsed = ParseEtcdEndpoint(url); !parsed) {
      return FlagError("--etcd-endpoints: " + parsed.error().message);
    }
    f.etcd_endpoints.push_back(url);
    start = comma + 1;
  }
  return OkStatus();
}

Status ParseElectionPrefix(Flags& f, const std::string& value) {
  if (value.size() < 2 || value.front() != '/' || value.back() == '/' ||
      SanitizeForLog(value, 512) != value || value.size() > 200) {
    return FlagError(
        "--leader-elect-prefix: want a printable key like /modelarts-controller/leader "
        "(starting with '/', not ending with one), got " +
        Quoted(value));
  }
  f.leader_elect_prefix = value;
  return OkStatus();
}

// Whole seconds, since etcd leases have second granularity; 2s is etcd's minimum.
Status ParseElectionLease(Flags& f, const std::string& value) {
  Duration lease{};
  if (Status parsed = ParsePositiveDuration("--leader-elect-lease", value, lease); !parsed) {
    return parsed;
  }
  if (lease % std::chrono::seconds(1) != Duration::zero() || lease < std::chrono::seconds(2) ||
      lease > std::chrono::hours(1)) {
    return FlagError("--leader-elect-lease: want whole seconds from 2s to 1h, got " +
                     Quoted(value));
  }
  f.leader_elect_lease = std::chrono::duration_cast<std::chrono::seconds>(lease);
  return OkStatus();
}

Status ParseProjectId(const std::string& value, std::string& out) {
  if (!IsValidProjectId(value)) {
    return FlagError("--project-id: must be 1-64 letters, digits, '-' or '_', got " +
                     Quoted(value));
  }
  out = value;
  return OkStatus();
}

// `get -l phase=Error,kind=TrainingJob`: the keys /status filters on besides the name; the
// values are checked by the daemon, which knows its phases.
Status ParseSelector(Flags& f, const std::string& value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string term = value.substr(start, comma - start);
    const std::size_t eq = term.find('=');
    const std::string key = term.substr(0, eq);
    if (eq == std::string::npos || eq + 1 == term.size() || (key != "phase" && key != "kind")) {
      return FlagError("-l: want phase=PHASE or kind=KIND (comma-separated), got " + Quoted(value));
    }
    f.selector.emplace_back(key, term.substr(eq + 1));
    start = comma + 1;
  }
  return OkStatus();
}

// `get NAME`: the one argument that is not a flag.
Status SetObjectName(Flags& f, const std::string& name) {
  if (!f.object_name.empty()) {
    return FlagError("get takes at most one NAME, got " + Quoted(f.object_name) + " and " +
                     Quoted(name));
  }
  f.object_name = name;
  return OkStatus();
}

// Which commands accept a flag.
const std::set<std::string> kRunPlan = {"run", "plan"};
const std::set<std::string> kRunPlanValidate = {"run", "plan", "validate"};
const std::set<std::string> kRunOnly = {"run"};
const std::set<std::string> kGetOnly = {"get"};
const std::set<std::string> kAll = {"run", "plan", "validate", "get"};

struct FlagSpec {
  std::set<std::string> commands;
  bool takes_value;
  std::function<Status(Flags&, const std::string&)> apply;
};

// High availability (README, "Two replicas"): run only.
std::map<std::string, FlagSpec> ElectionSpecs() {
  auto str = [](std::string Flags::*field) {
    return [field](Flags& f, const std::string& v) -> Status {
      f.*field = v;
      return OkStatus();
    };
  };
  return {
      {"--leader-elect",
       {kRunOnly, false,
        [](Flags& f, const std::string&) -> Status {
          f.leader_elect = true;
          return OkStatus();
        }}},
      {"--etcd-endpoints", {kRunOnly, true, ParseEtcdEndpoints}},
      {"--etcd-ca-file", {kRunOnly, true, str(&Flags::etcd_ca_file)}},
      {"--etcd-cert-file", {kRunOnly, true, str(&Flags::etcd_cert_file)}},
      {"--etcd-key-file", {kRunOnly, true, str(&Flags::etcd_key_file)}},
      {"--leader-elect-prefix", {kRunOnly, true, ParseElectionPrefix}},
      {"--leader-elect-lease", {kRunOnly, true, ParseElectionLease}},
  };
}

// The election flags must come together: endpoints with --leader-elect, cert with key.
Status CheckElectionFlags(const Flags& flags) {
  const bool etcd_flags = !flags.etcd_endpoints.empty() || !flags.etcd_ca_file.empty() ||
                          !flags.etcd_cert_file.empty() || !flags.etcd_key_file.empty();
  if (flags.leader_elect && flags.etcd_endpoints.empty()) {
    return FlagError("--leader-elect needs --etcd-endpoints URLS");
  }
  if (!flags.leader_elect && etcd_flags) {
    return FlagError("--etcd-* flags apply only with --leader-elect");
  }
  if (flags.etcd_cert_file.empty() != flags.etcd_key_file.empty()) {
    return FlagError("--etcd-cert-file and --etcd-key-file must be given together");
  }
  return OkStatus();
}

std::map<std::string, FlagSpec> Specs() {
  auto str = [](std::string Flags::*field) {
    return [field](Flags& f, const std::string& v) -> Status {
      f.*field = v;
      return OkStatus();
    };
  };
  auto dur = [](std::string name, Duration Flags::*field) {
    return [name, field](Flags& f, const std::string& v) {
      return ParsePositiveDuration(name, v, f.*field);
    };
  };
  auto integer = [](std::string name, int min, int max, int Flags::*field) {
    return [name, min, max, field](Flags& f, const std::string& v) {
      return ParseInt(name, v, min, max, f.*field);
    };
  };
  auto flag = [](bool Flags::*field) {
    return [field](Flags& f, const std::string&) -> Status {
      f.*field = true;
      return OkStatus();
    };
  };
  return {
      {"--manifests", {kRunPlanValidate, true, str(&Flags::manifests)}},
      {"--project-id",
       {kRunPlanValidate, true,
        [](Flags& f, const std::string& v) { return ParseProjectId(v, f.project_id); }}},
      {"--endpoint", {kRunPlan, true, str(&Flags::endpoint)}},
      {"--token-file", {kRunPlan, true, str(&Flags::token_file)}},
      {"--ca-file", {kRunPlan, true, str(&Flags::ca_file)}},
      {"--insecure-skip-tls-verify", {kRunPlan, false, flag(&Flags::insecure_skip_tls_verify)}},
      {"--qps",
       {kRunPlan, true,
        [](Flags& f, const std::string& v) { return ParsePositiveDouble("--qps", v, f.qps); }}},
      {"--burst", {kRunPlan, true, integer("--burst", 1, 100000, &Flags::burst)}},
      {"--policy-max-stops",
       {kRunPlan, true, integer("--policy-max-stops", 0, 1000000, &Flags::policy_max_stops)}},
      {"--api-timeout", {kRunPlan, true, dur("--api-timeout", &Flags::api_timeout)}},
      {"--listen", {kRunOnly, true, str(&Flags::listen)}},
      {"--workers", {kRunOnly, true, integer("--workers", 1, 256, &Flags::workers)}},
      {"--resync", {kRunOnly, true, dur("--resync", &Flags::resync)}},
      {"--poll", {kRunOnly, true, dur("--poll", &Flags::poll)}},
      {"--backoff-base", {kRunOnly, true, dur("--backoff-base", &Flags::backoff_base)}},
      {"--backoff-max", {kRunOnly, true, dur("--backoff-max", &Flags::backoff_max)}},
      {"--rescan-interval", {kRunOnly, true, dur("--rescan-interval", &Flags::rescan_interval)}},
      {"--stuck-after", {kRunOnly, true, dur("--stuck-after", &Flags::stuck_after)}},
      {"--shutdown-grace", {kRunOnly, true, dur("--shutdown-grace", &Flags::shutdown_grace)}},
      {"--dry-run", {kRunOnly, false, flag(&Flags::dry_run)}},
      {"--log-format",
       {kAll, true,
        [](Flags& f, const std::string& v) -> Status {
          if (v != "text" && v != "json") {
            return FlagError("--log-format: want text or json, got " + Quoted(v));
          }
          f.log_format = v;
          return OkStatus();
        }}},
      {"--log-level",
       {kAll, true,
        [](Flags& f, const std::string& v) -> Status {
          f.log_level = v;
          f.log_level_set = true;
          return OkStatus();
        }}},
      {"--server", {kGetOnly, true, str(&Flags::server)}},
      {"-l", {kGetOnly, true, ParseSelector}},
      {"--selector", {kGetOnly, true, ParseSelector}},
      {"--output",
       {kGetOnly, true,
        [](Flags& f, const std::string& v) -> Status {
          if (v != "table" && v != "json") {
            return FlagError("--output: want table or json, got " + Quoted(v));
          }
          f.output = v;
          return OkStatus();
        }}},
  };
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args,
                         const std::string& environment_log_level) {
  Flags flags;
  if (!environment_log_level.empty()) flags.log_level = environment_log_level;
  if (args.size() < 2) return FlagError("missing command (run, plan, validate or get); see --help");
  const std::string& command = args[1];
  if (command == "--help" || command == "-h" || command == "help") {
    flags.command = "help";
    return flags;
  }
  if (command == "--version" || command == "version") {
    flags.command = "version";
    return flags;
  }
  if (!kAll.count(command)) {
    return FlagError("unknown command " + Quoted(command) + " (want run, plan, validate or get)");
  }
  flags.command = command;
  std::map<std::string, FlagSpec> specs = Specs();
  specs.merge(ElectionSpecs());
  for (std::size_t i = 2; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (name == "--help" || name == "-h") {
      flags.command = "help";
      return flags;
    }
    if (command == "get" && !name.empty() && name[0] != '-') {
      if (Status named = SetObjectName(flags, name); !named) return named.error();
      continue;
    }
    if (const auto eq = name.find('='); eq != std::string::npos && name.rfind("--", 0) == 0) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto spec = specs.find(name);
    if (spec == specs.end()) {
      return FlagError("unknown flag " + Quoted(name) + " for " + command + "; see --help");
    }
    if (!spec->second.commands.count(command)) {
      return FlagError("flag " + name + " does not apply to " + command);
    }
    if (spec->second.takes_value && !value) {
      if (i + 1 >= args.size()) return FlagError(name + " needs a value");
      value = args[++i];
    }
    if (!spec->second.takes_value && value) {
      return FlagError(name + " takes no value");
    }
    if (Status applied = spec->second.apply(flags, value.value_or("")); !applied) {
      return applied.error();
    }
  }
  if (flags.command != "get" && flags.manifests.empty()) {
    return FlagError("--manifests DIR is required for " + command);
  }
  if (kRunPlan.count(flags.command) && flags.endpoint.empty()) {
    return FlagError("--endpoint URL is required for " + command);
  }
  if (flags.command == "get" && flags.server.empty()) {
    return FlagError("--server URL is required for get (e.g. http://127.0.0.1:8080)");
  }
  if (Status election = CheckElectionFlags(flags); !election) return election.error();
  if (flags.backoff_max < flags.backoff_base) {
    return FlagError("--backoff-max must not be smaller than --backoff-base");
  }
  return flags;
}

std::string UsageText() {
  return R"(modelarts-controller: keeps ModelArts training-job versions in the state declared in YAML.

Usage:
  modelarts-controller run      --manifests DIR --endpoint URL [--project-id ID] [flags]
  modelarts-controller plan     --manifests DIR --endpoint URL [--project-id ID] [flags]
  modelarts-controller validate --manifests DIR [--project-id ID]
  modelarts-controller get      --server URL [NAME] [-l phase=P,kind=K] [--output table|json]

Flags (run; those marked * also apply to plan):
  --manifests DIR              manifest directory (*; validate)
  --endpoint URL               ModelArts endpoint, e.g. https://modelarts.eu-de.otc.t-systems.com (*)
  --project-id ID              default project for manifests without spec.projectId (*; validate)
  --listen HOST:PORT           /metrics /healthz /readyz /status (default 127.0.0.1:8080; port 0 = any)
  --workers N                  concurrent reconciles, never two for one version (default 4)
  --qps R, --burst B           token bucket in front of every ModelArts call (default 10, 20) (*)
  --resync D                   steady-state re-observation, ±10 % jitter (default 5m)
  --poll D                     re-observation while a version is transitioning (default 10s)
  --backoff-base D             first retry delay after an error (default 1s)
  --backoff-max D              longest retry delay (default 5m)
  --dry-run                    observe and report, never call stop
  --policy-max-stops N         a pass whose TrainingJobPolicy limits would stop more than N
                               jobs at once stops none (PolicyLimitExceeded) (default 20) (*)
  --rescan-interval D          manifest rescan safety net besides inotify (default 30s)
  --stuck-after D              /healthz fails when one reconcile runs longer (default 5m)
  --shutdown-grace D           how long SIGTERM waits for in-flight calls (default 20s)
  --api-timeout D              read timeout of one ModelArts request (default 30s) (*)
  --leader-elect               run as one of several replicas: only the elected leader acts
  --etcd-endpoints URLS        etcd for the election, comma-separated https://host:2379
  --etcd-ca-file PATH          CA bundle for etcd (ETCD_USERNAME/ETCD_PASSWORD: password auth)
  --etcd-cert-file PATH, --etcd-key-file PATH   client certificate for etcd
  --leader-elect-prefix KEY    election key prefix (default /modelarts-controller/leader)
  --leader-elect-lease D       lease TTL, renewed every third of it (default 15s)
  --token-file PATH            static token, re-read when it changes (*)
  --ca-file PATH               CA bundle for the endpoint (*)
  --insecure-skip-tls-verify   do not verify the endpoint's certificate (logs a warning) (*)
  --log-format text|json       (default text)
  --log-level LEVEL            trace, debug, info, warn, error, critical, off (default info;
                               or MODELARTS_CONTROLLER_LOG_LEVEL)

Durations: 250ms, 5s, 2m, 1h, 1m30s.
Credentials (first found): OS_TOKEN or --token-file; OS_ACCESS_KEY + OS_SECRET_KEY;
OS_AUTH_URL + OS_USERNAME + OS_PASSWORD + OS_DOMAIN_NAME (+ OS_PROJECT_NAME); OS_CLOUD.

Exit status: run 0 after SIGTERM/SIGINT, 1 on a start-up error or when it loses the
leadership (--leader-elect); plan 0 nothing to do, 2 changes pending, 1 error;
validate 0 valid, 1 invalid; get 0, or 1 when unreachable.
)";
}

}  // namespace mactl
