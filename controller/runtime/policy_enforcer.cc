#include "controller/runtime/policy_enforcer.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "api/duration.h"
#include "controller/base/jitter.h"
#include "controller/base/log.h"
#include "controller/base/sanitize.h"
#include "controller/core/policy_exclusions.h"
#include "controller/core/policy_lister.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;

bool SameExclusions(const PolicyExclusions& a, const PolicyExclusions& b) {
  return a.v1_jobs == b.v1_jobs && a.v2_ids == b.v2_ids && a.v2_names == b.v2_names;
}

bool SamePolicies(const std::vector<ResolvedPolicy>& a, const std::vector<ResolvedPolicy>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const ResolvedPolicy& x, const ResolvedPolicy& y) {
                      return x.policy == y.policy && x.project_id == y.project_id;
                    });
}

// The v1 version a candidate names; nullopt for an id that is not a decimal job id.
std::optional<VersionRef> VersionOf(const PolicyCandidate& job) {
  std::int64_t id = 0;
  const char* end = job.id.data() + job.id.size();
  const auto [at, ec] = std::from_chars(job.id.data(), end, id);
  if (ec != std::errc() || at != end) return std::nullopt;
  return VersionRef{job.project_id, id, job.version_id};
}

Status Send(CloudClient& versions, TrainingJobClient& jobs, const PolicyCandidate& job) {
  if (job.kind == PolicyJobKind::kTrainingJob) {
    Result<TrainingJobInfo> answer = jobs.TerminateTrainingJob(job.project_id, job.id);
    if (!answer) return answer.error();
    return OkStatus();
  }
  const std::optional<VersionRef> ref = VersionOf(job);
  if (!ref) return MakeError(ErrorClass::kTerminal, "InvalidJobId", "not a v1 job id");
  return versions.StopVersion(*ref);
}

std::vector<log::Field> JobFields(const PolicyCandidate& job, std::string_view policy) {
  return {{"policy", std::string(policy)},
          {"kind", std::string(PolicyJobKindName(job.kind))},
          {"project", job.project_id},
          {"job", job.id},
          {"version", std::to_string(job.version_id)},
          {"name", SanitizeForLog(job.name, 128)},
          {"duration_ms", std::to_string(job.duration_ms)}};
}

void LogJob(spdlog::level::level_enum level, std::string_view message, const PolicyCandidate& job,
            std::string_view policy, std::string detail = "") {
  const std::vector<log::Field> f = JobFields(job, policy);
  if (detail.empty()) {
    log::Event(level, message, {f[0], f[1], f[2], f[3], f[4], f[5], f[6]});
  } else {
    log::Event(level, message, {f[0], f[1], f[2], f[3], f[4], f[5], f[6], {"error", detail}});
  }
}

}  // namespace

PolicyEnforcer::PolicyEnforcer(PolicyEnforcerOptions options, const SnapshotStore& desired,
                               CloudClient& versions, TrainingJobClient& jobs, const Clock& clock,
                               RandomSource& random, ControllerMetrics* metrics)
    : options_(options),
      desired_(desired),
      versions_(versions),
      jobs_(jobs),
      clock_(clock),
      random_(random),
      metrics_(metrics),
      project_backoff_(BackoffPolicy{options.backoff_base, options.backoff_max, options.jitter},
                       random),
      stop_backoff_(BackoffPolicy{options.backoff_base, options.backoff_max, options.jitter},
                    random) {}

PolicyEnforcer::~PolicyEnforcer() {
  RequestStop();
  Join();
}

void PolicyEnforcer::SnapshotChanged() {
  {
    std::lock_guard lock(mu_);
    snapshot_changed_ = true;
  }
  wake_.notify_all();
}

bool PolicyEnforcer::TakeSnapshotChanged() {
  std::lock_guard lock(mu_);
  return std::exchange(snapshot_changed_, false);
}

void PolicyEnforcer::Start() {
  thread_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      const SteadyTime next = RunDue();
      std::unique_lock lock(mu_);
      clock_.WaitUntil(wake_, lock, stop, next, [this] { return snapshot_changed_; });
    }
  });
}

void PolicyEnforcer::RequestStop() {
  stopping_ = true;
  thread_.request_stop();
}

