#include "controller/core/training_job_decision.h"

#include <set>
#include <utility>

#include "api/duration.h"
#include "controller/cloud/job_phase.h"
#include "controller/cloud/run_duration.h"

namespace mactl {
namespace {

// "Running" or "Running (secondary Terminating)": the phase as /status and logs show it.
std::string Observed(const TrainingJobInfo& job) {
  std::string s = job.phase;
  if (!job.secondary_phase.empty() && job.secondary_phase != job.phase) {
    s += " (secondary " + job.secondary_phase + ")";
  }
  return s;
}

TrainingJobDecision Make(JobAction action, Phase phase, NextCheck next, std::string_view reason,
                         std::string message, std::string job_id) {
  return TrainingJobDecision{action,
                             phase,
                             next,
                             reason,
                             std::move(message),
                             next != NextCheck::kBackoff,
                             std::move(job_id),
                             std::nullopt};
}

TrainingJobDecision Unsynced(TrainingJobDecision d) {
  d.synced = false;
  return d;
}

bool RefusedAtThisPhase(const TrainingJobInfo& job, const TrainingJobDecisionContext& ctx) {
  return ctx.terminate_refused && ctx.terminate_refused->job_id == job.id &&
         ctx.terminate_refused->phase == job.phase &&
         ctx.terminate_refused->secondary_phase == job.secondary_phase;
}

TrainingJobDecision DecideStopped(const TrainingJobInfo& job,
                                  const TrainingJobDecisionContext& ctx) {
  const std::string seen = Observed(job);
  switch (ClassifyJobPhases(job.phase, job.secondary_phase)) {
    case JobPhaseClass::kTerminal: {
      const std::string note = job.secondary_phase == "TerminatedFailed"
                                   ? " (the API says stopping it failed: check its resources)"
                                   : "";
      return Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                  "job is " + seen + "; nothing to stop" + note, job.id);
    }
    case JobPhaseClass::kTerminating:
      return Make(JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "Terminating",
                  "job is " + seen + "; waiting for it to end", job.id);
    case JobPhaseClass::kUnknown:
      return Make(JobAction::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown",
                  "job phase " + seen + " is not known; not acting on it", job.id);
    case JobPhaseClass::kTerminable:
      break;
  }
  if (ctx.terminate_accepted_for == job.id) {
    return Make(JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "TerminateRequested",
                "terminate accepted; job still shows " + seen, job.id);
  }
  if (RefusedAtThisPhase(job, ctx)) {
    return Make(JobAction::kNone, Phase::kError, NextCheck::kBackoff, "TerminateRefused",
                "the API refused to terminate the job while it is " + seen, job.id);
  }
  return Make(JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping",
              "job is " + seen + "; terminating it", job.id);
}

std::string Took(std::chrono::milliseconds run, std::chrono::milliseconds limit) {
  return "has run " + FormatDuration(run) + " of maxRuntime " + FormatDuration(limit);
}

// Desired Running with spec.maxRuntime (README, "Runtime limits"). A job terminating or ended
// after reaching its limit is where the limit put it, not drift.
std::optional<TrainingJobDecision> DecideMaxRuntime(const TrainingJobInfo& job,
                                                    const TrainingJobDecisionContext& ctx) {
  const std::chrono::milliseconds limit = *ctx.max_runtime;
  const RunDuration run = CheckRunDuration(job.duration_ms);
  const bool reached = run.value && *run.value >= limit;
  const bool ours = ctx.terminate_accepted_for == job.id;
  const std::string seen = Observed(job);
  const std::string after = " after reaching maxRuntime " + FormatDuration(limit);
  switch (ClassifyJobPhases(job.phase, job.secondary_phase)) {
    case JobPhaseClass::kTerminating:
      if (!reached && !ours) return std::nullopt;
      return Make(JobAction::kNone, Phase::kStopping, NextCheck::kPoll, kMaxRuntimeExceeded,
                  "job is " + seen + after + "; waiting for it to end", job.id);
    case JobPhaseClass::kTerminal:
      if (!reached && !ours) return std::nullopt;
      return Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync, kMaxRuntimeExceeded,
                  "job is " + seen + after, job.id);
    case JobPhaseClass::kUnknown:
      return std::nullopt;
    case JobPhaseClass::kTerminable:
      break;
  }
  if (ours) {
    return Make(JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "TerminateRequested",
                "terminate accepted (maxRuntime); job still shows " + seen, job.id);
  }
  if (!run.value) {
    return Unsynced(Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync,
                         "RunDurationUnknown",
                         "job is " + seen + "; maxRuntime " + FormatDuration(limit) +
                             " not enforced: " + run.problem,
                         job.id));
  }
  if (!reached) {
    TrainingJobDecision d =
        Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
             "job is " + seen + " and " + Took(*run.value, limit), job.id);
    d.due_in = limit - *run.value;
    return d;
  }
  if (RefusedAtThisPhase(job, ctx)) {
    return Make(JobAction::kNone, Phase::kError, NextCheck::kBackoff, "TerminateRefused",
                "the API refused to terminate the job while it is " + seen, job.id);
  }
  return Make(JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, kMaxRuntimeExceeded,
              "job is " + seen + " and " + Took(*run.value, limit) + "; terminating it", job.id);
}

