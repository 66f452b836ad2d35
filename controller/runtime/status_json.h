#pragma once

// The /status document (README "Status and conditions"): every manifest object with its
// observation, conditions and schedule, the invalid manifests, readiness and the time it was made.
// Pure functions of the state handed in, so the shape is tested without a daemon.

#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/base/clock.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/training_job_reconciler.h"
#include "controller/core/version_state.h"
#include "controller/runtime/policy_status.h"

namespace mactl {

// "2026-11-29T11:31:39Z": UTC, whole seconds.
std::string Iso8601(WallTime t);

// `states` by VersionRef::Key(), as Reconciler::States() returns them.
nlohmann::json StatusJson(const DesiredSnapshot& desired,
                          const std::unordered_map<std::string, VersionState>& states, bool ready,
                          WallTime generated_at);

// With the TrainingJob objects too: `job_states` by TrainingJobRef::Key(), as
// TrainingJobReconciler::States() returns them. Every object carries its `kind`; a TrainingJob
// shows trainingJobId (the spec's, or the id its name resolved to), trainingJobName, and the
// observed job's phase and secondary phase. "policies" lists every TrainingJobPolicy of the
// snapshot with its status in `policies` (PolicyEnforcer::Statuses), or Pending.
nlohmann::json StatusJson(const DesiredSnapshot& desired,
                          const std::unordered_map<std::string, VersionState>& states,
                          const std::unordered_map<std::string, TrainingJobState>& job_states,
                          bool ready, WallTime generated_at,
                          const std::vector<PolicyStatus>& policies = {});

// One entry of "objects": `state` is the reconciler's (null before the first reconcile).
nlohmann::json VersionObjectJson(const TrainingJobVersion& object, const DesiredSnapshot& desired,
                                 const VersionState* state);
nlohmann::json JobObjectJson(const TrainingJob& object, const DesiredSnapshot& desired,
                             const TrainingJobState* state);
// The "phase" those entries show, for filtering without rendering.
Phase ObjectPhase(const TrainingJobVersion& object, const DesiredSnapshot& desired,
                  const VersionState* state);
Phase ObjectPhase(const TrainingJob& object, const DesiredSnapshot& desired,
                  const TrainingJobState* state);
// The snapshot's policies in manifest order, each with the enforcer's status when it has one
// for that same manifest (an edited policy is Pending until a pass has evaluated it).
std::vector<PolicyStatus> PolicyStatusesOf(const DesiredSnapshot& desired,
                                           const std::vector<PolicyStatus>& published);
// One entry of "policies" (README, "Runtime limits").
nlohmann::json PolicyJson(const PolicyStatus& status);
// One entry of "manifestErrors".
nlohmann::json ManifestErrorJson(const ManifestError& error);

// The HTTP body for `status`: indented by two. Manifest file names and offending values
// may hold bytes that are not UTF-8; they are replaced, where a strict dump would throw and
// /status would answer 500 without any content.
std::string StatusBody(const nlohmann::json& status);

}  // namespace mactl
