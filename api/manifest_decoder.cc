#include "api/manifest_decoder.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "api/duration.h"
#include "api/name_glob.h"
#include "api/printable.h"
#include "api/yaml_tree.h"

namespace mactl {
namespace {

// Collects the errors of one document.
class Checker {
 public:
  Checker(const std::string& file, int line, int column, std::vector<ManifestError>& errors)
      : file_(file), document_{file, std::max(line, 1), std::max(column, 1)}, errors_(errors) {}

  void Fail(int line, int column, std::string reason) {
    errors_.push_back(ManifestError{SourcePosition{file_, std::max(line, 1), std::max(column, 1)},
                                    std::move(reason), ManifestErrorCode::kInvalid, document_});
    ++count_;
  }
  void Fail(const YamlNode& at, std::string reason) { Fail(at.line, at.column, std::move(reason)); }
  std::size_t count() const { return count_; }

 private:
  const std::string& file_;
  const SourcePosition document_;  // where the document starts
  std::vector<ManifestError>& errors_;
  std::size_t count_ = 0;
};

// What an error may show of the input.
std::string Printable(std::string_view s) { return PrintableExcerpt(s, 80); }

std::string Quote(std::string_view s) { return "\"" + Printable(s) + "\""; }

// Describes what was found where a value of some kind was expected.
std::string Found(const YamlNode& node) {
  if (node.kind == YamlNode::Kind::kScalar) return Quote(node.value);
  return std::string(node.KindName());
}

// Map entries by key, reporting non-scalar keys, duplicates and unknown fields.
struct Fields {
  std::vector<std::pair<std::string, const YamlNode*>> entries;
  const YamlNode* Get(std::string_view key) const {
    for (const auto& [k, v] : entries) {
      if (k == key) return v;
    }
    return nullptr;
  }
};

std::optional<Fields> ReadMap(const YamlNode& node, const std::string& path, Checker& check,
                              const std::vector<std::string_view>& known) {
  if (node.kind != YamlNode::Kind::kMap) {
    check.Fail(node, path + ": must be a mapping, got " + Found(node));
    return std::nullopt;
  }
  Fields fields;
  for (const auto& [key, value] : node.entries) {
    if (key.kind != YamlNode::Kind::kScalar) {
      check.Fail(key, path + ": keys must be plain strings, got " + Found(key));
      continue;
    }
    // Keys are input too: a field path shows them like any other value.
    const std::string field =
        path.empty() ? Printable(key.value) : path + "." + Printable(key.value);
    if (fields.Get(key.value) != nullptr) {
      check.Fail(key, field + ": duplicate key");
      continue;
    }
    if (!known.empty() &&
        std::find(known.begin(), known.end(), std::string_view(key.value)) == known.end()) {
      std::string allowed;
      for (std::string_view k : known) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      check.Fail(key, field + ": unknown field (allowed: " + allowed + ")");
      continue;
    }
    fields.entries.emplace_back(key.value, &value);
  }
  return fields;
}

const YamlNode* Required(const Fields& fields, std::string_view key, const std::string& path,
                         const YamlNode& parent, Checker& check) {
  const YamlNode* node = fields.Get(key);
  if (node == nullptr || node->kind == YamlNode::Kind::kNull) {
    check.Fail(node == nullptr ? parent : *node,
               "missing required field " + path + (path.empty() ? "" : ".") + std::string(key));
    return nullptr;
  }
  return node;
}

std::optional<std::string> ReadString(const YamlNode& node, const std::string& path,
                                      Checker& check) {
  if (node.kind != YamlNode::Kind::kScalar) {
    check.Fail(node, path + ": must be a string, got " + Found(node));
    return std::nullopt;
  }
  return node.value;
}

bool IsDns1123Label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::optional<std::int64_t> ReadId(const YamlNode& node, const std::string& path, Checker& check) {
  const std::string want = path + ": must be an integer >= 1";
  if (node.kind != YamlNode::Kind::kScalar) {
    check.Fail(node, want + ", got " + Found(node));
    return std::nullopt;
  }
  const std::string& v = node.value;
  if (node.quoted) {
    check.Fail(node, want + " written without quotes, got the string " + Quote(v));
    return std::nullopt;
  }
  const bool digits =
      !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    check.Fail(node, want + ", got " + Quote(v));
    return std::nullopt;
  }
  if (v.size() > 1 && v.front() == '0') {
    check.Fail(node, want + " without leading zeros (YAML 1.1 reads " + Quote(v) +
                         " as an octal number), got " + Quote(v));
    return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (ec == std::errc::result_out_of_range) {
    check.Fail(node, path + ": " + Quote(v) + " is out of range (largest is " +
                         std::to_string(std::numeric_limits<std::int64_t>::max()) + ")");
    return std::nullopt;
  }
  if (ec != std::errc() || end != v.data() + v.size() || value < 1) {
    check.Fail(node, want + ", got " + Quote(v));
    return std::nullopt;
  }
  return value;
}

std::map<std::string, std::string> ReadStringMap(const YamlNode& node, const std::string& path,
                                                 const DecodeLimits& limits, Checker& check) {
  std::map<std::string, std::string> out;
  std::optional<Fields> fields = ReadMap(node, path, check, {});
  if (!fields) return out;
  if (fields->entries.size() > limits.max_map_entries) {
    check.Fail(node, path + ": more than " + std::to_string(limits.max_map_entries) + " entries");
    return out;
  }
  for (const auto& [key, value] : fields->entries) {
    if (value->kind == YamlNode::Kind::kNull) {
      out[key] = "";
      continue;
    }
    if (std::optional<std::string> s = ReadString(*value, path + "." + Printable(key), check)) {
      out[key] = *s;
    }
  }
  return out;
}

// metadata: name, labels, annotations (and the paused annotation), the same for both kinds.
struct Metadata {
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  bool paused = false;
};

void DecodePausedAnnotation(const YamlNode& annotations, Metadata& out, Checker& check) {
  const auto paused = out.annotations.find(std::string(kPausedAnnotation));
  if (paused == out.annotations.end()) return;
  if (paused->second == "true") {
    out.paused = true;
  } else if (paused->second != "false") {
    // Find the value node for the position.
    const YamlNode* at = &annotations;
    for (const auto& [k, v] : annotations.entries) {
      if (k.value == kPausedAnnotation) at = &v;
    }
    check.Fail(*at, "metadata.annotations." + std::string(kPausedAnnotation) +
                        ": must be \"true\" or \"false\", got " + Quote(paused->second) +
                        " (YAML 1.1 words like yes/on are not accepted: write \"true\")");
  }
}

void DecodeMetadata(const YamlNode& metadata, const DecodeLimits& limits, Metadata& out,
                    Checker& check) {
  std::optional<Fields> m = ReadMap(metadata, "metadata", check, {"name", "labels", "annotations"});
  if (!m) return;
  if (const YamlNode* n = Required(*m, "name", "metadata", metadata, check)) {
    if (std::optional<std::string> name = ReadString(*n, "metadata.name", check)) {
      if (IsDns1123Label(*name)) {
        out.name = *name;
      } else {
        check.Fail(*n,
                   "metadata.name: must be a DNS-1123 label (lower-case letters, digits "
                   "and '-', starting and ending with a letter or digit, at most 63 "
                   "characters), got " +
                       Quote(*name));
      }
    }
  }
  if (const YamlNode* n = m->Get("labels"); n && n->kind != YamlNode::Kind::kNull) {
    out.labels = ReadStringMap(*n, "metadata.labels", limits, check);
  }
  if (const YamlNode* n = m->Get("annotations"); n && n->kind != YamlNode::Kind::kNull) {
    out.annotations = ReadStringMap(*n, "metadata.annotations", limits, check);
    DecodePausedAnnotation(*n, out, check);
  }
}

void DecodeProjectId(const Fields& spec, std::string& out, Checker& check) {
  const YamlNode* n = spec.Get("projectId");
  if (n == nullptr || n->kind == YamlNode::Kind::kNull) return;
  if (std::optional<std::string> p = ReadString(*n, "spec.projectId", check)) {
    if (IsValidProjectId(*p)) {
      out = *p;
    } else {
      check.Fail(*n, "spec.projectId: must be 1-64 letters, digits, '-' or '_', got " + Quote(*p));
    }
  }
}

// Returns whether a valid desiredState was found.
bool DecodeDesiredState(const Fields& spec, const YamlNode& spec_node, DesiredState& out,
                        Checker& check) {
  const YamlNode* n = Required(spec, "desiredState", "spec", spec_node, check);
  if (n == nullptr) return false;
  std::optional<std::string> v = ReadString(*n, "spec.desiredState", check);
  if (!v) return false;
  if (std::optional<DesiredState> d = ParseDesiredState(*v)) {
    out = *d;
    return true;
  }
  std::string hint;
  std::string lower = *v;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "stopped") hint = " (did you mean Stopped?)";
  if (lower == "running") hint = " (did you mean Running?)";
  check.Fail(*n, "spec.desiredState: must be Stopped or Running, got " + Quote(*v) + hint);
  return false;
}

// A runtime limit: a duration of at least kMinMaxRuntime, in whole milliseconds (the API's
// unit). Shared by spec.maxRuntime of every kind.
std::optional<std::chrono::milliseconds> ReadLimit(const YamlNode& node, Checker& check) {
  std::optional<std::string> v = ReadString(node, "spec.maxRuntime", check);
  if (!v) return std::nullopt;
  const Result<std::chrono::nanoseconds> parsed = ParseDuration(*v);
  if (!parsed.ok()) {
    check.Fail(node, "spec.maxRuntime: must be a duration like 90m or 72h, got " + Quote(*v));
    return std::nullopt;
  }
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(parsed.value());
  if (limit < kMinMaxRuntime) {
    check.Fail(node, "spec.maxRuntime: must be at least 1m, got " + Quote(*v));
    return std::nullopt;
  }
  return limit;
}

// spec.maxRuntime of an object: only beside desiredState Running (a Stopped object is
// stopped anyway). An invalid desiredState has its own error; the maxRuntime check then only
// checks the value.
void DecodeMaxRuntime(const Fields& spec, std::optional<DesiredState> desired,
                      std::optional<std::chrono::milliseconds>& out, Checker& check) {
  const YamlNode* n = spec.Get("maxRuntime");
  if (n == nullptr || n->kind == YamlNode::Kind::kNull) return;
  const std::optional<std::chrono::milliseconds> limit = ReadLimit(*n, check);
  if (!limit) return;
  if (desired && *desired != DesiredState::kRunning) {
    check.Fail(*n,
               "spec.maxRuntime: only allowed with desiredState Running (a Stopped object is "
               "stopped anyway)");
    return;
  }
  out = limit;
}

void DecodeVersionSpec(const YamlNode& spec, TrainingJobVersion& object, Checker& check) {
  std::optional<Fields> s = ReadMap(
      spec, "spec", check, {"projectId", "jobId", "versionId", "desiredState", "maxRuntime"});
  if (!s) return;
  DecodeProjectId(*s, object.project_id, check);
  if (const YamlNode* n = Required(*s, "jobId", "spec", spec, check)) {
    if (auto id = ReadId(*n, "spec.jobId", check)) object.job_id = *id;
  }
  if (const YamlNode* n = Required(*s, "versionId", "spec", spec, check)) {
    if (auto id = ReadId(*n, "spec.versionId", check)) object.version_id = *id;
  }
  const bool desired_known = DecodeDesiredState(*s, spec, object.desired_state, check);
  DecodeMaxRuntime(*s, desired_known ? std::optional(object.desired_state) : std::nullopt,
                   object.max_runtime, check);
}

// spec of kind TrainingJob: exactly one of trainingJobId (a UUID) and trainingJobName.
void DecodeJobSpec(const YamlNode& spec, TrainingJob& object, Checker& check) {
  std::optional<Fields> s =
      ReadMap(spec, "spec", check,
              {"projectId", "trainingJobId", "trainingJobName", "desiredState", "maxRuntime"});
  if (!s) return;
  DecodeProjectId(*s, object.project_id, check);
  const YamlNode* id = s->Get("trainingJobId");
  const YamlNode* name = s->Get("trainingJobName");
  if (id != nullptr && id->kind == YamlNode::Kind::kNull) id = nullptr;
  if (name != nullptr && name->kind == YamlNode::Kind::kNull) name = nullptr;
  if (id == nullptr && name == nullptr) {
    check.Fail(spec, "missing required field spec.trainingJobId or spec.trainingJobName");
  } else if (id != nullptr && name != nullptr) {
    check.Fail(*name,
               "spec.trainingJobName: give exactly one of spec.trainingJobId and "
               "spec.trainingJobName, not both");
  } else if (id != nullptr) {
    if (std::optional<std::string> v = ReadString(*id, "spec.trainingJobId", check)) {
      if (IsValidTrainingJobId(*v)) {
        object.training_job_id = NormalizeTrainingJobId(*v);
      } else {
        check.Fail(*id,
                   "spec.trainingJobId: must be a UUID (8-4-4-4-12 hexadecimal digits, e.g. "
                   "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21), got " +
                       Quote(*v));
      }
    }
  } else if (std::optional<std::string> v = ReadString(*name, "spec.trainingJobName", check)) {
    if (IsValidTrainingJobName(*v)) {
      object.training_job_name = *v;
    } else {
      check.Fail(*name,
                 "spec.trainingJobName: must be 1-64 letters, digits, '_' or '-' (the API's "
                 "rule for job names), got " +
                     Quote(*v));
    }
  }
  const bool desired_known = DecodeDesiredState(*s, spec, object.desired_state, check);
  DecodeMaxRuntime(*s, desired_known ? std::optional(object.desired_state) : std::nullopt,
                   object.max_runtime, check);
}

// spec.jobKinds of a TrainingJobPolicy: a non-empty list of distinct object kinds.
void DecodeJobKinds(const Fields& spec, TrainingJobPolicy& policy, Checker& check) {
  const YamlNode* n = spec.Get("jobKinds");
  if (n == nullptr || n->kind == YamlNode::Kind::kNull) return;
  if (n->kind != YamlNode::Kind::kSequence) {
    check.Fail(*n, "spec.jobKinds: must be a list of TrainingJob and/or TrainingJobVersion, got " +
                       Found(*n));
    return;
  }
  if (n->items.empty()) {
    check.Fail(*n,
               "spec.jobKinds: must name at least one kind (leave the field out for both kinds)");
    return;
  }
  bool jobs = false;
  bool versions = false;
  for (std::size_t i = 0; i < n->items.size(); ++i) {
    const YamlNode& item = n->items[i];
    const std::string path = "spec.jobKinds[" + std::to_string(i) + "]";
    // The first bad item is the one error: a list of thousands must not flood the log.
    std::optional<std::string> v = ReadString(item, path, check);
    if (!v) return;
    bool* seen = *v == kTrainingJobKind ? &jobs : *v == kKind ? &versions : nullptr;
    if (seen == nullptr) {
      check.Fail(item, path + ": must be TrainingJob or TrainingJobVersion, got " + Quote(*v));
      return;
    }
    if (*seen) {
      check.Fail(item, path + ": " + *v + " is listed twice");
      return;
    }
    *seen = true;
  }
  policy.training_jobs = jobs;
  policy.versions = versions;
}

void DecodeNameGlob(const Fields& spec, TrainingJobPolicy& policy, Checker& check) {
  const YamlNode* n = spec.Get("nameGlob");
  if (n == nullptr || n->kind == YamlNode::Kind::kNull) return;
  std::optional<std::string> v = ReadString(*n, "spec.nameGlob", check);
  if (!v) return;
  if (const std::string problem = NameGlobProblem(*v); !problem.empty()) {
    check.Fail(*n, "spec.nameGlob: not a valid glob: " + problem + ", got " + Quote(*v));
    return;
  }
  policy.name_glob = *v;
}

// spec of kind TrainingJobPolicy: which jobs of a project (kinds, name glob) and the limit.
void DecodePolicySpec(const YamlNode& spec, TrainingJobPolicy& policy, Checker& check) {
  std::optional<Fields> s =
      ReadMap(spec, "spec", check, {"projectId", "jobKinds", "nameGlob", "maxRuntime"});
  if (!s) return;
  DecodeProjectId(*s, policy.project_id, check);
  DecodeJobKinds(*s, policy, check);
  DecodeNameGlob(*s, policy, check);
  if (const YamlNode* n = Required(*s, "maxRuntime", "spec", spec, check)) {
    if (std::optional<std::chrono::milliseconds> limit = ReadLimit(*n, check)) {
      policy.max_runtime = *limit;
    }
  }
}

// apiVersion and kind; returns the kind when it is one this decoder knows.
std::optional<std::string_view> DecodeHeader(const Fields& top, const YamlNode& root,
                                             Checker& check) {
  if (const YamlNode* n = Required(top, "apiVersion", "", root, check)) {
    if (std::optional<std::string> v = ReadString(*n, "apiVersion", check);
        v && *v != kApiVersion) {
      check.Fail(*n, "apiVersion: must be " + std::string(kApiVersion) + ", got " + Quote(*v));
    }
  }
  const YamlNode* n = Required(top, "kind", "", root, check);
  if (n == nullptr) return std::nullopt;
  std::optional<std::string> v = ReadString(*n, "kind", check);
  if (!v) return std::nullopt;
  for (const std::string_view known : {kKind, kTrainingJobKind, kTrainingJobPolicyKind}) {
    if (*v == known) return known;
  }
  check.Fail(*n, "kind: must be " + std::string(kKind) + ", " + std::string(kTrainingJobKind) +
                     " or " + std::string(kTrainingJobPolicyKind) + ", got " + Quote(*v));
  return std::nullopt;
}

template <typename Object>
void ApplyMetadata(Metadata metadata, Object& object) {
  object.name = std::move(metadata.name);
  object.labels = std::move(metadata.labels);
  object.annotations = std::move(metadata.annotations);
  object.paused = metadata.paused;
}

void DecodeDocument(const YamlDocument& doc, const std::string& file, const DecodeLimits& limits,
                    DecodeResult& result) {
  Checker check(file, doc.line, doc.column, result.errors);
  for (const YamlProblem& p : doc.problems) check.Fail(p.line, p.column, p.reason);
  if (check.count() > 0) return;

  const YamlNode& root = doc.root;
  std::optional<Fields> top = ReadMap(root, "", check, {"apiVersion", "kind", "metadata", "spec"});
  if (!top) return;
  const SourcePosition source{file, doc.line, doc.column};
  const std::optional<std::string_view> kind = DecodeHeader(*top, root, check);
  Metadata metadata;
  if (const YamlNode* n = Required(*top, "metadata", "", root, check)) {
    DecodeMetadata(*n, limits, metadata, check);
  }
  const YamlNode* spec = Required(*top, "spec", "", root, check);
  // A document of unknown kind has its spec checked against TrainingJobVersion, as before
  // there were two kinds.
  if (kind == kTrainingJobPolicyKind) {
    TrainingJobPolicy policy;
    policy.source = source;
    if (spec != nullptr) DecodePolicySpec(*spec, policy, check);
    ApplyMetadata(std::move(metadata), policy);
    if (check.count() == 0) result.policies.push_back(std::move(policy));
    return;
  }
  if (kind == kTrainingJobKind) {
    TrainingJob job;
    job.source = source;
    if (spec != nullptr) DecodeJobSpec(*spec, job, check);
    ApplyMetadata(std::move(metadata), job);
    if (check.count() == 0) result.jobs.push_back(std::move(job));
    return;
  }
  TrainingJobVersion object;
  object.source = source;
  if (spec != nullptr) DecodeVersionSpec(*spec, object, check);
  ApplyMetadata(std::move(metadata), object);
  if (check.count() == 0) result.objects.push_back(std::move(object));
}

}  // namespace

