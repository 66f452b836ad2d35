#include "controller/cloud/modelarts_v2_types.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/training_job.h"
#include "controller/cloud/json_answer.h"

namespace mactl {
namespace {

using nlohmann::json;

using json_answer::Found;
using json_answer::Member;
using json_answer::Quoted;

// Printable ASCII, 1..kMaxJobPhaseBytes: what a phase may be, documented or not.
bool IsPhaseText(const std::string& s) {
  if (s.empty() || s.size() > kMaxJobPhaseBytes) return false;
  for (const char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The first problem found while reading one answer; later reads do nothing once it is set.
struct Problem {
  std::string text;
  bool found() const { return !text.empty(); }
  void Set(std::string t) {
    if (text.empty()) text = std::move(t);
  }
};

// The members of one JSON object at a path ("items[2].status"), each read with its exact
// type and range, or else the Problem names it.
class Fields {
 public:
  Fields(const json& object, std::string path, Problem& problem)
      : object_(object), path_(std::move(path)), problem_(problem) {
    if (!object.is_object()) problem_.Set(path_ + ": expected an object, found " + Found(object));
  }

  std::string PathOf(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }

  // nullptr when absent, or when reading should stop; reports a missing required member.
  const json* Get(std::string_view name, bool required) const {
    if (problem_.found()) return nullptr;
    const json* v = Member(object_, name);
    if (v == nullptr && required) problem_.Set("field " + PathOf(name) + " is missing");
    return v;
  }

  void Integer(std::string_view name, std::int64_t min, std::int64_t max, std::int64_t& out) const {
    const json* v = Get(name, false);
    if (v == nullptr) return;
    const std::string range =
        min == 0
            ? "a non-negative integer"
            : (min == std::numeric_limits<std::int64_t>::min() ? "a 64-bit integer" : "an integer");
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      problem_.Set("field " + PathOf(name) + ": expected " + range + ", found too big " +
                   Found(*v));
      return;
    }
    if (v->is_number_unsigned() || v->is_number_integer()) {
      const auto value = v->get<std::int64_t>();
      if (value >= min && value <= max) {
        out = value;
        return;
      }
    }
    problem_.Set("field " + PathOf(name) + ": expected " + range + ", found " + Found(*v));
  }

  // A string member that must satisfy valid (described by want).
  template <typename Valid>
  void Text(std::string_view name, bool required, std::string_view want, Valid valid,
            std::string& out) const {
    const json* v = Get(name, required);
    if (v == nullptr) return;
    if (v->is_string() && valid(v->get_ref<const std::string&>())) {
      out = v->get<std::string>();
      return;
    }
    problem_.Set("field " + PathOf(name) + ": expected " + std::string(want) + ", found " +
                 Found(*v));
  }

  const json* Object(std::string_view name) const { return Get(name, true); }

  const json* Array(std::string_view name) const {
    const json* v = Get(name, true);
    if (v != nullptr && !v->is_array()) {
      problem_.Set("field " + PathOf(name) + ": expected an array, found " + Found(*v));
      return nullptr;
    }
    return v;
  }

  bool ok() const { return !problem_.found(); }

 private:
  const json& object_;
  const std::string path_;
  Problem& problem_;
};

constexpr std::int64_t kMinInt64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();

void ReadMetadata(const Fields& job, TrainingJobInfo& out, Problem& problem) {
  const json* metadata = job.Object("metadata");
  if (metadata == nullptr) return;
  const Fields m(*metadata, job.PathOf("metadata"), problem);
  m.Text("id", true, "a UUID string", IsValidTrainingJobId, out.id);
  out.id = NormalizeTrainingJobId(out.id);
  m.Text("name", true, "a job name (1-64 letters, digits, '_' or '-')", IsValidTrainingJobName,
         out.name);
  m.Integer("create_time", kMinInt64, kMaxInt64, out.create_time_ms);
}

void ReadStatus(const Fields& job, TrainingJobInfo& out, Problem& problem) {
  const json* status = job.Object("status");
  if (status == nullptr) return;
  const Fields s(*status, job.PathOf("status"), problem);
  constexpr std::string_view kWant = "a phase (1-64 printable ASCII characters)";
  s.Text("phase", true, kWant, IsPhaseText, out.phase);
  s.Text("secondary_phase", false, kWant, IsPhaseText, out.secondary_phase);
  s.Integer("start_time", kMinInt64, kMaxInt64, out.start_time_ms);
  s.Integer("duration", 0, kMaxInt64, out.duration_ms);
}

void ReadJob(const json& object, std::string path, TrainingJobInfo& out, Problem& problem) {
  const Fields job(object, std::move(path), problem);
  ReadMetadata(job, out, problem);
  ReadStatus(job, out, problem);
}

void ReadSearchPage(const json& root, TrainingJobSearchPage& out, Problem& problem) {
  const Fields page(root, "", problem);
  page.Integer("total", 0, kMaxInt64, out.total);
  page.Integer("count", 0, kMaxInt64, out.count);
  const json* items = page.Array("items");
  if (items == nullptr) return;
  out.items.reserve(items->size());
  for (std::size_t i = 0; i < items->size() && !problem.found(); ++i) {
    ReadJob((*items)[i], "items[" + std::to_string(i) + "]", out.items.emplace_back(), problem);
  }
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
  // error_msg is the v2 spelling; error_message is what v1 answers send. The first non-empty
  // one wins.
  for (const char* name : {"error_msg", "error_message"}) {
    const json* text = Member(root, name);
    if (text != nullptr && text->is_string() && !text->get_ref<const std::string&>().empty()) {
      body.error_message = text->get<std::string>();
      break;
    }
  }
  return body;
}

std::string ParseObject(std::string_view body, json& root) {
  return json_answer::ParseObject(body, kMaxDecodedBodyBytes, root);
}

template <typename T, typename ReadFields>
Decoded<T> DecodeAnswer(std::string_view body, ReadFields read_fields) {
  Decoded<T> out;
  json root;
  out.decode_error = ParseObject(body, root);
  if (!out.decode_error.empty()) return out;
  if (ApiErrorBody fields = ReadErrorFields(root); !fields.error_code.empty()) {
    out.api_error = std::move(fields);
    return out;
  }
  T value{};
  Problem problem;
  read_fields(root, value, problem);
  if (problem.found()) {
    out.decode_error = std::move(problem.text);
    return out;
  }
  out.value = std::move(value);
  return out;
}

}  // namespace

Decoded<TrainingJobInfo> DecodeTrainingJob(std::string_view body) {
  return DecodeAnswer<TrainingJobInfo>(
      body, [](const json& root, TrainingJobInfo& job, Problem& p) { ReadJob(root, "", job, p); });
}

Decoded<TrainingJobSearchPage> DecodeTrainingJobSearchPage(std::string_view body) {
  return DecodeAnswer<TrainingJobSearchPage>(body, ReadSearchPage);
}

Decoded<TrainingJobInfo> DecodeTerminateAnswer(std::string_view body,
                                               std::string_view requested_id) {
  Decoded<TrainingJobInfo> d = DecodeTrainingJob(body);
  if (d.value && d.value->id != requested_id) {
    d.decode_error = "field metadata.id: expected the terminated job's id " +
                     Quoted(json(std::string(requested_id))) + ", found " +
                     Quoted(json(d.value->id));
    d.value.reset();
  }
  return d;
}

std::optional<ApiErrorBody> DecodeV2ErrorBody(std::string_view body) {
  json root;
  if (!ParseObject(body, root).empty()) return std::nullopt;
  if (Member(root, "error_code") == nullptr && Member(root, "error_msg") == nullptr &&
      Member(root, "error_message") == nullptr) {
    return std::nullopt;
  }
  return ReadErrorFields(root);
}

}  // namespace mactl
