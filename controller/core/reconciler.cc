#include "controller/core/reconciler.h"

#include <algorithm>
#include <utility>

#include "controller/cloud/job_status.h"
#include "controller/base/jitter.h"
#include "controller/base/log.h"

namespace mactl {
namespace {

std::string StatusText(int status) {
  return std::string(JobStatusName(status)) + "(" + std::to_string(status) + ")";
}

std::string_view NextName(NextCheck next) {
  switch (next) {
    case NextCheck::kResync:
      return "resync";
    case NextCheck::kPoll:
      return "poll";
    case NextCheck::kBackoff:
      return "backoff";
  }
  return "resync";
}

}  // namespace

Reconciler::Reconciler(ReconcilerOptions options, const SnapshotStore& desired, CloudClient& client,
                       Observer& observer, ItemBackoff& backoff, RandomSource& random,
                       const Clock& clock, ControllerMetrics* metrics)
    : options_(options),
      desired_(desired),
      client_(client),
      observer_(observer),
      backoff_(backoff),
      random_(random),
      clock_(clock),
      metrics_(metrics) {}

void Reconciler::MarkDesiredChanged(const std::vector<std::string>& keys, bool allow_batch) {
  const SteadyTime now = clock_.Now();
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    VersionState& state = states_[key];
    state.observe_not_before = now;
    state.observe_allow_batch = allow_batch;
    state.queue_priority = Priority::kHigh;
  }
}

void Reconciler::Forget(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    states_.erase(key);
    backoff_.Reset(key);
  }
}

std::unordered_map<std::string, VersionState> Reconciler::States() const {
  std::lock_guard lock(mu_);
  return states_;
}

std::optional<VersionState> Reconciler::State(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = states_.find(key);
  if (it == states_.end()) return std::nullopt;
  return it->second;
}

std::size_t Reconciler::Unobserved(const DesiredSnapshot& snapshot) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [key, managed] : snapshot.versions) {
    const auto it = states_.find(key);
    if (it == states_.end() || !it->second.attempted) ++n;
  }
  return n;
}

std::map<Phase, std::size_t> Reconciler::PhaseCounts(const DesiredSnapshot& snapshot) const {
  std::map<Phase, std::size_t> counts;
  std::lock_guard lock(mu_);
  for (const auto& [key, managed] : snapshot.versions) {
    const auto it = states_.find(key);
    Phase phase = it == states_.end() ? Phase::kPending : it->second.phase;
    if (managed.conflict) phase = Phase::kConflict;
    counts[phase] += managed.object_names.size();
  }
  return counts;
}

void Reconciler::Publish(const std::string& key, const VersionState& state) {
  std::lock_guard lock(mu_);
  // A concurrent MarkDesiredChanged (an edit arriving mid-reconcile) wins for what the
  // next observation must satisfy.
  const auto it = states_.find(key);
  VersionState merged = state;
  if (it != states_.end() && it->second.observe_not_before > state.observe_not_before) {
    merged.observe_not_before = it->second.observe_not_before;
    merged.observe_allow_batch = it->second.observe_allow_batch;
    merged.queue_priority = it->second.queue_priority;
  }
  states_[key] = std::move(merged);
}