void PolicyEnforcer::Join() {
  if (thread_.joinable()) thread_.join();
}

std::vector<PolicyStatus> PolicyEnforcer::Statuses() const {
  std::lock_guard lock(mu_);
  return published_;
}

std::uint64_t PolicyEnforcer::TotalStops() const {
  std::lock_guard lock(mu_);
  return total_stops_;
}

SteadyTime PolicyEnforcer::RunDue() {
  const SteadyTime now = clock_.Now();
  const bool changed = TakeSnapshotChanged() || !evaluated_;
  const bool adopted = changed && AdoptSnapshot(*desired_.Current());
  if (!evaluated_ || adopted || now >= next_pass_) {
    FullPass(false);
  } else if (std::any_of(projects_.begin(), projects_.end(), [now](const auto& p) {
               return p.second.error && p.second.retry_at <= now;
             })) {
    FullPass(true);
  }
  RunDueChecks();
  Publish();
  return NextWake();
}

bool PolicyEnforcer::AdoptSnapshot(const DesiredSnapshot& snapshot) {
  std::vector<ResolvedPolicy> policies = ResolvePolicies(snapshot);
  // No policy before or after: the exclusions cannot matter, and collecting them walks every
  // object (docs/benchmarks.md, "Edits that touch only their objects"). Without a policy they
  // are not held either: a key per object (131 B each, "The 100k peak in the issue-16 world").
  if (evaluated_ && policies.empty() && policies_.empty()) return false;
  PolicyExclusions exclusions = policies.empty() ? PolicyExclusions{} : ExclusionsOf(snapshot);
  if (evaluated_ && SamePolicies(policies, policies_) && SameExclusions(exclusions, exclusions_)) {
    return false;
  }
  default_project_id_ = snapshot.default_project_id;
  policies_ = std::move(policies);
  exclusions_ = std::move(exclusions);
  return true;
}

// Lists every project a policy names (or, only_failed, those whose listing failed and whose
// retry is due), then decides over every project that has a listing and acts on it.
void PolicyEnforcer::FullPass(bool only_failed) {
  const SteadyTime now = clock_.Now();
  std::map<std::string, ProjectListing> wanted;
  for (const auto& [project, request] : PolicyListRequests(policies_)) {
    ProjectListing& w = wanted[project];
    w.versions = request.versions;
    w.training_jobs = request.training_jobs;
  }
  for (auto& [project, want] : wanted) {
    const auto old = projects_.find(project);
    const bool same_kinds = old != projects_.end() && old->second.versions == want.versions &&
                            old->second.training_jobs == want.training_jobs;
    if (only_failed && same_kinds && !(old->second.error && old->second.retry_at <= now)) {
      want = std::move(old->second);
      continue;
    }
    if (Stopping()) return;
    ListProject(project, want);
  }
  projects_ = std::move(wanted);
  if (!only_failed)
    next_pass_ = SaturatingAdd(now, Jittered(options_.resync, options_.jitter, random_));
  evaluated_ = true;
  Evaluate();
  ActOnEvaluation();
}

void PolicyEnforcer::ListProject(const std::string& project_id, ProjectListing& listing) {
  Result<PolicyListing> listed = ListPolicyCandidates(
      versions_, jobs_, PolicyListRequest{project_id, listing.versions, listing.training_jobs});
  listing.listed_at = clock_.Now();
  if (listed) {
    listing.jobs = std::move(listed).value().jobs;
    listing.error.reset();
    project_backoff_.Reset(project_id);
    return;
  }
  Error error = listed.error();
  error.message = SanitizeForLog(error.message, 256);
  listing.jobs.clear();
  const Duration delay = project_backoff_.NextDelay(
      project_id, error.retry_after ? std::optional<Duration>(*error.retry_after) : std::nullopt);
  listing.retry_at = SaturatingAdd(listing.listed_at, delay);
  log::Warn(
      "policy listing failed",
      {{"project", project_id},
       {"error", error.ToString()},
       {"retry_in_ms", std::to_string(std::chrono::duration_cast<milliseconds>(delay).count())}});
  listing.error = std::move(error);
}

