#include "api/training_job_version.h"

namespace mactl {

std::string_view DesiredStateName(DesiredState s) {
  return s == DesiredState::kStopped ? "Stopped" : "Running";
}

std::optional<DesiredState> ParseDesiredState(std::string_view s) {
  if (s == "Stopped") return DesiredState::kStopped;
  if (s == "Running") return DesiredState::kRunning;
  return std::nullopt;
}

std::string SourcePosition::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace mactl
