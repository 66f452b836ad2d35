#include "controller/cloud/modelarts_v2_types.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api/training_job.h"

namespace mactl {
namespace {

using nlohmann::json;

// Longest excerpt of an offending value quoted in a decode error.
constexpr std::size_t kMaxQuotedValueBytes = 40;

// A value as JSON text, escaped to ASCII (so no control byte survives) and bounded.
std::string Quoted(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() <= kMaxQuotedValueBytes) return s;
  s.resize(kMaxQuotedValueBytes);
  return s + "...";
}

// "float 1.5", "string \"8\"", "object": what a decode error says was found.
std::string Found(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "boolean true" : "boolean false";
    case json::value_t::string:
      return "string " + Quoted(v);
    case json::value_t::number_float:
      return "float " + Quoted(v);
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer " + Quoted(v);
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

// The member, or nullptr when absent or null (null is read as "not sent").
const json* Member(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

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

// Finds the first key repeated within one object, at any depth, in a pass of its own (a
// parser callback could do it during the parse, but nlohmann's callback parser is quadratic
// in the length of an array of objects, and a search page is one).
class DuplicateKeyFinder final : public json::json_sax_t {
 public:
  std::optional<std::string> duplicate;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(json::number_integer_t) override { return true; }
  bool number_unsigned(json::number_unsigned_t) override { return true; }
  bool number_float(json::number_float_t, const json::string_t&) override { return true; }
  bool string(json::string_t&) override { return true; }
  bool binary(json::binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool start_object(std::size_t) override {
    open_objects_.emplace_back();
    return true;
  }
  bool end_object() override {
    open_objects_.pop_back();
    return true;
  }
  bool key(json::string_t& key) override {
    if (open_objects_.back().insert(key).second) return true;
    duplicate = std::move(key);
    return false;  // the first is enough
  }
  bool parse_error(std::size_t, const std::string&, const json::exception&) override {
    return false;
  }

 private:
  std::vector<std::unordered_set<std::string>> open_objects_;  // the keys seen in each
};

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
  DuplicateKeyFinder finder;
  try {
    json::sax_parse(body.begin(), body.end(), &finder);
  } catch (const json::exception& e) {
    return "not valid JSON (" + std::string(e.what()).substr(0, 80) + ")";
  }
  if (finder.duplicate) return "duplicate key " + Quoted(json(*finder.duplicate));
  return "";
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
