// Fuzzes the ModelArts answer decoders (controller/cloud/modelarts_types.h) with the input as
// an HTTP body: the job list, version detail, version list and stop decoders and
// DecodeErrorBody all read the same bytes.
//
// Properties checked:
// - nothing escapes: no exception, no sanitizer report;
// - each Decoded<T> is exactly one of value / api_error / decode_error, and a decode_error
//   is non-empty, under 512 bytes and free of control bytes (it is logged and shown in
//   /status);
// - a body in which any object repeats a key is a decode error for all four and gives no
//   error body (found here by counting keys against the object nlohmann kept);
// - the shared rules agree across the four decoders: the same JSON either fails to parse
//   for all, or gives all of them the same api_error, and is_success false is always an
//   api_error; the stop answer is a value exactly when is_success is the boolean true;
// - decoded values match the JSON read independently with nlohmann::json: row counts, ids,
//   statuses, counts >= 0, and version rows without job_id inherit the page's.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/cloud/modelarts_types.h"
#include "fuzz/fuzz_check.h"

namespace {

using mactl::ApiErrorBody;
using mactl::Decoded;
using nlohmann::json;

constexpr std::size_t kMaxDecodeErrorBytes = 512;

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

// The member as the decoder reads it: absent and null are the same.
const json* Member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// An integer member, as sent (the decoder accepted it, so it is an integer in range).
std::int64_t IntMember(const json& object, const char* name) {
  const json* v = Member(object, name);
  FUZZ_CHECK(v == nullptr || v->is_number_integer() || v->is_number_unsigned(), name);
  if (v == nullptr) return 0;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    FUZZ_CHECK(u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), name);
    return static_cast<std::int64_t>(u);
  }
  return v->get<std::int64_t>();
}

// Whether some object in the body, at any depth, names a key twice: nlohmann keeps one
// member per key, so an object that ends with fewer members than keys read had a repeat.
bool HasRepeatedKey(std::string_view body) {
  std::vector<std::size_t> keys_read;  // per open object
  bool repeated = false;
  const auto count = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys_read.push_back(0);
    if (event == json::parse_event_t::key) ++keys_read.back();
    if (event == json::parse_event_t::object_end) {
      repeated = repeated || parsed.size() != keys_read.back();
      keys_read.pop_back();
    }
    return true;
  };
  (void)json::parse(body.begin(), body.end(), count, /*allow_exceptions=*/false);
  return repeated;
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

  const auto list =
      NoThrow("DecodeJobListPage never throws", [&] { return mactl::DecodeJobListPage(body); });
  const auto detail =
      NoThrow("DecodeVersionDetail never throws", [&] { return mactl::DecodeVersionDetail(body); });
  const auto versions = NoThrow("DecodeVersionListPage never throws",
                                [&] { return mactl::DecodeVersionListPage(body); });
  const auto stop =
      NoThrow("DecodeStopResponse never throws", [&] { return mactl::DecodeStopResponse(body); });
  const auto error_body =
      NoThrow("DecodeErrorBody never throws", [&] { return mactl::DecodeErrorBody(body); });
  CheckShape(list);
  CheckShape(detail);
  CheckShape(versions);
  CheckShape(stop);

  // The api_error is decided before any type-specific field is read: all four agree.
  FUZZ_CHECK(SameError(list.api_error, detail.api_error), "list vs detail");
  FUZZ_CHECK(SameError(list.api_error, versions.api_error), "list vs version list");
  FUZZ_CHECK(SameError(list.api_error, stop.api_error), "list vs stop");
  if (list.api_error && error_body) FUZZ_CHECK(SameError(list.api_error, error_body), "error body");

  // An independent reading of the same bytes.
  const json root = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) {
    // Not JSON, or not an object: a decode error everywhere.
    FUZZ_CHECK(!list.decode_error.empty() && !detail.decode_error.empty() &&
                   !versions.decode_error.empty() && !stop.decode_error.empty(),
               "non-object body decoded");
    FUZZ_CHECK(!error_body, "error body from a non-object");
    return 0;
  }
  if (HasRepeatedKey(body)) {
    FUZZ_CHECK(!list.decode_error.empty() && !detail.decode_error.empty() &&
                   !versions.decode_error.empty() && !stop.decode_error.empty(),
               "body with a repeated key decoded");
    FUZZ_CHECK(!error_body, "error body from a body with a repeated key");
    return 0;
  }
  const json* is_success = Member(root, "is_success");
  if (is_success != nullptr && is_success->is_boolean() && !is_success->get<bool>()) {
    FUZZ_CHECK(list.api_error && stop.api_error, "is_success false is not an api_error");
  }
  const bool success_true =
      is_success != nullptr && is_success->is_boolean() && is_success->get<bool>();
  FUZZ_CHECK(stop.value.has_value() == success_true, "stop value without is_success true");
  if (stop.value) FUZZ_CHECK(*stop.value, "stop value false");
  if (success_true) {
    FUZZ_CHECK(!list.api_error, "api_error despite is_success true");
  }

  if (list.value) {
    const json& jobs = root.at("jobs");
    FUZZ_CHECK(jobs.is_array() && jobs.size() == list.value->jobs.size(), "job rows");
    FUZZ_CHECK(list.value->job_total_count == IntMember(root, "job_total_count"), "total count");
    FUZZ_CHECK(list.value->job_total_count >= 0, "total count");
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const mactl::JobSummary& j = list.value->jobs[i];
      FUZZ_CHECK(j.job_id >= 0 && j.version_id >= 0 && j.version_count >= 0, "negative id");
      FUZZ_CHECK(j.job_id == IntMember(jobs[i], "job_id"), "job_id");
      FUZZ_CHECK(j.version_id == IntMember(jobs[i], "version_id"), "version_id");
      FUZZ_CHECK(j.status == IntMember(jobs[i], "status"), "status");
      FUZZ_CHECK(
          Member(jobs[i], "job_id") && Member(jobs[i], "version_id") && Member(jobs[i], "status"),
          "required job field missing");
    }
  }
  if (detail.value) {
    const mactl::VersionDetail& v = *detail.value;
    FUZZ_CHECK(Member(root, "job_id") && Member(root, "version_id") && Member(root, "status"),
               "required detail field missing");
    FUZZ_CHECK(v.job_id >= 0 && v.version_id >= 0, "negative id");
    FUZZ_CHECK(v.job_id == IntMember(root, "job_id"), "job_id");
    FUZZ_CHECK(v.version_id == IntMember(root, "version_id"), "version_id");
    FUZZ_CHECK(v.status == IntMember(root, "status"), "status");
  }
  if (versions.value) {
    const json& rows = root.at("versions");
    const mactl::VersionListPage& page = *versions.value;
    FUZZ_CHECK(rows.is_array() && rows.size() == page.versions.size(), "version rows");
    FUZZ_CHECK(page.job_id >= 0 && page.version_count >= 0, "negative page id");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const mactl::VersionDetail& v = page.versions[i];
      FUZZ_CHECK(v.job_id >= 0 && v.version_id >= 0, "negative id");
      const std::int64_t expected_job =
          Member(rows[i], "job_id") != nullptr ? IntMember(rows[i], "job_id") : page.job_id;
      FUZZ_CHECK(v.job_id == expected_job, "row job_id not inherited");
      FUZZ_CHECK(v.version_id == IntMember(rows[i], "version_id"), "version_id");
      FUZZ_CHECK(v.status == IntMember(rows[i], "status"), "status");
    }
  }
  return 0;
}
