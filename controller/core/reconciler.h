#pragma once

// Reconciles one managed version: observe, decide (controller/decision.h), act at most
// once, record. A thin shell around the pure decision; all I/O goes through the
// injected CloudClient and Observer. The work queue guarantees that one key is never
// reconciled by two workers at once; /status reads concurrently under mu_.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "controller/runtime/backoff.h"
#include "controller/base/clock.h"
#include "controller/cloud/cloud_client.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/snapshot_store.h"
#include "controller/runtime/metrics.h"
#include "controller/core/observer.h"
#include "controller/base/random.h"
#include "controller/core/version_state.h"
#include "controller/runtime/work_queue.h"

namespace mactl {

struct ReconcilerOptions {
  Duration resync = std::chrono::minutes(5);
  Duration poll = std::chrono::seconds(10);
  double jitter = 0.1;
  bool dry_run = false;
};

// When and how urgently the key should be looked at again.
struct ReconcileResult {
  bool forget = false;  // no manifest names the version any more
  Duration requeue_after{0};
  Priority priority = Priority::kNormal;
  ReconcileOutcome outcome = ReconcileOutcome::kSuccess;
};

class Reconciler {
 public:
  // All references must outlive the reconciler. metrics may be null (plan, tests).
  Reconciler(ReconcilerOptions options, const SnapshotStore& desired, CloudClient& client,
             Observer& observer, ItemBackoff& backoff, RandomSource& random, const Clock& clock,
             ControllerMetrics* metrics);

  ReconcileResult Reconcile(const std::string& key);

  // The desired state of these keys is new or changed: their next observation must be
  // fresh. `allow_batch` lets a bulk change share one list refresh.
  void MarkDesiredChanged(const std::vector<std::string>& keys, bool allow_batch);
  // Drops everything known about versions no manifest names any more.
  void Forget(const std::vector<std::string>& keys);

  // Copies for /status, readiness and the objects gauge.
  std::unordered_map<std::string, VersionState> States() const;
  std::optional<VersionState> State(const std::string& key) const;
  // Number of keys of the snapshot not observed yet.
  std::size_t Unobserved(const DesiredSnapshot& snapshot) const;
  // Managed objects (manifests) per phase, for the objects gauge.
  std::map<Phase, std::size_t> PhaseCounts(const DesiredSnapshot& snapshot) const;

 private:
  ReconcileResult Schedule(const std::string& key, VersionState& state, NextCheck next,
                           const std::optional<Error>& error);
  ReconcileResult RecordError(const std::string& key, VersionState& state, const Error& error,
                              std::string_view during);
  void Publish(const std::string& key, const VersionState& state);

  const ReconcilerOptions options_;
  const SnapshotStore& desired_;
  CloudClient& client_;
  Observer& observer_;
  ItemBackoff& backoff_;
  RandomSource& random_;
  const Clock& clock_;
  ControllerMetrics* const metrics_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, VersionState> states_;  // guarded by mu_
};

}  // namespace mactl