ReconcileResult Reconciler::Schedule(const std::string& key, VersionState& state, NextCheck next,
                                     const std::optional<Error>& error) {
  const SteadyTime now = clock_.Now();
  ReconcileResult result;
  switch (next) {
    case NextCheck::kResync: {
      backoff_.Reset(key);
      result.requeue_after = Jittered(options_.resync, options_.jitter, random_);
      result.priority = Priority::kLow;
      result.outcome = error ? ReconcileOutcome::kError : ReconcileOutcome::kSuccess;
      // A resync needs a status newer than the one it last saw and at most one resync
      // period old when due. So one list refresh per period serves every resync of a
      // project, however their due times are spread (like an informer's cache).
      state.observe_not_before = std::max(state.observed_steady + Duration(1),
                                          now + result.requeue_after - options_.resync);
      state.observe_allow_batch = true;
      break;
    }
    case NextCheck::kPoll: {
      backoff_.Reset(key);
      result.requeue_after = Jittered(options_.poll, options_.jitter, random_);
      result.priority = Priority::kNormal;
      result.outcome = ReconcileOutcome::kRequeueAfter;
      state.observe_not_before =
          std::max(state.observe_not_before, now + result.requeue_after - options_.poll / 2);
      state.observe_allow_batch = true;
      break;
    }
    case NextCheck::kBackoff: {
      std::optional<Duration> floor;
      if (error && error->retry_after) floor = *error->retry_after;
      result.requeue_after = backoff_.NextDelay(key, floor);
      result.priority = Priority::kNormal;
      result.outcome = ReconcileOutcome::kError;
      state.observe_not_before = now + result.requeue_after;
      break;
    }
  }
  state.next_attempt = ToWall(clock_, now + result.requeue_after);
  state.next_reason = std::string(NextName(next));
  state.queue_priority = result.priority;
  return result;
}

ReconcileResult Reconciler::RecordError(const std::string& key, VersionState& state,
                                        const Error& error, std::string_view during) {
  state.last_error = error;
  state.phase = Phase::kError;
  const bool retry = error.error_class != ErrorClass::kTerminal;
  const WallTime now = clock_.WallNow();
  state.synced.Set(false, retry ? "RetryableError" : "TerminalError",
                   std::string(during) + ": " + error.ToString(), now);
  state.ready.Set(false, retry ? "RetryableError" : "TerminalError", error.ToString(), now);
  // A terminal error needs a change on the user's side; look again at resync pace.
  ReconcileResult result =
      Schedule(key, state, retry ? NextCheck::kBackoff : NextCheck::kResync, error);
  result.outcome = ReconcileOutcome::kError;
  log::Warn(
      "reconcile failed",
      {{"key", key},
       {"job", std::to_string(state.managed.ref.job_id)},
       {"version", std::to_string(state.managed.ref.version_id)},
       {"object", state.managed.object_names.empty() ? "" : state.managed.object_names[0]},
       {"during", std::string(during)},
       {"error_class", ErrorClassName(error.error_class)},
       {"error", error.ToString()},
       {"attempt", std::to_string(state.attempts)},
       {"retry_in_ms",
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(result.requeue_after).count())}});
  return result;
}

