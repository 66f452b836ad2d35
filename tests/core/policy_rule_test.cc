#include "controller/core/policy_rule.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "controller/cloud/job_status.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kHour = std::chrono::hours(1);
constexpr std::int64_t kHourMs = 3'600'000;
constexpr int kRunning = static_cast<int>(JobStatus::kRunning);
constexpr int kWaiting = static_cast<int>(JobStatus::kWaiting);
constexpr int kKilling = static_cast<int>(JobStatus::kKilling);
constexpr int kCompleted = static_cast<int>(JobStatus::kCompleted);

struct Opts {
  std::string glob;
  bool paused = false;
  bool versions = true;
  bool training_jobs = true;
  std::string project = "p";
  Opts Glob(std::string g) const {
    return With([&](Opts& o) { o.glob = g; });
  }
  Opts Paused() const {
    return With([](Opts& o) { o.paused = true; });
  }
  Opts V1Only() const {
    return With([](Opts& o) { o.training_jobs = false; });
  }
  Opts V2Only() const {
    return With([](Opts& o) { o.versions = false; });
  }
  Opts Project(std::string p) const {
    return With([&](Opts& o) { o.project = p; });
  }
  template <typename F>
  Opts With(F f) const {
    Opts copy = *this;
    f(copy);
    return copy;
  }
};

PolicyExclusions Excl(std::set<std::string> v1_jobs, std::set<std::string> v2_ids,
                      std::set<std::string> v2_names) {
  PolicyExclusions e;
  e.v1_jobs = std::move(v1_jobs);
  e.v2_ids = std::move(v2_ids);
  e.v2_names = std::move(v2_names);
  return e;
}

PolicyRuleOptions RuleOptions(std::size_t max_stops, bool dry_run) {
  PolicyRuleOptions o;
  o.max_stops = max_stops;
  o.dry_run = dry_run;
  return o;
}

ResolvedPolicy Policy(std::string name, milliseconds max_runtime, const Opts& opts = Opts()) {
  ResolvedPolicy resolved;
  resolved.policy.name = std::move(name);
  resolved.policy.max_runtime = max_runtime;
  resolved.policy.name_glob = opts.glob;
  resolved.policy.paused = opts.paused;
  resolved.policy.versions = opts.versions;
  resolved.policy.training_jobs = opts.training_jobs;
  resolved.project_id = opts.project;
  return resolved;
}

PolicyCandidate V1(std::string id, std::string name, int status, std::int64_t duration_ms,
                   std::string project = "p") {
  PolicyCandidate job;
  job.kind = PolicyJobKind::kTrainingJobVersion;
  job.project_id = std::move(project);
  job.id = std::move(id);
  job.version_id = 3;
  job.name = std::move(name);
  job.status = status;
  job.duration_ms = duration_ms;
  return job;
}

PolicyCandidate V2(std::string id, std::string name, std::string phase, std::int64_t duration_ms,
                   std::string project = "p") {
  PolicyCandidate job;
  job.kind = PolicyJobKind::kTrainingJob;
  job.project_id = std::move(project);
  job.id = std::move(id);
  job.name = std::move(name);
  job.phase = std::move(phase);
  job.duration_ms = duration_ms;
  return job;
}

PolicyCandidate Secondary(PolicyCandidate job, std::string secondary_phase) {
  job.secondary_phase = std::move(secondary_phase);
  return job;
}

// One expected match: deciding policy, job key, verdict, whether the stop goes out.
struct Want {
  std::size_t policy;
  std::string key;
  PolicyVerdict verdict;
  bool stop;
};

struct Row {
  std::string what;
  std::vector<ResolvedPolicy> policies;
  std::vector<PolicyCandidate> jobs;
  PolicyExclusions exclusions;
  PolicyRuleOptions options;
  std::vector<Want> matches;         // in the documented order
  std::vector<std::string> reasons;  // per policy
};

