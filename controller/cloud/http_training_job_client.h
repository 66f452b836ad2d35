#pragma once

// TrainingJobClient over the shared HTTP transport (HttpExchange): builds the three v2
// requests (docs/modelarts-v2-api.md, "Calls"), decodes the answers strictly and classifies
// errors like the v1 client, except that 409 ModelArts.2878 (the job's status changed under
// the request) is kNotAllowed like 2796: for a terminate both mean "observe again", never a
// blind retry.

#include <string>

#include "controller/base/clock.h"
#include "controller/cloud/http_exchange.h"
#include "controller/cloud/training_job_client.h"

namespace mactl {

class HttpTrainingJobClient final : public TrainingJobClient {
 public:
  // exchange and clock must outlive the client. Thread-safe as far as exchange is.
  HttpTrainingJobClient(HttpExchange& exchange, const Clock& clock);

  Result<TrainingJobInfo> GetTrainingJob(const std::string& project_id,
                                         const std::string& id) override;
  Result<TrainingJobSearchPage> SearchTrainingJobs(const std::string& project_id,
                                                   const TrainingJobSearch& search,
                                                   int offset) override;
  Result<TrainingJobInfo> TerminateTrainingJob(const std::string& project_id,
                                               const std::string& id) override;

 private:
  HttpExchange& exchange_;
  const Clock& clock_;
};

}  // namespace mactl
