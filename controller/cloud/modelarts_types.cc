#include "controller/cloud/modelarts_types.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace mactl {
namespace {

using nlohmann::json;

// Longest excerpt of an offending value quoted in a decode error.
constexpr std::size_t kMaxQuotedValueBytes = 40;

std::string Bounded(std::string s) {
  if (s.size() <= kMaxQuotedValueBytes) return s;
  s.resize(kMaxQuotedValueBytes);
  // Do not end inside a UTF-8 sequence.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80) != 0) s.pop_back();
  return s + "...";
}

// "float 1.5", "string \"8\"", "object", "array": what a decode error says was found.
std::string Found(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "boolean true" : "boolean false";
    case json::value_t::string:
    case json::value_t::number_float:
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: {
      const char* kind = v.is_string() ? "string " : v.is_number_float() ? "float " : "integer ";
      return kind + Bounded(v.dump(-1, ' ', true, json::error_handler_t::replace));
    }
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return "unexpected value";
}

std::string FieldPath(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  return std::string(prefix) + "." + std::string(name);
}

// The member, or nullptr when absent or null (null is read as "not sent").
const json* Member(const json& object, std::string_view name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// Reads an integer field into out, checking [min, max]. Returns an error text or "".
std::string ReadInteger(const json& object, std::string_view prefix, std::string_view name,
                        bool required, std::int64_t min, std::int64_t max, std::int64_t& out) {
  const json* v = Member(object, name);
  const std::string path = FieldPath(prefix, name);
  if (v == nullptr) return required ? "field " + path + " is missing" : "";
  const std::string range =
      min == 0 ? "a non-negative integer"
               : "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) {
      return "field " + path + ": expected " + range + ", found too big " + Found(*v);
    }
    out = static_cast<std::int64_t>(u);
    return "";
  }
  if (v->is_number_integer()) {
    const auto i = v->get<std::int64_t>();
    if (i < min || i > max) {
      return "field " + path + ": expected " + range + ", found " + Found(*v);
    }
    out = i;
    return "";
  }
  return "field " + path + ": expected " + range + ", found " + Found(*v);
}

std::string ReadId(const json& object, std::string_view prefix, std::string_view name,
                   bool required, std::int64_t& out) {
  return ReadInteger(object, prefix, name, required, 0, std::numeric_limits<std::int64_t>::max(),
                     out);
}

std::string ReadTime(const json& object, std::string_view prefix, std::string_view name,
                     std::int64_t& out) {
  // Times are cosmetic here: any int64 is accepted so an odd value cannot hide a status.
  return ReadInteger(object, prefix, name, false, std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max(), out);
}

std::string ReadStatus(const json& object, std::string_view prefix, int& out) {
  std::int64_t value = 0;
  std::string error = ReadInteger(object, prefix, "status", true, std::numeric_limits<int>::min(),
                                  std::numeric_limits<int>::max(), value);
  if (error.empty()) out = static_cast<int>(value);
  return error;
}

std::string ReadString(const json& object, std::string_view prefix, std::string_view name,
                       std::string& out) {
  const json* v = Member(object, name);
  if (v == nullptr) return "";
  if (!v->is_string()) {
    return "field " + FieldPath(prefix, name) + ": expected a string, found " + Found(*v);
  }
  out = v->get<std::string>();
  return "";
}

// Runs the readers in order and returns the first error.
template <typename... Errors>
std::string FirstError(Errors&&... errors) {
  std::string first;
  ((first.empty() && !errors.empty() ? (first = std::move(errors), 0) : 0), ...);
  return first;
}

std::string ReadJobSummary(const json& item, const std::string& prefix, JobSummary& job) {
  if (!item.is_object()) return prefix + ": expected an object, found " + Found(item);
  return FirstError(ReadId(item, prefix, "job_id", true, job.job_id),
                    ReadId(item, prefix, "version_id", true, job.version_id),
                    ReadStatus(item, prefix, job.status),
                    ReadString(item, prefix, "job_name", job.job_name),
                    ReadTime(item, prefix, "create_time", job.create_time_ms),
                    ReadTime(item, prefix, "duration", job.duration_ms),
                    ReadId(item, prefix, "version_count", false, job.version_count));
}

