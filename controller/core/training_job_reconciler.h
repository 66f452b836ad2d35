#pragma once

// Reconciles one TrainingJob object (a v2 job by id or by exact name): observe
// (TrainingJobObserver, batched), decide (controller/core/training_job_decision.h), terminate
// at most once, record. The v2 twin of Reconciler, a thin shell around the pure decision;
// all I/O goes through the injected TrainingJobClient and observer. The work queue guarantees
// that one key is never reconciled by two workers at once; /status reads concurrently under
// mu_.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controller/base/clock.h"
#include "controller/base/random.h"
#include "controller/cloud/training_job_client.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/training_job_decision.h"
#include "controller/core/training_job_observer.h"
#include "controller/core/version_state.h"

namespace mactl {

// What the controller knows about one TrainingJob object. The manifest side
// (ManagedTrainingJob) is not copied here: the reconciler reads it from the current snapshot
// (docs/benchmarks.md, "Per-object state cuts").
struct TrainingJobState {
  // Observation.
  bool attempted = false;              // observed once, successfully or not (for /readyz)
  std::optional<TrainingJobInfo> job;  // the job decided about, as last seen
  std::string resolved_id;             // the job a name resolved to (empty: none or several)
  bool ended = false;                  // the job was last seen in a terminal phase
  WallTime observed_at{};
  SteadyTime observed_steady{};
  std::string_view observed_source;  // "search", "detail", "name-search"; a literal
  // When the job reaches its spec.maxRuntime, while it runs under it (for /status).
  std::optional<WallTime> max_runtime_due;

  // Outcome of the last reconcile.
  Phase phase = Phase::kPending;
  Condition ready{"Ready", false, "Pending", NotObservedYet(), {}};
  Condition synced{"Synced", false, "Pending", NotReconciledYet(), {}};
  std::size_t attempts = 0;
  // Empty for nearly every object, so held by pointer (an inline Error is 96 bytes).
  std::shared_ptr<const Error> last_error;
  std::string_view last_action;  // "terminate" once one was sent; a literal
  std::optional<WallTime> next_attempt;
  std::string_view next_reason;  // "resync", "poll", "backoff", "maxRuntime"; a literal

  // The controller's memory of its own actions; after a restart the job's phase
  // (Terminating) carries the same information.
  std::string terminate_accepted_for;
  std::optional<WallTime> terminate_accepted_at;
  std::string terminate_reason;  // the reason of the accepted terminate, e.g. MaxRuntimeExceeded
  std::optional<TrainingJobDecisionContext::Refusal> terminate_refused;

  // What the next observation must satisfy.
  SteadyTime observe_not_before{};
  bool observe_allow_batch = true;
  // When it is due, and how far ahead other objects' due times may be to share its search
  // (DueQuery::window): --resync for a resync, --poll/2 for a poll, else none.
  SteadyTime observe_due{};
  Duration observe_batch_window{0};
};

// When and how the key should be looked at again.
struct TrainingJobOutcome {
  enum class Kind {
    kDone,            // no manifest names the key any more: forget it
    kRequeueAfter,    // look again after `after` (resync or poll pace, or a deferral)
    kRetryableError,  // failed; retry after the queue's per-object backoff
    kTerminalError,   // failed until the user changes something; look again after `after`
  };
  Kind kind = Kind::kDone;
  Duration after{0};
  NextCheck next = NextCheck::kResync;
  bool deferred = false;  // another caller's search will answer: as urgent as before
  std::optional<Error> error;
  std::string during;  // "observe" or "terminate"
};

struct TrainingJobReconcilerOptions {
  Duration resync = std::chrono::minutes(5);
  // The work queue's rounding of resyncs (ResyncSlot, controller/runtime/work_queue.h): the
  // resync delay is drawn one slot short so that, rounded up, it stays within the jitter.
  Duration resync_slot = Duration::zero();
  Duration poll = std::chrono::seconds(10);
  double jitter = 0.1;
  bool dry_run = false;
};

class TrainingJobReconciler {
 public:
  // The shortest wait for a maxRuntime due time (as Reconciler::kMinDueDelay).
  static constexpr Duration kMinDueDelay = std::chrono::milliseconds(100);
  using SnapshotSource = std::function<std::shared_ptr<const DesiredSnapshot>()>;

  // All references must outlive the reconciler.
  TrainingJobReconciler(TrainingJobReconcilerOptions options, SnapshotSource desired,
                        TrainingJobClient& client, TrainingJobObserver& observer,
                        RandomSource& random, const Clock& clock);

  TrainingJobOutcome Reconcile(const std::string& key);
  // Terminates accepted for spec.maxRuntime since start (runtime_limit_stops_total).
  std::uint64_t RuntimeLimitStops() const { return runtime_limit_stops_.load(); }

  // The queue scheduled the retry of a failed reconcile `delay` from now: the next
  // observation must be taken no earlier.
  void RetryScheduled(const std::string& key, Duration delay);
  // The desired state of these keys is new or changed: their next observation must be fresh.
  void MarkDesiredChanged(const std::vector<std::string>& keys, bool allow_batch);
  void Forget(const std::vector<std::string>& keys);

  std::unordered_map<std::string, TrainingJobState> States() const;
  std::optional<TrainingJobState> State(const std::string& key) const;

 private:
  TrainingJobObserveRequest ObserveRequest(const ManagedTrainingJob& managed,
                                           const TrainingJobState& state) const;
  TrainingJobOutcome DecideAndAct(const std::string& key, const ManagedTrainingJob& managed,
                                  TrainingJobState& state, const TrainingJobObservation& observed);
  TrainingJobOutcome Terminate(const std::string& key, const ManagedTrainingJob& managed,
                               TrainingJobState& state, const TrainingJobInfo& job,
                               std::string_view reason);
  TrainingJobOutcome Apply(TrainingJobState& state, const TrainingJobDecision& decision,
                           const Error* error);
  TrainingJobOutcome Schedule(TrainingJobState& state, NextCheck next);
  // Brings `out` forward to the moment the job reaches its maxRuntime, exactly.
  void ScheduleDue(TrainingJobState& state, Duration due_in, TrainingJobOutcome& out) const;
  TrainingJobOutcome RecordError(const std::string& key, const ManagedTrainingJob& managed,
                                 TrainingJobState& state, const Error& error,
                                 std::string_view during);
  void Publish(const std::string& key, const std::string& project_id, TrainingJobState&& state);

  const TrainingJobReconcilerOptions options_;
  const SnapshotSource desired_;
  TrainingJobClient& client_;
  TrainingJobObserver& observer_;
  RandomSource& random_;
  const Clock& clock_;

  // The condition messages of every state: a few dozen texts at any size (shared_text.h).
  TextPool texts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TrainingJobState> states_;  // guarded by mu_
  std::atomic<std::uint64_t> runtime_limit_stops_{0};
};

}  // namespace mactl
