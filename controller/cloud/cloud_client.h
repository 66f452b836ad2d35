#pragma once

// The ModelArts v1 training-job API as the controller needs it. The reconciler and
// observer depend on this interface only; HttpCloudClient is the real implementation
// and tests use fakes. Implementations must be safe to call from several threads.

#include <cstdint>
#include <string>

#include "api/result.h"
#include "api/version_ref.h"
#include "controller/cloud/modelarts_types.h"

namespace mactl {

// Largest per_page the list calls accept.
inline constexpr int kMaxPerPage = 1000;

class CloudClient {
 public:
  virtual ~CloudClient() = default;

  // GET /v1/{project_id}/training-jobs?per_page=&page= — one page (page ≥ 1,
  // 1 ≤ per_page ≤ 1000) of jobs with the status of each job's latest version.
  virtual Result<JobListPage> ListJobs(const std::string& project_id, int page, int per_page) = 0;

  // GET /v1/{project_id}/training-jobs/{job_id}/versions/{version_id}
  virtual Result<VersionDetail> GetVersion(const VersionRef& ref) = 0;

  // GET /v1/{project_id}/training-jobs/{job_id}/versions?per_page=&page= (page ≥ 1).
  virtual Result<VersionListPage> ListVersions(const std::string& project_id, std::int64_t job_id,
                                               int page, int per_page) = 0;

  // POST /v1/{project_id}/training-jobs/{job_id}/versions/{version_id}/stop.
  // Asynchronous on the server: ok means the stop was accepted, not that the version
  // has stopped. A 409 ModelArts.2796 comes back as ErrorClass::kNotAllowed.
  virtual Status StopVersion(const VersionRef& ref) = 0;
};

}  // namespace mactl