std::vector<Row> Table() {
  const std::int64_t over = 2 * kHourMs;
  const std::int64_t under = kHourMs / 2;
  return {
      {"kind filter: a v2-only policy ignores v1 jobs",
       {Policy("a", kHour, Opts().V2Only())},
       {V1("1", "exp-1", kRunning, over), V2("u1", "exp-2", "Running", over)},
       {},
       {},
       {{0, "v2/p/u1", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"kind filter: a v1-only policy ignores v2 jobs",
       {Policy("a", kHour, Opts().V1Only())},
       {V1("1", "exp-1", kRunning, over), V2("u1", "exp-2", "Running", over)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"glob: only matching names",
       {Policy("a", kHour, Opts().Glob("exp-*"))},
       {V1("1", "exp-1", kRunning, over), V1("2", "prod-1", kRunning, over)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"glob: ?, sets and a suffix, whole-name and case-sensitive",
       {Policy("a", kHour, Opts().Glob("exp-?[0-9]-*sft"))},
       {V1("1", "exp-a1-llama-sft", kRunning, over), V1("2", "exp-a1-llama-sft2", kRunning, over),
        V1("3", "EXP-a1-llama-sft", kRunning, over), V2("u1", "exp-bb-sft", "Running", over),
        V2("u2", "exp-z9-sft", "Running", over)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, true},
        {0, "v2/p/u2", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"exact glob",
       {Policy("a", kHour, Opts().Glob("prod-1"))},
       {V1("1", "exp-1", kRunning, over), V1("2", "prod-1", kRunning, over)},
       {},
       {},
       {{0, "v1/p/2", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"other project: no match",
       {Policy("a", kHour)},
       {V1("1", "exp-1", kRunning, over, "q"), V2("u1", "exp-2", "Running", over, "q")},
       {},
       {},
       {},
       {""}},
      {"excluded: a v1 job a manifest names",
       {Policy("a", kHour)},
       {V1("1", "exp-1", kRunning, over), V1("2", "exp-2", kRunning, over)},
       Excl({"p/1"}, {}, {}),
       {},
       {{0, "v1/p/2", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"excluded: a v2 job a manifest names by id",
       {Policy("a", kHour)},
       {V2("u1", "exp-1", "Running", over), V2("u2", "exp-2", "Running", over)},
       Excl({}, {"p/u1"}, {}),
       {},
       {{0, "v2/p/u2", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"excluded: a v2 job a manifest names by name",
       {Policy("a", kHour)},
       {V2("u1", "exp-1", "Running", over), V2("u2", "exp-2", "Running", over)},
       Excl({}, {}, {"p/exp-2"}),
       {},
       {{0, "v2/p/u1", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"exclusions are per project",
       {Policy("a", kHour, Opts().Project("q"))},
       {V1("1", "exp-1", kRunning, over, "q"), V2("u1", "exp-2", "Running", over, "q")},
       Excl({"p/1"}, {"p/u1"}, {"p/exp-2"}),
       {},
       {{0, "v1/q/1", PolicyVerdict::kOverLimit, true},
        {0, "v2/q/u1", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"shortest maxRuntime wins",
       {Policy("long", 4 * kHour), Policy("short", kHour)},
       {V1("1", "exp-1", kRunning, over)},
       {},
       {},
       {{1, "v1/p/1", PolicyVerdict::kOverLimit, true}},
       {"", ""}},
      {"the winner decides even when the loser would stop",
       {Policy("long", kHour), Policy("short", kHour / 2, Opts().Glob("exp-*"))},
       {V1("1", "exp-1", kRunning, kHourMs / 4), V1("2", "other", kRunning, kHourMs / 4)},
       {},
       {},
       {{0, "v1/p/2", PolicyVerdict::kUnderLimit, false},
        {1, "v1/p/1", PolicyVerdict::kUnderLimit, false}},
       {"", ""}},
      {"a tie goes to the name that sorts first",
       {Policy("b", kHour), Policy("a", kHour)},
       {V1("1", "exp-1", kRunning, over)},
       {},
       {},
       {{1, "v1/p/1", PolicyVerdict::kOverLimit, true}},
       {"", ""}},
      {"paused never wins, never lifts a limit, reports its own over-limit match",
       {Policy("paused", kHour / 2, Opts().Paused()), Policy("active", 4 * kHour)},
       {V1("1", "exp-1", kRunning, kHourMs)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, false},
        {1, "v1/p/1", PolicyVerdict::kUnderLimit, false}},
       {"Paused", ""}},
      {"paused longer policy does not lift a shorter active one",
       {Policy("paused", 4 * kHour, Opts().Paused()), Policy("active", kHour)},
       {V1("1", "exp-1", kRunning, over)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kUnderLimit, false},
        {1, "v1/p/1", PolicyVerdict::kOverLimit, true}},
       {"Paused", ""}},
      {"under, at and over the limit",
       {Policy("a", kHour)},
       {V1("1", "j1", kRunning, kHourMs - 1), V1("2", "j2", kRunning, kHourMs),
        V1("3", "j3", kRunning, kHourMs + 1), V2("u1", "j4", "Running", kHourMs - 1),
        V2("u2", "j5", "Running", kHourMs), V2("u3", "j6", "Running", kHourMs + 1)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kUnderLimit, false},
        {0, "v1/p/2", PolicyVerdict::kOverLimit, true},
        {0, "v1/p/3", PolicyVerdict::kOverLimit, true},
        {0, "v2/p/u1", PolicyVerdict::kUnderLimit, false},
        {0, "v2/p/u2", PolicyVerdict::kOverLimit, true},
        {0, "v2/p/u3", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"duration unknown: negative or absurd",
       {Policy("a", kHour)},
       {V1("1", "j1", kRunning, -1), V1("2", "j2", kRunning, std::int64_t{1} << 62),
        V2("u1", "j3", "Running", -5), V2("u2", "j4", "Running", std::int64_t{1} << 62)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kDurationUnknown, false},
        {0, "v1/p/2", PolicyVerdict::kDurationUnknown, false},
        {0, "v2/p/u1", PolicyVerdict::kDurationUnknown, false},
        {0, "v2/p/u2", PolicyVerdict::kDurationUnknown, false}},
       {""}},
      {"not stoppable: v1 killing and queued, v2 terminating and pending",
       {Policy("a", kHour)},
       {V1("1", "j1", kKilling, under), V1("2", "j2", kWaiting, 0),
        V2("u1", "j3", "Terminating", over), V2("u2", "j4", "Pending", 0)},
       {},
       {},
       {{0, "v1/p/1", PolicyVerdict::kNotStoppable, false},
        {0, "v1/p/2", PolicyVerdict::kNotStoppable, false},
        {0, "v2/p/u1", PolicyVerdict::kNotStoppable, false},
        {0, "v2/p/u2", PolicyVerdict::kNotStoppable, false}},
       {""}},
      {"not stoppable: v2 Running whose secondary phase says it is terminating",
       {Policy("a", kHour)},
       {Secondary(V2("u1", "j1", "Running", over), "Terminating")},
       {},
       {},
       {{0, "v2/p/u1", PolicyVerdict::kNotStoppable, false}},
       {""}},
      {"ended jobs are not matched",
       {Policy("a", kHour)},
       {V1("1", "j1", kCompleted, over), V2("u1", "j2", "Completed", over)},
       {},
       {},
       {},
       {""}},
      {"a job listed twice is one job",
       {Policy("a", kHour)},
       {V2("u1", "j1", "Running", over), V2("u1", "j1", "Running", over)},
       {},
       RuleOptions(1, false),
       {{0, "v2/p/u1", PolicyVerdict::kOverLimit, true}},
       {""}},
      {"dry run: nothing stops, every active policy reports DryRun",
       {Policy("a", kHour), Policy("b", kHour, Opts().Project("q"))},
       {V1("1", "j1", kRunning, over)},
       {},
       RuleOptions(20, true),
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, false}},
       {"DryRun", "DryRun"}},
      {"guard: exactly max_stops stop",
       {Policy("a", kHour, Opts().V2Only()), Policy("b", kHour, Opts().V1Only())},
       {V1("1", "j1", kRunning, over), V2("u1", "j2", "Running", over)},
       {},
       RuleOptions(2, false),
       {{0, "v2/p/u1", PolicyVerdict::kOverLimit, true},
        {1, "v1/p/1", PolicyVerdict::kOverLimit, true}},
       {"", ""}},
      {"guard: one more over every active policy together, none stops",
       {Policy("a", kHour, Opts().V2Only()), Policy("b", kHour, Opts().V1Only()),
        Policy("c", kHour, Opts().Project("q"))},
       {V1("1", "j1", kRunning, over), V2("u1", "j2", "Running", over),
        V2("u2", "j3", "Running", over), V1("9", "j9", kRunning, under, "q")},
       {},
       RuleOptions(2, false),
       {{0, "v2/p/u1", PolicyVerdict::kOverLimit, false},
        {0, "v2/p/u2", PolicyVerdict::kOverLimit, false},
        {1, "v1/p/1", PolicyVerdict::kOverLimit, false},
        {2, "v1/q/9", PolicyVerdict::kUnderLimit, false}},
       {std::string(kPolicyLimitExceeded), std::string(kPolicyLimitExceeded), ""}},
      {"guard under dry run: the limit is reported, not DryRun",
       {Policy("a", kHour), Policy("b", kHour, Opts().Project("q"))},
       {V1("1", "j1", kRunning, over), V1("2", "j2", kRunning, over)},
       {},
       RuleOptions(1, true),
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, false},
        {0, "v1/p/2", PolicyVerdict::kOverLimit, false}},
       {std::string(kPolicyLimitExceeded), "DryRun"}},
      {"guard: paused policies' over-limit jobs do not count",
       {Policy("a", kHour), Policy("p", kHour, Opts().Paused().Project("q"))},
       {V1("1", "j1", kRunning, over), V1("2", "j2", kRunning, over, "q"),
        V1("3", "j3", kRunning, over, "q")},
       {},
       RuleOptions(1, false),
       {{0, "v1/p/1", PolicyVerdict::kOverLimit, true},
        {1, "v1/q/2", PolicyVerdict::kOverLimit, false},
        {1, "v1/q/3", PolicyVerdict::kOverLimit, false}},
       {"", "Paused"}},
      {"matches sorted by policy index, then job key",
       {Policy("z", kHour, Opts().Glob("b*")), Policy("y", kHour, Opts().Glob("a*"))},
       {V2("u9", "b1", "Running", under), V1("7", "a2", kRunning, under),
        V1("3", "b3", kRunning, under), V2("u1", "a4", "Running", under)},
       {},
       {},
       {{0, "v1/p/3", PolicyVerdict::kUnderLimit, false},
        {0, "v2/p/u9", PolicyVerdict::kUnderLimit, false},
        {1, "v1/p/7", PolicyVerdict::kUnderLimit, false},
        {1, "v2/p/u1", PolicyVerdict::kUnderLimit, false}},
       {"", ""}},
  };
}

TEST(PolicyRuleTest, Table) {
  for (const Row& row : Table()) {
    SCOPED_TRACE(row.what);
    const PolicyEvaluation got =
        EvaluatePolicies(row.policies, row.jobs, row.exclusions, row.options);
    ASSERT_EQ(got.matches.size(), row.matches.size());
    for (std::size_t i = 0; i < row.matches.size(); ++i) {
      const PolicyMatch& m = got.matches[i];
      const Want& w = row.matches[i];
      SCOPED_TRACE(m.message);
      EXPECT_EQ(m.policy, w.policy) << i;
      EXPECT_EQ(m.job.Key(), w.key) << i;
      EXPECT_EQ(PolicyVerdictName(m.verdict), PolicyVerdictName(w.verdict)) << i;
      EXPECT_EQ(m.stop, w.stop) << i;
      EXPECT_FALSE(m.message.empty()) << i;
      EXPECT_EQ(m.due_in.has_value(), m.verdict == PolicyVerdict::kUnderLimit) << i;
    }
    ASSERT_EQ(got.policies.size(), row.reasons.size());
    for (std::size_t i = 0; i < row.reasons.size(); ++i) {
      EXPECT_EQ(got.policies[i].reason, row.reasons[i]) << i;
    }
  }
}

TEST(PolicyRuleTest, CountsAndGuardTotals) {
  const std::vector<ResolvedPolicy> policies = {Policy("a", kHour),
                                                Policy("p", kHour, Opts().Paused())};
  const std::vector<PolicyCandidate> jobs = {V1("1", "j1", kRunning, 2 * kHourMs),
                                             V1("2", "j2", kRunning, kHourMs / 2),
                                             V1("3", "j3", kRunning, -1)};
  const PolicyEvaluation got = EvaluatePolicies(policies, jobs, {}, RuleOptions(0, false));
  EXPECT_EQ(got.stops_wanted, 1u);
  EXPECT_TRUE(got.limit_exceeded);
  EXPECT_EQ(got.policies[0].matched, 3u);
  EXPECT_EQ(got.policies[0].over_limit, 1u);
  EXPECT_EQ(got.policies[0].reason, kPolicyLimitExceeded);
  EXPECT_EQ(got.policies[1].matched, 3u);
  EXPECT_EQ(got.policies[1].over_limit, 1u);
  EXPECT_EQ(got.policies[1].reason, "Paused");
  for (const PolicyMatch& m : got.matches) {
    EXPECT_FALSE(m.stop);
    if (m.verdict == PolicyVerdict::kOverLimit && m.policy == 0) {
      EXPECT_NE(m.message.find("--policy-max-stops 0"), std::string::npos) << m.message;
    }
  }
}

TEST(PolicyRuleTest, NextDueIsTheSoonestActiveDue) {
  const std::vector<ResolvedPolicy> policies = {Policy("a", kHour, Opts().Glob("a*")),
                                                Policy("b", 2 * kHour, Opts().Glob("b*")),
                                                Policy("p", kHour, Opts().Glob("c*").Paused())};
  const std::vector<PolicyCandidate> jobs = {
      V1("1", "a1", kRunning, kHourMs - 60'000),        // due in 1m
      V1("2", "a2", kRunning, kHourMs - 120'000),       // due in 2m
      V2("u1", "b1", "Running", 2 * kHourMs - 30'000),  // due in 30s
      V2("u2", "c1", "Running", kHourMs - 1'000),       // paused: 1s, not a pass time
      V1("3", "a3", kWaiting, 0)};                      // queued: never due
  const PolicyEvaluation got = EvaluatePolicies(policies, jobs, {}, {});
  ASSERT_TRUE(got.next_due_in.has_value());
  EXPECT_EQ(*got.next_due_in, milliseconds(30'000));
  ASSERT_TRUE(got.policies[0].next_due_in.has_value());
  EXPECT_EQ(*got.policies[0].next_due_in, milliseconds(60'000));
  EXPECT_EQ(*got.policies[1].next_due_in, milliseconds(30'000));
  EXPECT_EQ(*got.policies[2].next_due_in, milliseconds(1'000));
}

TEST(PolicyRuleTest, NoPoliciesNoMatches) {
  const PolicyEvaluation got = EvaluatePolicies({}, {V1("1", "j1", kRunning, 2 * kHourMs)}, {}, {});
  EXPECT_TRUE(got.matches.empty());
  EXPECT_TRUE(got.policies.empty());
  EXPECT_EQ(got.stops_wanted, 0u);
  EXPECT_FALSE(got.next_due_in.has_value());
}

// A policy and a manifest limit never disagree: DecidePolicyJob is Decide/DecideTrainingJob.
TEST(PolicyRuleTest, DecidePolicyJobMessagesFollowTheManifestRows) {
  const PolicyJobVerdict over = DecidePolicyJob(V1("1", "j", kRunning, 2 * kHourMs), kHour);
  EXPECT_EQ(over.verdict, PolicyVerdict::kOverLimit);
  EXPECT_NE(over.message.find("maxRuntime 1h"), std::string::npos) << over.message;
  const PolicyJobVerdict under = DecidePolicyJob(V2("u", "j", "Running", kHourMs - 5), kHour);
  EXPECT_EQ(under.verdict, PolicyVerdict::kUnderLimit);
  EXPECT_EQ(under.due_in, milliseconds(5));
  const PolicyJobVerdict unknown = DecidePolicyJob(V2("u", "j", "Running", -1), kHour);
  EXPECT_NE(unknown.message.find("negative"), std::string::npos) << unknown.message;
}

TEST(PolicyRuleTest, Names) {
  EXPECT_EQ(PolicyJobKindName(PolicyJobKind::kTrainingJob), "TrainingJob");
  EXPECT_EQ(PolicyJobKindName(PolicyJobKind::kTrainingJobVersion), "TrainingJobVersion");
  EXPECT_EQ(PolicyVerdictName(PolicyVerdict::kUnderLimit), "UnderLimit");
  EXPECT_EQ(PolicyVerdictName(PolicyVerdict::kOverLimit), "OverLimit");
  EXPECT_EQ(PolicyVerdictName(PolicyVerdict::kDurationUnknown), "DurationUnknown");
  EXPECT_EQ(PolicyVerdictName(PolicyVerdict::kNotStoppable), "NotStoppable");
  EXPECT_EQ(V1("12", "j", kRunning, 0).Key(), "v1/p/12");
  EXPECT_EQ(V2("ab-cd", "j", "Running", 0, "q").Key(), "v2/q/ab-cd");
}

}  // namespace
}  // namespace mactl
