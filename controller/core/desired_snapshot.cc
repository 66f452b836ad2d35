#include "controller/core/desired_snapshot.h"

#include <algorithm>
#include <set>
#include <utility>

namespace mactl {
namespace {

// Adds one object (a TrainingJobVersion or a TrainingJob) to the unit of the key it names, in
// manifest order: the first object's desiredState is the unit's; README "Manifests".
template <typename Managed, typename Ref, typename Object>
void Accumulate(std::map<std::string, Managed>& units, const Ref& ref, const Object& object) {
  auto [it, inserted] = units.try_emplace(ref.Key());
  Managed& managed = it->second;
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

template <typename Managed, typename Objects, typename RefOf>
std::map<std::string, Managed> Group(const Objects& objects, const RefOf& ref_of) {
  std::map<std::string, Managed> units;
  for (const auto& object : objects) Accumulate(units, ref_of(object), object);
  for (auto& [key, managed] : units) {
    std::sort(managed.object_names.begin(), managed.object_names.end());
  }
  return units;
}

bool SameUnit(const ManagedVersion& a, const ManagedVersion& b) {
  return a.ref == b.ref && a.object_names == b.object_names && a.SameIntent(b);
}
bool SameUnit(const ManagedTrainingJob& a, const ManagedTrainingJob& b) {
  return a.ref == b.ref && a.object_names == b.object_names && a.SameIntent(b);
}

// Recomputes, in `units`, every key the objects `removed` named and `added` name. False when
// such a key is also named by an object in neither list.
template <typename Managed, typename Object, typename RefOf>
bool UpdateUnits(SnapshotMap<Managed>& units, const std::vector<const Object*>& removed,
                 const std::vector<const Object*>& added, const RefOf& ref_of) {
  std::map<std::string, std::vector<std::string>> removed_names;
  for (const Object* object : removed) removed_names[ref_of(*object).Key()].push_back(object->name);
  std::map<std::string, Managed> rebuilt;
  for (const Object* object : added) Accumulate(rebuilt, ref_of(*object), *object);
  std::set<std::string> keys;
  for (const auto& [key, names] : removed_names) keys.insert(key);
  for (const auto& [key, managed] : rebuilt) keys.insert(key);
  std::vector<std::pair<std::string, std::optional<Managed>>> changes;
  for (const std::string& key : keys) {
    std::vector<std::string>& names = removed_names[key];
    std::sort(names.begin(), names.end());
    const auto old = units.find(key);
    if (old == units.end() ? !names.empty() : old->second.object_names != names) return false;
    const auto now = rebuilt.find(key);
    if (now == rebuilt.end()) {
      if (old != units.end()) changes.emplace_back(key, std::nullopt);
      continue;
    }
    std::sort(now->second.object_names.begin(), now->second.object_names.end());
    if (old == units.end() || !SameUnit(old->second, now->second)) {
      changes.emplace_back(key, std::move(now->second));
    }
  }
  units.Update(std::move(changes));
  return true;
}

}  // namespace

DesiredSnapshot BuildDesiredSnapshot(SharedList<TrainingJobVersion> objects,
                                     std::vector<ManifestError> errors,
                                     std::string default_project_id) {
  DesiredSnapshot snapshot;
  snapshot.default_project_id = std::move(default_project_id);
  const std::string& project = snapshot.default_project_id;
  snapshot.versions = SnapshotMap<ManagedVersion>::FromMap(Group<ManagedVersion>(
      objects, [&](const TrainingJobVersion& object) { return object.Ref(project); }));
  snapshot.objects = std::move(objects);
  snapshot.errors = std::move(errors);
  return snapshot;
}

void AddTrainingJobs(DesiredSnapshot& snapshot, SharedList<TrainingJob> jobs) {
  const std::string& project = snapshot.default_project_id;
  snapshot.training_jobs = SnapshotMap<ManagedTrainingJob>::FromMap(
      Group<ManagedTrainingJob>(jobs, [&](const TrainingJob& job) { return job.Ref(project); }));
  snapshot.job_objects = std::move(jobs);
}

std::optional<DesiredSnapshot> UpdateDesiredSnapshot(const DesiredSnapshot& before,
                                                     const ManifestDelta& delta) {
  DesiredSnapshot snapshot;
  snapshot.default_project_id = before.default_project_id;
  const std::string& project = snapshot.default_project_id;
  snapshot.versions = before.versions;  // shares every chunk until Update copies one
  snapshot.training_jobs = before.training_jobs;
  if (!UpdateUnits(snapshot.versions, delta.versions_before, delta.versions_after,
                   [&](const TrainingJobVersion& object) { return object.Ref(project); }) ||
      !UpdateUnits(snapshot.training_jobs, delta.jobs_before, delta.jobs_after,
                   [&](const TrainingJob& job) { return job.Ref(project); })) {
    return std::nullopt;
  }
  return snapshot;
}

namespace {

template <typename Map>
void DiffRange(const Map& before, const Map& after, SnapshotDiff& diff) {
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

// Chunk by chunk when both maps split their keys alike, skipping the chunks they share: an
// edit's snapshot shares all but the chunks it touched with the one before.
template <typename Managed>
void Diff(const SnapshotMap<Managed>& before, const SnapshotMap<Managed>& after,
          SnapshotDiff& diff) {
  if (!SnapshotMap<Managed>::SameChunking(before, after)) return DiffRange(before, after, diff);
  for (std::size_t i = 0; i < after.chunks().size(); ++i) {
    if (before.chunks()[i] != after.chunks()[i]) {
      DiffRange(*before.chunks()[i], *after.chunks()[i], diff);
    }
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
