#include "controller/core/reconciler.h"

#include <gtest/gtest.h>

#include <thread>

#include "controller/cloud/job_status.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_cloud_client.h"
#include "fakes/fake_random.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeCloudClient;
using testing::FakeRandom;
using testing::ListPageGate;

constexpr int kRunning = static_cast<int>(JobStatus::kRunning);
constexpr int kKilling = static_cast<int>(JobStatus::kKilling);
constexpr int kKilled = static_cast<int>(JobStatus::kKilled);
constexpr int kCompleted = static_cast<int>(JobStatus::kCompleted);
constexpr int kFailed = static_cast<int>(JobStatus::kFailed);

const VersionRef kRef{"p", 10, 10};
const std::string kKey = kRef.Key();

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() { SetDesired(DesiredState::kStopped); }

  void SetDesired(DesiredState desired, bool paused = false,
                  std::optional<std::chrono::milliseconds> max_runtime = std::nullopt) {
    TrainingJobVersion o;
    o.max_runtime = max_runtime;
    o.name = "bert";
    o.job_id = kRef.job_id;
    o.version_id = kRef.version_id;
    o.desired_state = desired;
    o.paused = paused;
    std::vector<TrainingJobVersion> objects{o};
    desired_.Exchange(
        std::make_shared<const DesiredSnapshot>(BuildDesiredSnapshot(std::move(objects), {}, "p")));
  }
  void Remove() { desired_.Exchange(std::make_shared<const DesiredSnapshot>()); }
  // Manages version 1 of jobs 1..count, all desired Stopped and at `status` in the API;
  // returns their keys in job order.
  std::vector<std::string> ManageJobs(std::int64_t count, int status) {
    std::vector<TrainingJobVersion> objects;
    std::vector<std::string> keys;
    for (std::int64_t job = 1; job <= count; ++job) {
      TrainingJobVersion o;
      o.name = "job-" + std::to_string(job);
      o.job_id = job;
      o.version_id = 1;
      o.desired_state = DesiredState::kStopped;
      objects.push_back(o);
      const VersionRef ref{"p", job, 1};
      client_.SetStatus(ref, status);
      keys.push_back(ref.Key());
    }
    desired_.Exchange(
        std::make_shared<const DesiredSnapshot>(BuildDesiredSnapshot(std::move(objects), {}, "p")));
    observer_.SetManagedCounts({{"p", static_cast<std::size_t>(count)}});
    return keys;
  }
  Reconciler Make(bool dry_run = false, Duration resync_slot = Duration::zero()) {
    ReconcilerOptions options;
    options.resync = minutes(5);
    options.resync_slot = resync_slot;
    options.poll = seconds(10);
    options.dry_run = dry_run;
    return Reconciler(options, desired_, client_, observer_, random_, clock_);
  }

  FakeClock clock_;
  FakeRandom random_{{0.5}};  // 0.5 → no jitter: delays are exact
  FakeCloudClient client_;
  Observer observer_{client_, clock_};
  SnapshotStore desired_;
};

TEST_F(ReconcilerTest, RunningVersionIsStoppedOnceThenPolledUntilTerminal) {
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();

  ReconcileResult first = r.Reconcile(kKey);
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(first.requeue_after, seconds(10));
  EXPECT_EQ(first.kind, ReconcileResult::Kind::kRequeueAfter);
  EXPECT_EQ(first.why, Requeue::kPoll);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kStopping);
  EXPECT_EQ(r.State(kKey)->ready.reason, "StopRequested");

  clock_.Advance(seconds(10));
  ReconcileResult second = r.Reconcile(kKey);  // the fake moved it to KILLING
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(r.State(kKey)->ready.reason, "Killing");
  EXPECT_EQ(second.requeue_after, seconds(10));

  client_.SetStatus(kRef, kKilled);
  clock_.Advance(seconds(10));
  ReconcileResult third = r.Reconcile(kKey);
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kConverged);
  EXPECT_TRUE(r.State(kKey)->ready.status);
  EXPECT_EQ(third.requeue_after, minutes(5));
  EXPECT_EQ(third.kind, ReconcileResult::Kind::kRequeueAfter);
  EXPECT_EQ(third.why, Requeue::kResync);
}

