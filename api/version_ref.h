#pragma once

// Identity of one training-job version in one project: the unit the controller reconciles.

#include <compare>
#include <cstdint>
#include <string>

namespace mactl {

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
