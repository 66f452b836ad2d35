#pragma once

// The desired state as the controller acts on it: valid manifests grouped by the
// version they name, with the conflict and pause rules of README "Manifests" applied.
// Pure values, built from a full manifest scan or updated from the previous snapshot for an
// edit (only the keys the re-read files' objects name), and swapped in whole.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/manifest_loader.h"
#include "api/shared_list.h"
#include "api/training_job.h"
#include "api/training_job_policy.h"
#include "api/training_job_version.h"
#include "api/version_ref.h"
#include "controller/core/snapshot_map.h"

namespace mactl {

// One reconcile unit: a version named by one or more manifests.
struct ManagedVersion {
  VersionRef ref;
  DesiredState desired = DesiredState::kStopped;
  // Any manifest naming the version carries the paused annotation: never act.
  bool paused = false;
  // Manifests naming the version disagree on desiredState: never act, report both.
  bool conflict = false;
  std::vector<std::string> object_names;  // sorted
  // spec.maxRuntime; with several manifests the shortest wins (README, "Runtime limits").
  std::optional<std::chrono::milliseconds> max_runtime;

  // Whether a change between two snapshots needs a fresh reconcile.
  bool SameIntent(const ManagedVersion& other) const {
    return desired == other.desired && paused == other.paused && conflict == other.conflict &&
           max_runtime == other.max_runtime;
  }
};

// One reconcile unit of kind TrainingJob: a v2 job (by id, or by exact name) named by one or
// more manifests, with the same pause and conflict rules.
struct ManagedTrainingJob {
  TrainingJobRef ref;
  DesiredState desired = DesiredState::kStopped;
  bool paused = false;
  bool conflict = false;
  std::vector<std::string> object_names;                 // sorted
  std::optional<std::chrono::milliseconds> max_runtime;  // the shortest spec.maxRuntime

  bool SameIntent(const ManagedTrainingJob& other) const {
    return desired == other.desired && paused == other.paused && conflict == other.conflict &&
           max_runtime == other.max_runtime;
  }
};

struct DesiredSnapshot {
  // By VersionRef::Key(), in key order; chunks are shared with the snapshot before an edit.
  SnapshotMap<ManagedVersion> versions;
  // Kind TrainingJob, by TrainingJobRef::Key(); the keys never collide with versions'.
  SnapshotMap<ManagedTrainingJob> training_jobs;
  // Every valid object of each kind, for /status: shared with the manifest loader's cache,
  // not copied (api/shared_list.h).
  SharedList<TrainingJob> job_objects;
  SharedList<TrainingJobVersion> objects;
  // Every valid TrainingJobPolicy, in manifest order (README, "Runtime limits"); the policy
  // enforcer reads them, the reconcilers do not.
  std::vector<TrainingJobPolicy> policies;
  std::vector<ManifestError> errors;  // every invalid document
  std::string default_project_id;

  const ManagedVersion* Find(const std::string& key) const {
    const auto it = versions.find(key);
    return it == versions.end() ? nullptr : &it->second;
  }
  const ManagedTrainingJob* FindTrainingJob(const std::string& key) const {
    const auto it = training_jobs.find(key);
    return it == training_jobs.end() ? nullptr : &it->second;
  }
};

// The shorter of two optional limits; an absent limit is no limit.
inline std::optional<std::chrono::milliseconds> ShorterLimit(
    std::optional<std::chrono::milliseconds> a, std::optional<std::chrono::milliseconds> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

DesiredSnapshot BuildDesiredSnapshot(SharedList<TrainingJobVersion> objects,
                                     std::vector<ManifestError> errors,
                                     std::string default_project_id);

// Whether a work-queue key names a TrainingJob ("project/<uuid>", "project/name:<name>")
// rather than a version ("project/job/version"): project ids, UUIDs and job names hold no '/'.
inline bool IsTrainingJobKey(std::string_view key) {
  return std::count(key.begin(), key.end(), '/') == 1;
}

// Adds the valid TrainingJob objects, grouped by the job they name: two manifests naming one
// job (the same id, or the same name, in one project) with different desiredState conflict.
void AddTrainingJobs(DesiredSnapshot& snapshot, SharedList<TrainingJob> jobs);

// `before`'s units (versions, training_jobs) with the keys the delta's objects name recomputed,
// as BuildDesiredSnapshot + AddTrainingJobs would group the objects of the set that carried
// the delta; the caller adds that set's objects, errors and policies. Nothing when a
// recomputed key is also named by an object outside the delta (its other objects are not at
// hand): the caller then builds in full.
std::optional<DesiredSnapshot> UpdateDesiredSnapshot(const DesiredSnapshot& before,
                                                     const ManifestDelta& delta);

// What changed between two snapshots, for the work queue (keys of both kinds).
struct SnapshotDiff {
  std::vector<std::string> added;    // new versions: reconcile at once
  std::vector<std::string> changed;  // intent changed: reconcile at once
  std::vector<std::string> removed;  // no manifest names them any more: stop managing
  bool policies_changed = false;     // a policy was added, removed or edited
};
SnapshotDiff DiffSnapshots(const DesiredSnapshot& before, const DesiredSnapshot& after);

}  // namespace mactl