TEST_F(ReconcilerTest, AcceptedStopIsNeverRepeatedEvenIfTheApiStillShowsRunning) {
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();
  r.Reconcile(kKey);
  client_.SetStatus(kRef, kRunning);  // the API has not caught up
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(seconds(10));
    r.Reconcile(kKey);
  }
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(r.State(kKey)->ready.reason, "StopRequested");
}

TEST_F(ReconcilerTest, AnAcceptedStopSurvivesTheManifestGoingAndComingBack) {
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();
  r.Reconcile(kKey);
  ASSERT_EQ(client_.Stops().size(), 1u);
  // The file is deleted (or read half-written) and comes back while the API, which stops
  // asynchronously, still shows RUNNING.
  Remove();
  EXPECT_EQ(r.Reconcile(kKey).kind, ReconcileResult::Kind::kDone);
  ASSERT_FALSE(r.State(kKey).has_value());
  client_.SetStatus(kRef, kRunning);
  SetDesired(DesiredState::kStopped);
  r.MarkDesiredChanged({kKey}, false);
  clock_.Advance(seconds(1));
  r.Reconcile(kKey);
  EXPECT_EQ(client_.Stops().size(), 1u);  // not stopped again
  EXPECT_TRUE(r.State(kKey)->stop_accepted);
  EXPECT_EQ(r.State(kKey)->ready.reason, "StopRequested");
}

TEST_F(ReconcilerTest, TheStopMemoryIsBoundedInTime) {
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();
  r.Reconcile(kKey);
  Remove();
  r.Reconcile(kKey);
  // An hour later the version runs again (restarted by someone): a new manifest for it is
  // a new intent, and the old stop no longer holds it back.
  clock_.Advance(Reconciler::kStopMemory);
  client_.SetStatus(kRef, kRunning);
  SetDesired(DesiredState::kStopped);
  r.Reconcile(kKey);
  EXPECT_EQ(client_.Stops().size(), 2u);
}

TEST_F(ReconcilerTest, AStopWithAnUnknownOutcomeIsReobservedBeforeAnyOtherStop) {
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();
  // The API carries the stop out, but its answer is a 503 (or the connection drops).
  client_.BeforeStop([&](const VersionRef& ref) { client_.SetStatus(ref, kKilling); });
  client_.FailNext("stop", MakeError(ErrorClass::kRetryable, "HTTP.503", "lost", 503));
  const ReconcileResult failed = r.Reconcile(kKey);
  ASSERT_EQ(failed.kind, ReconcileResult::Kind::kRetryableError);
  r.RetryScheduled(kKey, failed, seconds(1));
  client_.BeforeStop(nullptr);
  clock_.Advance(seconds(1));
  const int details = client_.Calls("get_version");
  r.Reconcile(kKey);
  EXPECT_EQ(client_.Calls("get_version"), details + 1);  // looked again first
  EXPECT_EQ(client_.Stops().size(), 1u);                 // and saw the stop under way
  EXPECT_EQ(r.State(kKey)->phase, Phase::kStopping);
}

TEST_F(ReconcilerTest, DurationsNearTheParsersLimitDoNotOverflowTheSchedule) {
  client_.SetStatus(kRef, kCompleted);
  ReconcilerOptions options;
  options.resync = Duration::max();  // what ParseDuration accepts at the most
  options.poll = Duration::max();
  Reconciler r(options, desired_, client_, observer_, random_, clock_);
  const ReconcileResult result = r.Reconcile(kKey);
  ASSERT_EQ(result.kind, ReconcileResult::Kind::kRequeueAfter);
  EXPECT_GT(result.requeue_after, Duration::zero());
  // Not wrapped into the past: the next look is shown far ahead, and the next observation
  // may come from any time after the last one.
  EXPECT_GT(*r.State(kKey)->next_attempt, clock_.WallNow());
  EXPECT_GT(r.State(kKey)->observe_not_before, r.State(kKey)->observed_steady);
  // A retry delay at the limit waits, rather than wrapping to "now".
  client_.SetStatus(kRef, kRunning);
  client_.FailNext("stop", MakeError(ErrorClass::kRetryable, "HTTP.503", "down", 503));
  clock_.Advance(seconds(1));
  r.MarkDesiredChanged({kKey}, false);
  const ReconcileResult failed = r.Reconcile(kKey);
  ASSERT_EQ(failed.kind, ReconcileResult::Kind::kRetryableError);
  r.RetryScheduled(kKey, failed, Duration::max());
  EXPECT_EQ(r.State(kKey)->observe_not_before, SteadyTime::max());
  EXPECT_GT(*r.State(kKey)->next_attempt, clock_.WallNow());
}

