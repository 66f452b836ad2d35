// Fuzzes the ModelArts v2 answer decoders (controller/cloud/modelarts_v2_types.h) with the
// input as an HTTP body: the job detail, search page and terminate decoders and
// DecodeV2ErrorBody all read the same bytes, and the phase table reads what they return.
//
// Properties checked:
// - nothing escapes: no exception, no sanitizer report;
// - each Decoded<T> is exactly one of value / api_error / decode_error, and a decode_error
//   is non-empty, under 512 bytes and free of control bytes (it is logged and shown in
//   /status);
// - the shared rules agree across the decoders: the same bytes give all of them the same
//   api_error, and a body that is not one JSON object (or repeats a key) is a decode error
//   for all;
// - every decoded job has a lower-case UUID id, a valid job name and phases of 1-64
//   printable ASCII bytes (the secondary one may be empty), a duration >= 0, and matches the
//   JSON read independently with nlohmann::json; a terminate value carries the id asked for;
// - the phase table gives every decoded phase pair one class, and only a documented
//   terminable phase is ever terminable.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/training_job.h"
#include "controller/cloud/job_phase.h"
#include "controller/cloud/modelarts_v2_types.h"
#include "fuzz/fuzz_check.h"

namespace {

using mactl::ApiErrorBody;
using mactl::Decoded;
using mactl::JobPhaseClass;
using mactl::TrainingJobInfo;
using nlohmann::json;

constexpr std::size_t kMaxDecodeErrorBytes = 512;
constexpr char kRequestedId[] = "cf63aba9-63b1-4219-b717-708a2665100b";

bool SameError(const std::optional<ApiErrorBody>& a, const std::optional<ApiErrorBody>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->error_code == b->error_code && a->error_message == b->error_message);
}

template <typename T>
void CheckShape(const Decoded<T>& d) {
  const int outcomes = (d.value ? 1 : 0) + (d.api_error ? 1 : 0) + (d.decode_error.empty() ? 0 : 1);
  FUZZ_CHECK(outcomes == 1, d.decode_error);
  FUZZ_CHECK(d.decode_error.size() < kMaxDecodeErrorBytes, d.decode_error);
  FUZZ_CHECK(!mactl::fuzz::HasControlBytes(d.decode_error), d.decode_error);
}

bool IsPhaseText(const std::string& s, bool may_be_empty) {
  if (s.empty()) return may_be_empty;
  if (s.size() > mactl::kMaxJobPhaseBytes) return false;
  for (const char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The job as read independently: the decoder accepted it, so the members exist and are
// strings of the right kind.
void CheckJob(const TrainingJobInfo& job, const json& object) {
  FUZZ_CHECK(mactl::IsValidTrainingJobId(job.id), job.id);
  FUZZ_CHECK(mactl::NormalizeTrainingJobId(job.id) == job.id, job.id);
  FUZZ_CHECK(mactl::IsValidTrainingJobName(job.name), job.name);
  FUZZ_CHECK(IsPhaseText(job.phase, false), job.phase);
  FUZZ_CHECK(IsPhaseText(job.secondary_phase, true), job.secondary_phase);
  FUZZ_CHECK(job.duration_ms >= 0, job.id);
  const json& metadata = object.at("metadata");
  const json& status = object.at("status");
  FUZZ_CHECK(mactl::NormalizeTrainingJobId(metadata.at("id").get<std::string>()) == job.id, job.id);
  FUZZ_CHECK(metadata.at("name").get<std::string>() == job.name, job.name);
  FUZZ_CHECK(status.at("phase").get<std::string>() == job.phase, job.phase);

  const JobPhaseClass c = mactl::ClassifyJobPhases(job.phase, job.secondary_phase);
  if (c == JobPhaseClass::kTerminable) {
    FUZZ_CHECK(job.phase == "Creating" || job.phase == "Pending" || job.phase == "Running",
               job.phase);
  }
  FUZZ_CHECK(!mactl::JobPhaseClassName(c).empty(), job.phase);
}

template <typename F>
auto NoThrow(const char* what, F f) {
  try {
    return f();
  } catch (const std::exception& e) {
    mactl::fuzz::Violated(what, __FILE__, __LINE__, e.what());
  } catch (...) {
    mactl::fuzz::Violated(what, __FILE__, __LINE__, "non-std exception");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  const auto detail =
      NoThrow("DecodeTrainingJob never throws", [&] { return mactl::DecodeTrainingJob(body); });
  const auto page = NoThrow("DecodeTrainingJobSearchPage never throws",
                            [&] { return mactl::DecodeTrainingJobSearchPage(body); });
  const auto terminate = NoThrow("DecodeTerminateAnswer never throws",
                                 [&] { return mactl::DecodeTerminateAnswer(body, kRequestedId); });
  const auto error_body =
      NoThrow("DecodeV2ErrorBody never throws", [&] { return mactl::DecodeV2ErrorBody(body); });
  CheckShape(detail);
  CheckShape(page);
  CheckShape(terminate);

  FUZZ_CHECK(SameError(detail.api_error, page.api_error), "detail vs search page");
  FUZZ_CHECK(SameError(detail.api_error, terminate.api_error), "detail vs terminate");
  if (detail.api_error) {
    FUZZ_CHECK(SameError(detail.api_error, error_body), "error body");
    FUZZ_CHECK(!detail.api_error->error_code.empty(), "api_error without a code");
  }

  // An independent reading of the same bytes. nlohmann keeps the last of repeated keys, so
  // it cannot tell a repeated key; the decoders refused it, which the outcomes show.
  const json root = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) {
    FUZZ_CHECK(!detail.decode_error.empty() && !page.decode_error.empty() &&
                   !terminate.decode_error.empty(),
               "non-object body decoded");
    FUZZ_CHECK(!error_body, "error body from a non-object");
    return 0;
  }
  if (detail.value) CheckJob(*detail.value, root);
  if (terminate.value) {
    CheckJob(*terminate.value, root);
    FUZZ_CHECK(terminate.value->id == kRequestedId, terminate.value->id);
    FUZZ_CHECK(detail.value && *detail.value == *terminate.value, "terminate vs detail");
  }
  if (page.value) {
    const json& items = root.at("items");
    FUZZ_CHECK(items.is_array() && items.size() == page.value->items.size(), "item rows");
    FUZZ_CHECK(page.value->total >= 0 && page.value->count >= 0, "negative count");
    for (std::size_t i = 0; i < items.size(); ++i) CheckJob(page.value->items[i], items[i]);
  }
  return 0;
}
