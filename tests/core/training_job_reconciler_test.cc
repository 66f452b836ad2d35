#include "controller/core/training_job_reconciler.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "fakes/fake_training_job_client.h"

namespace mactl {
namespace {

using namespace std::chrono_literals;
using Kind = TrainingJobOutcome::Kind;

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";
constexpr char kOtherId[] = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";

TrainingJobInfo Job(std::string id, std::string name, std::string phase) {
  TrainingJobInfo job;
  job.id = std::move(id);
  job.name = std::move(name);
  job.phase = std::move(phase);
  return job;
}

class TrainingJobReconcilerTest : public ::testing::Test {
 protected:
  // One manifest for the job `id` (or, with id empty, for the name).
  void Manage(const std::string& id, const std::string& name, DesiredState desired,
              bool paused = false,
              std::optional<std::chrono::milliseconds> max_runtime = std::nullopt) {
    TrainingJob o;
    o.max_runtime = max_runtime;
    o.name = "obj";
    o.training_job_id = id;
    o.training_job_name = id.empty() ? name : "";
    o.desired_state = desired;
    o.paused = paused;
    auto snapshot = std::make_shared<DesiredSnapshot>(BuildDesiredSnapshot({}, {}, "p"));
    AddTrainingJobs(*snapshot, {o});
    snapshot_ = snapshot;
    key_ = snapshot->training_jobs.begin()->first;
  }
  std::unique_ptr<TrainingJobReconciler> Make(bool dry_run = false) {
    TrainingJobReconcilerOptions options;
    options.dry_run = dry_run;
    return std::make_unique<TrainingJobReconciler>(
        options, [this] { return snapshot_; }, client_, observer_, random_, clock_);
  }
  // Reconciles, then lets time pass to the next look.
  TrainingJobOutcome Step(TrainingJobReconciler& r) {
    const TrainingJobOutcome out = r.Reconcile(key_);
    clock_.Advance(out.after + 1ms);
    return out;
  }
  TrainingJobState State(const TrainingJobReconciler& r) { return *r.State(key_); }

