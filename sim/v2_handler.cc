#include "sim/v2_handler.h"

#include <optional>
#include <vector>

#include "api/training_job.h"
#include "sim/path_segments.h"
#include "sim/v2_wire.h"

namespace mactl::sim {
namespace {

V2Answer NotFound() {
  return {400, V2ErrorBody("ModelArts.2775", "The training job does not exist.",
                           "Check the training job ID.")};
}

}  // namespace

std::string_view V2OperationName(V2Operation op) {
  switch (op) {
    case V2Operation::kGetJob:
      return "get_job";
    case V2Operation::kSearchJobs:
      return "search_jobs";
    case V2Operation::kTerminate:
      return "terminate";
    case V2Operation::kNone:
      break;
  }
  return "other";
}

V2Route ClassifyV2(std::string_view method, std::string_view path) {
  V2Route r;
  const std::vector<std::string_view> p = SplitPath(path);
  if (p.size() < 3 || p[0] != "v2" || p[1].empty()) return r;
  r.project_id = std::string(p[1]);
  if (p.size() == 3 && p[2] == "training-job-searches" && method == "POST") {
    r.operation = V2Operation::kSearchJobs;
    return r;
  }
  if (p[2] != "training-jobs" || p.size() < 4 || p[3].empty()) return r;
  r.job_id = std::string(p[3]);
  if (p.size() == 4 && method == "GET") r.operation = V2Operation::kGetJob;
  if (p.size() == 5 && p[4] == "actions" && method == "POST") {
    r.operation = V2Operation::kTerminate;
  }
  return r;
}

V2Answer AnswerV2(V2JobStore& store, const V2Route& route, std::string_view body,
                  bool complete_first) {
  switch (route.operation) {
    case V2Operation::kSearchJobs: {
      Result<V2SearchQuery> query = ParseV2SearchBody(body);
      if (!query) return {400, V2ErrorBody(query.error().code, query.error().message)};
      return {200, V2SearchPageBody(store.Search(route.project_id, *query), *query)};
    }
    case V2Operation::kGetJob: {
      if (!IsValidTrainingJobId(route.job_id)) return NotFound();
      const std::optional<V2JobView> job =
          store.Get(route.project_id, NormalizeTrainingJobId(route.job_id));
      if (!job) return NotFound();
      return {200, V2JobJson(*job).dump()};
    }
    case V2Operation::kTerminate: {
      if (Status ok = ParseV2ActionBody(body); !ok) {
        return {400, V2ErrorBody(ok.error().code, ok.error().message)};
      }
      if (!IsValidTrainingJobId(route.job_id)) return NotFound();
      const V2TerminateResult r =
          store.Terminate(route.project_id, NormalizeTrainingJobId(route.job_id), complete_first);
      switch (r.outcome) {
        case V2TerminateOutcome::kAccepted:
          return {202, V2JobJson(*r.job).dump()};
        case V2TerminateOutcome::kNotAllowed:
          return {409, V2ErrorBody("ModelArts.2796",
                                   "The training job cannot be terminated in its current phase.",
                                   "Check the training job status.")};
        case V2TerminateOutcome::kNotFound:
          return NotFound();
      }
      break;
    }
    case V2Operation::kNone:
      break;
  }
  return {404, V2ErrorBody("APIGW.0101", "The API does not exist or has not been published.")};
}

}  // namespace mactl::sim