// The rule over every listed job except those whose stop was accepted and which listings
// still show stoppable (a service that lags must not get a second stop).
void PolicyEnforcer::Evaluate() {
  ForgetSettledStops();
  std::vector<PolicyCandidate> jobs;
  for (const auto& [project, listing] : projects_) {
    for (const PolicyCandidate& job : listing.jobs) {
      if (!remembered_.contains(job.Key())) jobs.push_back(job);
    }
  }
  evaluation_ = EvaluatePolicies(policies_, jobs, exclusions_,
                                 PolicyRuleOptions{options_.max_stops, options_.dry_run});
  held_.clear();
  due_.clear();
}

// A remembered stop is forgotten once its project's listing no longer shows the job, or shows
// it not stoppable (stopping, ended); a project not listed successfully keeps its memory.
void PolicyEnforcer::ForgetSettledStops() {
  for (auto it = remembered_.begin(); it != remembered_.end();) {
    const auto project = projects_.find(it->second.job.project_id);
    if (project != projects_.end() && project->second.error) {
      ++it;
      continue;
    }
    bool keep = false;
    if (project != projects_.end()) {
      for (const PolicyCandidate& job : project->second.jobs) {
        if (job.Key() != it->first) continue;
        keep = DecidePolicyJob(job, it->second.limit).verdict != PolicyVerdict::kNotStoppable;
        break;
      }
    }
    it = keep ? std::next(it) : remembered_.erase(it);
  }
}

// Stops what the rule says to stop now (each after an exact look) and schedules every job of
// an active policy that is under its limit for the moment it reaches it.
void PolicyEnforcer::ActOnEvaluation() {
  for (const PolicyMatch& match : evaluation_.matches) {
    if (Stopping()) return;
    const ResolvedPolicy& policy = policies_[match.policy];
    const milliseconds limit = policy.policy.max_runtime;
    if (match.stop) {
      PolicyCandidate job = match.job;
      if (LookBeforeStop(job, policy.policy.name, limit) == LookOutcome::kStop) {
        SendStop(job, policy.policy.name, limit);
      }
      continue;
    }
    const bool may_stop = !policy.policy.paused && !options_.dry_run && !evaluation_.limit_exceeded;
    if (!may_stop || match.verdict != PolicyVerdict::kUnderLimit || !match.due_in) continue;
    const ProjectListing& listing = projects_.at(match.job.project_id);
    due_[match.job.Key()] = DueCheck{SaturatingAdd(listing.listed_at, *match.due_in), match.job,
                                     policy.policy.name, limit};
  }
}

PolicyEnforcer::LookOutcome PolicyEnforcer::LookBeforeStop(PolicyCandidate& job,
                                                           const std::string& policy,
                                                           milliseconds limit) {
  if (remembered_.contains(job.Key())) return LookOutcome::kNothing;
  Result<PolicyCandidate> looked = LookUpPolicyCandidate(versions_, jobs_, job);
  if (!looked) {
    if (looked.error().retryable()) {
      ScheduleRetry(job, policy, limit);
      return LookOutcome::kRescheduled;
    }
    LogJob(spdlog::level::info, "policy look before stop failed; not stopping", job, policy,
           looked.error().ToString());
    return LookOutcome::kNothing;
  }
  job = std::move(looked).value();
  const PolicyJobVerdict verdict = DecidePolicyJob(job, limit);
  if (verdict.verdict == PolicyVerdict::kOverLimit) return LookOutcome::kStop;
  if (verdict.verdict == PolicyVerdict::kUnderLimit && verdict.due_in) {
    due_[job.Key()] = DueCheck{SaturatingAdd(clock_.Now(), *verdict.due_in), job, policy, limit};
    return LookOutcome::kRescheduled;
  }
  return LookOutcome::kNothing;
}

void PolicyEnforcer::SendStop(const PolicyCandidate& job, const std::string& policy,
                              milliseconds limit) {
  const Status sent = Send(versions_, jobs_, job);
  if (sent) {
    remembered_[job.Key()] = RememberedStop{job, policy, limit};
    stop_backoff_.Reset(job.Key());
    ++stops_by_policy_[policy];
    std::uint64_t total = 0;
    {
      std::lock_guard lock(mu_);
      total = ++total_stops_;
    }
    if (metrics_ != nullptr) metrics_->SetRuntimeLimitStops("policy", total);
    LogJob(spdlog::level::info, "policy stop requested", job, policy,
           "");  // one line per stop: the policy, the job, its run time
    return;
  }
  const Error& error = sent.error();
  if (error.retryable()) {
    ScheduleRetry(job, policy, limit);
  } else if (error.error_class == ErrorClass::kNotAllowed) {
    // ModelArts refused at the job's state (409): the next pass looks again.
    LogJob(spdlog::level::info, "policy stop refused by ModelArts; looking again next pass", job,
           policy, error.ToString());
  } else {
    LogJob(spdlog::level::warn, "policy stop failed", job, policy, error.ToString());
  }
}

