#include "controller/runtime/status_json.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

#include "api/duration.h"
#include "controller/cloud/job_status.h"

namespace mactl {
namespace {

using nlohmann::json;

json ConditionJson(const Condition& c) {
  return json{{"type", c.type},
              {"status", c.status ? "True" : "False"},
              {"reason", c.reason},
              {"message", c.message.str()},
              {"lastTransitionTime", c.last_transition_time == WallTime{}
                                         ? json(nullptr)
                                         : json(Iso8601(c.last_transition_time))}};
}

// Before the first reconcile a version shows Pending even when conflicting (as it always has);
// a TrainingJob shows Conflict at once.
Phase ShownPhase(const VersionState* state, const ManagedVersion* managed) {
  if (state == nullptr) return Phase::kPending;
  return managed != nullptr && managed->conflict ? Phase::kConflict : state->phase;
}

Phase ShownPhase(const TrainingJobState* state, const ManagedTrainingJob* managed) {
  if (managed != nullptr && managed->conflict) return Phase::kConflict;
  return state == nullptr ? Phase::kPending : state->phase;
}

// What the controller knows about one object; `managed` may be null.
void AddState(json& o, const VersionState* state, const ManagedVersion* managed) {
  o["phase"] = std::string(PhaseName(ShownPhase(state, managed)));
  if (state == nullptr) {
    o["observed"] = nullptr;
    o["conditions"] = json::array();
    o["attempts"] = 0;
    o["lastError"] = nullptr;
    o["nextAttempt"] = nullptr;
    return;
  }
  const VersionState& s = *state;
  if (s.observed_status) {
    o["observed"] = json{{"statusCode", *s.observed_status},
                         {"statusName", std::string(JobStatusName(*s.observed_status))},
                         {"observedAt", Iso8601(s.observed_at)},
                         {"source", s.observed_source}};
    // Only where a limit makes the run time matter, so other objects' documents stay as they were.
    if (managed != nullptr && managed->max_runtime && s.observed_run_duration) {
      o["observed"]["durationMs"] = s.observed_run_duration->count();
    }
  } else {
    o["observed"] = nullptr;
  }
  o["conditions"] = json::array({ConditionJson(s.ready), ConditionJson(s.synced)});
  o["attempts"] = s.attempts;
  o["stopRequestedAt"] = s.stop_accepted_at ? json(Iso8601(*s.stop_accepted_at)) : json();
  if (s.max_runtime_due) o["maxRuntimeDueAt"] = Iso8601(*s.max_runtime_due);
  o["lastError"] = s.last_error ? json(s.last_error->ToString()) : json(nullptr);
  o["nextAttempt"] = s.next_attempt ? json(Iso8601(*s.next_attempt)) : json(nullptr);
  o["nextAttemptReason"] = s.next_reason;
}

}  // namespace

json VersionObjectJson(const TrainingJobVersion& object, const DesiredSnapshot& desired,
                       const VersionState* state) {
  const VersionRef ref = object.Ref(desired.default_project_id);
  const ManagedVersion* managed = desired.Find(ref.Key());
  json o{{"kind", std::string(kKind)},
         {"name", object.name},
         {"file", object.source.file},
         {"line", object.source.line},
         {"projectId", ref.project_id},
         {"jobId", ref.job_id},
         {"versionId", ref.version_id},
         {"desiredState", std::string(DesiredStateName(object.desired_state))},
         {"paused", object.paused},
         {"conflict", managed != nullptr && managed->conflict}};
  if (object.max_runtime) o["maxRuntime"] = FormatDuration(*object.max_runtime);
  AddState(o, state, managed);
  return o;
}

namespace {

void AddJobState(json& o, const TrainingJobState* state, const ManagedTrainingJob* managed) {
  o["phase"] = std::string(PhaseName(ShownPhase(state, managed)));
  if (state == nullptr) {
    o["observed"] = nullptr;
    o["conditions"] = json::array();
    o["attempts"] = 0;
    o["lastError"] = nullptr;
    o["nextAttempt"] = nullptr;
    return;
  }
  const TrainingJobState& s = *state;
  if (!s.resolved_id.empty()) o["trainingJobId"] = s.resolved_id;
  if (s.job) {
    o["observed"] = json{{"trainingJobId", s.job->id},
                         {"trainingJobName", s.job->name},
                         {"phase", s.job->phase},
                         {"secondaryPhase", s.job->secondary_phase},
                         {"observedAt", Iso8601(s.observed_at)},
                         {"source", s.observed_source}};
    if (managed != nullptr && managed->max_runtime) {
      o["observed"]["durationMs"] = s.job->duration_ms;
    }
  } else {
    o["observed"] = nullptr;
  }
  o["conditions"] = json::array({ConditionJson(s.ready), ConditionJson(s.synced)});
  o["attempts"] = s.attempts;
  o["terminateRequestedAt"] =
      s.terminate_accepted_at ? json(Iso8601(*s.terminate_accepted_at)) : json();
  if (s.max_runtime_due) o["maxRuntimeDueAt"] = Iso8601(*s.max_runtime_due);
  o["lastError"] = s.last_error ? json(s.last_error->ToString()) : json(nullptr);
  o["nextAttempt"] = s.next_attempt ? json(Iso8601(*s.next_attempt)) : json(nullptr);
  o["nextAttemptReason"] = s.next_reason;
}

}  // namespace

json JobObjectJson(const TrainingJob& object, const DesiredSnapshot& desired,
                   const TrainingJobState* state) {
  const TrainingJobRef ref = object.Ref(desired.default_project_id);
  const ManagedTrainingJob* managed = desired.FindTrainingJob(ref.Key());
  json o{{"kind", std::string(kTrainingJobKind)},
         {"name", object.name},
         {"file", object.source.file},
         {"line", object.source.line},
         {"projectId", ref.project_id},
         {"trainingJobId", ref.training_job_id.empty() ? json(nullptr) : json(ref.training_job_id)},
         {"trainingJobName",
          ref.training_job_name.empty() ? json(nullptr) : json(ref.training_job_name)},
         {"desiredState", std::string(DesiredStateName(object.desired_state))},
         {"paused", object.paused},
         {"conflict", managed != nullptr && managed->conflict}};
  if (object.max_runtime) o["maxRuntime"] = FormatDuration(*object.max_runtime);
  AddJobState(o, state, managed);
  return o;
}

// The writers below put each object's keys in the sorted order json keeps them in.
namespace {

void WriteTime(JsonWriter& w, const std::optional<WallTime>& t) {
  if (t) {
    w.String(Iso8601(*t));
  } else {
    w.Null();
  }
}

// An id or name the manifest may leave out: null when empty.
void WriteStringOrNull(JsonWriter& w, const std::string& text) {
  if (text.empty()) {
    w.Null();
  } else {
    w.String(text);
  }
}

void WriteCondition(JsonWriter& w, const Condition& c) {
  w.BeginObject();
  w.Key("lastTransitionTime");
  WriteTime(w, c.last_transition_time == WallTime{} ? std::nullopt
                                                    : std::optional(c.last_transition_time));
  w.Key("message");
  w.String(c.message);
  w.Key("reason");
  w.String(c.reason);
  w.Key("status");
  w.String(c.status ? "True" : "False");
  w.Key("type");
  w.String(c.type);
  w.EndObject();
}

// "attempts" and "conditions", the first keys of both kinds.
template <typename State>
void WriteAttemptsAndConditions(JsonWriter& w, const State* state) {
  w.Key("attempts");
  w.Uint(state != nullptr ? state->attempts : 0);
  w.Key("conditions");
  w.BeginArray();
  if (state != nullptr) {
    WriteCondition(w, state->ready);
    WriteCondition(w, state->synced);
  }
  w.EndArray();
}

// From "lastError" to "nextAttemptReason"; "line" and "maxRuntime" come from the manifest.
template <typename State, typename Object>
void WriteErrorToNextAttempt(JsonWriter& w, const Object& object, const State* state) {
  w.Key("lastError");
  if (state != nullptr && state->last_error) {
    w.String(state->last_error->ToString());
  } else {
    w.Null();
  }
  w.Key("line");
  w.Int(object.source.line);
  if (object.max_runtime) {
    w.Key("maxRuntime");
    w.String(FormatDuration(*object.max_runtime));
  }
  if (state != nullptr && state->max_runtime_due) {
    w.Key("maxRuntimeDueAt");
    WriteTime(w, state->max_runtime_due);
  }
  w.Key("name");
  w.String(object.name);
  w.Key("nextAttempt");
  WriteTime(w, state != nullptr ? state->next_attempt : std::nullopt);
  if (state != nullptr) {
    w.Key("nextAttemptReason");
    w.String(state->next_reason);
  }
}

void WriteVersionObserved(JsonWriter& w, const VersionState* state, const ManagedVersion* managed) {
  if (state == nullptr || !state->observed_status) return w.Null();
  const VersionState& s = *state;
  w.BeginObject();
  if (managed != nullptr && managed->max_runtime && s.observed_run_duration) {
    w.Key("durationMs");
    w.Int(s.observed_run_duration->count());
  }
  w.Key("observedAt");
  w.String(Iso8601(s.observed_at));
  w.Key("source");
  w.String(s.observed_source);
  w.Key("statusCode");
  w.Int(*s.observed_status);
  w.Key("statusName");
  w.String(JobStatusName(*s.observed_status));
  w.EndObject();
}

void WriteJobObserved(JsonWriter& w, const TrainingJobState* state,
                      const ManagedTrainingJob* managed) {
  if (state == nullptr || !state->job) return w.Null();
  const TrainingJobInfo& job = *state->job;
  w.BeginObject();
  if (managed != nullptr && managed->max_runtime) {
    w.Key("durationMs");
    w.Int(job.duration_ms);
  }
  w.Key("observedAt");
  w.String(Iso8601(state->observed_at));
  w.Key("phase");
  w.String(job.phase);
  w.Key("secondaryPhase");
  w.String(job.secondary_phase);
  w.Key("source");
  w.String(state->observed_source);
  w.Key("trainingJobId");
  w.String(job.id);
  w.Key("trainingJobName");
  w.String(job.name);
  w.EndObject();
}

// The manifest's own fields shared by both kinds, in their places between the state's.
template <typename Object>
void WriteConflictToFile(JsonWriter& w, const Object& object, bool conflict) {
  w.Key("conflict");
  w.Bool(conflict);
  w.Key("desiredState");
  w.String(DesiredStateName(object.desired_state));
  w.Key("file");
  w.String(object.source.file);
}

template <typename Object>
void WritePausedToProject(JsonWriter& w, const Object& object, Phase phase,
                          const std::string& project_id) {
  w.Key("paused");
  w.Bool(object.paused);
  w.Key("phase");
  w.String(PhaseName(phase));
  w.Key("projectId");
  w.String(project_id);
}

}  // namespace

void WriteVersionObject(JsonWriter& w, const TrainingJobVersion& object,
                        const DesiredSnapshot& desired, const VersionState* state) {
  const VersionRef ref = object.Ref(desired.default_project_id);
  const ManagedVersion* managed = desired.Find(ref.Key());
  w.BeginObject();
  WriteAttemptsAndConditions(w, state);
  WriteConflictToFile(w, object, managed != nullptr && managed->conflict);
  w.Key("jobId");
  w.Int(ref.job_id);
  w.Key("kind");
  w.String(kKind);
  WriteErrorToNextAttempt(w, object, state);
  w.Key("observed");
  WriteVersionObserved(w, state, managed);
  WritePausedToProject(w, object, ShownPhase(state, managed), ref.project_id);
  if (state != nullptr) {
    w.Key("stopRequestedAt");
    WriteTime(w, state->stop_accepted_at);
  }
  w.Key("versionId");
  w.Int(ref.version_id);
  w.EndObject();
}

void WriteJobObject(JsonWriter& w, const TrainingJob& object, const DesiredSnapshot& desired,
                    const TrainingJobState* state) {
  const TrainingJobRef ref = object.Ref(desired.default_project_id);
  const ManagedTrainingJob* managed = desired.FindTrainingJob(ref.Key());
  w.BeginObject();
  WriteAttemptsAndConditions(w, state);
  WriteConflictToFile(w, object, managed != nullptr && managed->conflict);
  w.Key("kind");
  w.String(kTrainingJobKind);
  WriteErrorToNextAttempt(w, object, state);
  w.Key("observed");
  WriteJobObserved(w, state, managed);
  WritePausedToProject(w, object, ShownPhase(state, managed), ref.project_id);
  if (state != nullptr) {
    w.Key("terminateRequestedAt");
    WriteTime(w, state->terminate_accepted_at);
  }
  const std::string& id =
      state != nullptr && !state->resolved_id.empty() ? state->resolved_id : ref.training_job_id;
  w.Key("trainingJobId");
  WriteStringOrNull(w, id);
  w.Key("trainingJobName");
  WriteStringOrNull(w, ref.training_job_name);
  w.EndObject();
}

namespace {

template <typename State>
const State* Find(const std::unordered_map<std::string, State>& states, const std::string& key) {
  const auto it = states.find(key);
  return it == states.end() ? nullptr : &it->second;
}

}  // namespace

Phase ObjectPhase(const TrainingJobVersion& object, const DesiredSnapshot& desired,
                  const VersionState* state) {
  return ShownPhase(state, desired.Find(object.Ref(desired.default_project_id).Key()));
}

Phase ObjectPhase(const TrainingJob& object, const DesiredSnapshot& desired,
                  const TrainingJobState* state) {
  return ShownPhase(state, desired.FindTrainingJob(object.Ref(desired.default_project_id).Key()));
}

namespace {

json OptionalTime(const std::optional<WallTime>& t) { return t ? json(Iso8601(*t)) : json(); }

json PolicyMatchJson(const PolicyMatchStatus& m) {
  return json{{"kind", PolicyJobKindName(m.job.kind)},
              {"projectId", m.job.project_id},
              {"id", m.job.id},
              {"versionId", m.job.version_id},
              {"name", m.job.name},
              {"durationMs", m.job.duration_ms},
              {"verdict", PolicyVerdictName(m.verdict)},
              {"dueAt", OptionalTime(m.due_at)},
              {"stopped", m.stopped},
              {"message", m.message}};
}

}  // namespace

std::vector<PolicyStatus> PolicyStatusesOf(const DesiredSnapshot& desired,
                                           const std::vector<PolicyStatus>& published) {
  std::unordered_map<std::string_view, const PolicyStatus*> by_name;
  for (const PolicyStatus& s : published) by_name.emplace(s.policy.name, &s);
  std::vector<PolicyStatus> out;
  out.reserve(desired.policies.size());
  for (const TrainingJobPolicy& policy : desired.policies) {
    const auto it = by_name.find(policy.name);
    const bool current = it != by_name.end() && it->second->policy == policy &&
                         it->second->project_id == policy.ProjectId(desired.default_project_id);
    out.push_back(current ? *it->second : PendingPolicyStatus(policy, desired.default_project_id));
  }
  return out;
}

json PolicyJson(const PolicyStatus& s) {
  json kinds = json::array();
  if (s.policy.training_jobs) kinds.push_back(kTrainingJobKind);
  if (s.policy.versions) kinds.push_back(kKind);
  json matches = json::array();
  for (const PolicyMatchStatus& m : s.matches) matches.push_back(PolicyMatchJson(m));
  return json{{"name", s.policy.name},
              {"kind", kTrainingJobPolicyKind},
              {"file", s.policy.source.file},
              {"line", s.policy.source.line},
              {"column", s.policy.source.column},
              {"projectId", s.project_id},
              {"jobKinds", std::move(kinds)},
              {"nameGlob", s.policy.name_glob},
              {"maxRuntime", FormatDuration(s.policy.max_runtime)},
              {"paused", s.policy.paused},
              {"phase", s.phase},
              {"reason", s.reason},
              {"message", s.message},
              {"matched", s.matched},
              {"overLimit", s.over_limit},
              {"stops", s.stops},
              {"lastPassAt", OptionalTime(s.last_pass_at)},
              {"nextDueAt", OptionalTime(s.next_due_at)},
              {"matches", std::move(matches)}};
}

json ManifestErrorJson(const ManifestError& e) {
  return json{{"file", e.position.file},
              {"line", e.position.line},
              {"column", e.position.column},
              {"error", e.reason}};
}

std::string Iso8601(WallTime t) {
  // fmt::gmtime, not the time_point formatter: fmt 9 (Debian's) formats a time_point in
  // local time.
  return fmt::format("{:%FT%TZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(
                                      std::chrono::floor<std::chrono::seconds>(t))));
}

