#pragma once

// The desired-state manifest for a current-API (ModelArts v2) training job: kind TrainingJob,
// beside TrainingJobVersion in the same tree (README, "Manifests"). A v2 job has a UUID id and
// a unique name; a manifest names it by exactly one of the two.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/training_job_version.h"

namespace mactl {

inline constexpr std::string_view kTrainingJobKind = "TrainingJob";

// A v2 training job id as the API writes it: a UUID in its canonical 8-4-4-4-12 hex form.
// Hex digits of either case are accepted here; NormalizeTrainingJobId writes them in lower
// case, the form the API returns (UUIDs compare case-insensitively).
bool IsValidTrainingJobId(std::string_view s);
std::string NormalizeTrainingJobId(std::string_view valid_id);

// A v2 training job name as the API accepts it at creation: 1-64 letters, digits, '_' or '-'.
bool IsValidTrainingJobName(std::string_view s);

// Identity of the job one TrainingJob manifest manages: an id, or else an exact name.
struct TrainingJobRef {
  std::string project_id;
  std::string training_job_id;    // lower-case UUID, or empty when named
  std::string training_job_name;  // exact name, or empty when identified by id

  // "project/<uuid>" or "project/name:<name>": the work-queue key and the /status identity.
  // A UUID has no ':' and a v1 key ("project/job/version") no letters or '-', so keys of
  // the two kinds never collide.
  std::string Key() const {
    return project_id + "/" +
           (training_job_id.empty() ? "name:" + training_job_name : training_job_id);
  }
  auto operator<=>(const TrainingJobRef&) const = default;
  bool operator==(const TrainingJobRef&) const = default;
};

struct TrainingJob {
  std::string name;  // metadata.name: same rules as TrainingJobVersion, unique across both kinds
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // spec.projectId as written; empty when the manifest relies on --project-id.
  std::string project_id;
  std::string training_job_id;    // spec.trainingJobId, lower-cased; or empty
  std::string training_job_name;  // spec.trainingJobName; or empty
  DesiredState desired_state = DesiredState::kStopped;
  // spec.maxRuntime: stop once the API's run duration exceeds it; only with desired Running.
  std::optional<std::chrono::milliseconds> max_runtime;
  bool paused = false;    // from the modelarts-controller.io/paused annotation
  SourcePosition source;  // where the document starts

  // The job this object manages, with the default project filled in.
  TrainingJobRef Ref(std::string_view default_project_id) const {
    return TrainingJobRef{project_id.empty() ? std::string(default_project_id) : project_id,
                          training_job_id, training_job_name};
  }
  bool operator==(const TrainingJob&) const = default;
};

}  // namespace mactl
