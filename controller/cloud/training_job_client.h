#pragma once

// The ModelArts v2 training-job API as the controller needs it (docs/modelarts-v2-api.md):
// detail, one page of a search, terminate. The v2 twin of CloudClient, kept apart so that
// neither kind's fakes must implement the other's calls. Implementations must be safe to call
// from several threads.

#include <string>
#include <vector>

#include "api/result.h"
#include "controller/cloud/modelarts_v2_types.h"

namespace mactl {

// Largest `limit` the search accepts.
inline constexpr int kMaxSearchLimit = 50;

// The operation label values of the v2 calls in api_requests_total.
namespace api_operation {
inline constexpr std::string_view kGetJob = "get_job";
inline constexpr std::string_view kSearchJobs = "search_jobs";
inline constexpr std::string_view kTerminate = "terminate";
}  // namespace api_operation

// What one search asks for; every filter is optional. Values are sent as written.
struct TrainingJobSearch {
  std::vector<std::string> phases;  // {"key":"phase","operator":"in"}; empty: every phase
  std::string name_like;            // {"key":"name","operator":"like"}: a substring match
  int limit = kMaxSearchLimit;      // 1..kMaxSearchLimit
  bool operator==(const TrainingJobSearch&) const = default;
};

class TrainingJobClient {
 public:
  virtual ~TrainingJobClient() = default;

  // GET /v2/{project_id}/training-jobs/{id}. An unknown id is 400 ModelArts.2775: a terminal
  // error with that code.
  virtual Result<TrainingJobInfo> GetTrainingJob(const std::string& project_id,
                                                 const std::string& id) = 0;

  // POST /v2/{project_id}/training-job-searches with SearchRequestBody(search, offset): one
  // page, oldest first.
  virtual Result<TrainingJobSearchPage> SearchTrainingJobs(const std::string& project_id,
                                                           const TrainingJobSearch& search,
                                                           int offset) = 0;

  // POST /v2/{project_id}/training-jobs/{id}/actions {"action_type":"terminate"}.
  // Asynchronous on the server: ok is the job as the accepting answer shows it (normally
  // Terminating). 409 ModelArts.2796/2878 come back as ErrorClass::kNotAllowed.
  virtual Result<TrainingJobInfo> TerminateTrainingJob(const std::string& project_id,
                                                       const std::string& id) = 0;
};

}  // namespace mactl
