#include "controller/runtime/manager.h"

#include <map>

#include "controller/base/log.h"
#include "controller/cloud/job_status.h"

namespace mactl {

namespace {

// The reconcile_total label of a result; none for a key that was dropped or whose
// observation was deferred (nothing was reconciled).
std::optional<std::string_view> ResultLabel(const ReconcileResult& result) {
  switch (result.kind) {
    case ReconcileResult::Kind::kDone:
      return std::nullopt;
    case ReconcileResult::Kind::kRetryableError:
    case ReconcileResult::Kind::kTerminalError:
      return reconcile_result::kError;
    case ReconcileResult::Kind::kRequeueAfter:
      break;
  }
  switch (result.why) {
    case Requeue::kResync:
      return reconcile_result::kSuccess;
    case Requeue::kPoll:
    case Requeue::kNow:
      return reconcile_result::kRequeueAfter;
    case Requeue::kDeferred:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Manager::Manager(ManagerOptions options, SnapshotStore& desired, WorkQueue& queue,
                 Reconciler& reconciler, Observer& observer, const Clock& clock,
                 ControllerMetrics* metrics)
    : options_(options),
      desired_(desired),
      queue_(queue),
      reconciler_(reconciler),
      observer_(observer),
      clock_(clock),
      metrics_(metrics) {}

Manager::~Manager() {
  queue_.ShutDown();
  Join();
}

void Manager::ApplySnapshot(DesiredSnapshot next) {
  auto fresh = std::make_shared<const DesiredSnapshot>(std::move(next));
  SnapshotDiff diff;
  bool initial = false;
  std::shared_ptr<const DesiredSnapshot> before;
  {
    std::lock_guard lock(mu_);
    before = desired_.Exchange(fresh);
    diff = DiffSnapshots(*before, *fresh);
    initial = !loaded_;
    loaded_ = true;
  }
  if (UpdateManagedCounts(initial, diff, *before, *fresh)) {
    observer_.SetManagedCounts(managed_per_project_);
  }
  before.reset();  // frees the chunks no longer shared, outside the lock

  // New and edited versions need a fresh observation. A bulk change (the initial load,
  // a new file of many manifests) shares list refreshes; a single edit asks exactly.
  // The key lists are moved, not copied: at the initial load each copy is a heap string per
  // object, alive while the reconciler's states are created (docs/benchmarks.md).
  const std::size_t added = diff.added.size();
  std::vector<std::string> touched = std::move(diff.added);
  touched.insert(touched.end(), std::make_move_iterator(diff.changed.begin()),
                 std::make_move_iterator(diff.changed.end()));
  diff.changed = {};
  // A TrainingJob's project is the prefix of its key; a bulk change shares one search.
  const auto project_of = [&](const std::string& key) -> const std::string& {
    if (const ManagedTrainingJob* job = fresh->FindTrainingJob(key)) return job->ref.project_id;
    return fresh->Find(key)->ref.project_id;
  };
  std::map<std::string, std::size_t> touched_per_project;
  for (const std::string& key : touched) ++touched_per_project[project_of(key)];
  std::vector<bool> bulk(touched.size(), initial);
  for (std::size_t i = 0; i < touched.size() && !initial; ++i) {
    const std::string& project = project_of(touched[i]);
    bulk[i] = IsTrainingJobKey(touched[i])
                  ? touched_per_project[project] > 1
                  : observer_.WorthListing(project, touched_per_project[project]);
  }
  MarkDesiredChanged(touched, bulk);
  reconciler_.Forget(diff.removed);
  if (jobs_ != nullptr) jobs_->Forget(diff.removed);
  for (const std::string& key : diff.removed) {
    queue_.Remove(key);
    queue_.Forget(key);
  }
  for (const std::string& key : touched) queue_.Add(key, Priority::kHigh);

  if (!initial && (!touched.empty() || !diff.removed.empty())) {
    log::Info("desired state changed", {{"added", std::to_string(added)},
                                        {"changed", std::to_string(touched.size() - added)},
                                        {"removed", std::to_string(diff.removed.size())}});
  }
  if (metrics_ != nullptr) {
    metrics_->SetManifestErrors(fresh->errors.size());
    metrics_->SetManifestObjects(fresh->objects.size() + fresh->job_objects.size());
  }
  // The phase gauges are refreshed on scrape (UpdateGauges): refreshing them here walked every
  // object under the reconciler's lock on each edit, which the edit's own reconcile then
  // waited for (docs/benchmarks.md, edit-to-stop).
}

bool Manager::UpdateManagedCounts(bool initial, const SnapshotDiff& diff,
                                  const DesiredSnapshot& before, const DesiredSnapshot& after) {
  if (initial) {
    managed_per_project_.clear();
    for (const auto& [key, managed] : after.versions)
      ++managed_per_project_[managed.ref.project_id];
    return true;
  }
  // Only a version added or removed changes the counts: counted from the diff, not by a walk
  // of every version (docs/benchmarks.md, "Edits that touch only their objects").
  bool changed = false;
  for (const std::string& key : diff.added) {
    if (const ManagedVersion* managed = after.Find(key)) {
      ++managed_per_project_[managed->ref.project_id];
      changed = true;
    }
  }
  for (const std::string& key : diff.removed) {
    const ManagedVersion* managed = before.Find(key);
    if (managed == nullptr) continue;
    const auto it = managed_per_project_.find(managed->ref.project_id);
    if (it != managed_per_project_.end() && --it->second == 0) managed_per_project_.erase(it);
    changed = true;
  }
  return changed;
}

void Manager::MarkDesiredChanged(const std::vector<std::string>& keys,
                                 const std::vector<bool>& allow_batch) {
  // Up to four parts (batch or not, version or job), built one after the other; when one
  // part is every key (the initial load of one kind) `keys` itself is passed, no copy.
  for (const bool batch : {true, false}) {
    for (const bool job : {false, true}) {
      const auto in_part = [&](std::size_t i) {
        return allow_batch[i] == batch && IsTrainingJobKey(keys[i]) == job;
      };
      std::size_t count = 0;
      for (std::size_t i = 0; i < keys.size(); ++i) count += in_part(i) ? 1u : 0u;
      if (count == 0) continue;
      std::vector<std::string> part;
      if (count < keys.size()) {
        part.reserve(count);
        for (std::size_t i = 0; i < keys.size(); ++i) {
          if (in_part(i)) part.push_back(keys[i]);
        }
      }
      const std::vector<std::string>& these = count == keys.size() ? keys : part;
      if (!job) {
        reconciler_.MarkDesiredChanged(these, batch);
      } else if (jobs_ != nullptr) {
        jobs_->MarkDesiredChanged(these, batch);
      }
    }
  }
}

ReconcileResult Manager::ReconcileTrainingJob(const std::string& key) {
  if (jobs_ == nullptr) return ReconcileResult::Done();
  TrainingJobOutcome out = jobs_->Reconcile(key);
  switch (out.kind) {
    case TrainingJobOutcome::Kind::kDone:
      return ReconcileResult::Done();
    case TrainingJobOutcome::Kind::kRetryableError:
      return ReconcileResult::RetryableError(std::move(out.error), std::move(out.during));
    case TrainingJobOutcome::Kind::kTerminalError:
      return ReconcileResult::TerminalError(out.after, std::move(*out.error),
                                            std::move(out.during));
    case TrainingJobOutcome::Kind::kRequeueAfter:
      break;
  }
  if (out.deferred) return ReconcileResult::RequeueAfter(out.after, Requeue::kDeferred);
  switch (out.next) {
    case NextCheck::kPoll:
      return ReconcileResult::RequeueAfter(out.after, Requeue::kPoll);
    case NextCheck::kNow:
      return ReconcileResult::RequeueAfter(out.after, Requeue::kNow);
    case NextCheck::kResync:
    case NextCheck::kBackoff:
      break;
  }
  return ReconcileResult::RequeueAfter(out.after, Requeue::kResync);
}

void Manager::Start() {
  std::lock_guard lock(workers_mu_);
  for (int i = 0; i < options_.workers; ++i) {
    ++running_workers_;
    workers_.emplace_back([this](std::stop_token stop) { Worker(stop); });
  }
}

void Manager::Worker(std::stop_token stop) {
  while (std::optional<WorkQueue::Item> item = queue_.GetWithPriority(stop)) {
    const SteadyTime started = clock_.Now();
    const ReconcileResult result = IsTrainingJobKey(item->key) ? ReconcileTrainingJob(item->key)
                                                               : reconciler_.Reconcile(item->key);
    const Duration took = clock_.Now() - started;
    // Requeue before Done: the key is still this worker's, so a retry's schedule reaches
    // the reconciler before anyone reconciles the key again.
    Reschedule(*item, result);
    queue_.Done(item->key);
    if (metrics_ != nullptr) {
      if (const std::optional<std::string_view> label = ResultLabel(result)) {
        metrics_->ObserveReconcile(*label, took);
      }
    }
    // Gauges are refreshed on scrape (UpdateGauges walks every object; doing it after
    // each reconcile made a resync quadratic in the number of objects).
  }
  std::lock_guard lock(workers_mu_);
  --running_workers_;
  workers_done_.notify_all();
}

void Manager::Reschedule(const WorkQueue::Item& item, const ReconcileResult& result) {
  const std::string& key = item.key;
  switch (result.kind) {
    case ReconcileResult::Kind::kDone: {
      queue_.Forget(key);
      // Re-check under the snapshot lock: an edit may have brought the key back.
      std::lock_guard lock(mu_);
      const std::shared_ptr<const DesiredSnapshot> now = desired_.Current();
      if (now->Find(key) == nullptr && now->FindTrainingJob(key) == nullptr) queue_.Remove(key);
      return;
    }
    case ReconcileResult::Kind::kRetryableError: {
      const Duration delay = queue_.AddRateLimited(key, result.RetryAfter(), Priority::kNormal);
      if (IsTrainingJobKey(key)) {
        if (jobs_ != nullptr) jobs_->RetryScheduled(key, delay);
      } else {
        reconciler_.RetryScheduled(key, result, delay);
      }
      return;
    }
    case ReconcileResult::Kind::kTerminalError:
      queue_.Forget(key);
      queue_.AddAfter(key, result.requeue_after, Priority::kLow);
      return;
    case ReconcileResult::Kind::kRequeueAfter:
      break;
  }
  // Edits go ahead of polls and retries, which go ahead of resyncs. A deferred look keeps
  // the priority it was due at, so a deferred edit never drops behind resyncs.
  switch (result.why) {
    case Requeue::kResync:
      queue_.Forget(key);
      queue_.AddAfter(key, result.requeue_after, Priority::kLow);
      return;
    case Requeue::kPoll:
      queue_.Forget(key);
      queue_.AddAfter(key, result.requeue_after, Priority::kNormal);
      return;
    case Requeue::kNow:
      queue_.AddAfter(key, result.requeue_after, Priority::kNormal);
      return;
    case Requeue::kDeferred:
      queue_.AddAfter(key, result.requeue_after, item.priority);
      return;
  }
}

bool Manager::Drain(Duration grace) {
  queue_.ShutDown();
  std::unique_lock lock(workers_mu_);
  return workers_done_.wait_for(lock, grace, [&] { return running_workers_ == 0; });
}

void Manager::Join() {
  for (std::jthread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

bool Manager::Ready() const {
  std::shared_ptr<const DesiredSnapshot> snapshot;
  {
    std::lock_guard lock(mu_);
    if (!loaded_) return false;
    snapshot = desired_.Current();
  }
  if (reconciler_.Unobserved(*snapshot) != 0) return false;
  if (jobs_ == nullptr) return true;
  for (const auto& [key, managed] : snapshot->training_jobs) {
    const std::optional<TrainingJobState> state = jobs_->State(key);
    if (!state || !state->attempted) return false;
  }
  return true;
}

HealthReport Manager::Health() const {
  const Duration longest = queue_.LongestProcessing();
  if (longest > options_.stuck_after) {
    return HealthReport{
        false,
        "a reconcile has been running for " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(longest).count()) +
            "s"};
  }
  return HealthReport{true, "ok"};
}

void Manager::UpdateGauges() const {
  if (metrics_ == nullptr) return;
  metrics_->SetLongestRunningProcessor(queue_.LongestProcessing());
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_.Current();
  std::map<Phase, std::size_t> phases = reconciler_.PhaseCounts(*snapshot);
  for (const auto& [key, managed] : snapshot->training_jobs) {
    std::optional<TrainingJobState> state = jobs_ != nullptr ? jobs_->State(key) : std::nullopt;
    const Phase phase = managed.conflict ? Phase::kConflict
                        : state          ? state->phase
                                         : Phase::kPending;
    phases[phase] += managed.object_names.size();
  }
  metrics_->SetObjectPhases(phases);
  metrics_->SetRuntimeLimitStops("object", reconciler_.RuntimeLimitStops() +
                                               (jobs_ != nullptr ? jobs_->RuntimeLimitStops() : 0));
}

}  // namespace mactl
