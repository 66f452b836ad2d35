#include "controller/core/decision.h"

#include "api/duration.h"
#include "controller/cloud/job_status.h"

namespace mactl {
namespace {

std::string Observed(int status) {
  return std::string(JobStatusName(status)) + " (" + std::to_string(status) + ")";
}

Decision Make(Action action, Phase phase, NextCheck next, std::string_view reason,
              std::string message) {
  return Decision{action,      phase, next, reason, std::move(message), next != NextCheck::kBackoff,
                  std::nullopt};
}

// A row that reports but does not count as done (Synced false).
Decision Unsynced(Decision d) {
  d.synced = false;
  return d;
}

Decision DecideStopped(int status, const DecisionContext& ctx) {
  switch (ClassifyJobStatus(status)) {
    case StatusClass::kTerminal:
      return Make(Action::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                  "version is " + Observed(status) + "; nothing to stop");
    case StatusClass::kKilling:
      return Make(Action::kNone, Phase::kStopping, NextCheck::kPoll, "Killing",
                  "version is " + Observed(status) + "; waiting for it to finish");
    case StatusClass::kUnknown:
      return Make(Action::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown",
                  "version status " + Observed(status) + " is not known; not acting on it");
    case StatusClass::kActive:
      break;
  }
  if (ctx.stop_accepted) {
    return Make(Action::kNone, Phase::kStopping, NextCheck::kPoll, "StopRequested",
                "stop accepted; version still shows " + Observed(status));
  }
  if (ctx.stop_refused_at_status == status) {
    return Make(Action::kNone, Phase::kError, NextCheck::kBackoff, "StopRefused",
                "the API refused to stop the version while it is " + Observed(status));
  }
  return Make(Action::kStop, Phase::kStopping, NextCheck::kPoll, "Stopping",
              "version is " + Observed(status) + "; stopping it");
}

std::string Took(std::chrono::milliseconds run, std::chrono::milliseconds limit) {
  return "has run " + FormatDuration(run) + " of maxRuntime " + FormatDuration(limit);
}

// Desired Running with spec.maxRuntime: the rows of README "Runtime limits". A version that
// is killing or has ended after reaching its limit is where the limit put it, not drift.
std::optional<Decision> DecideMaxRuntime(int status, const DecisionContext& ctx) {
  const std::chrono::milliseconds limit = *ctx.max_runtime;
  const std::optional<std::chrono::milliseconds> run = ctx.run_duration;
  const bool reached = run && *run >= limit;
  switch (ClassifyJobStatus(status)) {
    case StatusClass::kKilling:
      if (!reached && !ctx.stop_accepted) return std::nullopt;
      return Make(Action::kNone, Phase::kStopping, NextCheck::kPoll, kMaxRuntimeExceeded,
                  "version is " + Observed(status) + " after reaching maxRuntime " +
                      FormatDuration(limit) + "; waiting for it to finish");
    case StatusClass::kTerminal:
      if (!reached && !ctx.stop_accepted) return std::nullopt;
      return Make(
          Action::kNone, Phase::kConverged, NextCheck::kResync, kMaxRuntimeExceeded,
          "version is " + Observed(status) + " after reaching maxRuntime " + FormatDuration(limit));
    case StatusClass::kUnknown:
      return std::nullopt;
    case StatusClass::kActive:
      break;
  }
  if (ctx.stop_accepted) {
    return Make(Action::kNone, Phase::kStopping, NextCheck::kPoll, "StopRequested",
                "stop accepted (maxRuntime); version still shows " + Observed(status));
  }
  if (!run) {
    return Unsynced(Make(Action::kNone, Phase::kConverged, NextCheck::kResync, "RunDurationUnknown",
                         "version is " + Observed(status) + "; maxRuntime " +
                             FormatDuration(limit) + " not enforced: " + ctx.run_duration_problem));
  }
  if (!reached) {
    Decision d = Make(Action::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                      "version is " + Observed(status) + " and " + Took(*run, limit));
    d.due_in = limit - *run;
    return d;
  }
  if (ctx.stop_refused_at_status == status) {
    return Make(Action::kNone, Phase::kError, NextCheck::kBackoff, "StopRefused",
                "the API refused to stop the version while it is " + Observed(status));
  }
  return Make(Action::kStop, Phase::kStopping, NextCheck::kPoll, kMaxRuntimeExceeded,
              "version is " + Observed(status) + " and " + Took(*run, limit) + "; stopping it");
}

Decision DecideRunning(int status) {
  switch (ClassifyJobStatus(status)) {
    case StatusClass::kActive:
      return Make(Action::kNone, Phase::kConverged, NextCheck::kResync, "Converged",
                  "version is " + Observed(status));
    case StatusClass::kKilling:
      return Make(
          Action::kNone, Phase::kDrifted, NextCheck::kPoll, "Drifted",
          "desired Running but version is " + Observed(status) + "; the v1 API cannot restart it");
    case StatusClass::kTerminal:
      return Make(
          Action::kNone, Phase::kDrifted, NextCheck::kResync, "Drifted",
          "desired Running but version is " + Observed(status) + "; the v1 API cannot restart it");
    case StatusClass::kUnknown:
      break;
  }
  return Make(Action::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown",
              "version status " + Observed(status) + " is not known");
}

}  // namespace

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kPending:
      return "Pending";
    case Phase::kStopping:
      return "Stopping";
    case Phase::kConverged:
      return "Converged";
    case Phase::kDrifted:
      return "Drifted";
    case Phase::kError:
      return "Error";
    case Phase::kConflict:
      return "Conflict";
    case Phase::kPaused:
      return "Paused";
  }
  return "Pending";
}

std::string_view ActionName(Action a) { return a == Action::kStop ? "stop" : "none"; }

Decision Decide(DesiredState desired, int observed_status, const DecisionContext& context) {
  std::optional<Decision> limited;
  if (desired == DesiredState::kRunning && context.max_runtime) {
    limited = DecideMaxRuntime(observed_status, context);
  }
  Decision d = limited                             ? *std::move(limited)
               : desired == DesiredState::kStopped ? DecideStopped(observed_status, context)
                                                   : DecideRunning(observed_status);
  // Conflict and pause never act, but keep the observation in the message so a
  // user sees what would happen once the manifests agree or the pause is lifted.
  if (context.conflict) {
    return Unsynced(
        Make(Action::kNone, Phase::kConflict, NextCheck::kResync, "Conflict",
             "manifests disagree on the desired state; not acting (" + d.message + ")"));
  }
  if (context.paused) {
    const std::string would = d.action == Action::kStop ? "would stop: " : "";
    return Unsynced(Make(Action::kNone, Phase::kPaused, NextCheck::kResync, "Paused",
                         "paused by annotation; " + would + d.message));
  }
  // Dry run reports the stop it would send and looks again at resync pace.
  if (context.dry_run && d.action == Action::kStop) {
    return Unsynced(Make(Action::kNone, Phase::kPending, NextCheck::kResync, "DryRun",
                         "dry run: would stop; " + d.message));
  }
  return d;
}

Decision DecideAfterStop(StopOutcome outcome, int observed_status) {
  if (outcome == StopOutcome::kAccepted) {
    return Make(Action::kNone, Phase::kStopping, NextCheck::kPoll, "StopRequested",
                "stop accepted while version was " + std::string(JobStatusName(observed_status)) +
                    "(" + std::to_string(observed_status) + "); waiting for it to finish");
  }
  return Unsynced(Make(Action::kNone, Phase::kStopping, NextCheck::kNow, "StopRefused",
                       "re-observing after a refused stop"));
}

}  // namespace mactl
