#include "controller/cloud/modelarts_types.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/cloud/json_answer.h"

namespace mactl {
namespace {

using nlohmann::json;

using json_answer::Found;
using json_answer::Member;
using json_answer::Quoted;

// A wrong shape found while reading an answer. The readers below throw it so that a
// from_json can read fields one after another; DecodeAnswer catches it, so it never
// leaves this file.
struct ShapeError {
  std::string path;      // "jobs[0].job_id", relative to the object being read
  std::string detail;    // "expected ..., found ..."; empty when the field is missing
  bool of_field = true;  // "field jobs[0].job_id: ..." rather than "jobs[0]: ..."

  std::string Message() const {
    if (!of_field) return path + ": " + detail;
    return "field " + path + (detail.empty() ? " is missing" : ": " + detail);
  }
};

enum class Need { kOptional, kRequired };

// The checked reader: the members of one JSON object, each read with its exact type and
// range or else a ShapeError naming it. null counts as absent; unknown members are ignored.
class Fields {
 public:
  explicit Fields(const json& object) : object_(object) {
    if (!object.is_object())
      throw ShapeError{"", "expected an object, found " + Found(object), false};
  }

  void Integer(std::string_view name, Need need, std::int64_t min, std::int64_t max,
               std::int64_t& out) const {
    const json* v = Member(object_, name);
    if (v == nullptr) {
      if (need == Need::kRequired) throw ShapeError{std::string(name), ""};
      return;
    }
    const std::string range =
        min == 0 ? "a non-negative integer"
                 : "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      throw ShapeError{std::string(name), "expected " + range + ", found too big " + Found(*v)};
    }
    if (v->is_number_unsigned() || v->is_number_integer()) {
      const auto value = v->get<std::int64_t>();
      if (value >= min && value <= max) {
        out = value;
        return;
      }
    }
    throw ShapeError{std::string(name), "expected " + range + ", found " + Found(*v)};
  }

  void Id(std::string_view name, Need need, std::int64_t& out) const {
    Integer(name, need, 0, std::numeric_limits<std::int64_t>::max(), out);
  }

  // Times are cosmetic here: any int64 is accepted so an odd value cannot hide a status.
  void Time(std::string_view name, std::int64_t& out) const {
    Integer(name, Need::kOptional, std::numeric_limits<std::int64_t>::min(),
            std::numeric_limits<std::int64_t>::max(), out);
  }

  void Status(int& out) const {
    std::int64_t value = 0;
    Integer("status", Need::kRequired, std::numeric_limits<int>::min(),
            std::numeric_limits<int>::max(), value);
    out = static_cast<int>(value);
  }

  void Text(std::string_view name, std::string& out) const {
    const json* v = Member(object_, name);
    if (v == nullptr) return;
    if (!v->is_string())
      throw ShapeError{std::string(name), "expected a string, found " + Found(*v)};
    out = v->get<std::string>();
  }

  // A required array member.
  const json& Array(std::string_view name) const {
    const json* v = Member(object_, name);
    if (v == nullptr) throw ShapeError{std::string(name), ""};
    if (!v->is_array())
      throw ShapeError{std::string(name), "expected an array, found " + Found(*v)};
    return *v;
  }

 private:
  const json& object_;
};

// Reads each element of the array member `name` with read_row, naming the row in any error.
template <typename Row, typename ReadRow>
void ReadRows(std::string_view name, const json& rows, std::vector<Row>& out, ReadRow read_row) {
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    try {
      read_row(rows[i], out.emplace_back());
    } catch (ShapeError& e) {
      const std::string row = std::string(name) + "[" + std::to_string(i) + "]";
      e.path = e.path.empty() ? row : row + "." + e.path;
      throw;
    }
  }
}

void ReadVersion(const json& j, Need job_id, VersionDetail& v) {
  const Fields f(j);
  f.Id("job_id", job_id, v.job_id);
  f.Id("version_id", Need::kRequired, v.version_id);
  f.Status(v.status);
  f.Text("job_name", v.job_name);
  f.Text("version_name", v.version_name);
  f.Time("create_time", v.create_time_ms);
  f.Time("start_time", v.start_time_ms);
  f.Time("duration", v.duration_ms);
}

ApiErrorBody ReadErrorFields(const json& root) {
  ApiErrorBody body;
  if (const json* code = Member(root, "error_code")) {
    if (code->is_string()) {
      body.error_code = code->get<std::string>();
    } else if (code->is_number()) {
      body.error_code = code->dump();
    }
  }
  // error_message is the documented spelling; error_msg is what older pages and the API
  // gateway send. The first non-empty one wins.
  for (const char* name : {"error_message", "error_msg"}) {
    const json* text = Member(root, name);
    if (text != nullptr && text->is_string() && !text->get_ref<const std::string&>().empty()) {
      body.error_message = text->get<std::string>();
      break;
    }
  }
  return body;
}

