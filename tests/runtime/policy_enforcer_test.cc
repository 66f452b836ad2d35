// The policy enforcer driven by RunDue on a FakeClock, against the fake clients: the first
// pass stops exactly the over-limit jobs no manifest names, once; a job under its limit is
// looked at and stopped exactly when it falls due; the guard holds every stop back; paused and
// dry-run policies only report; a failed listing is an Error retried with backoff while the
// other projects go on; a lagging service gets no second stop; a gate refusal is retried.

#include "controller/runtime/policy_enforcer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "controller/core/gated_cloud_client.h"
#include "controller/core/gated_training_job_client.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_cloud_client.h"
#include "fakes/fake_random.h"
#include "fakes/fake_training_job_client.h"

namespace mactl {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string Uuid(int n) {
  const std::string tail = std::to_string(n);
  return "00000000-0000-4000-8000-" + std::string(12 - tail.size(), '0') + tail;
}

TrainingJobInfo Running(int n, const std::string& name, milliseconds ran) {
  TrainingJobInfo job;
  job.id = Uuid(n);
  job.name = name;
  job.phase = "Running";
  job.duration_ms = ran.count();
  return job;
}

TrainingJobPolicy Policy(const std::string& name, const std::string& glob, milliseconds limit) {
  TrainingJobPolicy p;
  p.name = name;
  p.name_glob = glob;
  p.max_runtime = limit;
  p.source = SourcePosition{"p.yaml", 1, 1};
  return p;
}

// A v2-only policy over `project`.
TrainingJobPolicy JobPolicy(const std::string& name, const std::string& glob, milliseconds limit,
                            const std::string& project = "") {
  TrainingJobPolicy p = Policy(name, glob, limit);
  p.versions = false;
  p.project_id = project;
  return p;
}

// Says no until opened: the leader check of a replica that does not lead (yet).
class SwitchGate final : public StopGate {
 public:
  Status CheckBeforeStop() override {
    if (open) return OkStatus();
    return MakeError(ErrorClass::kRetryable, "Election.NotLeader", "not the leader");
  }
  bool open = false;
};

class PolicyEnforcerTest : public ::testing::Test {
 protected:
  PolicyEnforcerTest() { options_.resync = 24h; }

  PolicyEnforcer& Make() {
    enforcer_ =
        std::make_unique<PolicyEnforcer>(options_, store_, v1_, v2_, clock_, random_, nullptr);
    return *enforcer_;
  }
  // Installs a snapshot with these policies and manifest objects, as the Manager would.
  void Install(std::vector<TrainingJobPolicy> policies, std::vector<TrainingJob> jobs = {},
               std::vector<TrainingJobVersion> versions = {}) {
    auto snapshot =
        std::make_shared<DesiredSnapshot>(BuildDesiredSnapshot(std::move(versions), {}, "p"));
    AddTrainingJobs(*snapshot, std::move(jobs));
    snapshot->policies = std::move(policies);
    store_.Exchange(snapshot);
    if (enforcer_) enforcer_->SnapshotChanged();
  }
  PolicyStatus StatusOf(const std::string& name) const {
    for (const PolicyStatus& s : enforcer_->Statuses()) {
      if (s.policy.name == name) return s;
    }
    ADD_FAILURE() << "no status for " << name;
    return {};
  }

