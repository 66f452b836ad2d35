#pragma once

// A CloudClient that asks a StopGate immediately before each stop request and sends nothing
// when the gate refuses: the refusal comes back as a retryable "Election.NotLeader" error,
// so the reconciler records it and looks again after its backoff. Reads pass straight
// through. With --leader-elect the gate is the leader's check (docs/high-availability.md);
// keeping the check this close to the request keeps the window between the check and the
// request's first byte to a few instructions.

#include "controller/cloud/cloud_client.h"
#include "controller/core/stop_gate.h"

namespace mactl {

class GatedCloudClient final : public CloudClient {
 public:
  // Both must outlive this.
  GatedCloudClient(CloudClient& inner, StopGate& gate) : inner_(inner), gate_(gate) {}

  Result<JobListPage> ListJobs(const std::string& project_id, int page, int per_page) override {
    return inner_.ListJobs(project_id, page, per_page);
  }
  Result<VersionDetail> GetVersion(const VersionRef& ref) override {
    return inner_.GetVersion(ref);
  }
  Result<VersionListPage> ListVersions(const std::string& project_id, std::int64_t job_id, int page,
                                       int per_page) override {
    return inner_.ListVersions(project_id, job_id, page, per_page);
  }
  Status StopVersion(const VersionRef& ref) override;

 private:
  CloudClient& inner_;
  StopGate& gate_;
};

}  // namespace mactl