DecodeResult DecodeManifests(std::string_view content, const std::string& file,
                             const DecodeLimits& limits) {
  DecodeResult result;
  if (content.size() > limits.max_file_bytes) {
    result.errors.push_back(
        ManifestError{SourcePosition{file, 1, 1},
                      "file is larger than " + std::to_string(limits.max_file_bytes) + " bytes"});
    return result;
  }
  if (content.find('\0') != std::string_view::npos) {
    result.errors.push_back(
        ManifestError{SourcePosition{file, 1, 1}, "file contains NUL bytes; not a YAML text"});
    return result;
  }
  YamlLimits yaml_limits;
  yaml_limits.max_documents = limits.max_documents;
  yaml_limits.max_nodes_per_document = limits.max_nodes_per_document;
  yaml_limits.max_depth = limits.max_depth;
  yaml_limits.max_scalar_bytes = limits.max_scalar_bytes;
  const YamlParseResult parsed = ParseYaml(content, yaml_limits);
  for (const YamlDocument& doc : parsed.documents) DecodeDocument(doc, file, limits, result);
  if (parsed.syntax_error) {
    result.errors.push_back(ManifestError{
        SourcePosition{file, std::max(parsed.error.line, 1), std::max(parsed.error.column, 1)},
        parsed.error.reason});
  }
  return result;
}

}  // namespace mactl
