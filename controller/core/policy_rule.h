#pragma once
// Which jobs TrainingJobPolicy manifests stop, and when (README, "Runtime limits"): a pure
// function of the policies, the jobs one batched pass listed, the jobs manifests name and the
// guard, so that every rule is a row of a table test (tests/core/policy_rule_test.cc).
//
// The rules:
// - A policy matches a job of its project whose kind it names and whose name matches its glob,
//   unless the job has ended (a v1 list page holds finished jobs too; the v2 search does not).
// - A job a TrainingJob/TrainingJobVersion manifest names follows that manifest: no policy
//   matches it (PolicyExclusions).
// - Among the unpaused policies that match a job, the shortest maxRuntime wins; ties go to the
//   policy whose name sorts first. A paused policy never wins: it reports what it would stop,
//   and never lifts a limit an active policy imposes.
// - Each job's verdict is the one spec.maxRuntime gets (Decide / DecideTrainingJob with
//   desired Running and the winning limit): under the limit (due later), over it (stop now),
//   run duration unknown (never stopped, reported), not stoppable (already stopping; queued
//   or starting, whose run duration does not grow, so it has no due time).
// - The guard: when the jobs to stop now, over every active policy together, are more than
//   max_stops, none is stopped and every policy with a job to stop reports PolicyLimitExceeded.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/training_job_policy.h"

namespace mactl {

inline constexpr std::string_view kPolicyLimitExceeded = "PolicyLimitExceeded";

enum class PolicyJobKind { kTrainingJob, kTrainingJobVersion };
std::string_view PolicyJobKindName(PolicyJobKind kind);  // the manifest kind's name

// One job as a batched pass lists it: a v1 job's latest version (list page) or a v2 job
// (search page of non-terminal jobs).
struct PolicyCandidate {
  PolicyJobKind kind = PolicyJobKind::kTrainingJob;
  std::string project_id;
  std::string id;               // v1: the job id in decimal; v2: the lower-case UUID
  std::int64_t version_id = 0;  // v1: the latest version; v2: 0
  std::string name;             // the job's name
  int status = 0;               // v1: the latest version's status code; v2: unused
  std::string phase;            // v2: status.phase; v1: empty
  // v2: status.secondary_phase (a Running job may already be terminating); v1: empty.
  std::string secondary_phase;
  std::int64_t duration_ms = 0;  // the API's run duration, as sent (unchecked)
  // Key of the job for exclusions and memory: "v1/<project>/<job id>" or "v2/<project>/<uuid>".
  std::string Key() const;
};

// The jobs manifests name, which no policy may touch.
struct PolicyExclusions {
  std::set<std::string> v1_jobs;   // "<project>/<job id>": any version of the job is named
  std::set<std::string> v2_ids;    // "<project>/<uuid>"
  std::set<std::string> v2_names;  // "<project>/<name>"
  bool Excludes(const PolicyCandidate& job) const;
};

// A policy as a pass applies it: the manifest with --project-id filled in.
struct ResolvedPolicy {
  TrainingJobPolicy policy;
  std::string project_id;
};

enum class PolicyVerdict {
  kUnderLimit,       // running, below the limit: due at due_in
  kOverLimit,        // running, at or over the limit: stop now (unless held)
  kDurationUnknown,  // the API's run duration is unusable: never stopped, reported
  kNotStoppable,     // not running (queued, already stopping): nothing to do
};
std::string_view PolicyVerdictName(PolicyVerdict verdict);

struct PolicyMatch {
  PolicyCandidate job;
  std::size_t policy = 0;  // index into the evaluated policies of the policy that decides
  PolicyVerdict verdict = PolicyVerdict::kNotStoppable;
  // kUnderLimit: how long until the limit is reached from the pass's observation.
  std::optional<std::chrono::milliseconds> due_in;
  // Whether the stop goes out: kOverLimit, the deciding policy not paused, no dry run, and
  // the guard not tripped.
  bool stop = false;
  std::string message;  // one human sentence for /status and plan
};

struct PolicyReport {
  std::string reason;          // "", "Paused", "DryRun", kPolicyLimitExceeded
  std::size_t matched = 0;     // jobs this policy decides (or, paused, would decide)
  std::size_t over_limit = 0;  // of them, over the limit now
  std::optional<std::chrono::milliseconds> next_due_in;  // the soonest kUnderLimit match
};

struct PolicyEvaluation {
  // Every (job, deciding policy) pair: active policies' matches, then each paused policy's
  // own matches. Sorted by policy index, then job key.
  std::vector<PolicyMatch> matches;
  std::vector<PolicyReport> policies;  // parallel to the evaluated policies
  std::size_t stops_wanted = 0;        // over-limit jobs of active policies
  bool limit_exceeded = false;         // stops_wanted > max_stops: nothing is stopped
  // The soonest due_in of an active policy's match: when the next pass should look.
  std::optional<std::chrono::milliseconds> next_due_in;
};

struct PolicyRuleOptions {
  std::size_t max_stops = 20;  // --policy-max-stops
  bool dry_run = false;        // --dry-run
};

PolicyEvaluation EvaluatePolicies(const std::vector<ResolvedPolicy>& policies,
                                  const std::vector<PolicyCandidate>& jobs,
                                  const PolicyExclusions& exclusions,
                                  const PolicyRuleOptions& options);

// The verdict for one job under one limit, as spec.maxRuntime decides it (the same rows).
struct PolicyJobVerdict {
  PolicyVerdict verdict = PolicyVerdict::kNotStoppable;
  std::optional<std::chrono::milliseconds> due_in;
  std::string message;
};
PolicyJobVerdict DecidePolicyJob(const PolicyCandidate& job, std::chrono::milliseconds limit);

}  // namespace mactl
