#pragma once

// The running controller: installs each new desired snapshot in the SnapshotStore, feeds
// changed keys to the work queue, runs the worker pool and answers readiness and health.
// /status is rendered by status_json.h.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "controller/base/clock.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/observer.h"
#include "controller/core/reconciler.h"
#include "controller/core/snapshot_store.h"
#include "controller/core/training_job_reconciler.h"
#include "controller/runtime/manifest_source.h"
#include "controller/runtime/metrics.h"
#include "controller/runtime/work_queue.h"

namespace mactl {

struct ManagerOptions {
  int workers = 4;
  // /healthz fails when one reconcile has been in progress longer than this.
  Duration stuck_after = std::chrono::minutes(5);
};

struct HealthReport {
  bool healthy = true;
  std::string detail;  // why not, for the /healthz body
};

class Manager final : public DesiredStateSink {
 public:
  // All references must outlive the manager; `desired` is the store the reconciler reads.
  // metrics may be null.
  Manager(ManagerOptions options, SnapshotStore& desired, WorkQueue& queue, Reconciler& reconciler,
          Observer& observer, const Clock& clock, ControllerMetrics* metrics);
  ~Manager() override;
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Reconciles the snapshot's TrainingJob keys with `jobs` (which must outlive the manager);
  // without it they are not reconciled. Call before Start.
  void ReconcileTrainingJobsWith(TrainingJobReconciler& jobs) { jobs_ = &jobs; }

  // Swaps in a new desired state and enqueues what changed: new and edited versions go
  // ahead of periodic re-checks; versions no manifest names any more are dropped.
  void ApplySnapshot(DesiredSnapshot snapshot) override;

  void Start();
  // Stops taking work; in-flight reconciles may finish until `grace` has passed.
  // Returns false if workers were still busy at the deadline (the caller then aborts
  // in-flight requests and calls Join).
  bool Drain(Duration grace);
  void Join();

  // Manifests loaded and every version observed once (successfully or not).
  bool Ready() const;
  HealthReport Health() const;
  // Refreshes gauges that are derived from state (objects by phase, longest processor).
  void UpdateGauges() const;

 private:
  void Worker(std::stop_token stop);
  // Puts the key back as the reconcile's result asks: the queue's backoff for a retryable
  // error, a delayed add otherwise; a success forgets the key's failures.
  void Reschedule(const WorkQueue::Item& item, const ReconcileResult& result);
  // A TrainingJob key's reconcile, in the queue's terms.
  ReconcileResult ReconcileTrainingJob(const std::string& key);
  // The version keys go to the version reconciler, the TrainingJob keys to jobs_.
  // Brings managed_per_project_ up to `after`; whether it changed.
  bool UpdateManagedCounts(bool initial, const SnapshotDiff& diff, const DesiredSnapshot& before,
                           const DesiredSnapshot& after);
  void MarkDesiredChanged(const std::vector<std::string>& keys,
                          const std::vector<bool>& allow_batch);

  const ManagerOptions options_;
  SnapshotStore& desired_;
  WorkQueue& queue_;
  Reconciler& reconciler_;
  TrainingJobReconciler* jobs_ = nullptr;  // set by ReconcileTrainingJobsWith
  Observer& observer_;
  const Clock& clock_;
  ControllerMetrics* const metrics_;

  // Orders a snapshot swap against a worker's re-check before it forgets a key.
  mutable std::mutex mu_;
  bool loaded_ = false;  // guarded by mu_
  // Managed versions per project, as the observer's due schedule counts them; kept by
  // ApplySnapshot (one thread at a time).
  std::map<std::string, std::size_t> managed_per_project_;

  std::mutex workers_mu_;
  std::condition_variable workers_done_;
  int running_workers_ = 0;  // guarded by workers_mu_
  std::vector<std::jthread> workers_;
};

}  // namespace mactl
