#include "controller/runtime/status_json.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

#include "controller/cloud/job_status.h"

namespace mactl {
namespace {

using nlohmann::json;

json ConditionJson(const Condition& c) {
  return json{{"type", c.type},
              {"status", c.status ? "True" : "False"},
              {"reason", c.reason},
              {"message", c.message},
              {"lastTransitionTime", c.last_transition_time == WallTime{}
                                         ? json(nullptr)
                                         : json(Iso8601(c.last_transition_time))}};
}

// What the controller knows about one object; `managed` may be null.
void AddState(json& o, const VersionState* state, const ManagedVersion* managed) {
  if (state == nullptr) {
    o["phase"] = "Pending";
    o["observed"] = nullptr;
    o["conditions"] = json::array();
    o["attempts"] = 0;
    o["lastError"] = nullptr;
    o["nextAttempt"] = nullptr;
    return;
  }
  const VersionState& s = *state;
  o["phase"] =
      std::string(PhaseName(managed != nullptr && managed->conflict ? Phase::kConflict : s.phase));
  if (s.observed_status) {
    o["observed"] = json{{"statusCode", *s.observed_status},
                         {"statusName", std::string(JobStatusName(*s.observed_status))},
                         {"observedAt", Iso8601(s.observed_at)},
                         {"source", s.observed_source}};
  } else {
    o["observed"] = nullptr;
  }
  o["conditions"] = json::array({ConditionJson(s.ready), ConditionJson(s.synced)});
  o["attempts"] = s.attempts;
  o["stopRequestedAt"] = s.stop_accepted_at ? json(Iso8601(*s.stop_accepted_at)) : json();
  o["lastError"] = s.last_error ? json(s.last_error->ToString()) : json(nullptr);
  o["nextAttempt"] = s.next_attempt ? json(Iso8601(*s.next_attempt)) : json(nullptr);
  o["nextAttemptReason"] = s.next_reason;
}

json ObjectJson(const TrainingJobVersion& object, const DesiredSnapshot& desired,
                const std::unordered_map<std::string, VersionState>& states) {
  const VersionRef ref = object.Ref(desired.default_project_id);
  const std::string key = ref.Key();
  const ManagedVersion* managed = desired.Find(key);
  json o{{"name", object.name},
         {"file", object.source.file},
         {"line", object.source.line},
         {"projectId", ref.project_id},
         {"jobId", ref.job_id},
         {"versionId", ref.version_id},
         {"desiredState", std::string(DesiredStateName(object.desired_state))},
         {"paused", object.paused},
         {"conflict", managed != nullptr && managed->conflict}};
  const auto it = states.find(key);
  AddState(o, it == states.end() ? nullptr : &it->second, managed);
  return o;
}

}  // namespace

std::string Iso8601(WallTime t) {
  // fmt::gmtime, not the time_point formatter: fmt 9 (Debian's) formats a time_point in
  // local time.
  return fmt::format("{:%FT%TZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(
                                      std::chrono::floor<std::chrono::seconds>(t))));
}

json StatusJson(const DesiredSnapshot& desired,
                const std::unordered_map<std::string, VersionState>& states, bool ready,
                WallTime generated_at) {
  json objects = json::array();
  for (const TrainingJobVersion& object : desired.objects) {
    objects.push_back(ObjectJson(object, desired, states));
  }
  json errors = json::array();
  for (const ManifestError& e : desired.errors) {
    errors.push_back(json{{"file", e.position.file},
                          {"line", e.position.line},
                          {"column", e.position.column},
                          {"error", e.reason}});
  }
  return json{{"objects", std::move(objects)},
              {"manifestErrors", std::move(errors)},
              {"ready", ready},
              {"generatedAt", Iso8601(generated_at)}};
}

std::string StatusBody(const json& status) {
  return status.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace mactl
