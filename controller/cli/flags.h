#pragma once

// The command line of modelarts-controller (README, "Command line"): subcommand and flags, parsed
// into plain values. A bad flag or value is a one-line error.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"

namespace mactl {

struct Flags {
  std::string command;  // run | plan | validate | get | help | version

  // run, plan, validate
  std::string manifests;
  std::string project_id;
  // run, plan
  std::string endpoint;
  std::string token_file;
  std::string ca_file;
  bool insecure_skip_tls_verify = false;
  // --policy-max-stops: a pass whose policies would stop more jobs at once stops none
  // (README, "Runtime limits").
  int policy_max_stops = 20;
  double qps = 10;
  int burst = 20;
  Duration api_timeout = std::chrono::seconds(30);
  // run
  std::string listen = "127.0.0.1:8080";
  int workers = 4;
  Duration resync = std::chrono::minutes(5);
  Duration poll = std::chrono::seconds(10);
  Duration backoff_base = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::minutes(5);
  Duration rescan_interval = std::chrono::seconds(30);
  Duration stuck_after = std::chrono::minutes(5);
  Duration shutdown_grace = std::chrono::seconds(20);
  bool dry_run = false;
  // run: high availability (leader election on etcd)
  bool leader_elect = false;
  std::vector<std::string> etcd_endpoints;
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;
  std::string leader_elect_prefix = "/modelarts-controller/leader";
  std::chrono::seconds leader_elect_lease{15};
  // all
  std::string log_format = "text";
  std::string log_level = "info";
  bool log_level_set = false;
  // get
  std::string server;
  std::string output = "table";  // table | json
  std::string object_name;       // `get NAME`: that object only
  // `get -l phase=Error,kind=TrainingJob`: the /status filters (README, "Command line")
  std::vector<std::pair<std::string, std::string>> selector;
};

// argv[0] is skipped. `environment_log_level` is MODELARTS_CONTROLLER_LOG_LEVEL, used
// when --log-level is not given.
Result<Flags> ParseFlags(const std::vector<std::string>& args,
                         const std::string& environment_log_level = "");

std::string UsageText();

}  // namespace mactl
