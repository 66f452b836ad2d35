#pragma once

// Reconciles one managed version: observe, decide (controller/core/decision.h), act at most
// once, record. A thin shell around the pure decision; all I/O goes through the
// injected CloudClient and Observer. The work queue guarantees that one key is never
// reconciled by two workers at once; /status reads concurrently under mu_.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controller/base/clock.h"
#include "controller/base/random.h"
#include "controller/cloud/cloud_client.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/observer.h"
#include "controller/core/reconcile_result.h"
#include "controller/core/shared_text.h"
#include "controller/core/snapshot_store.h"
#include "controller/core/version_state.h"

namespace mactl {

struct ReconcilerOptions {
  Duration resync = std::chrono::minutes(5);
  // The work queue's rounding of resyncs (ResyncSlot, controller/runtime/work_queue.h): the
  // resync delay is drawn one slot short so that, rounded up, it stays within the jitter.
  Duration resync_slot = Duration::zero();
  Duration poll = std::chrono::seconds(10);
  double jitter = 0.1;
  bool dry_run = false;
};

class Reconciler {
 public:
  // How long an accepted stop is remembered for its version once no manifest names it: a
  // manifest deleted and re-added (or read half-written) must not re-arm a stop the API
  // accepted, but the memory must not grow without bound either.
  static constexpr Duration kStopMemory = std::chrono::hours(1);
  // The shortest wait for a maxRuntime due time: an answer taken a moment before the limit
  // is looked at again soon, but not in a busy loop.
  static constexpr Duration kMinDueDelay = std::chrono::milliseconds(100);

  // All references must outlive the reconciler.
  Reconciler(ReconcilerOptions options, const SnapshotStore& desired, CloudClient& client,
             Observer& observer, RandomSource& random, const Clock& clock);

  // Stops accepted for spec.maxRuntime since start (modelarts_controller_runtime_limit_stops_total
  // {source="object"}, read at scrape time).
  std::uint64_t RuntimeLimitStops() const { return runtime_limit_stops_.load(); }

  // Observes, decides, acts at most once, records. The caller requeues the key as the
  // result says (see reconcile_result.h).
  ReconcileResult Reconcile(const std::string& key);
  // The queue scheduled the retry of a kRetryableError result `delay` from now: the next
  // observation must be taken no earlier, and /status shows when it comes.
  void RetryScheduled(const std::string& key, const ReconcileResult& failed, Duration delay);

  // The desired state of these keys is new or changed: their next observation must be
  // fresh. `allow_batch` lets a bulk change share one list refresh.
  void MarkDesiredChanged(const std::vector<std::string>& keys, bool allow_batch);
  // Drops everything known about versions no manifest names any more (their backoff is
  // the queue's to forget), except an accepted stop, remembered for kStopMemory.
  void Forget(const std::vector<std::string>& keys);

  // Copies for /status, readiness and the objects gauge.
  std::unordered_map<std::string, VersionState> States() const;
  std::optional<VersionState> State(const std::string& key) const;
  // Number of keys of the snapshot not observed yet.
  std::size_t Unobserved(const DesiredSnapshot& snapshot) const;
  // Managed objects (manifests) per phase, for the objects gauge.
  std::map<Phase, std::size_t> PhaseCounts(const DesiredSnapshot& snapshot) const;

 private:
  VersionState Load(const std::string& key);
  // The state entry of key, created when missing with the remembered accepted stop, if any.
  VersionState& EntryLocked(const std::string& key);
  // Remembers the accepted stop of a state being forgotten, until kStopMemory after the stop:
  // only then, since a live state holds its stop itself (one map entry per object less).
  void RememberStopLocked(const std::string& key, const VersionState& state);
  void RecordObservation(VersionState& state, const Observation& observed);
  ReconcileResult DecideAndAct(const std::string& key, const ManagedVersion& managed,
                               VersionState& state, int status);
  ReconcileResult Stop(const std::string& key, const ManagedVersion& managed, VersionState& state,
                       int status, std::string_view reason);
  // Records a decision (or a stop's outcome) as phase and conditions, then schedules.
  ReconcileResult Apply(VersionState& state, const Decision& decision, const Error* error);
  ReconcileResult Schedule(VersionState& state, NextCheck next);
  // Brings `result` forward to the moment the version reaches its maxRuntime, exactly.
  void ScheduleDue(VersionState& state, Duration due_in, ReconcileResult& result) const;
  ReconcileResult RecordError(const std::string& key, const ManagedVersion& managed,
                              VersionState& state, const Error& error, std::string_view during);
  void Publish(const std::string& key, const std::string& project_id, VersionState&& state);

  const ReconcilerOptions options_;
  const SnapshotStore& desired_;
  CloudClient& client_;
  Observer& observer_;
  RandomSource& random_;
  const Clock& clock_;

  // The condition messages of every state: a few dozen texts at any size (shared_text.h).
  TextPool texts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, VersionState> states_;  // guarded by mu_
  struct AcceptedStop {
    SteadyTime at;
    WallTime wall;
  };
  // Accepted stops of forgotten versions by key, kept for kStopMemory after the stop.
  std::unordered_map<std::string, AcceptedStop> stops_;  // guarded by mu_
  SteadyTime stops_pruned_{};                            // guarded by mu_
  std::atomic<std::uint64_t> runtime_limit_stops_{0};
};

}  // namespace mactl
