#pragma once

// What the stop-lag soaks share: the faults they put on stops and how they read the
// simulator's request log for the stops a version received (docs/bad-inputs.md, S3, S4).

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace mactl::integration {

// One fault rule of the simulator (POST /_sim/faults) for `operation` ("stop", "any", ...),
// drawn with `probability` on every matching request. `process` carries the request out
// before the fault hides its answer.
inline json StatusFault(const std::string& operation, double probability, int http_status,
                        bool process = false) {
  json rule = {{"operation", operation},
               {"count", -1},
               {"probability", probability},
               {"type", "status"},
               {"http_status", http_status}};
  if (process) rule["process"] = true;
  return rule;
}

inline json DropFault(const std::string& operation, double probability, bool process = false) {
  json rule = {
      {"operation", operation}, {"count", -1}, {"probability", probability}, {"type", "drop"}};
  if (process) rule["process"] = true;
  return rule;
}

inline json LatencyFault(const std::string& operation, double probability, int ms) {
  return {{"operation", operation},
          {"count", -1},
          {"probability", probability},
          {"type", "latency"},
          {"ms", ms}};
}

// Stops answered 503 or dropped after the stop was carried out (the outcome the client
// cannot know), plus some errors and latency on everything.
inline json StopLagFaults() {
  return json::array({
      StatusFault("stop", 0.15, 503, true),
      DropFault("stop", 0.10, true),
      StatusFault("any", 0.05, 500),
      LatencyFault("any", 0.05, 250),
  });
}

// One stop request of the simulator's log.
struct LoggedStop {
  std::string version;  // "job/version"
  std::uint64_t seq = 0;
  std::string fault;             // the simulator's fault type, empty when none
  bool unknown_outcome = false;  // an error status or a dropped connection
};

inline std::vector<LoggedStop> LoggedStops(const json& requests) {
  std::vector<LoggedStop> out;
  for (const json& r : requests) {
    if (r.value("operation", "") != "stop") continue;
    const std::string path = r.value("path", "");
    const std::size_t jobs = path.find("/training-jobs/");
    const std::size_t versions = path.find("/versions/");
    const std::size_t stop = path.rfind("/stop");
    if (jobs == std::string::npos || versions == std::string::npos || stop == std::string::npos) {
      continue;
    }
    LoggedStop one;
    one.version = path.substr(jobs + 15, versions - jobs - 15) + "/" +
                  path.substr(versions + 10, stop - versions - 10);
    one.seq = r.value("seq", std::uint64_t{0});
    one.fault = r.contains("fault") && r["fault"].is_string() ? r["fault"].get<std::string>()
                                                              : std::string();
    one.unknown_outcome = one.fault == "status" || one.fault == "drop";
    out.push_back(std::move(one));
  }
  return out;
}

// "job/version" of every stop request that met a fault whose outcome the client cannot know.
inline std::set<std::string> AmbiguousStops(const Simulator& sim) {
  std::set<std::string> out;
  for (const LoggedStop& stop : LoggedStops(sim.Requests())) {
    if (stop.unknown_outcome) out.insert(stop.version);
  }
  return out;
}

// The seq of the last request the simulator has logged (0 when none).
inline std::uint64_t LastRequestSeq(const Simulator& sim) {
  const json requests = sim.Requests();
  return requests.is_array() && !requests.empty() ? requests.back().value("seq", std::uint64_t{0})
                                                  : 0;
}

}  // namespace mactl::integration