  testing::FakeClock clock_;
  testing::FakeRandom random_;
  testing::FakeTrainingJobClient client_;
  TrainingJobObserver observer_{client_, clock_};
  std::shared_ptr<const DesiredSnapshot> snapshot_;
  std::string key_;
};

TEST_F(TrainingJobReconcilerTest, ARunningJobDesiredStoppedIsTerminatedExactlyOnce) {
  for (const char* phase : {"Running", "Pending", "Creating"}) {
    SCOPED_TRACE(phase);
    testing::FakeTrainingJobClient client;
    TrainingJobObserver observer(client, clock_);
    client.SetJob("p", Job(kId, "llama", phase));
    Manage(kId, "", DesiredState::kStopped);
    TrainingJobReconciler r(
        {}, [this] { return snapshot_; }, client, observer, random_, clock_);
    TrainingJobOutcome out = r.Reconcile(key_);
    EXPECT_EQ(out.next, NextCheck::kPoll);
    EXPECT_EQ(client.Terminated(), std::vector<std::string>{kId});
    EXPECT_EQ(r.State(key_)->phase, Phase::kStopping);
    EXPECT_EQ(r.State(key_)->ready.reason, "TerminateRequested");
    // Polled while Terminating: never terminated again.
    for (int i = 0; i < 3; ++i) {
      clock_.Advance(out.after + 1ms);
      out = r.Reconcile(key_);
      EXPECT_EQ(r.State(key_)->ready.reason, "Terminating");
    }
    client.SetPhase("p", kId, "Terminated", "Terminated");
    clock_.Advance(out.after + 1ms);
    out = r.Reconcile(key_);
    EXPECT_EQ(r.State(key_)->phase, Phase::kConverged);
    EXPECT_EQ(out.next, NextCheck::kResync);
    EXPECT_EQ(client.Calls("terminate"), 1);
  }
}

TEST_F(TrainingJobReconcilerTest, TerminatingAndEndedJobsGetNoTerminate) {
  for (const char* phase : {"Terminating", "Completed", "Failed", "Terminated", "Abnormal"}) {
    SCOPED_TRACE(phase);
    client_.SetJob("p", Job(kId, "llama", phase));
    Manage(kId, "", DesiredState::kStopped);
    auto r = Make();
    Step(*r);
    Step(*r);
    EXPECT_EQ(client_.Calls("terminate"), 0);
  }
}

TEST_F(TrainingJobReconcilerTest, AnUnknownPhaseIsNeverActedOn) {
  client_.SetJob("p", Job(kId, "llama", "Hibernating"));
  Manage(kId, "", DesiredState::kStopped);
  auto r = Make();
  const TrainingJobOutcome out = Step(*r);
  EXPECT_EQ(out.next, NextCheck::kPoll);
  EXPECT_EQ(State(*r).ready.reason, "StatusUnknown");
  Step(*r);
  EXPECT_EQ(client_.Calls("terminate"), 0);
}

TEST_F(TrainingJobReconcilerTest, DesiredRunningIsNeverTerminatedAndAnEndedJobIsDrifted) {
  client_.SetJob("p", Job(kId, "llama", "Running"));
  Manage(kId, "", DesiredState::kRunning);
  auto r = Make();
  Step(*r);
  EXPECT_EQ(State(*r).phase, Phase::kConverged);
  client_.SetPhase("p", kId, "Failed");
  clock_.Advance(10min);
  Step(*r);
  EXPECT_EQ(State(*r).phase, Phase::kDrifted);
  EXPECT_EQ(client_.Calls("terminate"), 0);
}

TEST_F(TrainingJobReconcilerTest, A409RaceConvergesWithoutASecondTerminate) {
  client_.SetJob("p", Job(kId, "llama", "Running"));
  client_.BeforeTerminate([&](const std::string& id) { client_.SetPhase("p", id, "Completed"); });
  Manage(kId, "", DesiredState::kStopped);
  auto r = Make();
  TrainingJobOutcome out = Step(*r);
  EXPECT_EQ(State(*r).ready.reason, "TerminateRefused");
  EXPECT_EQ(out.next, NextCheck::kNow);
  EXPECT_EQ(out.after, Duration{0});
  EXPECT_FALSE(State(*r).observe_allow_batch);  // re-observed exactly
  out = Step(*r);
  EXPECT_EQ(State(*r).phase, Phase::kConverged);
  EXPECT_EQ(State(*r).observed_source, "detail");
  Step(*r);
  EXPECT_EQ(client_.Calls("terminate"), 1);
  EXPECT_TRUE(client_.Terminated().empty());  // the one call was refused
}

TEST_F(TrainingJobReconcilerTest, ANameMatchingTwoActiveJobsIsAmbiguousAndNothingIsTerminated) {
  client_.SetJob("p", Job(kId, "llama-sft", "Running"));
  client_.SetJob("p", Job(kOtherId, "llama-sft", "Pending"));
  client_.SetJob("p", Job("11111111-2222-4333-8444-555555555555", "llama-sft-2", "Running"));
  Manage("", "llama-sft", DesiredState::kStopped);
  auto r = Make();
  Step(*r);
  Step(*r);
  EXPECT_EQ(State(*r).ready.reason, "Ambiguous");
  EXPECT_EQ(State(*r).phase, Phase::kConflict);
  EXPECT_EQ(State(*r).resolved_id, "");
  EXPECT_EQ(client_.Calls("terminate"), 0);
}

TEST_F(TrainingJobReconcilerTest, ANameResolvingToOneActiveJobActsOnItAndShowsItsId) {
  client_.SetJob("p", Job(kOtherId, "llama-sft", "Completed"));
  client_.SetJob("p", Job(kId, "llama-sft", "Running"));
  Manage("", "llama-sft", DesiredState::kStopped);
  auto r = Make();
  Step(*r);
  EXPECT_EQ(client_.Terminated(), std::vector<std::string>{kId});
  EXPECT_EQ(State(*r).resolved_id, kId);
  // It ends: the search no longer lists it, the recheck sees it Terminated.
  client_.SetPhase("p", kId, "Terminated");
  Step(*r);
  EXPECT_EQ(State(*r).phase, Phase::kConverged);
  // /status keeps showing the job it resolved to, resync after resync.
  EXPECT_EQ(State(*r).resolved_id, kId);
  Step(*r);
  Step(*r);
  EXPECT_EQ(State(*r).resolved_id, kId);
  EXPECT_EQ(State(*r).job->phase, "Terminated");
  EXPECT_EQ(client_.Calls("terminate"), 1);
}

TEST_F(TrainingJobReconcilerTest, ARestartSendsNoSecondTerminate) {
  client_.SetJob("p", Job(kId, "llama", "Running"));
  Manage(kId, "", DesiredState::kStopped);
  {
    auto before = Make();
    Step(*before);
  }
  // A new process (no memory of the terminate) sees the job Terminating.
  TrainingJobObserver fresh_observer(client_, clock_);
  TrainingJobReconciler after(
      {}, [this] { return snapshot_; }, client_, fresh_observer, random_, clock_);
  after.Reconcile(key_);
  EXPECT_EQ(after.State(key_)->ready.reason, "Terminating");
  EXPECT_EQ(client_.Calls("terminate"), 1);
}

TEST_F(TrainingJobReconcilerTest, PausedAndDryRunNeverTerminate) {
  client_.SetJob("p", Job(kId, "llama", "Running"));
  Manage(kId, "", DesiredState::kStopped, /*paused=*/true);
  auto paused = Make();
  Step(*paused);
  EXPECT_EQ(State(*paused).phase, Phase::kPaused);
  Manage(kId, "", DesiredState::kStopped);
  auto dry = Make(/*dry_run=*/true);
  Step(*dry);
  EXPECT_EQ(State(*dry).ready.reason, "DryRun");
  EXPECT_EQ(client_.Calls("terminate"), 0);
}

TEST_F(TrainingJobReconcilerTest, ErrorsAreRetryableOrTerminalByClass) {
  Manage(kId, "", DesiredState::kStopped);
  auto r = Make();
  // No such job: 400 ModelArts.2775 is terminal, looked at again at resync pace.
  TrainingJobOutcome out = r->Reconcile(key_);
  EXPECT_EQ(out.kind, Kind::kTerminalError);
  EXPECT_EQ(out.error->code, "ModelArts.2775");
  EXPECT_EQ(State(*r).phase, Phase::kError);
  client_.SetJob("p", Job(kId, "llama", "Running"));
  client_.FailNext("terminate", MakeError(ErrorClass::kRetryable, "HTTP.503", "busy", 503));
  clock_.Advance(out.after + 1ms);
  out = r->Reconcile(key_);
  EXPECT_EQ(out.kind, Kind::kRetryableError);
  EXPECT_EQ(out.during, "terminate");
  r->RetryScheduled(key_, 2s);
  clock_.Advance(2s);
  r->Reconcile(key_);
  EXPECT_EQ(client_.Terminated(), std::vector<std::string>{kId});
  EXPECT_EQ(State(*r).ready.reason, "TerminateRequested");
}

TEST_F(TrainingJobReconcilerTest, ManyObjectsOfAProjectShareOneSearch) {
  std::vector<TrainingJob> objects;
  for (int n = 0; n < 60; ++n) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    client_.SetJob("p", Job(id, "job-" + std::to_string(n), "Running"));
    TrainingJob o;
    o.name = "o" + std::to_string(n);
    o.training_job_id = id;
    o.desired_state = DesiredState::kRunning;
    objects.push_back(o);
  }
  auto snapshot = std::make_shared<DesiredSnapshot>(BuildDesiredSnapshot({}, {}, "p"));
  AddTrainingJobs(*snapshot, objects);
  snapshot_ = snapshot;
  auto r = Make();
  std::vector<std::string> keys;
  for (const auto& [key, managed] : snapshot->training_jobs) keys.push_back(key);
  r->MarkDesiredChanged(keys, true);  // the initial load
  for (const std::string& key : keys) r->Reconcile(key);
  // ceil(60 / 50) pages, no detail call.
  EXPECT_EQ(client_.Calls("search_jobs"), 2);
  EXPECT_EQ(client_.Calls("get_job"), 0);
  for (const auto& [key, managed] : snapshot->training_jobs) {
    EXPECT_EQ(r->State(key)->phase, Phase::kConverged);
  }
}

TEST_F(TrainingJobReconcilerTest, AKeyNoManifestNamesIsForgotten) {
  client_.SetJob("p", Job(kId, "llama", "Running"));
  Manage(kId, "", DesiredState::kRunning);
  auto r = Make();
  r->Reconcile(key_);
  ASSERT_TRUE(r->State(key_).has_value());
  snapshot_ = std::make_shared<DesiredSnapshot>(BuildDesiredSnapshot({}, {}, "p"));
  EXPECT_EQ(r->Reconcile(key_).kind, Kind::kDone);
  EXPECT_FALSE(r->State(key_).has_value());
}

TEST_F(TrainingJobReconcilerTest, OneTerminatingJobInABigProjectCostsOneDetailCallPerPoll) {
  // 1000 managed jobs (21 search pages); the first is being terminated, the others run.
  std::vector<TrainingJob> objects;
  for (int n = 0; n < 1000; ++n) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    client_.SetJob("p", Job(id, "job-" + std::to_string(n), n == 0 ? "Terminating" : "Running"));
    TrainingJob o;
    o.name = "o" + std::to_string(n);
    o.training_job_id = id;
    o.desired_state = n == 0 ? DesiredState::kStopped : DesiredState::kRunning;
    objects.push_back(o);
  }
  auto snapshot = std::make_shared<DesiredSnapshot>(BuildDesiredSnapshot({}, {}, "p"));
  AddTrainingJobs(*snapshot, objects);
  snapshot_ = snapshot;
  const std::string terminating = TrainingJobRef{"p", objects[0].training_job_id, ""}.Key();
  auto r = Make();
  std::vector<std::string> keys;
  for (const auto& [key, managed] : snapshot->training_jobs) keys.push_back(key);
  r->MarkDesiredChanged(keys, true);  // the initial load
  for (const std::string& key : keys) r->Reconcile(key);
  EXPECT_EQ(client_.Calls("search_jobs"), 21);
  EXPECT_EQ(client_.Calls("get_job"), 0);

