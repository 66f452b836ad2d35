// The v1 training-job calls of HttpCloudClient (http_cloud_client.h) over its transport
// (http_transport.cc): paths, argument checks and the decoding of each answer.

#include "controller/cloud/http_cloud_client.h"

#include <string>
#include <utility>
#include <vector>

#include "controller/base/sanitize.h"
#include "controller/cloud/api_errors.h"

namespace mactl {
namespace {

constexpr std::size_t kMaxBodyExcerptBytes = 200;

Error InvalidArgument(std::string_view operation, const std::string& why) {
  return MakeError(ErrorClass::kTerminal, "InvalidArgument",
                   std::string(operation) + " request not sent: " + why);
}

// Turns a raw answer into the typed value or the classified Error.
template <typename T>
Result<T> Interpret(std::string_view operation, int status, const std::string& body,
                    const std::string& retry_after, const std::vector<std::string>& secrets,
                    WallTime now, Decoded<T> (*decode)(std::string_view)) {
  if (status < 200 || status > 299) {
    return ClassifyHttpError(operation, status, DecodeErrorBody(body), retry_after, now, secrets);
  }
  Decoded<T> decoded = decode(body);
  if (decoded.value.has_value()) return std::move(*decoded.value);
  if (decoded.api_error.has_value()) {
    // is_success:false on a 2xx: the code decides.
    return ClassifyHttpError(operation, status, decoded.api_error, retry_after, now, secrets);
  }
  Error error = MakeError(
      ErrorClass::kRetryable, "MalformedResponse",
      std::string(operation) + " answer (HTTP " + std::to_string(status) +
          ") could not be decoded: " + SanitizeForLog(decoded.decode_error, 256, secrets) +
          "; body: " + SanitizeForLog(body, kMaxBodyExcerptBytes, secrets),
      status);
  return error;
}

}  // namespace

std::string HttpCloudClient::ProjectPath(const std::string& project_id) const {
  return endpoint_.base_path + "/v1/" + PercentEncode(project_id) + "/training-jobs";
}

Result<JobListPage> HttpCloudClient::ListJobs(const std::string& project_id, int page,
                                              int per_page) {
  const std::string_view op = api_operation::kList;
  if (project_id.empty()) return InvalidArgument(op, "empty project id");
  if (page < 1 || per_page < 1 || per_page > kMaxPerPage) {
    return InvalidArgument(op, "page must be >= 1 and per_page in [1, 1000]");
  }
  Result<RawAnswer> answer =
      Exchange(op, "GET", project_id, ProjectPath(project_id),
               {{"per_page", std::to_string(per_page)}, {"page", std::to_string(page)}});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  return Interpret<JobListPage>(op, a.status, a.body, a.retry_after, a.secrets, clock_.WallNow(),
                                DecodeJobListPage);
}

Result<VersionDetail> HttpCloudClient::GetVersion(const VersionRef& ref) {
  const std::string_view op = api_operation::kGetVersion;
  if (ref.project_id.empty()) return InvalidArgument(op, "empty project id");
  Result<RawAnswer> answer =
      Exchange(op, "GET", ref.project_id,
               ProjectPath(ref.project_id) + "/" + std::to_string(ref.job_id) + "/versions/" +
                   std::to_string(ref.version_id),
               {});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  Result<VersionDetail> detail = Interpret<VersionDetail>(
      op, a.status, a.body, a.retry_after, a.secrets, clock_.WallNow(), DecodeVersionDetail);
  // A proxy or cache answering for another object must not have that object's status taken
  // for this one (a stop decided on it would hit the wrong version).
  if (detail.ok() && (detail->job_id != ref.job_id || detail->version_id != ref.version_id)) {
    return MakeError(ErrorClass::kRetryable, "MalformedResponse",
                     std::string(op) + " answer is for job " + std::to_string(detail->job_id) +
                         " version " + std::to_string(detail->version_id) + ", not job " +
                         std::to_string(ref.job_id) + " version " + std::to_string(ref.version_id),
                     a.status);
  }
  return detail;
}

Result<VersionListPage> HttpCloudClient::ListVersions(const std::string& project_id,
                                                      std::int64_t job_id, int page, int per_page) {
  const std::string_view op = api_operation::kListVersions;
  if (project_id.empty()) return InvalidArgument(op, "empty project id");
  // page 0 means "no paging" to the API; this client always pages.
  if (page < 1 || per_page < 1 || per_page > kMaxPerPage) {
    return InvalidArgument(op, "page must be >= 1 and per_page in [1, 1000]");
  }
  Result<RawAnswer> answer = Exchange(
      op, "GET", project_id, ProjectPath(project_id) + "/" + std::to_string(job_id) + "/versions",
      {{"per_page", std::to_string(per_page)}, {"page", std::to_string(page)}});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  return Interpret<VersionListPage>(op, a.status, a.body, a.retry_after, a.secrets,
                                    clock_.WallNow(), DecodeVersionListPage);
}

Status HttpCloudClient::StopVersion(const VersionRef& ref) {
  const std::string_view op = api_operation::kStop;
  if (ref.project_id.empty()) return InvalidArgument(op, "empty project id");
  Result<RawAnswer> answer =
      Exchange(op, "POST", ref.project_id,
               ProjectPath(ref.project_id) + "/" + std::to_string(ref.job_id) + "/versions/" +
                   std::to_string(ref.version_id) + "/stop",
               {});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  Result<bool> stopped = Interpret<bool>(op, a.status, a.body, a.retry_after, a.secrets,
                                         clock_.WallNow(), DecodeStopResponse);
  if (!stopped.ok()) return stopped.error();
  return OkStatus();
}

}  // namespace mactl
