#include "controller/core/training_job_reconciler.h"

#include <algorithm>
#include <utility>

#include "controller/base/jitter.h"
#include "controller/base/log.h"
#include "controller/cloud/job_phase.h"

namespace mactl {
namespace {

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

std::string ObjectName(const ManagedTrainingJob& managed) {
  return managed.object_names.empty() ? "" : managed.object_names.front();
}

bool Ended(const TrainingJobInfo& job) {
  return ClassifyJobPhases(job.phase, job.secondary_phase) == JobPhaseClass::kTerminal;
}

}  // namespace

TrainingJobReconciler::TrainingJobReconciler(TrainingJobReconcilerOptions options,
                                             SnapshotSource desired, TrainingJobClient& client,
                                             TrainingJobObserver& observer, RandomSource& random,
                                             const Clock& clock)
    : options_(options),
      desired_(std::move(desired)),
      client_(client),
      observer_(observer),
      random_(random),
      clock_(clock) {}

void TrainingJobReconciler::MarkDesiredChanged(const std::vector<std::string>& keys,
                                               bool allow_batch) {
  const SteadyTime now = clock_.Now();
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_();
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    TrainingJobState& state = states_[key];
    state.observe_not_before = now;
    state.observe_allow_batch = allow_batch;
    state.observe_due = now;
    state.observe_batch_window = Duration{0};  // a bulk change is due all at once
    if (const ManagedTrainingJob* managed = snapshot ? snapshot->FindTrainingJob(key) : nullptr) {
      observer_.ExpectObservation(key, {managed->ref.project_id, now, now, allow_batch});
    }
  }
}

void TrainingJobReconciler::Forget(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    states_.erase(key);
    observer_.ForgetObservation(key);
  }
}

std::unordered_map<std::string, TrainingJobState> TrainingJobReconciler::States() const {
  std::lock_guard lock(mu_);
  return states_;
}

std::optional<TrainingJobState> TrainingJobReconciler::State(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = states_.find(key);
  if (it == states_.end()) return std::nullopt;
  return it->second;
}

void TrainingJobReconciler::RetryScheduled(const std::string& key, Duration delay) {
  const SteadyTime retry_at = clock_.Now() + delay;
  // The state keeps no copy of what the snapshot holds. A key the snapshot lost meanwhile is
  // forgotten at its next reconcile.
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_();
  const ManagedTrainingJob* managed = snapshot ? snapshot->FindTrainingJob(key) : nullptr;
  std::lock_guard lock(mu_);
  const auto it = states_.find(key);
  if (it == states_.end()) return;
  it->second.observe_not_before = std::max(it->second.observe_not_before, retry_at);
  it->second.observe_due = retry_at;
  if (managed != nullptr) {
    observer_.ExpectObservation(key,
                                {managed->ref.project_id, retry_at, it->second.observe_not_before,
                                 it->second.observe_allow_batch});
  }
  it->second.next_attempt = ToWall(clock_, retry_at);
  it->second.next_reason = NextName(NextCheck::kBackoff);
}

