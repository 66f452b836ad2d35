#include "controller/cloud/http_training_job_client.h"

#include <utility>

#include "api/training_job.h"
#include "controller/base/sanitize.h"
#include "controller/cloud/api_errors.h"
#include "controller/cloud/http_cloud_client.h"
#include "controller/cloud/training_job_search.h"

namespace mactl {
namespace {

// Longest piece of an undecodable body quoted in an error.
constexpr std::size_t kMaxBodyExcerptBytes = 200;

std::string JobsPath(const std::string& project_id) {
  return "/v2/" + PercentEncode(project_id) + "/training-jobs";
}

Error InvalidArgument(std::string_view operation, const std::string& what) {
  return MakeError(ErrorClass::kTerminal, "InvalidArgument", std::string(operation) + ": " + what);
}

// Checks the arguments every call shares; an empty string when they are fine.
std::string BadArguments(const std::string& project_id, const std::string* id) {
  if (project_id.empty()) return "empty project id";
  if (id != nullptr && !IsValidTrainingJobId(*id)) return "training job id is not a UUID";
  return "";
}

Error Classify(std::string_view operation, int status, const std::optional<ApiErrorBody>& body,
               const HttpAnswer& a, WallTime now) {
  Error error = ClassifyHttpError(operation, status, body, a.retry_after, now, a.secrets);
  if (status == 409 && error.code == "ModelArts.2878") error.error_class = ErrorClass::kNotAllowed;
  return error;
}

// Turns an answer into the typed value or the classified Error.
template <typename T, typename Decode>
Result<T> Interpret(std::string_view operation, const HttpAnswer& a, WallTime now, Decode decode) {
  if (a.status < 200 || a.status > 299) {
    return Classify(operation, a.status, DecodeV2ErrorBody(a.body), a, now);
  }
  Decoded<T> decoded = decode(a.body);
  if (decoded.value.has_value()) return std::move(*decoded.value);
  // An error code on a 2xx: the code decides.
  if (decoded.api_error.has_value())
    return Classify(operation, a.status, decoded.api_error, a, now);
  return MakeError(
      ErrorClass::kRetryable, "MalformedResponse",
      std::string(operation) + " answer (HTTP " + std::to_string(a.status) +
          ") could not be decoded: " + SanitizeForLog(decoded.decode_error, 256, a.secrets) +
          "; body: " + SanitizeForLog(a.body, kMaxBodyExcerptBytes, a.secrets),
      a.status);
}

}  // namespace

HttpTrainingJobClient::HttpTrainingJobClient(HttpExchange& exchange, const Clock& clock)
    : exchange_(exchange), clock_(clock) {}

Result<TrainingJobInfo> HttpTrainingJobClient::GetTrainingJob(const std::string& project_id,
                                                              const std::string& id) {
  const std::string_view op = api_operation::kGetJob;
  if (std::string bad = BadArguments(project_id, &id); !bad.empty()) {
    return InvalidArgument(op, bad);
  }
  const std::string requested = NormalizeTrainingJobId(id);
  Result<HttpAnswer> answer = exchange_.Exchange(
      {op, "GET", JobsPath(project_id) + "/" + PercentEncode(requested), {}, "", project_id});
  if (!answer.ok()) return answer.error();
  Result<TrainingJobInfo> job =
      Interpret<TrainingJobInfo>(op, *answer, clock_.WallNow(), DecodeTrainingJob);
  // A proxy or cache answering for another job must not have that job's phase taken for this
  // one (a terminate decided on it would hit the wrong job).
  if (job.ok() && job->id != requested) {
    return MakeError(ErrorClass::kRetryable, "MalformedResponse",
                     std::string(op) + " answer is for job " + job->id + ", not " + id,
                     answer->status);
  }
  return job;
}

Result<TrainingJobSearchPage> HttpTrainingJobClient::SearchTrainingJobs(
    const std::string& project_id, const TrainingJobSearch& search, int offset) {
  const std::string_view op = api_operation::kSearchJobs;
  if (std::string bad = BadArguments(project_id, nullptr); !bad.empty()) {
    return InvalidArgument(op, bad);
  }
  if (offset < 0 || search.limit < 1 || search.limit > kMaxSearchLimit) {
    return InvalidArgument(op, "offset must be >= 0 and limit in [1, 50]");
  }
  Result<HttpAnswer> answer =
      exchange_.Exchange({op,
                          "POST",
                          "/v2/" + PercentEncode(project_id) + "/training-job-searches",
                          {},
                          SearchRequestBody(search, offset),
                          project_id});
  if (!answer.ok()) return answer.error();
  return Interpret<TrainingJobSearchPage>(op, *answer, clock_.WallNow(),
                                          DecodeTrainingJobSearchPage);
}

Result<TrainingJobInfo> HttpTrainingJobClient::TerminateTrainingJob(const std::string& project_id,
                                                                    const std::string& id) {
  const std::string_view op = api_operation::kTerminate;
  if (std::string bad = BadArguments(project_id, &id); !bad.empty()) {
    return InvalidArgument(op, bad);
  }
  const std::string requested = NormalizeTrainingJobId(id);
  Result<HttpAnswer> answer =
      exchange_.Exchange({op,
                          "POST",
                          JobsPath(project_id) + "/" + PercentEncode(requested) + "/actions",
                          {},
                          R"({"action_type":"terminate"})",
                          project_id});
  if (!answer.ok()) return answer.error();
  return Interpret<TrainingJobInfo>(op, *answer, clock_.WallNow(), [&](std::string_view body) {
    return DecodeTerminateAnswer(body, requested);
  });
}

}  // namespace mactl
