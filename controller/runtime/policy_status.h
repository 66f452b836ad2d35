#pragma once

// What the policy enforcer (controller/runtime/policy_enforcer.h) reports about one
// TrainingJobPolicy for /status and `get` (README, "Runtime limits"): its phase, counts, when it
// last looked and when it looks next, and each job it matched. Plain values, copied out under
// the enforcer's lock so that /status holds no lock while it writes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/training_job_policy.h"
#include "controller/base/clock.h"
#include "controller/core/policy_rule.h"

namespace mactl {

// The "phase" values of a policy in /status and of the policies{phase} gauge.
namespace policy_phase {
inline constexpr std::string_view kPending = "Pending";  // not evaluated yet
inline constexpr std::string_view kEnforcing = "Enforcing";
inline constexpr std::string_view kPaused = "Paused";  // the paused annotation: report only
inline constexpr std::string_view kDryRun = "DryRun";  // --dry-run: report only
inline constexpr std::string_view kLimitExceeded = "PolicyLimitExceeded";  // the guard tripped
inline constexpr std::string_view kError = "Error";  // the project's listing failed
inline constexpr std::string_view kAll[] = {kPending, kEnforcing,     kPaused,
                                            kDryRun,  kLimitExceeded, kError};
}  // namespace policy_phase

struct PolicyMatchStatus {
  PolicyCandidate job;
  PolicyVerdict verdict = PolicyVerdict::kNotStoppable;
  std::optional<WallTime> due_at;  // kUnderLimit: when the limit is reached
  bool stopped = false;            // this daemon's stop of the job was accepted
  std::string message;
};

struct PolicyStatus {
  TrainingJobPolicy policy;  // the manifest this status is about
  std::string project_id;    // resolved (--project-id filled in)
  std::string phase = std::string(policy_phase::kPending);
  std::string reason;
  std::string message;
  std::size_t matched = 0;
  std::size_t over_limit = 0;
  std::uint64_t stops = 0;  // accepted stops since the daemon started
  std::optional<WallTime> last_pass_at;
  std::optional<WallTime> next_due_at;
  std::vector<PolicyMatchStatus> matches;
};

// A policy no pass has evaluated yet: phase Pending.
inline PolicyStatus PendingPolicyStatus(const TrainingJobPolicy& policy,
                                        std::string_view default_project_id) {
  PolicyStatus status;
  status.policy = policy;
  status.project_id = policy.ProjectId(default_project_id);
  status.reason = "NotEvaluated";
  status.message = "the policy has not been evaluated yet";
  return status;
}

}  // namespace mactl
