#pragma once

// Wire types of the ModelArts v2 training-job API (docs/modelarts-v2-api.md) and their strict
// decoding from JSON: job detail, one page of a job search, the terminate answer and the
// error body. A v2 success has no is_success field: the HTTP status says it, and the client
// classifies that status; these decoders read the bytes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/cloud/modelarts_types.h"

namespace mactl {

// One v2 training job as the API describes it (the fields the controller uses).
struct TrainingJobInfo {
  std::string id;               // metadata.id: a lower-case UUID
  std::string name;             // metadata.name: 1-64 letters, digits, '_' or '-'
  std::string phase;            // status.phase: "Running", ...; or an undocumented value
  std::string secondary_phase;  // status.secondary_phase; empty when not sent
  std::int64_t create_time_ms = 0;
  std::int64_t start_time_ms = 0;
  std::int64_t duration_ms = 0;  // run time; 0 before the job starts
  bool operator==(const TrainingJobInfo&) const = default;
};

// POST /v2/{project_id}/training-job-searches: one page.
struct TrainingJobSearchPage {
  std::int64_t total = 0;  // as sent; never used to end paging
  std::int64_t count = 0;
  std::vector<TrainingJobInfo> items;
};

// Longest status.phase / secondary_phase accepted; a longer one is a decode error.
inline constexpr std::size_t kMaxJobPhaseBytes = 64;

// Decoding rules shared by the three answers:
// - The body is one JSON object of at most kMaxDecodedBodyBytes in which no object, at any
//   depth, repeats a key (nlohmann would keep the last of two silently); otherwise a
//   decode_error naming the repeated key.
// - A non-empty top-level error_code makes the body an api_error (error_code; error_msg, or
//   else error_message), whatever else it holds.
// - A job object needs metadata.id (a UUID string, either case, read in lower case),
//   metadata.name (1-64 letters, digits, '_' or '-') and status.phase (1-64 printable ASCII
//   bytes; an undocumented value is kept, the phase table reads it as unknown);
//   status.secondary_phase is optional with the same bounds; create_time and start_time are
//   any int64, duration a non-negative int64. A float, a string for a number, a number out of
//   range or a wrong type is a decode_error naming the field and what was found. null counts
//   as absent; unknown fields are ignored.
// - A search page needs items (an array of job objects); total and count are optional
//   non-negative int64.
Decoded<TrainingJobInfo> DecodeTrainingJob(std::string_view body);
Decoded<TrainingJobSearchPage> DecodeTrainingJobSearchPage(std::string_view body);
// The terminate answer (202) is the whole job; its metadata.id must be the id the terminate
// was sent for (requested_id, lower case), or it is a decode_error.
Decoded<TrainingJobInfo> DecodeTerminateAnswer(std::string_view body,
                                               std::string_view requested_id);
// Only the error fields, for answers with an error HTTP status; nullopt when the body is not
// a JSON object with error fields (or repeats a key).
std::optional<ApiErrorBody> DecodeV2ErrorBody(std::string_view body);

}  // namespace mactl
