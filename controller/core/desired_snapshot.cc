#include "controller/core/desired_snapshot.h"

#include <algorithm>
#include <utility>

namespace mactl {

DesiredSnapshot BuildDesiredSnapshot(std::vector<TrainingJobVersion> objects,
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
    managed.object_names.push_back(object.name);
  }
  for (auto& [key, managed] : snapshot.versions) {
    std::sort(managed.object_names.begin(), managed.object_names.end());
  }
  snapshot.objects = std::move(objects);
  snapshot.errors = std::move(errors);
  return snapshot;
}

SnapshotDiff DiffSnapshots(const DesiredSnapshot& before, const DesiredSnapshot& after) {
  SnapshotDiff diff;
  for (const auto& [key, managed] : after.versions) {
    const ManagedVersion* old = before.Find(key);
    if (old == nullptr) {
      diff.added.push_back(key);
    } else if (!old->SameIntent(managed)) {
      diff.changed.push_back(key);
    }
  }
  for (const auto& [key, managed] : before.versions) {
    if (after.Find(key) == nullptr) diff.removed.push_back(key);
  }
  return diff;
}

}  // namespace mactl
