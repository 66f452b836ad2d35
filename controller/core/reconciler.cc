#include "controller/core/reconciler.h"

#include <algorithm>
#include <utility>

#include "controller/base/jitter.h"
#include "controller/base/log.h"
#include "controller/cloud/job_status.h"
#include "controller/cloud/run_duration.h"

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
    case NextCheck::kNow:
      return "now";
  }
  return "resync";
}

std::string ObjectName(const ManagedVersion& managed) {
  return managed.object_names.empty() ? "" : managed.object_names.front();
}

void LogFailure(const std::string& key, const ManagedVersion& managed, const VersionState& state,
                const Error& error, std::string_view during, Duration retry_in) {
  log::Warn(
      "reconcile failed",
      {{"key", key},
       {"job", std::to_string(managed.ref.job_id)},
       {"version", std::to_string(managed.ref.version_id)},
       {"object", ObjectName(managed)},
       {"during", std::string(during)},
       {"error_class", ErrorClassName(error.error_class)},
       {"error", error.ToString()},
       {"attempt", std::to_string(state.attempts)},
       {"retry_in_ms",
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(retry_in).count())}});
}

void LogPhaseChange(const std::string& key, const ManagedVersion& managed,
                    const VersionState& state, Phase before) {
  log::Info("phase changed", {{"key", key},
                              {"job", std::to_string(managed.ref.job_id)},
                              {"version", std::to_string(managed.ref.version_id)},
                              {"object", ObjectName(managed)},
                              {"from", std::string(PhaseName(before))},
                              {"to", std::string(PhaseName(state.phase))},
                              {"reason", std::string(state.ready.reason)},
                              {"message", state.ready.message.str()}});
}

}  // namespace

Reconciler::Reconciler(ReconcilerOptions options, const SnapshotStore& desired, CloudClient& client,
                       Observer& observer, RandomSource& random, const Clock& clock)
    : options_(options),
      desired_(desired),
      client_(client),
      observer_(observer),
      random_(random),
      clock_(clock) {}

void Reconciler::MarkDesiredChanged(const std::vector<std::string>& keys, bool allow_batch) {
  const SteadyTime now = clock_.Now();
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_.Current();
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    VersionState& state = EntryLocked(key);
    state.observe_not_before = now;
    state.observe_allow_batch = allow_batch;
    state.observe_due = now;
    state.observe_batch_window = Duration{0};  // a bulk change is due all at once
    if (const ManagedVersion* managed = snapshot ? snapshot->Find(key) : nullptr) {
      observer_.ExpectObservation(key, {managed->ref.project_id, now, now, allow_batch});
    }
  }
}