void PolicyEnforcer::ScheduleRetry(const PolicyCandidate& job, const std::string& policy,
                                   milliseconds limit) {
  const Duration delay = stop_backoff_.NextDelay(job.Key());
  due_[job.Key()] = DueCheck{SaturatingAdd(clock_.Now(), delay), job, policy, limit};
  LogJob(spdlog::level::debug, "policy stop retried after backoff", job, policy);
}

// The jobs due now, looked at exactly (no listing). Those over their limit are stopped,
// unless the last pass tripped the guard, or they are more than max_stops together.
void PolicyEnforcer::RunDueChecks() {
  const SteadyTime now = clock_.Now();
  std::vector<DueCheck> checks;
  for (auto it = due_.begin(); it != due_.end();) {
    if (it->second.at > now) {
      ++it;
      continue;
    }
    checks.push_back(std::move(it->second));
    it = due_.erase(it);
  }
  if (checks.empty() || evaluation_.limit_exceeded) return;
  std::vector<DueCheck> stops;
  for (DueCheck& check : checks) {
    if (Stopping()) return;
    if (LookBeforeStop(check.job, check.policy, check.limit) == LookOutcome::kStop) {
      stops.push_back(std::move(check));
    }
  }
  if (stops.size() > options_.max_stops) {
    for (const DueCheck& check : stops) held_.insert(check.policy);
    log::Warn(
        "policy stops due together exceed --policy-max-stops; stopping none",
        {{"due", std::to_string(stops.size())}, {"max_stops", std::to_string(options_.max_stops)}});
    return;
  }
  for (const DueCheck& check : stops) {
    if (Stopping()) return;
    SendStop(check.job, check.policy, check.limit);
  }
}

SteadyTime PolicyEnforcer::NextWake() const {
  SteadyTime next = next_pass_;
  for (const auto& [project, listing] : projects_) {
    if (listing.error) next = std::min(next, listing.retry_at);
  }
  for (const auto& [key, check] : due_) next = std::min(next, check.at);
  return next;
}

void PolicyEnforcer::Publish() {
  std::vector<PolicyStatus> statuses;
  statuses.reserve(policies_.size());
  for (std::size_t i = 0; i < policies_.size(); ++i) statuses.push_back(StatusOf(i));
  LogPhaseChanges(statuses);
  if (metrics_ != nullptr) {
    std::map<std::string, std::size_t> counts;
    for (const PolicyStatus& s : statuses) ++counts[s.phase];
    metrics_->SetPolicyPhases(counts);
  }
  std::lock_guard lock(mu_);
  published_ = std::move(statuses);
}

PolicyStatus PolicyEnforcer::StatusOf(std::size_t index) const {
  const ResolvedPolicy& resolved = policies_[index];
  PolicyStatus status = PendingPolicyStatus(resolved.policy, default_project_id_);
  status.project_id = resolved.project_id;
  const auto stops = stops_by_policy_.find(resolved.policy.name);
  if (stops != stops_by_policy_.end()) status.stops = stops->second;
  const auto listing = projects_.find(resolved.project_id);
  if (!evaluated_ || listing == projects_.end()) return status;
  status.last_pass_at = ToWall(clock_, listing->second.listed_at);
  if (const std::optional<Error>& error = listing->second.error) {
    status.phase = policy_phase::kError;
    status.reason = error->code;
    status.message =
        "listing the project's jobs failed (" + error->ToString() + "); retrying after backoff";
    status.next_due_at = ToWall(clock_, listing->second.retry_at);
    return status;
  }
  FillEvaluated(index, status);
  return status;
}