bool HasErrorFields(const json& root) {
  return Member(root, "error_code") != nullptr || Member(root, "error_message") != nullptr ||
         Member(root, "error_msg") != nullptr;
}

std::string ParseObject(std::string_view body, json& root) {
  return json_answer::ParseObject(body, kMaxDecodedBodyBytes, root);
}

template <typename T, typename ReadFields>
Decoded<T> DecodeAnswer(std::string_view body, bool is_success_required, ReadFields read_fields) {
  Decoded<T> out;
  json root;
  out.decode_error = ParseObject(body, root);
  if (!out.decode_error.empty()) return out;

  const json* is_success = Member(root, "is_success");
  if (is_success != nullptr && !is_success->is_boolean()) {
    out.decode_error = "field is_success: expected a boolean, found " + Found(*is_success);
    return out;
  }
  if (is_success != nullptr && !is_success->get<bool>()) {
    out.api_error = ReadErrorFields(root);
    return out;
  }
  if (is_success == nullptr) {
    const ApiErrorBody fields = ReadErrorFields(root);
    if (!fields.error_code.empty()) {
      out.api_error = fields;
      return out;
    }
    if (is_success_required) {
      out.decode_error = "field is_success is missing";
      return out;
    }
  }
  T value{};
  try {
    read_fields(root, value);
  } catch (const ShapeError& e) {
    const std::string error = e.Message();
    out.decode_error = is_success == nullptr ? "field is_success is missing and " + error : error;
    return out;
  }
  out.value = std::move(value);
  return out;
}

template <typename T>
Decoded<T> DecodeWithFromJson(std::string_view body) {
  return DecodeAnswer<T>(body, false, [](const json& root, T& value) { root.get_to(value); });
}

}  // namespace

// The answers' from_json, found by nlohmann's get_to through argument-dependent lookup.
// Each reads its required fields first, in the order the decode errors report them.

static void from_json(const json& j, JobSummary& job) {
  const Fields f(j);
  f.Id("job_id", Need::kRequired, job.job_id);
  f.Id("version_id", Need::kRequired, job.version_id);
  f.Status(job.status);
  f.Text("job_name", job.job_name);
  f.Time("create_time", job.create_time_ms);
  f.Time("duration", job.duration_ms);
  f.Id("version_count", Need::kOptional, job.version_count);
}

static void from_json(const json& j, JobListPage& page) {
  const Fields f(j);
  const json& jobs = f.Array("jobs");
  f.Id("job_total_count", Need::kOptional, page.job_total_count);
  ReadRows("jobs", jobs, page.jobs, [](const json& row, JobSummary& job) { row.get_to(job); });
}

static void from_json(const json& j, VersionDetail& version) {
  ReadVersion(j, Need::kRequired, version);
}

static void from_json(const json& j, VersionListPage& page) {
  const Fields f(j);
  const json& versions = f.Array("versions");
  f.Id("job_id", Need::kOptional, page.job_id);
  f.Text("job_name", page.job_name);
  f.Id("version_count", Need::kOptional, page.version_count);
  ReadRows("versions", versions, page.versions, [&page](const json& row, VersionDetail& v) {
    // The page names the job once; rows that omit job_id inherit it.
    v.job_id = page.job_id;
    v.job_name = page.job_name;
    ReadVersion(row, Need::kOptional, v);
  });
}

Decoded<JobListPage> DecodeJobListPage(std::string_view body) {
  return DecodeWithFromJson<JobListPage>(body);
}

Decoded<VersionDetail> DecodeVersionDetail(std::string_view body) {
  return DecodeWithFromJson<VersionDetail>(body);
}

Decoded<VersionListPage> DecodeVersionListPage(std::string_view body) {
  return DecodeWithFromJson<VersionListPage>(body);
}

Decoded<bool> DecodeStopResponse(std::string_view body) {
  // The stop answer has nothing to read beyond is_success, which DecodeAnswer checks.
  return DecodeAnswer<bool>(body, true, [](const json&, bool& accepted) { accepted = true; });
}

std::optional<ApiErrorBody> DecodeErrorBody(std::string_view body) {
  json root;
  if (!ParseObject(body, root).empty()) return std::nullopt;
  if (!HasErrorFields(root)) return std::nullopt;
  return ReadErrorFields(root);
}

}  // namespace mactl