json StatusJson(const DesiredSnapshot& desired,
                const std::unordered_map<std::string, VersionState>& states, bool ready,
                WallTime generated_at) {
  return StatusJson(desired, states, {}, ready, generated_at);
}

json StatusJson(const DesiredSnapshot& desired,
                const std::unordered_map<std::string, VersionState>& states,
                const std::unordered_map<std::string, TrainingJobState>& job_states, bool ready,
                WallTime generated_at, const std::vector<PolicyStatus>& policies) {
  json objects = json::array();
  for (const TrainingJobVersion& object : desired.objects) {
    objects.push_back(VersionObjectJson(
        object, desired, Find(states, object.Ref(desired.default_project_id).Key())));
  }
  for (const TrainingJob& object : desired.job_objects) {
    objects.push_back(JobObjectJson(
        object, desired, Find(job_states, object.Ref(desired.default_project_id).Key())));
  }
  json errors = json::array();
  for (const ManifestError& e : desired.errors) errors.push_back(ManifestErrorJson(e));
  json policy_entries = json::array();
  for (const PolicyStatus& p : PolicyStatusesOf(desired, policies)) {
    policy_entries.push_back(PolicyJson(p));
  }
  return json{{"objects", std::move(objects)},
              {"policies", std::move(policy_entries)},
              {"manifestErrors", std::move(errors)},
              {"ready", ready},
              {"generatedAt", Iso8601(generated_at)}};
}

std::string StatusBody(const json& status) {
  return status.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace mactl
