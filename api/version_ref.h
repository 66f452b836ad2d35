#pragma once

// Identity of one training-job version in one project: the unit the controller reconciles.

#include <algorithm>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace mactl {

// A project id goes into every request path, so it is held to the shape of a real one: 1-64
// letters, digits, '-' or '_' (no '/', '.', '%', which would change the path). Shared by
// spec.projectId and --project-id.
inline bool IsValidProjectId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

struct VersionRef {
  std::string project_id;
  std::int64_t job_id = 0;
  std::int64_t version_id = 0;

  // "project/job/version": the work-queue key and the /status identity.
  std::string Key() const {
    return project_id + "/" + std::to_string(job_id) + "/" + std::to_string(version_id);
  }
  auto operator<=>(const VersionRef&) const = default;
  bool operator==(const VersionRef&) const = default;
};

}  // namespace mactl
