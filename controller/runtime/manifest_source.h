#pragma once

// Turns each manifest scan into desired state: reports every invalid document once (again
// only after it was fixed and came back), records the reload metrics, builds the desired
// snapshot (for an edit the loader could describe, updates the last one: docs/benchmarks.md,
// "Edits that touch only their objects") and hands it to the sink (the Manager).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "api/manifest_loader.h"
#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/core/desired_snapshot.h"
#include "controller/runtime/metrics.h"

namespace mactl {

// Whoever acts on a new desired state.
class DesiredStateSink {
 public:
  virtual ~DesiredStateSink() = default;
  virtual void ApplySnapshot(DesiredSnapshot snapshot) = 0;
};

class ManifestSource {
 public:
  // `sink` and `clock` must outlive the source; metrics may be null.
  ManifestSource(std::string default_project_id, DesiredStateSink& sink, const Clock& clock,
                 ControllerMetrics* metrics);

  // Not thread-safe: scans arrive from one thread at a time (main's first scan, then the
  // watcher's thread). `reason` says what caused the scan, for the debug log.
  void Apply(ManifestSet set, std::string_view reason);
  // A scan found what the last one applied (ManifestLoader::LoadIfChanged): records the
  // reload as Apply would, without building a snapshot of every object again.
  void Unchanged(std::string_view reason);

 private:
  void ReportNewErrors(const std::vector<ManifestError>& errors);
  // The snapshot of `set`: updated from last_ when the set says what changed since the set
  // last_ was built from, else built from every object.
  DesiredSnapshot Build(ManifestSet set);

  const std::string default_project_id_;
  DesiredStateSink& sink_;
  const Clock& clock_;
  ControllerMetrics* const metrics_;
  std::unordered_set<std::string> reported_;  // errors of the last scan, as logged
  bool last_ok_ = true;                       // whether the last scan applied had no error
  // The units of the snapshot handed to the sink last (their chunks are shared, not copied)
  // and the ManifestSet::generation it was built from.
  DesiredSnapshot last_;
  std::uint64_t last_generation_ = 0;
};

// The start-up rules on the first scan (README, `--project-id`): a manifest that lacks
// spec.projectId when no --project-id was given, or a directory whose files all failed,
// is a start-up error rather than a running daemon with nothing to do.
Status CheckInitialManifests(const ManifestSet& initial);

}  // namespace mactl
