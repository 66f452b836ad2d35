#pragma once

// What one reconcile asks of the work queue, in the shape of controller-runtime's
// (reconcile.Result, error): done, requeue after a delay, a retryable error (the queue's
// rate-limited add: the queue, not the reconciler, owns per-object backoff) or a terminal
// error. Queue priorities are the runtime's business; `why` says what the next look is for.

#include <optional>
#include <string>
#include <utility>

#include "api/result.h"
#include "controller/base/clock.h"

namespace mactl {

// Why the object is looked at again after a successful reconcile.
enum class Requeue {
  kResync,    // in the desired state (or observe-only and reported): --resync pace
  kPoll,      // progressing (stop sent, KILLING, status unknown): --poll pace
  kNow,       // a stop was refused because the version changed: re-observe at once
  kDeferred,  // another worker's list refresh will answer: come back as urgent as before
};

struct ReconcileResult {
  enum class Kind {
    kDone,            // no manifest names the key any more: forget it
    kRequeueAfter,    // look again after requeue_after
    kRetryableError,  // failed; retry after the queue's per-object backoff
    kTerminalError,   // failed until the user changes something; look again after
                      // requeue_after (the resync)
  };

  static ReconcileResult Done() { return ReconcileResult{}; }
  static ReconcileResult RequeueAfter(Duration after, Requeue why) {
    ReconcileResult r;
    r.kind = Kind::kRequeueAfter;
    r.requeue_after = after;
    r.why = why;
    return r;
  }
  // `error` is empty when nothing failed but the object still needs backoff pacing (a stop
  // refused again at the same status).
  static ReconcileResult RetryableError(std::optional<Error> error, std::string during) {
    ReconcileResult r;
    r.kind = Kind::kRetryableError;
    r.error = std::move(error);
    r.during = std::move(during);
    return r;
  }
  static ReconcileResult TerminalError(Duration resync_after, Error error, std::string during) {
    ReconcileResult r;
    r.kind = Kind::kTerminalError;
    r.requeue_after = resync_after;
    r.error = std::move(error);
    r.during = std::move(during);
    return r;
  }

  // The server's Retry-After: a floor for the backoff of a retryable error.
  std::optional<Duration> RetryAfter() const {
    if (error && error->retry_after) return Duration(*error->retry_after);
    return std::nullopt;
  }

  Kind kind = Kind::kDone;
  Duration requeue_after{0};       // kRequeueAfter, kTerminalError
  Requeue why = Requeue::kResync;  // kRequeueAfter
  std::optional<Error> error;      // the errors
  std::string during;              // the errors: "observe" or "stop"
};

}  // namespace mactl