ReconcileResult Reconciler::Reconcile(const std::string& key) {
  const SteadyTime started = clock_.Now();
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_.Current();
  const ManagedVersion* managed = snapshot ? snapshot->Find(key) : nullptr;
  if (managed == nullptr) {
    Forget({key});
    return ReconcileResult{true, Duration{0}, Priority::kNormal, ReconcileOutcome::kSuccess};
  }

  VersionState state;
  {
    std::lock_guard lock(mu_);
    state = states_[key];
  }
  const Phase phase_before = state.phase;
  state.managed = *managed;
  ++state.attempts;
  const std::string object = managed->object_names.empty() ? "" : managed->object_names.front();

  // Observe. A worker never waits for another worker's list refresh: the object comes
  // back when the refresh should be done, and the worker is free for edits meanwhile.
  Result<Observation> observed = observer_.Observe(
      {managed->ref, state.observe_not_before, state.observe_allow_batch, /*may_defer=*/true});
  if (observed && observed->retry_in) {
    return ReconcileResult{false, *observed->retry_in, state.queue_priority,
                           ReconcileOutcome::kRequeueAfter};
  }
  state.attempted = true;
  ReconcileResult result;
  if (!observed) {
    result = RecordError(key, state, observed.error(), "observe");
  } else {
    state.observed_status = observed->status;
    state.observed_at = ToWall(clock_, observed->observed_at);
    state.observed_steady = observed->observed_at;
    state.observed_source = std::string(observed->source);

    // Decide.
    DecisionContext context;
    context.paused = managed->paused;
    context.conflict = managed->conflict;
    context.stop_accepted = state.stop_accepted;
    context.stop_refused_at_status = state.stop_refused_at_status;
    Decision decision = Decide(managed->desired, observed->status, context);
    std::optional<Error> act_error;
    NextCheck next = decision.next;
    std::string reason(decision.reason);
    std::string message = decision.message;

    // Act, at most once.
    if (decision.action == Action::kStop && options_.dry_run) {
      decision.phase = Phase::kPending;
      reason = "DryRun";
      message = "dry run: would stop; " + message;
      next = NextCheck::kResync;
    } else if (decision.action == Action::kStop) {
      Status stop = client_.StopVersion(managed->ref);
      state.last_action = "stop";
      if (stop) {
        state.stop_accepted = true;
        state.stop_accepted_at = clock_.WallNow();
        state.stop_refused_at_status.reset();
        // The next observation must come after the stop.
        state.observe_not_before = clock_.Now();
        reason = "StopRequested";
        message = "stop accepted while version was " + StatusText(observed->status) +
                  "; waiting for it to finish";
        log::Info("stop requested", {{"key", key},
                                     {"job", std::to_string(state.managed.ref.job_id)},
                                     {"version", std::to_string(state.managed.ref.version_id)},
                                     {"object", object},
                                     {"action", "stop"},
                                     {"result", "accepted"},
                                     {"observed", StatusText(observed->status)}});
      } else if (stop.error().error_class == ErrorClass::kNotAllowed) {
        // The version changed between observe and stop (e.g. it just finished): look
        // again, exactly and at once, instead of retrying the stop.
        state.stop_refused_at_status = observed->status;
        state.observe_not_before = clock_.Now();
        state.observe_allow_batch = false;
        state.phase = Phase::kStopping;
        state.last_error = stop.error();
        state.synced.Set(false, "StopRefused", stop.error().ToString(), clock_.WallNow());
        state.ready.Set(false, "StopRefused", "re-observing after a refused stop",
                        clock_.WallNow());
        state.next_attempt = clock_.WallNow();
        state.next_reason = "now";
        log::Info("stop refused; re-observing",
                  {{"key", key},
                   {"job", std::to_string(state.managed.ref.job_id)},
                   {"version", std::to_string(state.managed.ref.version_id)},
                   {"object", object},
                   {"action", "stop"},
                   {"result", "refused"},
                   {"error", stop.error().ToString()}});
        result =
            ReconcileResult{false, Duration{0}, Priority::kNormal, ReconcileOutcome::kRequeueAfter};
        state.queue_priority = Priority::kNormal;
        act_error = stop.error();
      } else {
        act_error = stop.error();
        result = RecordError(key, state, stop.error(), "stop");
      }
    }

    if (!act_error) {
      state.phase = decision.phase;
      state.last_error.reset();
      const WallTime now = clock_.WallNow();
      state.ready.Set(decision.phase == Phase::kConverged, reason, message, now);
      if (decision.phase == Phase::kPaused || decision.phase == Phase::kConflict ||
          reason == "DryRun") {
        state.synced.Set(false, reason, message, now);
      } else if (next == NextCheck::kBackoff) {
        state.synced.Set(false, reason, message, now);
      } else {
        state.synced.Set(true, "ReconcileSuccess", message, now);
      }
      result = Schedule(key, state, next, std::nullopt);
      if (next == NextCheck::kBackoff) result.outcome = ReconcileOutcome::kError;
    }
  }

  if (state.phase != phase_before) {
    log::Info("phase changed", {{"key", key},
                                {"job", std::to_string(state.managed.ref.job_id)},
                                {"version", std::to_string(state.managed.ref.version_id)},
                                {"object", object},
                                {"from", std::string(PhaseName(phase_before))},
                                {"to", std::string(PhaseName(state.phase))},
                                {"reason", state.ready.reason},
                                {"message", state.ready.message}});
  }
  Publish(key, state);
  if (metrics_ != nullptr) {
    metrics_->ObserveReconcile(result.outcome, clock_.Now() - started);
  }
  return result;
}

}  // namespace mactl