TrainingJobDecision DecideRunning(const TrainingJobInfo& job) {
  const std::string seen = Observed(job);
  switch (ClassifyJobPhases(job.phase, job.secondary_phase)) {
    case JobPhaseClass::kTerminable:
      return Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                  "job is " + seen, job.id);
    case JobPhaseClass::kTerminating:
      return Make(JobAction::kNone, Phase::kDrifted, NextCheck::kPoll, "Drifted",
                  "desired Running but job is " + seen + "; the controller cannot restart it",
                  job.id);
    case JobPhaseClass::kTerminal:
      return Make(JobAction::kNone, Phase::kDrifted, NextCheck::kResync, "Drifted",
                  "desired Running but job is " + seen + "; the controller cannot restart it",
                  job.id);
    case JobPhaseClass::kUnknown:
      break;
  }
  return Make(JobAction::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown",
              "job phase " + seen + " is not known", job.id);
}

// Conflict, pause and dry run never act, but keep the observation in the message so a user
// sees what would happen once the manifests agree, the pause is lifted or the run is real.
TrainingJobDecision Overrule(TrainingJobDecision d, const TrainingJobDecisionContext& ctx) {
  if (ctx.conflict) {
    return Unsynced(Make(JobAction::kNone, Phase::kConflict, NextCheck::kResync, "Conflict",
                         "manifests disagree on the desired state; not acting (" + d.message + ")",
                         std::move(d.job_id)));
  }
  if (ctx.paused) {
    const std::string would = d.action == JobAction::kTerminate ? "would terminate: " : "";
    return Unsynced(Make(JobAction::kNone, Phase::kPaused, NextCheck::kResync, "Paused",
                         "paused by annotation; " + would + d.message, std::move(d.job_id)));
  }
  if (ctx.dry_run && d.action == JobAction::kTerminate) {
    return Unsynced(Make(JobAction::kNone, Phase::kPending, NextCheck::kResync, "DryRun",
                         "dry run: would terminate; " + d.message, std::move(d.job_id)));
  }
  return d;
}

}  // namespace

std::string_view JobActionName(JobAction a) {
  return a == JobAction::kTerminate ? "terminate" : "none";
}

TrainingJobDecision DecideTrainingJob(DesiredState desired, const TrainingJobInfo& job,
                                      const TrainingJobDecisionContext& context) {
  if (desired == DesiredState::kRunning && context.max_runtime) {
    if (std::optional<TrainingJobDecision> d = DecideMaxRuntime(job, context)) {
      return Overrule(*std::move(d), context);
    }
  }
  return Overrule(
      desired == DesiredState::kStopped ? DecideStopped(job, context) : DecideRunning(job),
      context);
}

NameMatches MatchJobName(std::string_view name, const std::vector<TrainingJobInfo>& found) {
  NameMatches matches;
  std::set<std::string> seen;
  for (const TrainingJobInfo& job : found) {
    if (job.name != name) continue;
    // The same job on two pages of one search is one job.
    if (!seen.insert(job.id).second) continue;
    if (ClassifyJobPhases(job.phase, job.secondary_phase) == JobPhaseClass::kTerminal) {
      ++matches.ended;
    } else {
      matches.active.push_back(job);
    }
  }
  return matches;
}

TrainingJobDecision DecideTrainingJobByName(DesiredState desired, std::string_view name,
                                            const std::vector<TrainingJobInfo>& found,
                                            const TrainingJobDecisionContext& context) {
  const NameMatches matches = MatchJobName(name, found);
  const std::string quoted = "\"" + std::string(name) + "\"";
  if (matches.active.size() == 1) {
    TrainingJobDecision d = DecideTrainingJob(desired, matches.active.front(), context);
    d.message = "job " + quoted + " (" + d.job_id + "): " + d.message;
    return d;
  }
  if (matches.active.empty()) {
    // The batched search lists active jobs only, so ended ones are counted when known.
    const std::string none =
        "no active job is named " + quoted +
        (matches.ended > 0 ? " (" + std::to_string(matches.ended) + " ended)" : "");
    return Overrule(desired == DesiredState::kStopped
                        ? Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                               none + "; nothing to stop", "")
                        : Make(JobAction::kNone, Phase::kDrifted, NextCheck::kResync, "Drifted",
                               "desired Running but " + none, ""),
                    context);
  }
  std::string ids;
  for (const TrainingJobInfo& job : matches.active) ids += (ids.empty() ? "" : ", ") + job.id;
  return Overrule(
      Unsynced(Make(JobAction::kNone, Phase::kConflict, NextCheck::kResync, "Ambiguous",
                    std::to_string(matches.active.size()) + " active jobs are named " + quoted +
                        " (" + ids + "); not acting on any: name one by spec.trainingJobId",
                    "")),
      context);
}

TrainingJobDecision DecideAfterTerminate(TerminateOutcome outcome, const TrainingJobInfo& job) {
  if (outcome == TerminateOutcome::kRefused) {
    // Re-observe at once, exactly, rather than retrying: the job's phase changed under the
    // request, and only a fresh observation says whether anything is left to do.
    return Unsynced(Make(
        JobAction::kNone, Phase::kStopping, NextCheck::kNow, "TerminateRefused",
        "the API refused the terminate while the job was " + Observed(job) + "; observing it again",
        job.id));
  }
  if (ClassifyJobPhases(job.phase, job.secondary_phase) == JobPhaseClass::kTerminal) {
    return Make(JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                "terminate accepted; job is already " + Observed(job), job.id);
  }
  return Make(JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "TerminateRequested",
              "terminate accepted; job is " + Observed(job) + "; waiting for it to end", job.id);
}

}  // namespace mactl
