#include "controller/runtime/status_stream.h"

#include <algorithm>

#include "controller/core/decision.h"
#include "controller/runtime/status_json.h"

namespace mactl {
namespace {

using nlohmann::json;

// Leaves a chunk once it is this big, so one chunk stays small whatever the objects hold.
constexpr std::size_t kChunkBytes = 64 * 1024;

std::string Dump(const json& value) {
  return value.dump(2, ' ', false, json::error_handler_t::replace);
}

// `value` as json::dump(2) writes it `depth` levels down: every line after the first indented.
void AppendIndented(std::string& out, const json& value, std::size_t depth) {
  const std::string indent = "\n" + std::string(2 * depth, ' ');
  const std::string text = Dump(value);
  // dump escapes newlines inside strings, so each '\n' ends a line.
  std::size_t from = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
    out.append(text, from, nl - from);
    out += indent;
    from = nl + 1;
  }
  out.append(text, from);
}

// The next element of an array `depth` levels down.
void AppendElement(std::string& out, const json& value, std::size_t written) {
  out += written == 0 ? "\n    " : ",\n    ";
  AppendIndented(out, value, 2);
}

void CloseArray(std::string& out, std::size_t written) { out += written == 0 ? "]" : "\n  ]"; }

}  // namespace

StatusStream::StatusStream(std::shared_ptr<const DesiredSnapshot> desired, StatusStateLookup lookup,
                           StatusQuery query, StatusHead head)
    : desired_(std::move(desired)),
      lookup_(std::move(lookup)),
      query_(std::move(query)),
      head_(std::move(head)) {}

bool StatusStream::Next(std::string& out) {
  switch (stage_) {
    case Stage::kHead:
      WriteHead(out);
      return true;
    case Stage::kErrors:
      WriteErrors(out);
      return true;
    case Stage::kObjects:
      WriteObjects(out);
      return true;
    case Stage::kPolicies:
      WritePolicies(out);
      return true;
    case Stage::kTail:
      WriteTail(out);
      stage_ = Stage::kDone;
      return true;
    case Stage::kDone:
      break;
  }
  return false;
}

// The keys in json's own (sorted) order: generatedAt, leaderElection, manifestErrors,
// objects, policies; then "continue" when paging stops early, and ready.
void StatusStream::WriteHead(std::string& out) {
  out += "{\n  \"generatedAt\": " + Dump(Iso8601(head_.generated_at)) + ",\n";
  if (head_.leader_election) {
    out += "  \"leaderElection\": ";
    AppendIndented(out, *head_.leader_election, 1);
    out += ",\n";
  }
  out += "  \"manifestErrors\": [";
  stage_ = Stage::kErrors;
  position_ = 0;
  written_ = 0;
}

// Every invalid manifest, on the first page only: a pager prints them once.
void StatusStream::WriteErrors(std::string& out) {
  const std::vector<ManifestError>& errors = desired_->errors;
  const std::size_t end = query_.after ? 0 : std::min(errors.size(), position_ + kBatch);
  for (; position_ < end; ++position_, ++written_) {
    AppendElement(out, ManifestErrorJson(errors[position_]), written_);
  }
  if (position_ < end || (!query_.after && position_ < errors.size())) return;
  CloseArray(out, written_);
  out += ",\n  \"objects\": [";
  stage_ = Stage::kObjects;
  written_ = 0;
  Order();
}

std::size_t StatusStream::ObjectCount() const {
  return desired_->objects.size() + desired_->job_objects.size();
}

// Manifest order (versions, then TrainingJobs) unless paged; the full dump keeps today's order.
StatusStream::Entry StatusStream::At(std::size_t position) const {
  if (query_.Paged()) return by_name_[position];
  const std::size_t versions = desired_->objects.size();
  return position < versions ? Entry{false, position} : Entry{true, position - versions};
}

const std::string& StatusStream::NameOf(Entry e) const {
  return e.job ? desired_->job_objects[e.index].name : desired_->objects[e.index].name;
}