  PolicyEnforcerOptions options_;
  testing::FakeClock clock_;
  testing::FakeRandom random_{{0.5}};  // jitter ±0
  testing::FakeCloudClient v1_;
  testing::FakeTrainingJobClient v2_;
  SnapshotStore store_;
  std::unique_ptr<PolicyEnforcer> enforcer_;
};

TEST_F(PolicyEnforcerTest, TheFirstPassStopsExactlyTheOverLimitJobsNoManifestNamesOnce) {
  v2_.SetJob("p", Running(1, "exp-1", 2h));     // over: stopped
  v2_.SetJob("p", Running(2, "exp-2", 30min));  // under
  v2_.SetJob("p", Running(3, "exp-3", 2h));     // over, but a manifest names it
  v2_.SetJob("p", Running(4, "prod-1", 2h));    // another name
  const VersionRef v_over{"p", 5, 1};
  const VersionRef v_named{"p", 6, 1};
  for (const VersionRef& ref : {v_over, v_named}) {
    v1_.SetStatus(ref, 8);  // RUNNING
    v1_.SetDuration(ref, milliseconds(2h).count());
  }
  TrainingJob exception;
  exception.name = "keep-exp-3";
  exception.training_job_id = Uuid(3);
  exception.desired_state = DesiredState::kRunning;
  TrainingJobVersion named;
  named.name = "keep-6";
  named.job_id = 6;
  named.version_id = 1;
  named.desired_state = DesiredState::kRunning;
  TrainingJobPolicy versions_only = Policy("cap-v1", "", 1h);
  versions_only.training_jobs = false;
  Install({JobPolicy("cap-exp", "exp-*", 1h), versions_only}, {exception}, {named});
  PolicyEnforcer& enforcer = Make();

  enforcer.RunDue();
  EXPECT_EQ(v2_.Terminated(), std::vector<std::string>{Uuid(1)});
  EXPECT_EQ(v1_.Stops(), std::vector<VersionRef>{v_over});
  EXPECT_EQ(v2_.Calls("get_job"), 1);  // one exact look before the stop
  EXPECT_EQ(enforcer.TotalStops(), 2u);
  const PolicyStatus cap = StatusOf("cap-exp");
  EXPECT_EQ(cap.phase, "Enforcing");
  EXPECT_EQ(cap.matched, 2u);
  EXPECT_EQ(cap.stops, 1u);
  ASSERT_EQ(cap.matches.size(), 2u);  // the stopped job once, as stopped
  EXPECT_EQ(cap.matches[0].job.name, "exp-2");
  EXPECT_EQ(cap.matches[0].verdict, PolicyVerdict::kUnderLimit);
  EXPECT_EQ(cap.matches[1].job.name, "exp-1");
  EXPECT_TRUE(cap.matches[1].stopped);

  // Later passes send nothing more.
  enforcer.RunDue();
  clock_.Advance(24h);
  enforcer.RunDue();
  EXPECT_EQ(v2_.Terminated().size(), 1u);  // the fake's exp-2 still reports 30 minutes
  EXPECT_EQ(v1_.Stops().size(), 1u);
}

TEST_F(PolicyEnforcerTest, AJobUnderItsLimitIsStoppedAtItsDueTimeAndNotATickBefore) {
  v2_.SetJob("p", Running(2, "exp-2", 30min));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();
  const SteadyTime start = clock_.Now();

  EXPECT_EQ(enforcer.RunDue(), start + 30min);
  ASSERT_TRUE(StatusOf("cap-exp").next_due_at.has_value());
  EXPECT_EQ(*StatusOf("cap-exp").next_due_at, clock_.WallNow() + 30min);

  clock_.Advance(30min - 1ms);
  v2_.SetJob("p", Running(2, "exp-2", 1h - 1ms));
  enforcer.RunDue();
  EXPECT_EQ(v2_.Calls("get_job"), 0);
  EXPECT_TRUE(v2_.Terminated().empty());

  clock_.Advance(1ms);
  v2_.SetJob("p", Running(2, "exp-2", 1h));
  enforcer.RunDue();
  EXPECT_EQ(v2_.Calls("get_job"), 1);  // the due job only, no listing
  EXPECT_EQ(v2_.Calls("search_jobs"), 1);
  EXPECT_EQ(v2_.Terminated(), std::vector<std::string>{Uuid(2)});
}

TEST_F(PolicyEnforcerTest, AJobThatRanLessThanExpectedIsLookedAtAgainWhenItNowFallsDue) {
  v2_.SetJob("p", Running(2, "exp-2", 30min));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();
  const SteadyTime start = clock_.Now();
  enforcer.RunDue();

  clock_.Advance(30min);
  v2_.SetJob("p", Running(2, "exp-2", 50min));  // it was held for 10 minutes meanwhile
  EXPECT_EQ(enforcer.RunDue(), start + 40min);
  EXPECT_TRUE(v2_.Terminated().empty());
}

TEST_F(PolicyEnforcerTest, ATrippedGuardStopsNothingUntilANarrowerPolicyComes) {
  options_.max_stops = 2;
  for (int n = 1; n <= 3; ++n) v2_.SetJob("p", Running(n, "exp-" + std::to_string(n), 2h));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();

  enforcer.RunDue();
  EXPECT_TRUE(v2_.Terminated().empty());
  EXPECT_EQ(v2_.Calls("get_job"), 0);
  PolicyStatus status = StatusOf("cap-exp");
  EXPECT_EQ(status.phase, "PolicyLimitExceeded");
  EXPECT_EQ(status.over_limit, 3u);

  Install({JobPolicy("cap-exp", "exp-1", 1h)});
  enforcer.RunDue();
  EXPECT_EQ(v2_.Terminated(), std::vector<std::string>{Uuid(1)});
  EXPECT_EQ(StatusOf("cap-exp").phase, "Enforcing");
}

TEST_F(PolicyEnforcerTest, JobsDueTogetherCountAgainstTheGuardToo) {
  options_.max_stops = 1;
  v2_.SetJob("p", Running(1, "exp-1", 30min));
  v2_.SetJob("p", Running(2, "exp-2", 30min));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();
  enforcer.RunDue();

  clock_.Advance(30min);
  v2_.SetJob("p", Running(1, "exp-1", 1h));
  v2_.SetJob("p", Running(2, "exp-2", 1h));
  enforcer.RunDue();
  EXPECT_TRUE(v2_.Terminated().empty());
  EXPECT_EQ(StatusOf("cap-exp").phase, "PolicyLimitExceeded");
}

TEST_F(PolicyEnforcerTest, APausedPolicyStopsNothingAndReportsItsMatches) {
  v2_.SetJob("p", Running(1, "exp-1", 2h));
  TrainingJobPolicy paused = JobPolicy("cap-exp", "exp-*", 1h);
  paused.paused = true;
  Install({paused});
  PolicyEnforcer& enforcer = Make();

  enforcer.RunDue();
  clock_.Advance(24h);
  enforcer.RunDue();
  EXPECT_TRUE(v2_.Terminated().empty());
  const PolicyStatus status = StatusOf("cap-exp");
  EXPECT_EQ(status.phase, "Paused");
  ASSERT_EQ(status.matches.size(), 1u);
  EXPECT_EQ(status.matches[0].job.id, Uuid(1));
  EXPECT_EQ(status.matches[0].verdict, PolicyVerdict::kOverLimit);
  EXPECT_FALSE(status.matches[0].stopped);
}

TEST_F(PolicyEnforcerTest, DryRunStopsNothingAndReportsItsMatches) {
  options_.dry_run = true;
  v2_.SetJob("p", Running(1, "exp-1", 2h));
  v2_.SetJob("p", Running(2, "exp-2", 30min));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();

  enforcer.RunDue();
  clock_.Advance(30min);
  enforcer.RunDue();
  EXPECT_TRUE(v2_.Terminated().empty());
  EXPECT_EQ(v2_.Calls("terminate"), 0);
  const PolicyStatus status = StatusOf("cap-exp");
  EXPECT_EQ(status.phase, "DryRun");
  EXPECT_EQ(status.matches.size(), 2u);
  EXPECT_EQ(status.over_limit, 1u);
}

TEST_F(PolicyEnforcerTest, AFailedListingIsAnErrorRetriedWithBackoffWhileOtherProjectsGoOn) {
  v2_.SetJob("p", Running(1, "exp-1", 2h));
  v2_.SetJob("q", Running(2, "exp-2", 2h));
  v2_.FailNext("search_jobs",
               MakeError(ErrorClass::kRetryable, "HTTP.503", "service unavailable", 503));
  Install({JobPolicy("cap-p", "exp-*", 1h, "p"), JobPolicy("cap-q", "exp-*", 1h, "q")});
  PolicyEnforcer& enforcer = Make();
  const SteadyTime start = clock_.Now();

  EXPECT_EQ(enforcer.RunDue(), start + options_.backoff_base);  // p fails first (by id)
  EXPECT_EQ(v2_.Terminated(), std::vector<std::string>{Uuid(2)});
  PolicyStatus p = StatusOf("cap-p");
  EXPECT_EQ(p.phase, "Error");
  EXPECT_EQ(p.reason, "HTTP.503");
  EXPECT_NE(p.message.find("service unavailable"), std::string::npos);
  EXPECT_EQ(StatusOf("cap-q").phase, "Enforcing");
  const int searches = v2_.Calls("search_jobs");

  clock_.Advance(options_.backoff_base);
  enforcer.RunDue();
  EXPECT_EQ(v2_.Calls("search_jobs"), searches + 1);  // p again, not q
  EXPECT_EQ(v2_.Terminated(), (std::vector<std::string>{Uuid(2), Uuid(1)}));
  EXPECT_EQ(StatusOf("cap-p").phase, "Enforcing");
}

TEST_F(PolicyEnforcerTest, ALaggingServiceThatStillShowsTheJobRunningGetsNoSecondStop) {
  v2_.SetJob("p", Running(1, "exp-1", 2h));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();
  enforcer.RunDue();
  ASSERT_EQ(v2_.Terminated().size(), 1u);

  v2_.SetJob("p", Running(1, "exp-1", 2h + 5min));  // the search still says Running
  clock_.Advance(24h);
  enforcer.RunDue();
  Install({JobPolicy("cap-exp", "exp-*", 1h)});  // an unrelated reload: same policies
  enforcer.RunDue();
  EXPECT_EQ(v2_.Calls("terminate"), 1);
  const PolicyStatus status = StatusOf("cap-exp");
  ASSERT_EQ(status.matches.size(), 1u);
  EXPECT_TRUE(status.matches[0].stopped);

  // Once the job is seen stopping the memory goes; a job that runs again is a new case.
  v2_.SetPhase("p", Uuid(1), "Terminating");
  clock_.Advance(24h);
  enforcer.RunDue();
  EXPECT_EQ(StatusOf("cap-exp").matches.size(), 1u);
  EXPECT_FALSE(StatusOf("cap-exp").matches[0].stopped);
  EXPECT_EQ(v2_.Calls("terminate"), 1);
}

TEST_F(PolicyEnforcerTest, AStopTheGateRefusesIsRetriedAfterBackoff) {
  SwitchGate gate;
  GatedTrainingJobClient gated_v2(v2_, gate);
  GatedCloudClient gated_v1(v1_, gate);
  v2_.SetJob("p", Running(1, "exp-1", 2h));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer enforcer(options_, store_, gated_v1, gated_v2, clock_, random_, nullptr);
  const SteadyTime start = clock_.Now();

  EXPECT_EQ(enforcer.RunDue(), start + options_.backoff_base);
  EXPECT_EQ(v2_.Calls("terminate"), 0);

  gate.open = true;
  clock_.Advance(options_.backoff_base);
  enforcer.RunDue();
  EXPECT_EQ(v2_.Terminated(), std::vector<std::string>{Uuid(1)});
  EXPECT_EQ(enforcer.TotalStops(), 1u);
}

TEST_F(PolicyEnforcerTest, TheThreadRunsAPassAtStartAndAgainWhenTheSnapshotChanges) {
  v2_.SetJob("p", Running(1, "exp-1", 2h));
  v2_.SetJob("p", Running(2, "other-2", 2h));
  Install({JobPolicy("cap-exp", "exp-*", 1h)});
  PolicyEnforcer& enforcer = Make();
  enforcer.Start();
  clock_.BlockUntilWaiters(1);
  EXPECT_EQ(v2_.Terminated(), std::vector<std::string>{Uuid(1)});

  Install({JobPolicy("cap-exp", "*", 1h)});
  while (v2_.Terminated().size() < 2) clock_.BlockUntilWaiters(1);
  EXPECT_EQ(v2_.Terminated().back(), Uuid(2));
  enforcer.RequestStop();
  enforcer.Join();
}

}  // namespace
}  // namespace mactl