void Reconciler::Forget(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    const auto it = states_.find(key);
    if (it != states_.end() && it->second.stop_accepted) RememberStopLocked(key, it->second);
    if (it != states_.end()) states_.erase(it);
    observer_.ForgetObservation(key);
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

void Reconciler::Publish(const std::string& key, const std::string& project_id,
                         VersionState&& state) {
  std::lock_guard lock(mu_);
  // A concurrent MarkDesiredChanged (an edit arriving mid-reconcile) wins for what the
  // next observation must satisfy.
  const auto it = states_.find(key);
  VersionState merged = std::move(state);  // the resync path copies the state once, at Load
  if (it != states_.end() && it->second.observe_not_before > merged.observe_not_before) {
    merged.observe_not_before = it->second.observe_not_before;
    merged.observe_allow_batch = it->second.observe_allow_batch;
    merged.observe_due = it->second.observe_due;
    merged.observe_batch_window = it->second.observe_batch_window;
  }
  observer_.ExpectObservation(
      key, {project_id, merged.observe_due, merged.observe_not_before, merged.observe_allow_batch});
  if (it != states_.end()) {
    it->second = std::move(merged);
  } else {
    states_.emplace(key, std::move(merged));
  }
}

VersionState Reconciler::Load(const std::string& key) {
  std::lock_guard lock(mu_);
  return EntryLocked(key);  // a managed key has an entry from its first look on (see /status)
}

VersionState& Reconciler::EntryLocked(const std::string& key) {
  const auto [it, created] = states_.try_emplace(key);
  if (created) {
    const auto stop = stops_.find(key);
    if (stop != stops_.end() && clock_.Now() - stop->second.at < kStopMemory) {
      it->second.stop_accepted = true;
      it->second.stop_accepted_at = stop->second.wall;
      it->second.stop_accepted_steady = stop->second.at;
    }
  }
  return it->second;
}

void Reconciler::RememberStopLocked(const std::string& key, const VersionState& state) {
  const SteadyTime now = clock_.Now();
  if (now - state.stop_accepted_steady >= kStopMemory) return;
  stops_[key] =
      AcceptedStop{state.stop_accepted_steady, state.stop_accepted_at.value_or(clock_.WallNow())};
  // Pruned a few times per memory period, so the map holds at most the stops of about
  // 1.25 periods.
  if (now - stops_pruned_ >= kStopMemory / 4) {
    std::erase_if(stops_, [&](const auto& entry) { return now - entry.second.at >= kStopMemory; });
    stops_pruned_ = now;
  }
}

ReconcileResult Reconciler::Schedule(VersionState& state, NextCheck next) {
  const SteadyTime now = clock_.Now();
  ReconcileResult result;
  switch (next) {
    case NextCheck::kResync:
      result = ReconcileResult::RequeueAfter(
          JitteredBeforeSlot(options_.resync, options_.jitter, options_.resync_slot, random_),
          Requeue::kResync);
      // A resync needs a status newer than the one it last saw and at most one resync
      // period old when due. So one list refresh per period serves every resync of a
      // project, however their due times are spread (like an informer's cache).
      // (The difference first: both may be near the largest Duration.)
      state.observe_not_before = std::max(state.observed_steady + Duration(1),
                                          now + (result.requeue_after - options_.resync));
      state.observe_allow_batch = true;
      state.observe_batch_window = options_.resync;
      break;
    case NextCheck::kPoll:
      result = ReconcileResult::RequeueAfter(Jittered(options_.poll, options_.jitter, random_),
                                             Requeue::kPoll);
      state.observe_not_before =
          std::max(state.observe_not_before, now + (result.requeue_after - options_.poll / 2));
      state.observe_allow_batch = true;
      state.observe_batch_window = options_.poll / 2;
      break;
    case NextCheck::kNow:
      result = ReconcileResult::RequeueAfter(Duration{0}, Requeue::kNow);
      state.observe_not_before = now;
      state.observe_allow_batch = false;
      state.observe_batch_window = Duration{0};
      break;
    case NextCheck::kBackoff:
      // The queue picks the delay; RetryScheduled moves the bound to the retry time.
      state.observe_not_before = now;
      state.observe_due = now;
      state.observe_batch_window = Duration{0};
      state.next_reason = NextName(next);
      return ReconcileResult::RetryableError(std::nullopt, "");
  }
  state.observe_due = SaturatingAdd(now, result.requeue_after);
  state.next_attempt = ToWall(clock_, state.observe_due);
  state.next_reason = NextName(next);
  return result;
}

void Reconciler::RetryScheduled(const std::string& key, const ReconcileResult& failed,
                                Duration delay) {
  const SteadyTime retry_at = SaturatingAdd(clock_.Now(), delay);
  // The state keeps no copy of what the snapshot holds. A key the snapshot lost meanwhile
  // is forgotten at its next reconcile; until then its failure log names it by key only
  // (job and version 0, no object).
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_.Current();
  const ManagedVersion* found = snapshot ? snapshot->Find(key) : nullptr;
  const ManagedVersion none;
  const ManagedVersion& managed = found != nullptr ? *found : none;
  VersionState state;
  {
    std::lock_guard lock(mu_);
    const auto it = states_.find(key);
    if (it == states_.end()) return;
    it->second.observe_not_before = std::max(it->second.observe_not_before, retry_at);
    it->second.observe_due = retry_at;
    if (found != nullptr) {
      observer_.ExpectObservation(key,
                                  {managed.ref.project_id, retry_at, it->second.observe_not_before,
                                   it->second.observe_allow_batch});
    }
    it->second.next_attempt = ToWall(clock_, retry_at);
    it->second.next_reason = NextName(NextCheck::kBackoff);
    if (!failed.error) return;
    state = it->second;
  }
  LogFailure(key, managed, state, *failed.error, failed.during, delay);
}

ReconcileResult Reconciler::RecordError(const std::string& key, const ManagedVersion& managed,
                                        VersionState& state, const Error& error,
                                        std::string_view during) {
  state.last_error = std::make_shared<const Error>(error);
  state.phase = Phase::kError;
  const bool retry = error.error_class != ErrorClass::kTerminal;
  const WallTime now = clock_.WallNow();
  state.synced.Set(false, retry ? "RetryableError" : "TerminalError",
                   texts_.Intern(std::string(during) + ": " + error.ToString()), now);
  state.ready.Set(false, retry ? "RetryableError" : "TerminalError",
                  texts_.Intern(error.ToString()), now);
  if (retry) {
    // Logged by RetryScheduled, once the queue has chosen the delay.
    Schedule(state, NextCheck::kBackoff);
    return ReconcileResult::RetryableError(error, std::string(during));
  }
  // A terminal error needs a change on the user's side; look again at resync pace.
  const Duration resync_after = Schedule(state, NextCheck::kResync).requeue_after;
  LogFailure(key, managed, state, error, during, resync_after);
  return ReconcileResult::TerminalError(resync_after, error, std::string(during));
}

void Reconciler::RecordObservation(VersionState& state, const Observation& observed) {
  state.observed_status = observed.status;
  state.observed_at = ToWall(clock_, observed.observed_at);
  state.observed_steady = observed.observed_at;
  state.observed_source = observed.source;
  const RunDuration run = CheckRunDuration(observed.duration_ms);
  state.observed_run_duration = run.value;
  state.run_duration_problem = texts_.Intern(run.problem);
}

void Reconciler::ScheduleDue(VersionState& state, Duration due_in, ReconcileResult& result) const {
  const SteadyTime now = clock_.Now();
  // A running version's duration grew since it was observed (a list answer may be a resync
  // old); a queued one's did not, so its due time counts from now (README, "Runtime limits").
  const SteadyTime from = state.observed_status == static_cast<int>(JobStatus::kRunning)
                              ? std::min(state.observed_steady, now)
                              : now;
  const SteadyTime due_at = SaturatingAdd(from, due_in);
  state.max_runtime_due = ToWall(clock_, due_at);
  // Never later than the regular check, and never a busy loop right at the boundary.
  const Duration after = std::max(due_at - now, kMinDueDelay);
  if (after >= result.requeue_after) return;
  result = ReconcileResult::RequeueAfter(after, Requeue::kPoll);
  // The look at the due time needs an answer from then, not the cached one.
  state.observe_not_before = due_at;
  state.observe_allow_batch = true;
  state.next_attempt = ToWall(clock_, SaturatingAdd(now, after));
  state.next_reason = "maxRuntime";
}

ReconcileResult Reconciler::Apply(VersionState& state, const Decision& decision,
                                  const Error* error) {
  state.phase = decision.phase;
  state.last_error = error != nullptr ? std::make_shared<const Error>(*error) : nullptr;
  const WallTime now = clock_.WallNow();
  SharedText message = texts_.Intern(decision.message);
  state.synced.Set(decision.synced, decision.synced ? "ReconcileSuccess" : decision.reason,
                   error != nullptr ? texts_.Intern(error->ToString()) : message, now);
  state.ready.Set(decision.phase == Phase::kConverged, decision.reason, std::move(message), now);
  state.max_runtime_due.reset();
  ReconcileResult result = Schedule(state, decision.next);
  if (decision.due_in && result.kind == ReconcileResult::Kind::kRequeueAfter) {
    ScheduleDue(state, *decision.due_in, result);
  }
  return result;
}

ReconcileResult Reconciler::DecideAndAct(const std::string& key, const ManagedVersion& managed,
                                         VersionState& state, int status) {
  DecisionContext context;
  context.paused = managed.paused;
  context.conflict = managed.conflict;
  context.stop_accepted = state.stop_accepted;
  context.stop_refused_at_status = state.stop_refused_at_status;
  context.dry_run = options_.dry_run;
  context.max_runtime = managed.max_runtime;
  context.run_duration = state.observed_run_duration;
  context.run_duration_problem = state.run_duration_problem.str();
  const Decision decision = Decide(managed.desired, status, context);
  if (decision.action == Action::kStop) return Stop(key, managed, state, status, decision.reason);
  return Apply(state, decision, nullptr);
}

ReconcileResult Reconciler::Stop(const std::string& key, const ManagedVersion& managed,
                                 VersionState& state, int status, std::string_view reason) {
  Status stop = client_.StopVersion(managed.ref);
  state.last_action = "stop";
  if (stop) {
    state.stop_accepted = true;
    state.stop_accepted_at = clock_.WallNow();
    state.stop_refused_at_status.reset();
    state.stop_reason = reason;  // a literal of the decision
    if (reason == kMaxRuntimeExceeded) ++runtime_limit_stops_;
    state.stop_accepted_steady = clock_.Now();  // remembered at Forget (RememberStopLocked)
    // The next observation must come after the stop.
    state.observe_not_before = clock_.Now();
    log::Info("stop requested", {{"key", key},
                                 {"job", std::to_string(managed.ref.job_id)},
                                 {"version", std::to_string(managed.ref.version_id)},
                                 {"object", ObjectName(managed)},
                                 {"action", "stop"},
                                 {"result", "accepted"},
                                 {"reason", std::string(reason)},
                                 {"observed", StatusText(status)}});
    return Apply(state, DecideAfterStop(StopOutcome::kAccepted, status), nullptr);
  }
  if (stop.error().error_class == ErrorClass::kNotAllowed) {
    // The version changed between observe and stop (e.g. it just finished): look
    // again, exactly and at once, instead of retrying the stop.
    state.stop_refused_at_status = status;
    log::Info("stop refused; re-observing", {{"key", key},
                                             {"job", std::to_string(managed.ref.job_id)},
                                             {"version", std::to_string(managed.ref.version_id)},
                                             {"object", ObjectName(managed)},
                                             {"action", "stop"},
                                             {"result", "refused"},
                                             {"error", stop.error().ToString()}});
    return Apply(state, DecideAfterStop(StopOutcome::kRefused, status), &stop.error());
  }
  return RecordError(key, managed, state, stop.error(), "stop");
}

ReconcileResult Reconciler::Reconcile(const std::string& key) {
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_.Current();
  const ManagedVersion* managed = snapshot ? snapshot->Find(key) : nullptr;
  if (managed == nullptr) {
    Forget({key});
    return ReconcileResult::Done();
  }

  VersionState state = Load(key);
  const Phase phase_before = state.phase;
  ++state.attempts;

  // Observe. A worker never waits for another worker's list refresh: the object comes
  // back when the refresh should be done, and the worker is free for edits meanwhile.
  Result<Observation> observed =
      observer_.Observe({managed->ref, state.observe_not_before, state.observe_allow_batch,
                         /*may_defer=*/true, state.observe_batch_window});
  if (observed && observed->retry_in) {
    return ReconcileResult::RequeueAfter(*observed->retry_in, Requeue::kDeferred);
  }
  state.attempted = true;
  ReconcileResult result;
  if (observed) {
    RecordObservation(state, *observed);
    result = DecideAndAct(key, *managed, state, observed->status);
  } else {
    result = RecordError(key, *managed, state, observed.error(), "observe");
  }
  if (state.phase != phase_before) LogPhaseChange(key, *managed, state, phase_before);
  Publish(key, managed->ref.project_id, std::move(state));
  return result;
}

}  // namespace mactl