TEST_F(ReconcilerTest, CompletedAndKillingVersionsAreNeverStopped) {
  for (int status : {kCompleted, kKilling, kFailed}) {
    client_.SetStatus(kRef, status);
    Reconciler r = Make();
    r.Reconcile(kKey);
  }
  EXPECT_TRUE(client_.Stops().empty());
  EXPECT_EQ(client_.Calls("stop"), 0);
}

TEST_F(ReconcilerTest, DesiredRunningIsObserveOnlyAndReportsDrift) {
  SetDesired(DesiredState::kRunning);
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();
  r.Reconcile(kKey);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kConverged);
  client_.SetStatus(kRef, kFailed);
  clock_.Advance(minutes(5));
  r.Reconcile(kKey);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kDrifted);
  EXPECT_EQ(r.State(kKey)->ready.reason, "Drifted");
  EXPECT_EQ(client_.Calls("stop"), 0);
}

TEST_F(ReconcilerTest, AJobThatFinishesBetweenObserveAndStopConvergesWithoutASecondStop) {
  client_.SetStatus(kRef, kRunning);
  client_.BeforeStop([this](const VersionRef& ref) { client_.SetStatus(ref, kCompleted); });
  Reconciler r = Make();
  ReconcileResult refused = r.Reconcile(kKey);
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(refused.requeue_after, Duration{0});  // re-observe at once
  EXPECT_EQ(refused.why, Requeue::kNow);
  const int details_before = client_.Calls("get_version");
  r.Reconcile(kKey);
  EXPECT_EQ(client_.Calls("get_version"), details_before + 1);  // exact, not a cached list
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kConverged);
}

TEST_F(ReconcilerTest, ARefusedStopWithUnchangedStatusBacksOffInsteadOfHammering) {
  client_.SetStatus(kRef, kRunning);
  client_.FailNext("stop", MakeError(ErrorClass::kNotAllowed, "ModelArts.2796", "no", 409));
  Reconciler r = Make();
  r.Reconcile(kKey);
  ReconcileResult next = r.Reconcile(kKey);  // still RUNNING: do not stop again
  EXPECT_EQ(client_.Stops().size(), 1u);
  // Paced by the queue's backoff (the first failure: 1 s), with no Retry-After floor.
  EXPECT_EQ(next.kind, ReconcileResult::Kind::kRetryableError);
  EXPECT_EQ(next.RetryAfter(), std::nullopt);
  EXPECT_EQ(r.State(kKey)->ready.reason, "StopRefused");
  r.RetryScheduled(kKey, next, seconds(1));
  EXPECT_EQ(r.State(kKey)->next_reason, "backoff");
  EXPECT_EQ(r.State(kKey)->next_attempt, clock_.WallNow() + seconds(1));
}

// The delays themselves (1 s, 2 s, then the 7 s Retry-After over 4 s, reset by the success)
// are the queue's: WorkQueueRateLimitTest.RetryableErrorsBackOffExponentiallyHonourRetryAfter...
TEST_F(ReconcilerTest, RetryableErrorsAskForTheQueuesBackoffWithRetryAfterAsFloor) {
  client_.SetStatus(kRef, kRunning);
  Reconciler r = Make();
  client_.FailNext("stop", MakeError(ErrorClass::kRetryable, "HTTP.503", "down", 503));
  client_.FailNext("stop", MakeError(ErrorClass::kRetryable, "HTTP.503", "down", 503));
  Error throttled = MakeError(ErrorClass::kRetryable, "ModelArts.2799", "slow down", 429);
  throttled.retry_after = milliseconds(7000);
  client_.FailNext("stop", throttled);

  for (int i = 0; i < 2; ++i) {
    const ReconcileResult failed = r.Reconcile(kKey);
    EXPECT_EQ(failed.kind, ReconcileResult::Kind::kRetryableError);
    EXPECT_EQ(failed.RetryAfter(), std::nullopt);
    EXPECT_EQ(failed.during, "stop");
    r.RetryScheduled(kKey, failed, seconds(1 << i));
    // The retry must observe afresh, no earlier than when it is due.
    EXPECT_EQ(r.State(kKey)->observe_not_before, clock_.Now() + seconds(1 << i));
  }
  const ReconcileResult throttled_result = r.Reconcile(kKey);
  EXPECT_EQ(throttled_result.kind, ReconcileResult::Kind::kRetryableError);
  EXPECT_EQ(throttled_result.RetryAfter(), seconds(7));
  EXPECT_EQ(r.State(kKey)->synced.reason, "RetryableError");
  EXPECT_EQ(r.State(kKey)->phase, Phase::kError);
  EXPECT_EQ(client_.Stops().size(), 3u);  // each failed attempt was a real failed send

  ReconcileResult ok = r.Reconcile(kKey);
  EXPECT_EQ(ok.kind, ReconcileResult::Kind::kRequeueAfter);
  EXPECT_EQ(ok.why, Requeue::kPoll);  // a success: the queue forgets the failures
  EXPECT_TRUE(r.State(kKey)->synced.status);
}

