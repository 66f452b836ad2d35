#pragma once

// Wire types of the ModelArts v1 training-job API and their decoding from JSON.
// Decoding tolerates unknown fields, refuses repeated keys, checks is_success on every
// answer and accepts both spellings of the error text (error_message and error_msg).
// docs/modelarts-api.md describes the answers.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"

namespace mactl {

// The failure part common to every answer.
struct ApiErrorBody {
  std::string error_code;     // "ModelArts.2775", "APIGW.0308", ... (may be empty)
  std::string error_message;  // from error_message, or error_msg when that is what was sent
};

// One row of GET /v1/{project_id}/training-jobs: a job and its *latest* version.
struct JobSummary {
  std::int64_t job_id = 0;
  std::string job_name;
  std::int64_t version_id = 0;  // latest version
  int status = 0;               // status of the latest version (controller/cloud/job_status.h)
  std::int64_t create_time_ms = 0;
  std::int64_t duration_ms = 0;
  std::int64_t version_count = 0;
};

struct JobListPage {
  std::int64_t job_total_count = 0;
  std::vector<JobSummary> jobs;
};

// GET /v1/{project_id}/training-jobs/{job_id}/versions/{version_id}
struct VersionDetail {
  std::int64_t job_id = 0;
  std::string job_name;
  std::int64_t version_id = 0;
  std::string version_name;
  int status = 0;
  std::int64_t create_time_ms = 0;
  std::int64_t start_time_ms = 0;
  std::int64_t duration_ms = 0;
};

// GET /v1/{project_id}/training-jobs/{job_id}/versions
struct VersionListPage {
  std::int64_t job_id = 0;
  std::string job_name;
  std::int64_t version_count = 0;
  std::vector<VersionDetail> versions;
};

// Outcome of decoding one answer: either the typed body, or the API's own error
// (is_success false) with its code and text, or a decode error (malformed JSON,
// wrong shape). The HTTP status is classified by the client, not here.
template <typename T>
struct Decoded {
  // Set when is_success was true and the shape is right.
  std::optional<T> value;
  // Set when is_success was false (or missing on an error status).
  std::optional<ApiErrorBody> api_error;
  // Non-empty when the body could not be read.
  std::string decode_error;
};

// Bodies longer than this are refused unparsed (decode_error), whatever the transport allowed.
inline constexpr std::size_t kMaxDecodedBodyBytes = std::size_t{32} << 20;

// Decoding rules shared by the four answers:
// - The body must be one JSON object of at most kMaxDecodedBodyBytes in which no object, at
//   any depth, repeats a key (JSON leaves repeats to the parser, and nlohmann would keep the
//   last one silently); otherwise a decode_error ("duplicate key \"is_success\"").
// - is_success, when present, must be a boolean: false → api_error (error_code, and
//   error_message or else error_msg); true → the fields are read.
// - is_success missing (or null): a body with a non-empty error_code is an api_error; otherwise
//   the body is a success only if every required field is present and well typed. The stop
//   answer has no other field, so there is_success is required.
// - Required: list → jobs (array; each job_id, version_id, status); version detail → job_id,
//   version_id, status; version list → versions (array; each version_id, status).
// - Ids and counts are non-negative int64, times are int64, status is an int; a float, a
//   string, or a number out of range is a decode_error naming the field and what was found.
//   null counts as absent. Unknown fields are ignored.
Decoded<JobListPage> DecodeJobListPage(std::string_view body);
Decoded<VersionDetail> DecodeVersionDetail(std::string_view body);
Decoded<VersionListPage> DecodeVersionListPage(std::string_view body);
// The stop answer carries nothing but is_success (and the error fields on failure).
Decoded<bool> DecodeStopResponse(std::string_view body);
// Only the error fields of any body, for answers with an error HTTP status.
std::optional<ApiErrorBody> DecodeErrorBody(std::string_view body);

}  // namespace mactl