std::string ReadVersionDetail(const json& item, const std::string& prefix, bool job_id_required,
                              VersionDetail& version) {
  if (!item.is_object()) return prefix + ": expected an object, found " + Found(item);
  return FirstError(ReadId(item, prefix, "job_id", job_id_required, version.job_id),
                    ReadId(item, prefix, "version_id", true, version.version_id),
                    ReadStatus(item, prefix, version.status),
                    ReadString(item, prefix, "job_name", version.job_name),
                    ReadString(item, prefix, "version_name", version.version_name),
                    ReadTime(item, prefix, "create_time", version.create_time_ms),
                    ReadTime(item, prefix, "start_time", version.start_time_ms),
                    ReadTime(item, prefix, "duration", version.duration_ms));
}

std::string ReadJobListPage(const json& root, JobListPage& page) {
  const json* jobs = Member(root, "jobs");
  if (jobs == nullptr) return "field jobs is missing";
  if (!jobs->is_array()) return "field jobs: expected an array, found " + Found(*jobs);
  std::string error = ReadId(root, "", "job_total_count", false, page.job_total_count);
  if (!error.empty()) return error;
  page.jobs.reserve(jobs->size());
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    JobSummary job;
    error = ReadJobSummary((*jobs)[i], "jobs[" + std::to_string(i) + "]", job);
    if (!error.empty()) return error;
    page.jobs.push_back(std::move(job));
  }
  return "";
}

std::string ReadVersionListPage(const json& root, VersionListPage& page) {
  const json* versions = Member(root, "versions");
  if (versions == nullptr) return "field versions is missing";
  if (!versions->is_array()) return "field versions: expected an array, found " + Found(*versions);
  std::string error = FirstError(ReadId(root, "", "job_id", false, page.job_id),
                                 ReadString(root, "", "job_name", page.job_name),
                                 ReadId(root, "", "version_count", false, page.version_count));
  if (!error.empty()) return error;
  page.versions.reserve(versions->size());
  for (std::size_t i = 0; i < versions->size(); ++i) {
    VersionDetail version;
    // The page names the job once; rows that omit job_id inherit it.
    version.job_id = page.job_id;
    version.job_name = page.job_name;
    error =
        ReadVersionDetail((*versions)[i], "versions[" + std::to_string(i) + "]", false, version);
    if (!error.empty()) return error;
    page.versions.push_back(std::move(version));
  }
  return "";
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

// Parses body into an object or explains why it could not. Exceptions stop here.
std::string ParseObject(std::string_view body, json& root) {
  if (body.size() > kMaxDecodedBodyBytes) {
    return "body too large (" + std::to_string(body.size()) + " bytes, limit " +
           std::to_string(kMaxDecodedBodyBytes) + ")";
  }
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return "empty body";
  try {
    root = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return "not valid JSON (error at byte " + std::to_string(e.byte) + ")";
  } catch (const json::exception& e) {
    return "not valid JSON (" + std::string(e.what()).substr(0, 80) + ")";
  }
  if (!root.is_object()) return "expected a JSON object, found " + Found(root);
  return "";
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
  std::string error = read_fields(root, value);
  if (!error.empty()) {
    out.decode_error = is_success == nullptr ? "field is_success is missing and " + error : error;
    return out;
  }
  out.value = std::move(value);
  return out;
}

}  // namespace

Decoded<JobListPage> DecodeJobListPage(std::string_view body) {
  return DecodeAnswer<JobListPage>(body, false, ReadJobListPage);
}

Decoded<VersionDetail> DecodeVersionDetail(std::string_view body) {
  return DecodeAnswer<VersionDetail>(body, false, [](const json& root, VersionDetail& v) {
    return ReadVersionDetail(root, "", true, v);
  });
}

Decoded<VersionListPage> DecodeVersionListPage(std::string_view body) {
  return DecodeAnswer<VersionListPage>(body, false, ReadVersionListPage);
}

Decoded<bool> DecodeStopResponse(std::string_view body) {
  return DecodeAnswer<bool>(body, true, [](const json&, bool& v) {
    v = true;
    return std::string();
  });
}

std::optional<ApiErrorBody> DecodeErrorBody(std::string_view body) {
  json root;
  if (!ParseObject(body, root).empty()) return std::nullopt;
  if (!HasErrorFields(root)) return std::nullopt;
  return ReadErrorFields(root);
}

}  // namespace mactl
