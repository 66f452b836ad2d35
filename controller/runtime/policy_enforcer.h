#pragma once

// Enforces the TrainingJobPolicy manifests (README, "Runtime limits"; docs/architecture.md,
// "Policies"): one thread that runs full passes (every project's jobs listed in one batched
// pass, the pure rule of controller/core/policy_rule.h over all of them) at start, when the
// policies or the manifest-named jobs change and at every --resync, and in between looks
// exactly at the jobs whose limit falls due. Every stop goes through the gated clients the
// reconcilers use (leadership, token bucket) after one exact look at the job, and is sent once.
//
// RunDue() does whatever is due at clock.Now() and says when it next has something to do, so
// tests drive it with a FakeClock and no thread; Start() runs it on a thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/base/random.h"
#include "controller/cloud/cloud_client.h"
#include "controller/cloud/training_job_client.h"
#include "controller/core/policy_rule.h"
#include "controller/core/snapshot_store.h"
#include "controller/runtime/backoff.h"
#include "controller/runtime/metrics.h"
#include "controller/runtime/policy_status.h"

namespace mactl {

struct PolicyEnforcerOptions {
  std::size_t max_stops = 20;                 // --policy-max-stops
  bool dry_run = false;                       // --dry-run: evaluate and report, never stop
  Duration resync = std::chrono::minutes(5);  // --resync: a full pass per period
  double jitter = 0.1;                        // ±fraction of the resync
  // A failed listing (per project) or a stop that failed retryably (per job) is retried
  // after base × 2^(failures−1), capped at max (--backoff-base, --backoff-max).
  Duration backoff_base = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::minutes(5);
};

class PolicyEnforcer {
 public:
  // Every reference must outlive the enforcer. `versions` and `jobs` are the gated clients
  // (controller/core/gated_cloud_client.h); metrics may be null.
  PolicyEnforcer(PolicyEnforcerOptions options, const SnapshotStore& desired, CloudClient& versions,
                 TrainingJobClient& jobs, const Clock& clock, RandomSource& random,
                 ControllerMetrics* metrics);
  ~PolicyEnforcer();
  PolicyEnforcer(const PolicyEnforcer&) = delete;
  PolicyEnforcer& operator=(const PolicyEnforcer&) = delete;

  // Does what is due at clock.Now(): a full pass (the first call, a changed snapshot, the
  // resync), the retry of a project whose listing failed, the exact looks at jobs due now.
  // Returns when it next has something to do. Called from one thread at a time.
  SteadyTime RunDue();

  // A new desired snapshot was installed: the next RunDue runs a full pass if the policies or
  // the jobs manifests name changed. Wakes the thread. Cheap; any thread.
  void SnapshotChanged();

  // Runs RunDue on a thread, waiting on the clock until the time it returns or a
  // SnapshotChanged. RequestStop ends the waits and the current pass between calls; Join
  // waits for the thread (after the clients have been stopped, so no call hangs it).
  void Start();
  void RequestStop();
  void Join();

  // One status per policy of the last evaluated snapshot, in manifest order.
  std::vector<PolicyStatus> Statuses() const;
  std::uint64_t TotalStops() const;

 private:
  struct ProjectListing {
    bool versions = false;
    bool training_jobs = false;
    std::vector<PolicyCandidate> jobs;
    SteadyTime listed_at{};
    std::optional<Error> error;  // the last listing failed: no jobs, retried at retry_at
    SteadyTime retry_at{};
  };
  // A job to look at exactly at `at`: its limit falls due, or a stop is retried.
  struct DueCheck {
    SteadyTime at{};
    PolicyCandidate job;
    std::string policy;  // the deciding policy's name
    std::chrono::milliseconds limit{0};
  };
  // A job whose stop this daemon sent and ModelArts accepted.
  struct RememberedStop {
    PolicyCandidate job;
    std::string policy;
    std::chrono::milliseconds limit{0};
  };
  enum class LookOutcome { kStop, kRescheduled, kNothing };

  bool TakeSnapshotChanged();
  // Whether the snapshot's policies or exclusions differ from the ones last evaluated;
  // takes them when they do.
  bool AdoptSnapshot(const DesiredSnapshot& snapshot);
  void FullPass(bool only_failed);
  void ListProject(const std::string& project_id, ProjectListing& listing);
  void Evaluate();
  void ForgetSettledStops();
  void ActOnEvaluation();
  void RunDueChecks();
  // Looks at the job exactly and decides it under `limit`: over it → kStop (the looked-at job
  // in `job`), under it → a due check at the new time, a retryable failure → a retry.
  LookOutcome LookBeforeStop(PolicyCandidate& job, const std::string& policy,
                             std::chrono::milliseconds limit);
  void SendStop(const PolicyCandidate& job, const std::string& policy,
                std::chrono::milliseconds limit);
  void ScheduleRetry(const PolicyCandidate& job, const std::string& policy,
                     std::chrono::milliseconds limit);
  SteadyTime NextWake() const;
  void Publish();
  PolicyStatus StatusOf(std::size_t index) const;
  void FillEvaluated(std::size_t index, PolicyStatus& status) const;
  void FillMatches(std::size_t index, PolicyStatus& status) const;
  void LogPhaseChanges(const std::vector<PolicyStatus>& statuses);
  bool Stopping() const { return stopping_.load(); }

  const PolicyEnforcerOptions options_;
  const SnapshotStore& desired_;
  CloudClient& versions_;
  TrainingJobClient& jobs_;
  const Clock& clock_;
  RandomSource& random_;
  ControllerMetrics* const metrics_;

  // Owned by the thread that calls RunDue.
  bool evaluated_ = false;
  std::string default_project_id_;
  std::vector<ResolvedPolicy> policies_;
  PolicyExclusions exclusions_;
  std::map<std::string, ProjectListing> projects_;  // by project id
  SteadyTime next_pass_{};
  PolicyEvaluation evaluation_;
  std::set<std::string> held_;  // policies whose due group tripped the guard since the pass
  std::map<std::string, DueCheck> due_;               // by PolicyCandidate::Key()
  std::map<std::string, RememberedStop> remembered_;  // by PolicyCandidate::Key()
  std::map<std::string, std::uint64_t> stops_by_policy_;
  std::map<std::string, std::string> logged_phase_;  // by policy name
  ItemBackoff project_backoff_;
  ItemBackoff stop_backoff_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  bool snapshot_changed_ = false;        // guarded by mu_
  std::vector<PolicyStatus> published_;  // guarded by mu_
  std::uint64_t total_stops_ = 0;        // guarded by mu_
  std::jthread thread_;
};

}  // namespace mactl