void TrainingJobReconciler::Publish(const std::string& key, const std::string& project_id,
                                    TrainingJobState&& state) {
  std::lock_guard lock(mu_);
  // A concurrent MarkDesiredChanged (an edit arriving mid-reconcile) wins for what the next
  // observation must satisfy.
  const auto it = states_.find(key);
  TrainingJobState merged = std::move(state);  // the resync path copies the state once, at Load
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

TrainingJobOutcome TrainingJobReconciler::Schedule(TrainingJobState& state, NextCheck next) {
  const SteadyTime now = clock_.Now();
  TrainingJobOutcome out;
  out.kind = TrainingJobOutcome::Kind::kRequeueAfter;
  out.next = next;
  switch (next) {
    case NextCheck::kResync:
      out.after =
          JitteredBeforeSlot(options_.resync, options_.jitter, options_.resync_slot, random_);
      // One search per resync period serves every resync of a project, however their due
      // times are spread (as for versions).
      state.observe_not_before =
          std::max(state.observed_steady + Duration(1), now + out.after - options_.resync);
      state.observe_allow_batch = true;
      state.observe_batch_window = options_.resync;
      break;
    case NextCheck::kPoll:
      out.after = Jittered(options_.poll, options_.jitter, random_);
      state.observe_not_before =
          std::max(state.observe_not_before, now + out.after - options_.poll / 2);
      state.observe_allow_batch = true;
      state.observe_batch_window = options_.poll / 2;
      break;
    case NextCheck::kNow:
      // The job changed under a terminate: look again at once, exactly.
      out.after = Duration{0};
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
      out.kind = TrainingJobOutcome::Kind::kRetryableError;
      return out;
  }
  state.observe_due = now + out.after;
  state.next_attempt = ToWall(clock_, state.observe_due);
  state.next_reason = NextName(next);
  return out;
}

TrainingJobOutcome TrainingJobReconciler::RecordError(const std::string& key,
                                                      const ManagedTrainingJob& managed,
                                                      TrainingJobState& state, const Error& error,
                                                      std::string_view during) {
  state.last_error = std::make_shared<const Error>(error);
  state.phase = Phase::kError;
  const bool retry = error.error_class != ErrorClass::kTerminal;
  const WallTime now = clock_.WallNow();
  state.synced.Set(false, retry ? "RetryableError" : "TerminalError",
                   texts_.Intern(std::string(during) + ": " + error.ToString()), now);
  state.ready.Set(false, retry ? "RetryableError" : "TerminalError",
                  texts_.Intern(error.ToString()), now);
  log::Warn("reconcile failed", {{"key", key},
                                 {"object", ObjectName(managed)},
                                 {"during", std::string(during)},
                                 {"error_class", ErrorClassName(error.error_class)},
                                 {"error", error.ToString()}});
  TrainingJobOutcome out = Schedule(state, retry ? NextCheck::kBackoff : NextCheck::kResync);
  if (!retry) out.kind = TrainingJobOutcome::Kind::kTerminalError;
  out.error = error;
  out.during = std::string(during);
  return out;
}

TrainingJobOutcome TrainingJobReconciler::Apply(TrainingJobState& state,
                                                const TrainingJobDecision& decision,
                                                const Error* error) {
  state.phase = decision.phase;
  state.last_error = error != nullptr ? std::make_shared<const Error>(*error) : nullptr;
  const WallTime now = clock_.WallNow();
  SharedText message = texts_.Intern(decision.message);
  state.synced.Set(decision.synced, decision.synced ? "ReconcileSuccess" : decision.reason,
                   error != nullptr ? texts_.Intern(error->ToString()) : message, now);
  state.ready.Set(decision.phase == Phase::kConverged, decision.reason, std::move(message), now);
  state.max_runtime_due.reset();
  TrainingJobOutcome out = Schedule(state, decision.next);
  if (decision.due_in && out.kind == TrainingJobOutcome::Kind::kRequeueAfter) {
    ScheduleDue(state, *decision.due_in, out);
  }
  return out;
}

void TrainingJobReconciler::ScheduleDue(TrainingJobState& state, Duration due_in,
                                        TrainingJobOutcome& out) const {
  const SteadyTime now = clock_.Now();
  // A running job's duration grew since it was observed (a search may be a resync old); a
  // pending one's did not, so its due time counts from now (README, "Runtime limits").
  const bool running = state.job && state.job->phase == "Running";
  const SteadyTime from = running ? std::min(state.observed_steady, now) : now;
  const SteadyTime due_at = SaturatingAdd(from, due_in);
  state.max_runtime_due = ToWall(clock_, due_at);
  // Never later than the regular check, and never a busy loop right at the boundary.
  const Duration after = std::max(due_at - now, kMinDueDelay);
  if (after >= out.after) return;
  out.after = after;
  out.next = NextCheck::kPoll;
  // The look at the due time needs an answer from then, not the cached one.
  state.observe_not_before = due_at;
  state.observe_allow_batch = true;
  state.next_attempt = ToWall(clock_, SaturatingAdd(now, after));
  state.next_reason = "maxRuntime";
}

TrainingJobOutcome TrainingJobReconciler::Terminate(const std::string& key,
                                                    const ManagedTrainingJob& managed,
                                                    TrainingJobState& state,
                                                    const TrainingJobInfo& job,
                                                    std::string_view reason) {
  Result<TrainingJobInfo> answer = client_.TerminateTrainingJob(managed.ref.project_id, job.id);
  state.last_action = "terminate";
  if (answer) {
    state.terminate_accepted_for = job.id;
    state.terminate_accepted_at = clock_.WallNow();
    state.terminate_refused.reset();
    state.terminate_reason = std::string(reason);
    if (reason == kMaxRuntimeExceeded) ++runtime_limit_stops_;
    state.job = *answer;
    state.ended = Ended(*answer);
    // The next observation must come after the terminate.
    state.observe_not_before = clock_.Now();
    log::Info("terminate requested", {{"key", key},
                                      {"training_job_id", job.id},
                                      {"object", ObjectName(managed)},
                                      {"action", "terminate"},
                                      {"result", "accepted"},
                                      {"reason", std::string(reason)},
                                      {"observed", job.phase}});
    return Apply(state, DecideAfterTerminate(TerminateOutcome::kAccepted, *answer), nullptr);
  }
  if (answer.error().error_class == ErrorClass::kNotAllowed) {
    // The job's phase changed between observe and terminate (it finished, or is already
    // terminating): look again, exactly, instead of terminating again.
    state.terminate_refused =
        TrainingJobDecisionContext::Refusal{job.id, job.phase, job.secondary_phase};
    log::Info("terminate refused; re-observing", {{"key", key},
                                                  {"training_job_id", job.id},
                                                  {"object", ObjectName(managed)},
                                                  {"action", "terminate"},
                                                  {"result", "refused"},
                                                  {"error", answer.error().ToString()}});
    return Apply(state, DecideAfterTerminate(TerminateOutcome::kRefused, job), &answer.error());
  }
  return RecordError(key, managed, state, answer.error(), "terminate");
}

TrainingJobOutcome TrainingJobReconciler::DecideAndAct(const std::string& key,
                                                       const ManagedTrainingJob& managed,
                                                       TrainingJobState& state,
                                                       const TrainingJobObservation& observed) {
  TrainingJobDecisionContext context;
  context.paused = managed.paused;
  context.conflict = managed.conflict;
  context.dry_run = options_.dry_run;
  context.terminate_accepted_for = state.terminate_accepted_for;
  context.terminate_refused = state.terminate_refused;
  context.max_runtime = managed.max_runtime;
  const TrainingJobRef& ref = managed.ref;
  TrainingJobDecision decision;
  if (!ref.training_job_id.empty()) {
    // Not listed and not rechecked: it had ended and has not changed.
    if (!observed.jobs.empty()) state.job = observed.jobs.front();
    if (!state.job) {
      return RecordError(key, managed, state,
                         MakeError(ErrorClass::kRetryable, "Observe.NoJob",
                                   "the job was neither listed nor looked up"),
                         "observe");
    }
    state.ended = Ended(*state.job);
    state.resolved_id = state.job->id;
    decision = DecideTrainingJob(managed.desired, *state.job, context);
  } else {
    decision =
        DecideTrainingJobByName(managed.desired, ref.training_job_name, observed.jobs, context);
    // The job the name resolved to; when none is active any more, the one it resolved to
    // before, now ended, which /status keeps showing. Several active: none.
    const auto seen = [&](const std::string& id) -> const TrainingJobInfo* {
      for (const TrainingJobInfo& job : observed.jobs) {
        if (job.id == id) return &job;
      }
      return nullptr;
    };
    if (!decision.job_id.empty()) {
      const TrainingJobInfo* acted_on = seen(decision.job_id);
      state.job = acted_on != nullptr ? std::optional<TrainingJobInfo>(*acted_on) : std::nullopt;
    } else if (state.job) {
      const TrainingJobInfo* again = seen(state.job->id);
      if (again != nullptr && Ended(*again)) {
        state.job = *again;
      } else if (again != nullptr || !state.ended || decision.reason == "Ambiguous") {
        state.job.reset();
      }
    }
    state.resolved_id = state.job ? state.job->id : "";
    state.ended = !state.job || Ended(*state.job);
  }
  if (decision.action == JobAction::kTerminate && state.job) {
    return Terminate(key, managed, state, *state.job, decision.reason);
  }
  return Apply(state, decision, nullptr);
}

TrainingJobObserveRequest TrainingJobReconciler::ObserveRequest(
    const ManagedTrainingJob& managed, const TrainingJobState& state) const {
  TrainingJobObserveRequest request;
  request.ref = managed.ref;
  request.not_before = state.observe_not_before;
  request.allow_batch = state.observe_allow_batch;
  request.may_defer = true;
  request.batch_window = state.observe_batch_window;
  // A job last seen active (or never seen) that the search no longer lists has changed: only
  // then does its absence cost a detail call.
  if (!request.ref.training_job_id.empty()) {
    if (!state.ended || !state.job) request.recheck_if_absent = request.ref.training_job_id;
  } else if (state.job && !state.ended) {
    request.recheck_if_absent = state.job->id;
  }
  return request;
}

TrainingJobOutcome TrainingJobReconciler::Reconcile(const std::string& key) {
  const std::shared_ptr<const DesiredSnapshot> snapshot = desired_();
  const ManagedTrainingJob* managed = snapshot ? snapshot->FindTrainingJob(key) : nullptr;
  if (managed == nullptr) {
    Forget({key});
    return TrainingJobOutcome{};
  }
  TrainingJobState state;
  {
    std::lock_guard lock(mu_);
    state = states_[key];
  }
  const Phase phase_before = state.phase;
  ++state.attempts;

  Result<TrainingJobObservation> observed = observer_.Observe(ObserveRequest(*managed, state));
  if (observed && observed->retry_in) {
    TrainingJobOutcome deferred;
    deferred.kind = TrainingJobOutcome::Kind::kRequeueAfter;
    deferred.after = *observed->retry_in;
    deferred.deferred = true;
    return deferred;
  }
  state.attempted = true;
  TrainingJobOutcome out;
  if (observed) {
    state.observed_at = ToWall(clock_, observed->observed_at);
    state.observed_steady = observed->observed_at;
    state.observed_source = observed->source;
    out = DecideAndAct(key, *managed, state, *observed);
  } else {
    out = RecordError(key, *managed, state, observed.error(), "observe");
  }
  if (state.phase != phase_before) {
    log::Info("phase changed", {{"key", key},
                                {"training_job_id", state.resolved_id},
                                {"object", ObjectName(*managed)},
                                {"from", std::string(PhaseName(phase_before))},
                                {"to", std::string(PhaseName(state.phase))},
                                {"reason", std::string(state.ready.reason)},
                                {"message", state.ready.message.str()}});
  }
  Publish(key, managed->ref.project_id, std::move(state));
  return out;
}

}  // namespace mactl
