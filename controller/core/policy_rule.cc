#include "controller/core/policy_rule.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "api/name_glob.h"
#include "api/training_job.h"
#include "controller/cloud/job_phase.h"
#include "controller/cloud/job_status.h"
#include "controller/cloud/run_duration.h"
#include "controller/core/decision.h"
#include "controller/core/training_job_decision.h"

namespace mactl {
namespace {

constexpr std::string_view kRunDurationUnknown = "RunDurationUnknown";

bool IsVersion(const PolicyCandidate& job) {
  return job.kind == PolicyJobKind::kTrainingJobVersion;
}

// Whether the job's run duration grows with time: only then is a due time meaningful. The
// reconcilers age the same cases (controller/core/reconciler.cc, training_job_reconciler.cc).
bool Running(const PolicyCandidate& job) {
  return IsVersion(job) ? job.status == static_cast<int>(JobStatus::kRunning)
                        : job.phase == "Running";
}

// An ended job is nothing a policy decides about: the v2 search never lists one, and a v1
// list page holds every job's latest version, finished or not.
bool Ended(const PolicyCandidate& job) {
  return IsVersion(job)
             ? ClassifyJobStatus(job.status) == StatusClass::kTerminal
             : ClassifyJobPhases(job.phase, job.secondary_phase) == JobPhaseClass::kTerminal;
}

PolicyJobVerdict Verdict(const PolicyCandidate& job, bool stop,
                         std::optional<std::chrono::milliseconds> due_in, std::string_view reason,
                         std::string message) {
  if (stop) return {PolicyVerdict::kOverLimit, std::nullopt, std::move(message)};
  if (reason == kRunDurationUnknown) {
    return {PolicyVerdict::kDurationUnknown, std::nullopt, std::move(message)};
  }
  if (due_in && Running(job)) return {PolicyVerdict::kUnderLimit, due_in, std::move(message)};
  if (due_in) {
    // Queued or starting: under the limit, but not running, so never due while it waits.
    message += "; not running, so its run duration does not grow yet";
  }
  return {PolicyVerdict::kNotStoppable, std::nullopt, std::move(message)};
}

bool Matches(const ResolvedPolicy& resolved, const PolicyCandidate& job) {
  const TrainingJobPolicy& policy = resolved.policy;
  if (resolved.project_id != job.project_id) return false;
  if (!(IsVersion(job) ? policy.versions : policy.training_jobs)) return false;
  return MatchesNameGlob(policy.name_glob, job.name);
}

// Shortest maxRuntime first; a tie goes to the name that sorts first.
bool Shorter(const ResolvedPolicy& a, const ResolvedPolicy& b) {
  return std::tie(a.policy.max_runtime, a.policy.name) <
         std::tie(b.policy.max_runtime, b.policy.name);
}

// The (job, deciding policy) pairs before any verdict: the winning active policy, then each
// paused policy that matches on its own.
std::vector<PolicyMatch> PairJobs(const std::vector<ResolvedPolicy>& policies,
                                  const std::vector<PolicyCandidate>& jobs,
                                  const PolicyExclusions& exclusions) {
  std::vector<PolicyMatch> pairs;
  std::set<std::string> seen;
  for (const PolicyCandidate& job : jobs) {
    if (exclusions.Excludes(job) || Ended(job)) continue;
    if (!seen.insert(job.Key()).second) continue;  // listed twice: one job
    std::optional<std::size_t> winner;
    for (std::size_t i = 0; i < policies.size(); ++i) {
      if (!Matches(policies[i], job)) continue;
      if (policies[i].policy.paused) {
        pairs.push_back(PolicyMatch{job, i, PolicyVerdict::kNotStoppable, std::nullopt, false, ""});
      } else if (!winner || Shorter(policies[i], policies[*winner])) {
        winner = i;
      }
    }
    if (winner) {
      pairs.push_back(
          PolicyMatch{job, *winner, PolicyVerdict::kNotStoppable, std::nullopt, false, ""});
    }
  }
  return pairs;
}

void KeepSooner(std::optional<std::chrono::milliseconds>& soonest,
                std::optional<std::chrono::milliseconds> candidate) {
  if (candidate && (!soonest || *candidate < *soonest)) soonest = candidate;
}

// Whether the stop goes out, and if not, why not, in the match's message.
void HoldOrStop(PolicyMatch& match, bool paused, const PolicyEvaluation& evaluation,
                const PolicyRuleOptions& options) {
  if (match.verdict != PolicyVerdict::kOverLimit) return;
  if (paused) {
    match.message = "paused by annotation; would stop: " + match.message;
  } else if (evaluation.limit_exceeded) {
    match.message = "not stopped: " + std::to_string(evaluation.stops_wanted) +
                    " jobs are over their policies' limits, more than --policy-max-stops " +
                    std::to_string(options.max_stops) + "; " + match.message;
  } else if (options.dry_run) {
    match.message = "dry run: would stop; " + match.message;
  } else {
    match.stop = true;
  }
}

std::string ReasonOf(const ResolvedPolicy& resolved, const PolicyReport& report,
                     const PolicyEvaluation& evaluation, const PolicyRuleOptions& options) {
  if (resolved.policy.paused) return "Paused";
  if (evaluation.limit_exceeded && report.over_limit > 0) return std::string(kPolicyLimitExceeded);
  if (options.dry_run) return "DryRun";
  return "";
}

}  // namespace

std::string_view PolicyJobKindName(PolicyJobKind kind) {
  return kind == PolicyJobKind::kTrainingJobVersion ? kKind : kTrainingJobKind;
}

std::string_view PolicyVerdictName(PolicyVerdict verdict) {
  switch (verdict) {
    case PolicyVerdict::kUnderLimit:
      return "UnderLimit";
    case PolicyVerdict::kOverLimit:
      return "OverLimit";
    case PolicyVerdict::kDurationUnknown:
      return "DurationUnknown";
    case PolicyVerdict::kNotStoppable:
      return "NotStoppable";
  }
  return "NotStoppable";
}

std::string PolicyCandidate::Key() const {
  return (kind == PolicyJobKind::kTrainingJobVersion ? "v1/" : "v2/") + project_id + "/" + id;
}

bool PolicyExclusions::Excludes(const PolicyCandidate& job) const {
  const std::string in_project = job.project_id + "/";
  if (job.kind == PolicyJobKind::kTrainingJobVersion) return v1_jobs.contains(in_project + job.id);
  return v2_ids.contains(in_project + job.id) || v2_names.contains(in_project + job.name);
}

// The same rows spec.maxRuntime goes through (README, "Runtime limits"), with the contexts the
// reconcilers build for a fresh object: desired Running, the limit, nothing remembered.
PolicyJobVerdict DecidePolicyJob(const PolicyCandidate& job, std::chrono::milliseconds limit) {
  if (IsVersion(job)) {
    const RunDuration run = CheckRunDuration(job.duration_ms);
    DecisionContext context;
    context.max_runtime = limit;
    context.run_duration = run.value;
    context.run_duration_problem = run.problem;
    Decision d = Decide(DesiredState::kRunning, job.status, context);
    return Verdict(job, d.action == Action::kStop, d.due_in, d.reason, std::move(d.message));
  }
  TrainingJobInfo info;
  info.id = job.id;
  info.name = job.name;
  info.phase = job.phase;
  info.secondary_phase = job.secondary_phase;
  info.duration_ms = job.duration_ms;
  TrainingJobDecisionContext context;
  context.max_runtime = limit;
  TrainingJobDecision d = DecideTrainingJob(DesiredState::kRunning, info, context);
  return Verdict(job, d.action == JobAction::kTerminate, d.due_in, d.reason, std::move(d.message));
}

PolicyEvaluation EvaluatePolicies(const std::vector<ResolvedPolicy>& policies,
                                  const std::vector<PolicyCandidate>& jobs,
                                  const PolicyExclusions& exclusions,
                                  const PolicyRuleOptions& options) {
  PolicyEvaluation evaluation;
  evaluation.matches = PairJobs(policies, jobs, exclusions);
  evaluation.policies.resize(policies.size());
  for (PolicyMatch& match : evaluation.matches) {
    PolicyJobVerdict verdict =
        DecidePolicyJob(match.job, policies[match.policy].policy.max_runtime);
    match.verdict = verdict.verdict;
    match.due_in = verdict.due_in;
    match.message = std::move(verdict.message);
    const bool paused = policies[match.policy].policy.paused;
    if (!paused && match.verdict == PolicyVerdict::kOverLimit) ++evaluation.stops_wanted;
    if (!paused) KeepSooner(evaluation.next_due_in, match.due_in);
    PolicyReport& report = evaluation.policies[match.policy];
    ++report.matched;
    if (match.verdict == PolicyVerdict::kOverLimit) ++report.over_limit;
    KeepSooner(report.next_due_in, match.due_in);
  }
  // The guard counts every active policy together: a glob typo in one must not slip under it
  // by being split across several (README, "Runtime limits").
  evaluation.limit_exceeded = evaluation.stops_wanted > options.max_stops;
  for (PolicyMatch& match : evaluation.matches) {
    HoldOrStop(match, policies[match.policy].policy.paused, evaluation, options);
  }
  for (std::size_t i = 0; i < policies.size(); ++i) {
    evaluation.policies[i].reason =
        ReasonOf(policies[i], evaluation.policies[i], evaluation, options);
  }
  std::sort(evaluation.matches.begin(), evaluation.matches.end(),
            [](const PolicyMatch& a, const PolicyMatch& b) {
              return std::make_pair(a.policy, a.job.Key()) < std::make_pair(b.policy, b.job.Key());
            });
  return evaluation;
}

}  // namespace mactl
