#pragma once

// Injectable faults for the simulator's API: error statuses (with Retry-After), dropped
// connections, latency, malformed bodies and a job that completes just before its stop (or,
// for a v2 job, its terminate).
// Rules are checked in order; the first rule that matches the request and has count left
// applies (a rule with a probability matches only when its seeded draw succeeds).
// Thread-safe.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/base/random.h"
#include "nlohmann/json.hpp"

namespace mactl::sim {

// The API operation a request addresses; also the request log's "operation". get_job,
// search_jobs and terminate are the v2 calls.
enum class Operation {
  kList,
  kGetVersion,
  kListVersions,
  kStop,
  kAuth,
  kGetJob,
  kSearchJobs,
  kTerminate,
  kOther
};
const char* OperationName(Operation op);

enum class FaultType { kStatus, kDrop, kLatency, kMalformed, kCompleteBeforeStop };
const char* FaultTypeName(FaultType t);

struct FaultRule {
  std::optional<Operation> operation;  // nullopt = "any"
  std::optional<std::int64_t> job_id;
  std::optional<std::int64_t> version_id;
  std::optional<std::string> training_job_id;  // a v2 job's UUID (get_job, terminate)
  std::int64_t count = 1;                      // matching requests left; -1 = forever
  std::optional<double> probability;           // in [0, 1]
  FaultType type = FaultType::kStatus;
  int http_status = 500;             // kStatus
  std::string error_code;            // kStatus; empty = a default for the status
  std::optional<int> retry_after_s;  // kStatus: Retry-After header
  std::int64_t latency_ms = 0;       // kLatency
  // kStatus, kDrop, kMalformed: also carry out the request before answering badly (the
  // outcome is then unknown to the client, e.g. a stop accepted but its answer lost).
  bool process = false;
};

// Parses one rule object; the error names the offending field.
Result<FaultRule> ParseFaultRule(const nlohmann::json& j);
// Parses {"rules":[...]} or a single rule object.
Result<std::vector<FaultRule>> ParseFaultRules(const nlohmann::json& j);
nlohmann::json FaultRuleToJson(const FaultRule& rule);

// What a request is about, for matching.
struct FaultTarget {
  Operation operation = Operation::kOther;
  std::optional<std::int64_t> job_id;
  std::optional<std::int64_t> version_id;
  std::optional<std::string> training_job_id;
};

class FaultInjector {
 public:
  // random must outlive the injector; it decides rules with a probability.
  explicit FaultInjector(RandomSource& random) : random_(random) {}

  void Add(std::vector<FaultRule> rules);
  void Clear();
  // The rules with their remaining counts.
  std::vector<FaultRule> Rules() const;
  // The fault to apply to this request, consuming one of its count.
  std::optional<FaultRule> Match(const FaultTarget& target);

 private:
  RandomSource& random_;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;  // guarded by mu_
};

}  // namespace mactl::sim
