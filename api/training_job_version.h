#pragma once

// The desired-state manifest (README, "Manifests"): kind TrainingJobVersion,
// apiVersion modelarts-controller.io/v1.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/version_ref.h"

namespace mactl {

inline constexpr std::string_view kApiVersion = "modelarts-controller.io/v1";
inline constexpr std::string_view kKind = "TrainingJobVersion";
inline constexpr std::string_view kPausedAnnotation = "modelarts-controller.io/paused";

enum class DesiredState { kStopped, kRunning };

std::string_view DesiredStateName(DesiredState s);  // "Stopped" / "Running"
std::optional<DesiredState> ParseDesiredState(std::string_view s);

// spec.maxRuntime (README, "Runtime limits"): the shortest limit a manifest may set. A shorter
// one is more likely a typo ("10s" for "10h") than a wish to stop every job at once.
inline constexpr std::chrono::minutes kMinMaxRuntime{1};

// Where something was found in the manifest tree; line and column are 1-based.
struct SourcePosition {
  std::string file;  // path relative to the manifest directory
  int line = 0;
  int column = 0;
  std::string ToString() const;  // "file:line:column"
  // Without it the defaulted == of the structs below holding a position is deleted.
  bool operator==(const SourcePosition&) const = default;
};

struct TrainingJobVersion {
  std::string name;  // metadata.name: DNS-1123 label, unique across all manifests
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // spec.projectId as written; empty when the manifest relies on --project-id.
  std::string project_id;
  std::int64_t job_id = 0;
  std::int64_t version_id = 0;
  DesiredState desired_state = DesiredState::kStopped;
  // spec.maxRuntime: stop once the API's run duration exceeds it; only with desired Running.
  std::optional<std::chrono::milliseconds> max_runtime;
  bool paused = false;    // from the modelarts-controller.io/paused annotation
  SourcePosition source;  // where the document starts

  // The version this object manages, with the default project filled in.
  VersionRef Ref(std::string_view default_project_id) const {
    return VersionRef{project_id.empty() ? std::string(default_project_id) : project_id, job_id,
                      version_id};
  }
  bool operator==(const TrainingJobVersion&) const = default;
};

// What kind of invalid document, for callers that act on one kind; the reason text is for
// people and may change.
enum class ManifestErrorCode {
  kInvalid,           // any other decoding or validation failure
  kMissingProjectId,  // no spec.projectId and no --project-id default
};

// An invalid document: where and why. A document may have several errors; `document` tells
// which document each belongs to, so that callers can count documents (validate).
struct ManifestError {
  SourcePosition position;
  std::string reason;
  ManifestErrorCode code = ManifestErrorCode::kInvalid;
  // Where the invalid document starts; unset (empty file) when that is `position` itself
  // (an error about a whole file).
  SourcePosition document = {};
  std::string ToString() const { return position.ToString() + ": " + reason; }
  const SourcePosition& Document() const { return document.file.empty() ? position : document; }
  bool operator==(const ManifestError&) const = default;
};

}  // namespace mactl
