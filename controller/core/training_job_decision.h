#pragma once

// The decision for kind TrainingJob (the ModelArts v2 API): desired state + the observed job
// → action. Like Decide for versions, a pure function with no I/O, so that every row of the
// phase table (controller/cloud/job_phase.h) is tested directly. A job named by
// spec.trainingJobName is first resolved among the jobs a search found.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/training_job_version.h"
#include "controller/cloud/modelarts_v2_types.h"
#include "controller/core/decision.h"

namespace mactl {

enum class JobAction { kNone, kTerminate };
std::string_view JobActionName(JobAction a);  // "none" / "terminate"

// Facts beyond desired/observed that change the decision: the reconciler's memory of its own
// actions and the manifest set.
struct TrainingJobDecisionContext {
  bool paused = false;
  bool conflict = false;
  bool dry_run = false;
  // The job a terminate was accepted for earlier in this process's life (empty: none). The
  // controller never sends a second one; it waits for the API to show the effect.
  std::string terminate_accepted_for;
  // A terminate was refused (409 ModelArts.2796/2878) while the job showed this phase: while
  // it still shows it, another terminate would be a blind retry.
  struct Refusal {
    std::string job_id;
    std::string phase;
    std::string secondary_phase;
  };
  std::optional<Refusal> terminate_refused;
  // spec.maxRuntime (desired Running only): terminate once the job's status.duration reaches
  // it (controller/cloud/run_duration.h checks the value first).
  std::optional<std::chrono::milliseconds> max_runtime;
};

struct TrainingJobDecision {
  JobAction action = JobAction::kNone;
  Phase phase = Phase::kPending;
  NextCheck next = NextCheck::kResync;
  // CamelCase condition reason: Converged, Stopping, Terminating, TerminateRequested,
  // TerminateRefused, StatusUnknown, Drifted, Ambiguous, Paused, Conflict, DryRun,
  // MaxRuntimeExceeded, RunDurationUnknown.
  std::string_view reason;
  std::string message;  // one human sentence for /status and plan
  // Whether the Synced condition is true: false when paused, in conflict, ambiguous, in dry
  // run, or after a refused terminate.
  bool synced = true;
  // The job decided about (the one a terminate goes to); empty when a name resolved to none
  // or to several.
  std::string job_id;
  // Look again exactly this long after the observation if that is sooner than `next`: the
  // moment the job reaches its maxRuntime.
  std::optional<std::chrono::milliseconds> due_in;
};

// A job identified by id (or a name resolved to exactly this job).
TrainingJobDecision DecideTrainingJob(DesiredState desired, const TrainingJobInfo& job,
                                      const TrainingJobDecisionContext& context);

// The jobs a search found for spec.trainingJobName, narrowed to the exact name (the API's
// `like` filter is a substring match) and split by whether they have ended.
struct NameMatches {
  std::vector<TrainingJobInfo> active;  // not in a terminal phase (unknown phases count here)
  std::size_t ended = 0;                // in a terminal phase
};
NameMatches MatchJobName(std::string_view name, const std::vector<TrainingJobInfo>& found);

// spec.trainingJobName: of the jobs with exactly that name, only non-terminal ones are acted
// on. None → converged (desired Stopped) or drifted (desired Running); one → DecideTrainingJob
// on it; several → Ambiguous, never acted on.
TrainingJobDecision DecideTrainingJobByName(DesiredState desired, std::string_view name,
                                            const std::vector<TrainingJobInfo>& found,
                                            const TrainingJobDecisionContext& context);

// How the API answered a terminate that a decision asked for.
enum class TerminateOutcome {
  kAccepted,  // 2xx: the job is being terminated (answer holds the job as the API returned it)
  kRefused,   // 409 ModelArts.2796/2878: the phase changed under the request; re-observe
};

// The object after a terminate of job, which is the 202 answer when accepted, or the
// observation the terminate was decided on when refused. A refused terminate is not retried
// blindly: the job is observed again, and DecideTrainingJob (through
// TrainingJobDecisionContext::terminate_refused) holds further terminates while it still
// shows the phase the terminate was refused at.
TrainingJobDecision DecideAfterTerminate(TerminateOutcome outcome, const TrainingJobInfo& job);

}  // namespace mactl
