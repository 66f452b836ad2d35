#pragma once

// What the controller knows about one managed version: the last observation, the
// conditions shown in /status, and its memory of its own actions (which it can rebuild
// after a restart by observing again).

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/core/decision.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/shared_text.h"

namespace mactl {

// Kubernetes-style condition (metav1.Condition without observedGeneration). The reason is a
// literal of the decision; the message is one of few texts most objects share, so it is held
// once in the reconciler's TextPool (docs/benchmarks.md, "The 100k peak in the issue-16 world").
struct Condition {
  std::string_view type;  // "Ready" or "Synced", a literal
  bool status = false;
  std::string_view reason;  // CamelCase, a literal
  SharedText message;
  WallTime last_transition_time{};

  // Updates the condition; the transition time moves only when the status flips.
  void Set(bool new_status, std::string_view new_reason, SharedText new_message, WallTime now) {
    if (new_status != status || last_transition_time == WallTime{}) last_transition_time = now;
    status = new_status;
    reason = new_reason;
    message = std::move(new_message);
  }
};

// The messages of a state not looked at yet, shared by every such state.
inline const SharedText& NotObservedYet() {
  static const SharedText text("not observed yet");
  return text;
}
inline const SharedText& NotReconciledYet() {
  static const SharedText text("not reconciled yet");
  return text;
}

// The manifest side (ManagedVersion) is not copied here: the reconciler reads it from the
// current snapshot (docs/benchmarks.md, "Where the memory goes"). The small fields come first,
// packed together, and texts are literals or shared (one state per object: 100,000 of them).
struct VersionState {
  bool attempted = false;           // observed once, successfully or not (for /readyz)
  bool stop_accepted = false;       // see "memory of its own actions" below
  bool observe_allow_batch = true;  // see "what the next observation must satisfy" below
  Phase phase = Phase::kPending;    // outcome of the last reconcile
  std::optional<int> observed_status;
  std::optional<int> stop_refused_at_status;  // see "memory of its own actions" below

  // Observation.
  WallTime observed_at{};
  std::string_view observed_source;  // "list" or "detail", a literal
  SteadyTime observed_steady{};      // when the status used last was taken, on the steady clock
  // The API's run duration at observed_steady; nullopt when unusable (run_duration_problem).
  std::optional<std::chrono::milliseconds> observed_run_duration;
  SharedText run_duration_problem;
  // When the version reaches its spec.maxRuntime, while it runs under it (for /status).
  std::optional<WallTime> max_runtime_due;

  // Outcome of the last reconcile.
  Condition ready{"Ready", false, "Pending", NotObservedYet(), {}};
  Condition synced{"Synced", false, "Pending", NotReconciledYet(), {}};
  std::size_t attempts = 0;  // reconciles run for this version
  // Empty for nearly every object, so held by pointer (an inline Error is 96 bytes).
  std::shared_ptr<const Error> last_error;
  std::string_view last_action;  // "stop" when a stop was sent, else empty; a literal
  std::optional<WallTime> next_attempt;
  std::string_view next_reason;  // "resync", "poll", "backoff", "now", "maxRuntime": literals

  // The controller's memory of its own actions (with stop_accepted, stop_refused_at_status).
  std::optional<WallTime> stop_accepted_at;
  SteadyTime stop_accepted_steady{};  // the same, for the memory kept after Forget
  std::string_view stop_reason;       // of the accepted stop, e.g. "MaxRuntimeExceeded"; a literal

  // What the next observation must satisfy (with observe_allow_batch).
  SteadyTime observe_not_before{};
  // When it is due, and how far ahead other objects' due times may be to share its list
  // refresh (DueQuery::window): --resync for a resync, --poll/2 for a poll, else none.
  SteadyTime observe_due{};
  Duration observe_batch_window{0};
};

}  // namespace mactl
