// Fuzzes DecodeManifests (api/manifest_decoder.h) with the input as the content of one
// manifest file, once with the default limits and once with tight ones, so that every cap
// (documents, nodes, depth, scalar size, map entries) is reachable from small inputs.
//
// Properties checked:
// - nothing escapes: no exception, no sanitizer report;
// - every error names the file, has a 1-based line and column inside the content and a
//   non-empty reason under 1 KiB without control bytes (docs/bad-inputs.md M15: a reason
//   must not echo the input without bound; it goes to single-line logs and /status);
// - every object satisfies what the decoder validates: DNS-1123 name, ids >= 1, a valid or
//   empty projectId, at most max_map_entries labels and annotations, scalars within
//   max_scalar_bytes, `paused` exactly when the paused annotation is "true", a source
//   position naming the file; never more objects than max_documents, and no two objects
//   from the same document start;
// - every TrainingJob object names its job by exactly one of a lower-case UUID id and a
//   valid job name, and meets the same metadata checks; objects of both kinds together
//   are at most max_documents and never two from one document start;
// - every TrainingJobPolicy names at least one job kind, a glob NameGlobProblem accepts and
//   a maxRuntime of at least 1m, and meets the same metadata checks; it counts with the
//   objects of the other kinds against max_documents and document starts;
// - every error's document starts no later than the error;
// - a file over max_file_bytes is refused whole with a single error.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "api/manifest_decoder.h"
#include "api/name_glob.h"
#include "fuzz/fuzz_check.h"

namespace {

using mactl::DecodeLimits;
using mactl::DecodeResult;
using mactl::DesiredState;
using mactl::ManifestError;
using mactl::TrainingJob;
using mactl::TrainingJobPolicy;
using mactl::TrainingJobVersion;

constexpr char kFile[] = "fuzz/m.yaml";
constexpr std::size_t kMaxReasonBytes = 1024;

bool IsDns1123Label(const std::string& s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !s.empty() && s.size() <= 63 && alnum(s.front()) && alnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

bool IsProjectId(const std::string& s) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), ok);
}

void CheckError(const ManifestError& e, int max_line) {
  const std::string shown = e.ToString();
  FUZZ_CHECK(e.position.file == kFile, shown);
  FUZZ_CHECK(e.position.line >= 1 && e.position.line <= max_line, shown);
  FUZZ_CHECK(e.position.column >= 1, shown);
  FUZZ_CHECK(!e.reason.empty(), shown);
  FUZZ_CHECK(e.reason.size() < kMaxReasonBytes, shown);
  FUZZ_CHECK(!mactl::fuzz::HasControlBytes(e.reason), shown);
  const mactl::SourcePosition& document = e.Document();
  FUZZ_CHECK(document.file == kFile, shown);
  FUZZ_CHECK(document.line < e.position.line ||
                 (document.line == e.position.line && document.column <= e.position.column),
             shown + " in " + document.ToString());
}

// The rules every kind shares: metadata, projectId, source.
template <typename Object>
void CheckMetadata(const Object& o, const DecodeLimits& limits, int max_line) {
  const std::string shown = o.name + " " + o.source.ToString();
  FUZZ_CHECK(IsDns1123Label(o.name), shown);
  FUZZ_CHECK(o.project_id.empty() || IsProjectId(o.project_id), o.project_id);
  FUZZ_CHECK(o.labels.size() <= limits.max_map_entries, shown);
  FUZZ_CHECK(o.annotations.size() <= limits.max_map_entries, shown);
  for (const auto* map : {&o.labels, &o.annotations}) {
    for (const auto& [key, value] : *map) {
      FUZZ_CHECK(key.size() <= limits.max_scalar_bytes, key);
      FUZZ_CHECK(value.size() <= limits.max_scalar_bytes, value);
    }
  }
  const auto paused = o.annotations.find(std::string(mactl::kPausedAnnotation));
  FUZZ_CHECK(o.paused == (paused != o.annotations.end() && paused->second == "true"), shown);
  // A paused annotation other than "true"/"false" is an error, so no object has one.
  FUZZ_CHECK(paused == o.annotations.end() || paused->second == "true" || paused->second == "false",
             paused->second);
  FUZZ_CHECK(o.source.file == kFile, shown);
  FUZZ_CHECK(o.source.line >= 1 && o.source.line <= max_line && o.source.column >= 1, shown);
}

