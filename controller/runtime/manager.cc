#include "controller/runtime/manager.h"

#include <map>
#include <set>

#include "controller/base/log.h"
#include "controller/cloud/job_status.h"

namespace mactl {
namespace {

using nlohmann::json;

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

std::string Iso8601(WallTime t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json ConditionJson(const Condition& c) {
  return json{{"type", c.type},
              {"status", c.status ? "True" : "False"},
              {"reason", c.reason},
              {"message", c.message},
              {"lastTransitionTime", c.last_transition_time == WallTime{}
                                         ? json(nullptr)
                                         : json(Iso8601(c.last_transition_time))}};
}

}  // namespace

Manager::Manager(ManagerOptions options, WorkQueue& queue, Reconciler& reconciler,
                 Observer& observer, const Clock& clock, ControllerMetrics* metrics)
    : options_(options),
      queue_(queue),
      reconciler_(reconciler),
      observer_(observer),
      clock_(clock),
      metrics_(metrics),
      snapshot_(std::make_shared<const DesiredSnapshot>()) {}

Manager::~Manager() {
  queue_.ShutDown();
  Join();
}

std::shared_ptr<const DesiredSnapshot> Manager::Snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void Manager::ApplySnapshot(DesiredSnapshot next) {
  auto fresh = std::make_shared<const DesiredSnapshot>(std::move(next));
  SnapshotDiff diff;
  bool initial = false;
  {
    std::lock_guard lock(mu_);
    diff = DiffSnapshots(*snapshot_, *fresh);
    initial = !loaded_;
    snapshot_ = fresh;
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
  for (const std::string& key : diff.removed) {
    queue_.Remove(key);
    queue_.Forget(key);
  }
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
  while (std::optional<WorkQueue::Item> item = queue_.GetWithPriority(stop)) {
    const SteadyTime started = clock_.Now();
    const ReconcileResult result = reconciler_.Reconcile(item->key);
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
      if (snapshot_->Find(key) == nullptr) queue_.Remove(key);
      return;
    }
    case ReconcileResult::Kind::kRetryableError: {
      const Duration delay = queue_.AddRateLimited(key, result.RetryAfter(), Priority::kNormal);
      reconciler_.RetryScheduled(key, result, delay);
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
    snapshot = snapshot_;
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
  metrics_->SetObjectPhases(reconciler_.PhaseCounts(*Snapshot()));
}

json Manager::StatusJson() const {
  const std::shared_ptr<const DesiredSnapshot> snapshot = Snapshot();
  const auto states = reconciler_.States();
  json objects = json::array();
  for (const TrainingJobVersion& object : snapshot->objects) {
    const VersionRef ref = object.Ref(snapshot->default_project_id);
    const std::string key = ref.Key();
    const ManagedVersion* managed = snapshot->Find(key);
    json o{{"name", object.name},
           {"file", object.source.file},
           {"line", object.source.line},
           {"projectId", ref.project_id},
           {"jobId", ref.job_id},
           {"versionId", ref.version_id},
           {"desiredState", std::string(DesiredStateName(object.desired_state))},
           {"paused", object.paused},
           {"conflict", managed != nullptr && managed->conflict}};
    const auto it = states.find(key);
    if (it == states.end()) {
      o["phase"] = "Pending";
      o["observed"] = nullptr;
      o["conditions"] = json::array();
      o["attempts"] = 0;
      o["lastError"] = nullptr;
      o["nextAttempt"] = nullptr;
    } else {
      const VersionState& s = it->second;
      o["phase"] = std::string(
          PhaseName(managed != nullptr && managed->conflict ? Phase::kConflict : s.phase));
      if (s.observed_status) {
        o["observed"] = json{{"statusCode", *s.observed_status},
                             {"statusName", std::string(JobStatusName(*s.observed_status))},
                             {"observedAt", Iso8601(s.observed_at)},
                             {"source", s.observed_source}};
      } else {
        o["observed"] = nullptr;
      }
      o["conditions"] = json::array({ConditionJson(s.ready), ConditionJson(s.synced)});
      o["attempts"] = s.attempts;
      o["stopRequestedAt"] = s.stop_accepted_at ? json(Iso8601(*s.stop_accepted_at)) : json();
      o["lastError"] = s.last_error ? json(s.last_error->ToString()) : json(nullptr);
      o["nextAttempt"] = s.next_attempt ? json(Iso8601(*s.next_attempt)) : json(nullptr);
      o["nextAttemptReason"] = s.next_reason;
    }
    objects.push_back(std::move(o));
  }
  json errors = json::array();
  for (const ManifestError& e : snapshot->errors) {
    errors.push_back(json{{"file", e.position.file},
                          {"line", e.position.line},
                          {"column", e.position.column},
                          {"error", e.reason}});
  }
  return json{{"objects", std::move(objects)},
              {"manifestErrors", std::move(errors)},
              {"ready", Ready()},
              {"generatedAt", Iso8601(clock_.WallNow())}};
}

}  // namespace mactl