  // Its polls: nothing else is due with it, so one detail call each, never a search.
  for (int poll = 1; poll <= 10; ++poll) {
    clock_.Advance(11s);  // a jittered --poll (10 s) has passed
    r->Reconcile(terminating);
    EXPECT_EQ(r->State(terminating)->next_reason, "poll");
    EXPECT_EQ(r->State(terminating)->observed_source, "detail");
    EXPECT_EQ(client_.Calls("get_job"), poll);
  }
  EXPECT_EQ(client_.Calls("search_jobs"), 21);
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

TEST_F(TrainingJobReconcilerTest, MaxRuntimeIsCheckedAtTheDueTimeAndTerminatesOnce) {
  TrainingJobInfo job = Job(kId, "llama", "Running");
  job.duration_ms = 59 * 60'000;
  client_.SetJob("p", job);
  Manage(kId, "", DesiredState::kRunning, false, std::chrono::minutes(60));
  auto r = Make();

  const TrainingJobOutcome under = r->Reconcile(key_);
  EXPECT_TRUE(client_.Terminated().empty());
  EXPECT_EQ(under.after, std::chrono::minutes(1));
  EXPECT_EQ(under.next, NextCheck::kPoll);
  EXPECT_EQ(State(*r).next_reason, "maxRuntime");
  EXPECT_TRUE(State(*r).max_runtime_due.has_value());

  clock_.Advance(std::chrono::minutes(1));
  job.duration_ms = 60 * 60'000;
  client_.SetJob("p", job);
  Step(*r);
  EXPECT_EQ(client_.Terminated(), std::vector<std::string>{kId});
  EXPECT_EQ(r->RuntimeLimitStops(), 1u);
  EXPECT_EQ(State(*r).terminate_reason, kMaxRuntimeExceeded);

  // Terminating, then Terminated: the limit's doing, never terminated again.
  for (int i = 0; i < 3; ++i) Step(*r);
  client_.SetPhase("p", kId, "Terminated");
  clock_.Advance(std::chrono::minutes(6));
  Step(*r);
  EXPECT_EQ(client_.Terminated().size(), 1u);
  EXPECT_EQ(State(*r).phase, Phase::kConverged);
  EXPECT_EQ(State(*r).ready.reason, kMaxRuntimeExceeded);
}

}  // namespace
}  // namespace mactl
