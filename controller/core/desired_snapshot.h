#pragma once

// The desired state as the controller acts on it: valid manifests grouped by the
// version they name, with the conflict and pause rules of README "Manifests" applied.
// Pure values, rebuilt from every manifest scan and swapped in whole.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/training_job_version.h"
#include "api/version_ref.h"

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

  // Whether a change between two snapshots needs a fresh reconcile.
  bool SameIntent(const ManagedVersion& other) const {
    return desired == other.desired && paused == other.paused && conflict == other.conflict;
  }
};

struct DesiredSnapshot {
  std::map<std::string, ManagedVersion> versions;  // by VersionRef::Key()
  std::vector<TrainingJobVersion> objects;         // every valid object, for /status
  std::vector<ManifestError> errors;               // every invalid document
  std::string default_project_id;

  const ManagedVersion* Find(const std::string& key) const {
    const auto it = versions.find(key);
    return it == versions.end() ? nullptr : &it->second;
  }
};

DesiredSnapshot BuildDesiredSnapshot(std::vector<TrainingJobVersion> objects,
                                     std::vector<ManifestError> errors,
                                     std::string default_project_id);

// What changed between two snapshots, for the work queue.
struct SnapshotDiff {
  std::vector<std::string> added;    // new versions: reconcile at once
  std::vector<std::string> changed;  // intent changed: reconcile at once
  std::vector<std::string> removed;  // no manifest names them any more: stop managing
};
SnapshotDiff DiffSnapshots(const DesiredSnapshot& before, const DesiredSnapshot& after);

}  // namespace mactl