// Paging orders by name (unique across both kinds) and starts after the token's name, so a
// page boundary survives objects added or removed between pages.
void StatusStream::Order() {
  position_ = 0;
  if (!query_.Paged()) return;
  by_name_.reserve(ObjectCount());
  for (std::size_t i = 0; i < desired_->objects.size(); ++i) by_name_.push_back({false, i});
  for (std::size_t i = 0; i < desired_->job_objects.size(); ++i) by_name_.push_back({true, i});
  std::sort(by_name_.begin(), by_name_.end(),
            [this](Entry a, Entry b) { return NameOf(a) < NameOf(b); });
  if (query_.after) {
    const auto first =
        std::upper_bound(by_name_.begin(), by_name_.end(), *query_.after,
                         [this](const std::string& name, Entry e) { return name < NameOf(e); });
    position_ = static_cast<std::size_t>(first - by_name_.begin());
  }
}

std::optional<json> StatusStream::Render(Entry e, bool render) const {
  const DesiredSnapshot& d = *desired_;
  const std::string_view kind = e.job ? kTrainingJobKind : kKind;
  if (!query_.MatchesKindAndName(kind, NameOf(e))) return std::nullopt;
  // A state is looked up only when it is shown or filtered on.
  if (!render && !query_.phase) return json();
  if (e.job) {
    const TrainingJob& object = d.job_objects[e.index];
    const auto state = lookup_.job(object.Ref(d.default_project_id).Key());
    const TrainingJobState* s = state ? &*state : nullptr;
    if (query_.phase && PhaseName(ObjectPhase(object, d, s)) != *query_.phase) return std::nullopt;
    return render ? JobObjectJson(object, d, s) : json();
  }
  const TrainingJobVersion& object = d.objects[e.index];
  const auto state = lookup_.version(object.Ref(d.default_project_id).Key());
  const VersionState* s = state ? &*state : nullptr;
  if (query_.phase && PhaseName(ObjectPhase(object, d, s)) != *query_.phase) return std::nullopt;
  return render ? VersionObjectJson(object, d, s) : json();
}

void StatusStream::WriteObjects(std::string& out) {
  const std::size_t count = ObjectCount();
  const std::size_t end = std::min(count, position_ + kBatch);
  const std::size_t start_size = out.size();
  for (; position_ < end && out.size() - start_size < kChunkBytes; ++position_) {
    const Entry e = At(position_);
    const bool page_full = query_.limit && written_ >= *query_.limit;
    const std::optional<json> object = Render(e, !page_full);
    if (!object) continue;
    if (page_full) {  // one more match past a full page: the caller asks for the next
      more_ = true;
      position_ = count;
      break;
    }
    AppendElement(out, *object, written_++);
    last_name_ = NameOf(e);
  }
  if (position_ < count) return;
  CloseArray(out, written_);
  StartPolicies(out);
}

// Every policy that passes the kind, name and phase filters, on the first page only (as the
// manifest errors): they are few, and a pager prints them once.
void StatusStream::StartPolicies(std::string& out) {
  out += ",\n  \"policies\": [";
  stage_ = Stage::kPolicies;
  position_ = 0;
  written_ = 0;
  if (query_.after) return;
  const std::vector<PolicyStatus> published =
      lookup_.policies ? lookup_.policies() : std::vector<PolicyStatus>{};
  for (PolicyStatus& status : PolicyStatusesOf(*desired_, published)) {
    if (!query_.MatchesKindAndName(kTrainingJobPolicyKind, status.policy.name)) continue;
    if (query_.phase && status.phase != *query_.phase) continue;
    policies_.push_back(std::move(status));
  }
}

// One policy per part: a policy over many jobs lists each match.
void StatusStream::WritePolicies(std::string& out) {
  if (position_ < policies_.size()) {
    AppendElement(out, PolicyJson(policies_[position_++]), written_++);
    return;
  }
  CloseArray(out, written_);
  stage_ = Stage::kTail;
}

void StatusStream::WriteTail(std::string& out) const {
  if (more_) out += ",\n  \"continue\": " + Dump(EncodeContinueToken(last_name_));
  out += ",\n  \"ready\": ";
  out += head_.ready ? "true" : "false";
  out += "\n}";
}

}  // namespace mactl
