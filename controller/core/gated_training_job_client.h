#pragma once

// The v2 twin of GatedCloudClient (controller/core/gated_cloud_client.h): asks the StopGate
// immediately before each terminate and sends nothing when it refuses, so with --leader-elect
// a replica that is not (or no longer) the leader never terminates a job
// (docs/high-availability.md). Reads pass straight through.

#include <string>

#include "controller/cloud/training_job_client.h"
#include "controller/core/stop_gate.h"

namespace mactl {

class GatedTrainingJobClient final : public TrainingJobClient {
 public:
  // Both must outlive this.
  GatedTrainingJobClient(TrainingJobClient& inner, StopGate& gate) : inner_(inner), gate_(gate) {}

  Result<TrainingJobInfo> GetTrainingJob(const std::string& project_id,
                                         const std::string& id) override {
    return inner_.GetTrainingJob(project_id, id);
  }
  Result<TrainingJobSearchPage> SearchTrainingJobs(const std::string& project_id,
                                                   const TrainingJobSearch& search,
                                                   int offset) override {
    return inner_.SearchTrainingJobs(project_id, search, offset);
  }
  Result<TrainingJobInfo> TerminateTrainingJob(const std::string& project_id,
                                               const std::string& id) override;

 private:
  TrainingJobClient& inner_;
  StopGate& gate_;
};

}  // namespace mactl