TEST_F(ReconcilerTest, TerminalErrorsWaitForAChangeAtResyncPace) {
  Reconciler r = Make();  // version unknown to the API → 400 ModelArts.2775
  ReconcileResult result = r.Reconcile(kKey);
  EXPECT_EQ(result.kind, ReconcileResult::Kind::kTerminalError);
  EXPECT_EQ(result.requeue_after, minutes(5));
  EXPECT_EQ(r.State(kKey)->synced.reason, "TerminalError");
  EXPECT_EQ(r.State(kKey)->phase, Phase::kError);
  EXPECT_NE(r.State(kKey)->last_error->ToString().find("ModelArts.2775"), std::string::npos);
}

TEST_F(ReconcilerTest, PausedAndDryRunNeverCallStop) {
  client_.SetStatus(kRef, kRunning);
  SetDesired(DesiredState::kStopped, /*paused=*/true);
  Reconciler paused = Make();
  paused.Reconcile(kKey);
  EXPECT_EQ(paused.State(kKey)->phase, Phase::kPaused);

  SetDesired(DesiredState::kStopped);
  Reconciler dry = Make(/*dry_run=*/true);
  dry.Reconcile(kKey);
  EXPECT_EQ(dry.State(kKey)->ready.reason, "DryRun");
  EXPECT_EQ(client_.Calls("stop"), 0);
}

TEST_F(ReconcilerTest, DeletedManifestStopsManagementWithoutStoppingTheJob) {
  client_.SetStatus(kRef, kRunning);
  Remove();
  Reconciler r = Make();
  ReconcileResult result = r.Reconcile(kKey);
  EXPECT_EQ(result.kind, ReconcileResult::Kind::kDone);
  EXPECT_EQ(client_.Calls("stop"), 0);
  EXPECT_FALSE(r.State(kKey).has_value());
}

TEST_F(ReconcilerTest, ResyncJitterStaysWithinTenPercent) {
  client_.SetStatus(kRef, kCompleted);
  random_.Set({0.0});
  Reconciler low = Make();
  EXPECT_EQ(low.Reconcile(kKey).requeue_after, std::chrono::seconds(270));
  random_.Set({1.0});
  Reconciler high = Make();
  EXPECT_EQ(high.Reconcile(kKey).requeue_after, std::chrono::seconds(330));
}

TEST_F(ReconcilerTest, ResyncDrawnOneSlotShortSoTheQueuesRoundingStaysWithinTenPercent) {
  client_.SetStatus(kRef, kCompleted);
  random_.Set({0.0});
  Reconciler low = Make(false, seconds(1));
  EXPECT_EQ(low.Reconcile(kKey).requeue_after, std::chrono::seconds(270));
  random_.Set({1.0});
  Reconciler high = Make(false, seconds(1));
  EXPECT_EQ(high.Reconcile(kKey).requeue_after, std::chrono::seconds(329));
}