// The rules both object kinds share: metadata and desiredState.
template <typename Object>
void CheckCommon(const Object& o, const DecodeLimits& limits, int max_line) {
  CheckMetadata(o, limits, max_line);
  FUZZ_CHECK(o.desired_state == DesiredState::kStopped || o.desired_state == DesiredState::kRunning,
             o.name);
}

void CheckPolicy(const TrainingJobPolicy& p, const DecodeLimits& limits, int max_line) {
  CheckMetadata(p, limits, max_line);
  FUZZ_CHECK(p.training_jobs || p.versions, p.name);
  FUZZ_CHECK(mactl::NameGlobProblem(p.name_glob).empty(), p.name_glob);
  FUZZ_CHECK(p.max_runtime >= mactl::kMinMaxRuntime, p.name);
}

void CheckObject(const TrainingJobVersion& o, const DecodeLimits& limits, int max_line) {
  CheckCommon(o, limits, max_line);
  FUZZ_CHECK(o.job_id >= 1 && o.version_id >= 1, o.name);
}

void CheckJob(const TrainingJob& o, const DecodeLimits& limits, int max_line) {
  CheckCommon(o, limits, max_line);
  FUZZ_CHECK(o.training_job_id.empty() != o.training_job_name.empty(), o.name);
  if (!o.training_job_id.empty()) {
    FUZZ_CHECK(mactl::IsValidTrainingJobId(o.training_job_id), o.training_job_id);
    FUZZ_CHECK(mactl::NormalizeTrainingJobId(o.training_job_id) == o.training_job_id,
               o.training_job_id);
  } else {
    FUZZ_CHECK(mactl::IsValidTrainingJobName(o.training_job_name), o.training_job_name);
  }
}

void CheckResult(const DecodeResult& r, const DecodeLimits& limits, std::string_view content) {
  // A position is at most one line past the last line break (the end of the input). Counting
  // every '\r' as well keeps this an upper bound whatever the parser makes of a lone one.
  const auto breaks =
      std::count_if(content.begin(), content.end(), [](char c) { return c == '\n' || c == '\r'; });
  const int max_line = static_cast<int>(breaks) + 1;
  FUZZ_CHECK(r.objects.size() + r.jobs.size() + r.policies.size() <= limits.max_documents, "");
  for (const ManifestError& e : r.errors) CheckError(e, max_line);
  for (const TrainingJobVersion& o : r.objects) CheckObject(o, limits, max_line);
  for (const TrainingJob& o : r.jobs) CheckJob(o, limits, max_line);
  for (const TrainingJobPolicy& p : r.policies) CheckPolicy(p, limits, max_line);
  // Each object comes from its own document: no two, of either kind, start at the same place.
  std::vector<mactl::SourcePosition> starts;
  for (const TrainingJobVersion& o : r.objects) starts.push_back(o.source);
  for (const TrainingJob& o : r.jobs) starts.push_back(o.source);
  for (const TrainingJobPolicy& p : r.policies) starts.push_back(p.source);
  std::sort(starts.begin(), starts.end(), [](const auto& a, const auto& b) {
    return a.line < b.line || (a.line == b.line && a.column < b.column);
  });
  for (std::size_t i = 1; i < starts.size(); ++i) {
    const auto& a = starts[i - 1];
    const auto& b = starts[i];
    FUZZ_CHECK(a.line < b.line || (a.line == b.line && a.column < b.column),
               a.ToString() + " then " + b.ToString());
  }
}

DecodeResult Decode(std::string_view content, const DecodeLimits& limits) {
  try {
    return mactl::DecodeManifests(content, kFile, limits);
  } catch (const std::exception& e) {
    mactl::fuzz::Violated("DecodeManifests never throws", __FILE__, __LINE__, e.what());
  } catch (...) {
    mactl::fuzz::Violated("DecodeManifests never throws", __FILE__, __LINE__, "non-std exception");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);

  const DecodeLimits defaults;
  const DecodeResult r = Decode(content, defaults);
  CheckResult(r, defaults, content);

  DecodeLimits tight;
  tight.max_file_bytes = 2048;
  tight.max_documents = 3;
  tight.max_nodes_per_document = 40;
  tight.max_depth = 4;
  tight.max_scalar_bytes = 24;
  tight.max_map_entries = 2;
  const DecodeResult t = Decode(content, tight);
  CheckResult(t, tight, content);
  if (size > tight.max_file_bytes) {
    FUZZ_CHECK(t.objects.empty() && t.jobs.empty() && t.policies.empty() && t.errors.size() == 1,
               "oversized file not refused whole");
  }
  return 0;
}
