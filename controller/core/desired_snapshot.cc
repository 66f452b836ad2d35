#include "controller/core/desired_snapshot.h"

#include <algorithm>
#include <utility>

namespace mactl {

DesiredSnapshot BuildDesiredSnapshot(SharedList<TrainingJobVersion> objects,
                                     std::vector<ManifestError> errors,
                                     std::string default_project_id) {
  DesiredSnapshot snapshot;
  snapshot.default_project_id = std::move(default_project_id);
  for (const TrainingJobVersion& object : objects) {
    const VersionRef ref = object.Ref(snapshot.default_project_id);
    auto [it, inserted] = snapshot.versions.try_emplace(ref.Key());
    ManagedVersion& managed = it->second;
    if (inserted) {
      managed.ref = ref;
      managed.desired = object.desired_state;
    } else if (managed.desired != object.desired_state) {
      managed.conflict = true;
    }
    managed.paused = managed.paused || object.paused;
    managed.max_runtime = ShorterLimit(managed.max_runtime, object.max_runtime);
    managed.object_names.push_back(object.name);
  }
  for (auto& [key, managed] : snapshot.versions) {
    std::sort(managed.object_names.begin(), managed.object_names.end());
  }
  snapshot.objects = std::move(objects);
  snapshot.errors = std::move(errors);
  return snapshot;
}

void AddTrainingJobs(DesiredSnapshot& snapshot, SharedList<TrainingJob> jobs) {
  for (const TrainingJob& job : jobs) {
    const TrainingJobRef ref = job.Ref(snapshot.default_project_id);
    auto [it, inserted] = snapshot.training_jobs.try_emplace(ref.Key());
    ManagedTrainingJob& managed = it->second;
    if (inserted) {
      managed.ref = ref;
      managed.desired = job.desired_state;
    } else if (managed.desired != job.desired_state) {
      managed.conflict = true;
    }
    managed.paused = managed.paused || job.paused;
    managed.max_runtime = ShorterLimit(managed.max_runtime, job.max_runtime);
    managed.object_names.push_back(job.name);
  }
  for (auto& [key, managed] : snapshot.training_jobs) {
    std::sort(managed.object_names.begin(), managed.object_names.end());
  }
  snapshot.job_objects = std::move(jobs);
}

namespace {

template <typename Map>
void Diff(const Map& before, const Map& after, SnapshotDiff& diff) {
  for (const auto& [key, managed] : after) {
    const auto old = before.find(key);
    if (old == before.end()) {
      diff.added.push_back(key);
    } else if (!old->second.SameIntent(managed)) {
      diff.changed.push_back(key);
    }
  }
  for (const auto& [key, managed] : before) {
    if (after.find(key) == after.end()) diff.removed.push_back(key);
  }
}

}  // namespace

SnapshotDiff DiffSnapshots(const DesiredSnapshot& before, const DesiredSnapshot& after) {
  SnapshotDiff diff;
  Diff(before.versions, after.versions, diff);
  Diff(before.training_jobs, after.training_jobs, diff);
  diff.policies_changed = before.policies != after.policies;
  return diff;
}

}  // namespace mactl
