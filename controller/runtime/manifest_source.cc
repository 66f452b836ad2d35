#include "controller/runtime/manifest_source.h"

#include <utility>

#include "controller/base/log.h"

namespace mactl {

ManifestSource::ManifestSource(std::string default_project_id, DesiredStateSink& sink,
                               const Clock& clock, ControllerMetrics* metrics)
    : default_project_id_(std::move(default_project_id)),
      sink_(sink),
      clock_(clock),
      metrics_(metrics) {}

void ManifestSource::Apply(ManifestSet set, std::string_view reason) {
  ReportNewErrors(set.errors);
  last_ok_ = set.errors.empty();
  if (metrics_ != nullptr) metrics_->ManifestReload(last_ok_, clock_.WallNow());
  log::Debug("manifests scanned", {{"reason", std::string(reason)},
                                   {"objects", std::to_string(set.objects.size())},
                                   {"training_jobs", std::to_string(set.jobs.size())},
                                   {"policies", std::to_string(set.policies.size())},
                                   {"errors", std::to_string(set.errors.size())}});
  sink_.ApplySnapshot(Build(std::move(set)));
}

DesiredSnapshot ManifestSource::Build(ManifestSet set) {
  const bool follows = set.delta && set.generation != 0 && set.delta->since == last_generation_;
  last_generation_ = set.generation;
  std::optional<DesiredSnapshot> updated;
  if (follows) updated = UpdateDesiredSnapshot(last_, *set.delta);
  DesiredSnapshot snapshot;
  if (updated) {
    snapshot = std::move(*updated);
    snapshot.objects = std::move(set.objects);
    snapshot.errors = std::move(set.errors);
    snapshot.job_objects = std::move(set.jobs);
  } else {
    snapshot =
        BuildDesiredSnapshot(std::move(set.objects), std::move(set.errors), default_project_id_);
    AddTrainingJobs(snapshot, std::move(set.jobs));
  }
  snapshot.policies = std::move(set.policies);
  // Only the units are kept: their chunks are shared with the snapshot handed on.
  last_.versions = snapshot.versions;
  last_.training_jobs = snapshot.training_jobs;
  last_.default_project_id = snapshot.default_project_id;
  return snapshot;
}

void ManifestSource::Unchanged(std::string_view reason) {
  if (metrics_ != nullptr) metrics_->ManifestReload(last_ok_, clock_.WallNow());
  log::Debug("manifests scanned", {{"reason", std::string(reason)}, {"unchanged", "true"}});
}

void ManifestSource::ReportNewErrors(const std::vector<ManifestError>& errors) {
  // A hash set keeps a rescan linear in the number of errors: a directory of 100k broken
  // documents is rescanned every few seconds while someone edits it.
  std::unordered_set<std::string> now;
  now.reserve(errors.size());
  for (const ManifestError& e : errors) {
    std::string text = e.ToString();
    if (!reported_.contains(text)) {
      log::Error("invalid manifest", {{"file", e.position.file},
                                      {"line", std::to_string(e.position.line)},
                                      {"column", std::to_string(e.position.column)},
                                      {"error", e.reason}});
    }
    now.insert(std::move(text));
  }
  reported_ = std::move(now);
}

Status CheckInitialManifests(const ManifestSet& initial) {
  for (const ManifestError& e : initial.errors) {
    if (e.code == ManifestErrorCode::kMissingProjectId) {
      return MakeError(ErrorClass::kTerminal, "Manifest",
                       e.ToString() + " (set --project-id or spec.projectId everywhere)");
    }
  }
  if (initial.files == 0 && !initial.errors.empty()) {
    return MakeError(ErrorClass::kTerminal, "Manifest", initial.errors.front().ToString());
  }
  return OkStatus();
}

}  // namespace mactl
