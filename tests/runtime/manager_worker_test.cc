// The Manager's worker loop: how a reconcile's result becomes queue adds and metrics. A
// FakeClock drives the queue's waits, so the test advances time instead of sleeping.

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "controller/cloud/job_status.h"
#include "controller/runtime/manager.h"
#include "controller/runtime/metrics.h"
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

const VersionRef kRef{"p", 10, 10};

class ManagerWorkerTest : public ::testing::Test {
 protected:
  ManagerWorkerTest() {
    ReconcilerOptions options;
    options.resync = minutes(5);
    options.poll = seconds(10);
    reconciler_ =
        std::make_unique<Reconciler>(options, desired_, client_, observer_, random_, clock_);
    manager_ = std::make_unique<Manager>(ManagerOptions{1, minutes(5)}, desired_, queue_,
                                         *reconciler_, observer_, clock_, &metrics_);
  }
  ~ManagerWorkerTest() override { manager_.reset(); }

  void Manage(DesiredState desired) {
    TrainingJobVersion o;
    o.name = "bert";
    o.job_id = kRef.job_id;
    o.version_id = kRef.version_id;
    o.desired_state = desired;
    manager_->ApplySnapshot(BuildDesiredSnapshot({o}, {}, "p"));
  }

  // Yields until the worker waits in Get for `deadline`: it has finished the reconcile
  // before and recorded its result. Real time bounds the spin only as a safety net.
  void AwaitWorkerWaitingUntil(SteadyTime deadline) {
    const auto give_up = std::chrono::steady_clock::now() + seconds(30);
    while (clock_.NextDeadline() != deadline) {
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the worker never waited";
      std::this_thread::yield();
    }
  }

  double Counter(const std::string& name, const std::string& result = "") {
    for (const prometheus::MetricFamily& family : registry_.Collect()) {
      if (family.name != "modelarts_controller_" + name) continue;
      for (const prometheus::ClientMetric& m : family.metric) {
        if (result.empty() || (!m.label.empty() && m.label[0].value == result)) {
          return m.counter.value;
        }
      }
    }
    return -1;
  }

  FakeClock clock_;
  FakeRandom random_{{0.5}};  // 0.5 → no jitter: delays are exact
  FakeCloudClient client_;
  Observer observer_{client_, clock_};
  prometheus::Registry registry_;
  ControllerMetrics metrics_{registry_, "test"};
  SnapshotStore desired_;
  WorkQueue queue_{clock_, BackoffPolicy{seconds(1), minutes(5), 0.1}, random_, &metrics_};
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<Manager> manager_;
};

TEST_F(ManagerWorkerTest, RetryableErrorsBackOffInTheQueueHonourRetryAfterAndResetOnSuccess) {
  client_.SetStatus(kRef, static_cast<int>(JobStatus::kRunning));
  client_.FailNext("stop", MakeError(ErrorClass::kRetryable, "HTTP.503", "down", 503));
  client_.FailNext("stop", MakeError(ErrorClass::kRetryable, "HTTP.503", "down", 503));
  Error throttled = MakeError(ErrorClass::kRetryable, "ModelArts.2799", "slow down", 429);
  throttled.retry_after = milliseconds(7000);
  client_.FailNext("stop", throttled);
  const std::string key = kRef.Key();
  Manage(DesiredState::kStopped);
  manager_->Start();

  SteadyTime t = clock_.Now();
  for (const Duration delay : {Duration(seconds(1)), Duration(seconds(2)), Duration(seconds(7))}) {
    AwaitWorkerWaitingUntil(t + delay);  // 1 s, 2 s, then Retry-After beats 4 s
    EXPECT_EQ(reconciler_->State(key)->next_reason, "backoff");
    EXPECT_EQ(reconciler_->State(key)->synced.reason, "RetryableError");
    clock_.Advance(delay);
    t += delay;
  }
  AwaitWorkerWaitingUntil(t + seconds(10));  // the stop went through: polled
  EXPECT_EQ(client_.Stops().size(), 4u);
  EXPECT_EQ(queue_.NumRequeues(key), 0);  // the success forgot the failures
  EXPECT_TRUE(reconciler_->State(key)->synced.status);
  EXPECT_EQ(Counter("reconcile_total", "error"), 3);
  EXPECT_EQ(Counter("reconcile_total", "requeue_after"), 1);
  EXPECT_EQ(Counter("reconcile_total", "success"), 0);
  EXPECT_EQ(Counter("workqueue_retries_total"), 4);  // three backoffs and a poll
}

TEST_F(ManagerWorkerTest, ConvergedVersionIsResyncedAtLowPriorityAndCountedAsSuccess) {
  client_.SetStatus(kRef, static_cast<int>(JobStatus::kCompleted));
  Manage(DesiredState::kStopped);
  manager_->Start();
  // The resync is 5 minutes away; Get re-checks at least once a minute.
  AwaitWorkerWaitingUntil(clock_.Now() + minutes(1));
  EXPECT_EQ(Counter("reconcile_total", "success"), 1);
  EXPECT_EQ(queue_.DelayedLen(), 1u);
  EXPECT_EQ(queue_.NextReadyTime(), clock_.Now() + minutes(5));
}

}  // namespace
}  // namespace mactl
