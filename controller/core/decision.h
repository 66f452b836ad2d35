#pragma once

// The heart of the controller: desired state + observed status → action.
// A pure function with no I/O, so every row of the status table is tested directly.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/training_job_version.h"

namespace mactl {

// What an object looks like from outside (status, metrics `phase` label).
enum class Phase {
  kPending,    // not observed yet, or the status is not known
  kStopping,   // a stop was sent or is under way (KILLING)
  kConverged,  // observed state matches the desired state
  kDrifted,    // desired Running, but the version is terminal or being killed
  kError,      // the last attempt failed
  kConflict,   // two manifests disagree about this version
  kPaused,     // the paused annotation is set: observe and report only
};
std::string_view PhaseName(Phase p);
inline constexpr Phase kAllPhases[] = {Phase::kPending, Phase::kStopping, Phase::kConverged,
                                       Phase::kDrifted, Phase::kError,    Phase::kConflict,
                                       Phase::kPaused};

enum class Action { kNone, kStop };
std::string_view ActionName(Action a);

// Which timer schedules the next look at this object.
enum class NextCheck {
  kResync,   // steady state: --resync, ±10 %
  kPoll,     // something is changing: --poll
  kBackoff,  // something is wrong: per-object exponential backoff
  kNow,      // the version changed under us: re-observe at once, exactly
};

// Facts beyond desired/observed that change the decision; all come from the
// reconciler's memory of its own actions or from the manifest set.
struct DecisionContext {
  bool paused = false;
  bool conflict = false;
  // A stop for this version was accepted earlier in this process's life. The
  // controller never sends a second one; it waits for the API to show the effect.
  bool stop_accepted = false;
  // The last stop was refused (409 ModelArts.2796) while the version showed this
  // status; while it still shows it, stopping again would only be refused again.
  std::optional<int> stop_refused_at_status;
  // --dry-run: observe and report what would be done, never act.
  bool dry_run = false;
  // spec.maxRuntime (desired Running only): stop once run_duration reaches it.
  std::optional<std::chrono::milliseconds> max_runtime;
  // The run duration now (the API's, aged by the time since it was observed while the
  // version runs); nullopt when the API's value was unusable.
  std::optional<std::chrono::milliseconds> run_duration;
  std::string run_duration_problem;  // why run_duration is unknown, for the message
};

// The condition reason of a stop for spec.maxRuntime, and of a version stopped by it.
inline constexpr std::string_view kMaxRuntimeExceeded = "MaxRuntimeExceeded";

struct Decision {
  Action action = Action::kNone;
  Phase phase = Phase::kPending;
  NextCheck next = NextCheck::kResync;
  // CamelCase condition reason: Converged, Stopping, Killing, StopRequested,
  // StopRefused, StatusUnknown, Drifted, Paused, Conflict, DryRun, MaxRuntimeExceeded,
  // RunDurationUnknown.
  std::string_view reason;
  std::string message;  // one human sentence for /status and plan
  // Whether the Synced condition is true: the controller did what it should (false when
  // paused, in conflict, in dry run, or while a refused stop waits).
  bool synced = true;
  // Look again exactly this long from now (never jittered) if that is sooner than `next`:
  // the moment a running version reaches its maxRuntime.
  std::optional<std::chrono::milliseconds> due_in;
};

Decision Decide(DesiredState desired, int observed_status, const DecisionContext& context);

// How the API answered a stop that Decide asked for.
enum class StopOutcome {
  kAccepted,  // the version is being stopped: wait for it
  kRefused,   // 409 ModelArts.2796: the version's state changed (e.g. it just finished)
};

// The object after a stop the API accepted or refused, seen at observed_status. A refused
// stop is not retried: the version is looked at again at once and exactly, and Decide
// (through DecisionContext::stop_refused_at_status) holds further stops while it still
// shows the status the stop was refused at. Other stop errors follow the error's class.
Decision DecideAfterStop(StopOutcome outcome, int observed_status);

}  // namespace mactl
