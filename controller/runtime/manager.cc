#include "controller/runtime/manager.h"

#include <map>

#include "controller/base/log.h"

namespace mactl {

Manager::Manager(ManagerOptions options, SnapshotStore& desired, WorkQueue& queue,
                 Reconciler& reconciler, Observer& observer, ControllerMetrics* metrics)
    : options_(options),
      desired_(desired),
      queue_(queue),
      reconciler_(reconciler),
      observer_(observer),
      metrics_(metrics) {}

Manager::~Manager() {
  queue_.ShutDown();
  Join();
}

void Manager::ApplySnapshot(DesiredSnapshot next) {
  auto fresh = std::make_shared<const DesiredSnapshot>(std::move(next));
  SnapshotDiff diff;
  bool initial = false;
  {
    std::lock_guard lock(mu_);
    const std::shared_ptr<const DesiredSnapshot> before = desired_.Exchange(fresh);
    diff = DiffSnapshots(*before, *fresh);
    initial = !loaded_;
    loaded_ = true;
  }
  std::map<std::string, std::size_t> per_project;
  for (const auto& [key, managed] : fresh->versions) ++per_project[managed.ref.project_id];
  observer_.SetManagedCounts(per_project);

  // New and edited versions need a fresh observation. A bulk change (the initial load,
  // a new file of many manifests) shares list refreshes; a single edit asks exactly.
  std::vector<std::string> touched = diff.added;
  touched.insert(touched.end(), diff.changed.begin(), diff.changed.end());
  std::map<std::string, std::size_t> touched_per_project;
  for (const std::string& key : touched) {
    ++touched_per_project[fresh->Find(key)->ref.project_id];
  }
  std::vector<std::string> batch, exact;
  for (const std::string& key : touched) {
    const std::string& project = fresh->Find(key)->ref.project_id;
    (initial || observer_.WorthListing(project, touched_per_project[project]) ? batch : exact)
        .push_back(key);
  }
  reconciler_.MarkDesiredChanged(batch, true);
  reconciler_.MarkDesiredChanged(exact, false);
  reconciler_.Forget(diff.removed);
  for (const std::string& key : diff.removed) queue_.Forget(key);
  for (const std::string& key : touched) queue_.Add(key, Priority::kHigh);

  if (!initial && (!touched.empty() || !diff.removed.empty())) {
    log::Info("desired state changed", {{"added", std::to_string(diff.added.size())},
                                        {"changed", std::to_string(diff.changed.size())},
                                        {"removed", std::to_string(diff.removed.size())}});
  }
  if (metrics_ != nullptr) {
    metrics_->SetManifestErrors(fresh->errors.size());
    metrics_->SetManifestObjects(fresh->objects.size());
  }
  UpdateGauges();
}

void Manager::Start() {
  std::lock_guard lock(workers_mu_);
  for (int i = 0; i < options_.workers; ++i) {
    ++running_workers_;
    workers_.emplace_back([this](std::stop_token stop) { Worker(stop); });
  }
}

void Manager::Worker(std::stop_token stop) {
  while (std::optional<std::string> key = queue_.Get(stop)) {
    const ReconcileResult result = reconciler_.Reconcile(*key);
    queue_.Done(*key);
    if (result.forget) {
      // Re-check under the snapshot lock: an edit may have brought the key back.
      std::lock_guard lock(mu_);
      if (desired_.Current()->Find(*key) == nullptr) queue_.Forget(*key);
    } else {
      queue_.AddAfter(*key, result.requeue_after, result.priority);
    }
    // Gauges are refreshed on scrape (UpdateGauges walks every object; doing it after
    // each reconcile made a resync quadratic in the number of objects).
  }
  std::lock_guard lock(workers_mu_);
  --running_workers_;
  workers_done_.notify_all();
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
  return reconciler_.Unobserved(*snapshot) == 0;
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
  metrics_->SetObjectPhases(reconciler_.PhaseCounts(*desired_.Current()));
}

}  // namespace mactl