void PolicyEnforcer::FillEvaluated(std::size_t index, PolicyStatus& status) const {
  const PolicyReport& report = evaluation_.policies[index];
  const std::string& name = status.policy.name;
  status.matched = report.matched;
  status.over_limit = report.over_limit;
  const bool held = report.reason == kPolicyLimitExceeded || held_.contains(name);
  status.phase = status.policy.paused ? policy_phase::kPaused
                 : options_.dry_run   ? policy_phase::kDryRun
                 : held               ? policy_phase::kLimitExceeded
                                      : policy_phase::kEnforcing;
  status.reason = status.phase == policy_phase::kEnforcing ? "" : status.phase;
  if (held && report.reason != kPolicyLimitExceeded) {
    status.message = "the jobs due together were more than --policy-max-stops " +
                     std::to_string(options_.max_stops) + ": stopping none until the next pass";
  } else if (held) {
    status.message = "would stop " + std::to_string(evaluation_.stops_wanted) +
                     " jobs at once, more than --policy-max-stops " +
                     std::to_string(options_.max_stops) +
                     ": stopping none until the flag is raised or the policy narrowed";
  } else {
    status.message = std::to_string(report.matched) +
                     (report.matched == 1 ? " job matches, " : " jobs match, ") +
                     std::to_string(report.over_limit) + " over the limit of " +
                     FormatDuration(status.policy.max_runtime) + " at the last pass";
  }
  FillMatches(index, status);
}

// The pass's matches with their due times (as scheduled now, when a look moved one), and the
// jobs this policy stopped in place of their pass entries. The next due time is the soonest
// scheduled look of an enforcing policy, or for a reporting one the soonest its pass found.
void PolicyEnforcer::FillMatches(std::size_t index, PolicyStatus& status) const {
  const std::string& name = status.policy.name;
  const SteadyTime listed_at = projects_.at(status.project_id).listed_at;
  const PolicyReport& report = evaluation_.policies[index];
  if (status.policy.paused || options_.dry_run) {
    if (report.next_due_in) {
      status.next_due_at = ToWall(clock_, SaturatingAdd(listed_at, *report.next_due_in));
    }
  } else {
    std::optional<SteadyTime> next;
    for (const auto& [key, check] : due_) {
      if (check.policy == name) next = next ? std::min(*next, check.at) : check.at;
    }
    if (next) status.next_due_at = ToWall(clock_, *next);
  }
  for (const PolicyMatch& match : evaluation_.matches) {
    if (match.policy != index) continue;
    const std::string key = match.job.Key();
    const auto stopped = remembered_.find(key);
    if (stopped != remembered_.end() && stopped->second.policy == name) continue;
    std::optional<WallTime> due_at;
    if (const auto due = due_.find(key); due != due_.end() && due->second.policy == name) {
      due_at = ToWall(clock_, due->second.at);
    } else if (match.verdict == PolicyVerdict::kUnderLimit && match.due_in) {
      due_at = ToWall(clock_, SaturatingAdd(listed_at, *match.due_in));
    }
    status.matches.push_back(
        PolicyMatchStatus{match.job, match.verdict, due_at, false, match.message});
  }
  for (const auto& [key, stop] : remembered_) {
    if (stop.policy != name) continue;
    status.matches.push_back(PolicyMatchStatus{stop.job, PolicyVerdict::kOverLimit, std::nullopt,
                                               true,
                                               "stopped by this policy; waiting for the job to "
                                               "end"});
  }
}

// One line per change of a policy's phase, not one per pass.
void PolicyEnforcer::LogPhaseChanges(const std::vector<PolicyStatus>& statuses) {
  std::map<std::string, std::string> now;
  for (const PolicyStatus& s : statuses) {
    now[s.policy.name] = s.phase;
    const auto before = logged_phase_.find(s.policy.name);
    if (before != logged_phase_.end() && before->second == s.phase) continue;
    const auto level = s.phase == policy_phase::kError || s.phase == policy_phase::kLimitExceeded
                           ? spdlog::level::warn
                           : spdlog::level::info;
    log::Event(level, "policy phase",
               {{"policy", s.policy.name},
                {"phase", s.phase},
                {"reason", s.reason},
                {"message", s.message}});
  }
  logged_phase_ = std::move(now);
}

}  // namespace mactl