TEST_F(ReconcilerTest, AWorkerIsNeverHeldByAnotherWorkersListRefreshAndEditsGoOn) {
  const std::vector<std::string> keys = ManageJobs(3, kRunning);
  const std::string& first = keys[0];
  const std::string& second = keys[1];
  const std::string& edited = keys[2];
  Reconciler r = Make();

  ListPageGate gate(client_);
  std::thread worker([&] { r.Reconcile(first); });  // starts the list refresh, held
  gate.WaitUntilHeld();

  // Another object the refresh will answer: requeued, not held, state untouched, and
  // still ahead of resyncs (it is new).
  const ReconcileResult deferred = r.Reconcile(second);
  EXPECT_EQ(deferred.kind, ReconcileResult::Kind::kRequeueAfter);
  EXPECT_EQ(deferred.requeue_after, milliseconds(100));  // no refresh before: the floor
  EXPECT_EQ(deferred.why, Requeue::kDeferred);           // the queue keeps its priority (new: high)
  EXPECT_FALSE(r.State(second).has_value() && r.State(second)->attempted);

  // An edit meanwhile is observed exactly and stopped while the list is still held.
  r.MarkDesiredChanged({edited}, false);
  r.Reconcile(edited);
  EXPECT_EQ(client_.Stops(), (std::vector<VersionRef>{VersionRef{"p", 3, 1}}));

  gate.Release();
  worker.join();
  // Back after the refresh, the deferred object is answered by it and stopped once.
  r.Reconcile(second);
  EXPECT_EQ(r.State(second)->observed_source, "list");
  EXPECT_EQ(client_.Calls("stop"), 3);
  EXPECT_EQ(client_.Calls("get_version"), 1);
}

// The queue re-adds a deferred key at the priority it was handed out with (edit high,
// resync low): WorkQueueTest.HandsOutThePriorityOfTheMergedEntry and the Manager's mapping.
TEST_F(ReconcilerTest, ADeferredObservationIsNeitherAttemptNorResultOfItsOwn) {
  const std::vector<std::string> keys = ManageJobs(3, kKilled);
  Reconciler r = Make();
  for (const std::string& key : keys) EXPECT_EQ(r.Reconcile(key).why, Requeue::kResync);
  clock_.Advance(minutes(5));             // all due for resync
  r.MarkDesiredChanged({keys[2]}, true);  // an edit that may share a list

  ListPageGate gate(client_);
  std::thread worker([&] { r.Reconcile(keys[0]); });
  gate.WaitUntilHeld();
  for (const std::string& key : {keys[1], keys[2]}) {  // a resync and an edit
    const ReconcileResult deferred = r.Reconcile(key);
    EXPECT_EQ(deferred.kind, ReconcileResult::Kind::kRequeueAfter);
    EXPECT_EQ(deferred.why, Requeue::kDeferred);
    EXPECT_EQ(r.State(key)->attempts, 1u);  // the deferral was not an attempt
  }
  gate.Release();
  worker.join();
}

TEST_F(ReconcilerTest, ResyncsSpreadOverAPeriodShareOneListRefresh) {
  // Four converged versions first reconciled a minute apart, as after a slow start.
  const std::vector<std::string> keys = ManageJobs(4, kKilled);
  Reconciler r = Make();
  for (const std::string& key : keys) {
    EXPECT_EQ(r.Reconcile(key).requeue_after, minutes(5));
    clock_.Advance(minutes(1));
  }
  EXPECT_EQ(client_.Calls("list"), 1);

  // Their resyncs come due a minute apart too: the first takes a new list and the
  // others, whose last status is older than it, are served from it.
  clock_.Advance(minutes(1));  // t = 5m: the first is due
  for (const std::string& key : keys) {
    EXPECT_EQ(r.Reconcile(key).requeue_after, minutes(5));
    EXPECT_EQ(r.State(key)->observed_source, "list");
    clock_.Advance(minutes(1));
  }
  EXPECT_EQ(client_.Calls("list"), 2);
  EXPECT_EQ(client_.Calls("get_version"), 0);

  // No status is ever used more than one period after it was taken: the third
  // period needs a third list, again shared by all four.
  clock_.Advance(minutes(1));  // t = 10m
  for (const std::string& key : keys) {
    r.Reconcile(key);
    EXPECT_LE(clock_.WallNow() - r.State(key)->observed_at, minutes(5));
    clock_.Advance(minutes(1));
  }
  EXPECT_EQ(client_.Calls("list"), 3);
}

TEST_F(ReconcilerTest, OneKillingVersionInABigProjectCostsOneDetailCallPerPoll) {
  // 10 000 managed versions (ten list pages); job 1 is being killed, the others converged.
  const std::vector<std::string> keys = ManageJobs(10000, kKilled);
  client_.SetStatus(VersionRef{"p", 1, 1}, kKilling);
  Reconciler r = Make();
  r.MarkDesiredChanged(keys, true);  // the initial load
  for (const std::string& key : keys) r.Reconcile(key);
  EXPECT_EQ(client_.Calls("list"), 10);
  EXPECT_EQ(client_.Calls("get_version"), 0);

  // Its polls: nothing else is due with it, so one detail call each, never a list.
  for (int poll = 1; poll <= 20; ++poll) {
    clock_.Advance(seconds(10));
    EXPECT_EQ(r.Reconcile(keys[0]).why, Requeue::kPoll);
    EXPECT_EQ(r.State(keys[0])->observed_source, "detail");
    EXPECT_EQ(client_.Calls("get_version"), poll);
  }
  EXPECT_EQ(client_.Calls("list"), 10);

  // The others' resync still shares one refresh: ceil(10000/1000) pages for 9 999 objects.
  clock_.Advance(minutes(5) - seconds(200));
  for (std::size_t i = 1; i < keys.size(); ++i) r.Reconcile(keys[i]);
  EXPECT_EQ(client_.Calls("list"), 20);
  EXPECT_EQ(client_.Calls("get_version"), 20);
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

TEST_F(ReconcilerTest, MaxRuntimeIsCheckedAtTheDueTimeAndStopsOnce) {
  SetDesired(DesiredState::kRunning, false, minutes(60));
  client_.SetStatus(kRef, kRunning);
  client_.SetDuration(kRef, 59 * 60'000);
  Reconciler r = Make();

  // Under the limit: looked at again exactly when it is due, not at the jittered resync.
  const ReconcileResult under = r.Reconcile(kKey);
  EXPECT_TRUE(client_.Stops().empty());
  EXPECT_EQ(under.kind, ReconcileResult::Kind::kRequeueAfter);
  EXPECT_EQ(under.requeue_after, minutes(1));
  EXPECT_EQ(under.why, Requeue::kPoll);
  EXPECT_EQ(r.State(kKey)->next_reason, "maxRuntime");
  EXPECT_EQ(r.State(kKey)->max_runtime_due, ToWall(clock_, clock_.Now() + minutes(1)));
  EXPECT_EQ(r.State(kKey)->phase, Phase::kConverged);

  clock_.Advance(minutes(1));
  client_.SetDuration(kRef, 60 * 60'000);
  r.Reconcile(kKey);
  ASSERT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(r.RuntimeLimitStops(), 1u);
  EXPECT_EQ(r.State(kKey)->stop_reason, kMaxRuntimeExceeded);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kStopping);

  // KILLING, then KILLED: reported as the limit's doing, never stopped again.
  clock_.Advance(seconds(10));
  r.Reconcile(kKey);
  EXPECT_EQ(r.State(kKey)->ready.reason, kMaxRuntimeExceeded);
  client_.SetStatus(kRef, kKilled);
  clock_.Advance(seconds(10));
  const ReconcileResult done = r.Reconcile(kKey);
  EXPECT_EQ(client_.Stops().size(), 1u);
  EXPECT_EQ(r.State(kKey)->phase, Phase::kConverged);
  EXPECT_EQ(r.State(kKey)->ready.reason, kMaxRuntimeExceeded);
  EXPECT_EQ(done.why, Requeue::kResync);
  EXPECT_FALSE(r.State(kKey)->max_runtime_due);
}

TEST_F(ReconcilerTest, MaxRuntimeDueCountsFromTheObservationOfARunningVersion) {
  SetDesired(DesiredState::kRunning, false, minutes(60));
  client_.SetStatus(kRef, kRunning);
  client_.SetDuration(kRef, 30 * 60'000);
  Reconciler r = Make();
  // A far limit waits for the resync, which comes first.
  EXPECT_EQ(r.Reconcile(kKey).requeue_after, minutes(5));
  // A hostile duration is reported, never acted on.
  client_.SetDuration(kRef, -1);
  clock_.Advance(minutes(5));
  r.Reconcile(kKey);
  EXPECT_TRUE(client_.Stops().empty());
  EXPECT_EQ(r.State(kKey)->ready.reason, "RunDurationUnknown");
}

}  // namespace
}  // namespace mactl
