#include "controller/runtime/work_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using testing::FakeClock;
using testing::FakeRandom;

class RecordingObserver final : public WorkQueueObserver {
 public:
  void OnAdd() override { ++adds; }
  void OnRetry() override { ++retries; }
  void OnDepth(std::size_t ready) override { depths.push_back(ready); }
  void OnQueueLatency(Duration waited) override { latencies.push_back(waited); }

  int adds = 0;
  int retries = 0;
  std::vector<std::size_t> depths;
  std::vector<Duration> latencies;
};

// Takes everything that is ready now, in hand-out order, calling Done on each.
std::vector<std::string> Drain(WorkQueue& q) {
  std::vector<std::string> out;
  while (auto key = q.TryGet()) {
    out.push_back(*key);
    q.Done(*key);
  }
  return out;
}

class WorkQueueTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeRandom random_{{0.5}};  // 0.5 → no jitter: backoff delays are exact
  RecordingObserver observer_;
  WorkQueue q_{clock_, BackoffPolicy{seconds(1), std::chrono::minutes(5), 0.1}, random_,
               &observer_};
};

TEST_F(WorkQueueTest, EmptyQueueHandsOutNothing) {
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  EXPECT_EQ(q_.Len(), 0u);
  EXPECT_EQ(q_.DelayedLen(), 0u);
  EXPECT_EQ(q_.NextReadyTime(), std::nullopt);
  EXPECT_EQ(q_.LongestProcessing(), Duration::zero());
}

TEST_F(WorkQueueTest, KeyAddedManyTimesBeforeProcessingIsHandedOutOnce) {
  q_.Add("a", Priority::kNormal);
  q_.Add("a", Priority::kNormal);
  q_.Add("a", Priority::kLow);
  EXPECT_EQ(q_.Len(), 1u);
  EXPECT_EQ(q_.TryGet(), "a");
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  q_.Done("a");
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  EXPECT_EQ(observer_.adds, 3);
}

TEST_F(WorkQueueTest, DuplicateAddMergesToHighestPriority) {
  q_.Add("a", Priority::kLow);
  q_.Add("b", Priority::kNormal);
  q_.Add("a", Priority::kHigh);
  EXPECT_THAT(Drain(q_), ElementsAre("a", "b"));
}

TEST_F(WorkQueueTest, DuplicateAddKeepsEarliestPosition) {
  q_.Add("a", Priority::kNormal);
  clock_.Advance(seconds(1));
  q_.Add("b", Priority::kNormal);
  clock_.Advance(seconds(1));
  q_.Add("a", Priority::kNormal);  // must not move "a" behind "b"
  EXPECT_THAT(Drain(q_), ElementsAre("a", "b"));
}

TEST_F(WorkQueueTest, HigherPriorityFirstThenFifoWithinPriority) {
  q_.Add("low1", Priority::kLow);
  q_.Add("normal1", Priority::kNormal);
  q_.Add("high1", Priority::kHigh);
  q_.Add("low2", Priority::kLow);
  q_.Add("normal2", Priority::kNormal);
  q_.Add("high2", Priority::kHigh);
  EXPECT_THAT(Drain(q_), ElementsAre("high1", "high2", "normal1", "normal2", "low1", "low2"));
}

TEST_F(WorkQueueTest, FreshEditGoesAheadOfTenThousandResyncs) {
  constexpr int kResyncs = 10000;
  for (int i = 0; i < kResyncs; ++i) {
    q_.Add("resync-" + std::to_string(i), Priority::kLow);
  }
  q_.Add("edited", Priority::kHigh);
  EXPECT_EQ(q_.Len(), static_cast<std::size_t>(kResyncs + 1));
  EXPECT_EQ(q_.TryGet(), "edited");
  q_.Done("edited");
  // The backlog itself is still served in FIFO order.
  for (int i = 0; i < kResyncs; ++i) {
    const auto key = q_.TryGet();
    ASSERT_EQ(key, "resync-" + std::to_string(i));
    q_.Done(*key);
  }
  EXPECT_EQ(q_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, KeyIsNeverHandedToTwoWorkersAtOnce) {
  q_.Add("a", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "a");
  EXPECT_TRUE(q_.IsProcessing("a"));
  q_.Add("a", Priority::kNormal);
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  EXPECT_EQ(q_.Len(), 0u);  // parked, not ready
  q_.Done("a");
  EXPECT_FALSE(q_.IsProcessing("a"));
  EXPECT_EQ(q_.Len(), 1u);
  EXPECT_EQ(q_.TryGet(), "a");
  EXPECT_TRUE(q_.IsProcessing("a"));
}

TEST_F(WorkQueueTest, ReAddWhileProcessingReturnsAfterDoneWithMergedPriority) {
  q_.Add("a", Priority::kLow);
  ASSERT_EQ(q_.TryGet(), "a");
  q_.Add("a", Priority::kLow);
  q_.Add("a", Priority::kHigh);
  q_.Add("b", Priority::kNormal);
  EXPECT_EQ(q_.TryGet(), "b");  // "a" is parked, "b" is all that is ready
  q_.Add("c", Priority::kNormal);
  q_.Done("a");
  EXPECT_EQ(q_.TryGet(), "a");  // kHigh beats "c" at kNormal
  EXPECT_EQ(q_.TryGet(), "c");
}

TEST_F(WorkQueueTest, ReAddWhileProcessingQueuesBehindWhatIsAlreadyReady) {
  q_.Add("a", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "a");
  q_.Add("a", Priority::kNormal);
  clock_.Advance(seconds(1));
  q_.Add("b", Priority::kNormal);
  clock_.Advance(seconds(1));
  q_.Done("a");
  EXPECT_THAT(Drain(q_), ElementsAre("b", "a"));
}

TEST_F(WorkQueueTest, DoneWithoutProcessingIsIgnored) {
  q_.Add("a", Priority::kNormal);
  q_.Done("a");
  q_.Done("unknown");
  EXPECT_EQ(q_.Len(), 1u);
  EXPECT_EQ(q_.TryGet(), "a");
}

TEST_F(WorkQueueTest, AddAfterBecomesReadyExactlyWhenClockReachesIt) {
  const SteadyTime start = clock_.Now();
  q_.AddAfter("a", seconds(5), Priority::kNormal);
  EXPECT_EQ(q_.Len(), 0u);
  EXPECT_EQ(q_.DelayedLen(), 1u);
  EXPECT_EQ(q_.NextReadyTime(), start + seconds(5));
  clock_.Advance(seconds(5) - milliseconds(1));
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(q_.Len(), 1u);
  EXPECT_EQ(q_.DelayedLen(), 0u);
  EXPECT_EQ(q_.TryGet(), "a");
}

TEST_F(WorkQueueTest, AddAfterKeepsEarliestPendingTime) {
  const SteadyTime start = clock_.Now();
  q_.AddAfter("a", seconds(10), Priority::kNormal);
  q_.AddAfter("a", seconds(5), Priority::kNormal);
  q_.AddAfter("a", seconds(20), Priority::kNormal);
  EXPECT_EQ(q_.DelayedLen(), 1u);
  EXPECT_EQ(q_.NextReadyTime(), start + seconds(5));
  clock_.Advance(seconds(5));
  EXPECT_THAT(Drain(q_), ElementsAre("a"));
  clock_.Advance(seconds(60));  // the later requests were merged away
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  EXPECT_EQ(q_.DelayedLen(), 0u);
}

TEST_F(WorkQueueTest, LaterDelayedAddStillRaisesPriority) {
  q_.AddAfter("a", seconds(5), Priority::kLow);
  q_.AddAfter("a", seconds(50), Priority::kHigh);
  q_.AddAfter("b", seconds(1), Priority::kNormal);
  clock_.Advance(seconds(5));
  EXPECT_THAT(Drain(q_), ElementsAre("a", "b"));
}

TEST_F(WorkQueueTest, ImmediateAddAbsorbsPendingDelayedAdd) {
  q_.AddAfter("a", seconds(10), Priority::kNormal);
  q_.Add("a", Priority::kNormal);
  EXPECT_EQ(q_.DelayedLen(), 0u);
  EXPECT_THAT(Drain(q_), ElementsAre("a"));
  clock_.Advance(seconds(10));
  EXPECT_EQ(q_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, NonPositiveDelayIsAnImmediateAdd) {
  q_.AddAfter("a", Duration::zero(), Priority::kNormal);
  q_.AddAfter("b", -seconds(1), Priority::kNormal);
  EXPECT_EQ(q_.DelayedLen(), 0u);
  EXPECT_THAT(Drain(q_), ElementsAre("a", "b"));
  EXPECT_EQ(observer_.adds, 2);
  EXPECT_EQ(observer_.retries, 0);
}

TEST_F(WorkQueueTest, DueDelayedItemsAreOrderedByReadyTime) {
  q_.AddAfter("c", seconds(3), Priority::kNormal);
  q_.AddAfter("a", seconds(1), Priority::kNormal);
  q_.AddAfter("b", seconds(2), Priority::kNormal);
  clock_.Advance(seconds(4));
  q_.Add("d", Priority::kNormal);  // ready at 4s: behind the delayed ones that were due earlier
  q_.AddAfter("low", seconds(1), Priority::kLow);
  q_.AddAfter("high", seconds(1), Priority::kHigh);
  clock_.Advance(seconds(10));
  EXPECT_THAT(Drain(q_), ElementsAre("high", "a", "b", "c", "d", "low"));
}

TEST_F(WorkQueueTest, HugeDelayDoesNotOverflow) {
  q_.AddAfter("a", Duration::max(), Priority::kNormal);
  EXPECT_EQ(q_.DelayedLen(), 1u);
  EXPECT_EQ(q_.NextReadyTime(), SteadyTime::max());
  clock_.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(q_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, DelayedItemDueWhileProcessingBehavesLikeReAdd) {
  q_.Add("a", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "a");
  q_.AddAfter("a", seconds(1), Priority::kNormal);
  clock_.Advance(seconds(2));
  EXPECT_EQ(q_.TryGet(), std::nullopt);  // due, but "a" is still being processed
  EXPECT_EQ(q_.Len(), 0u);
  EXPECT_EQ(q_.DelayedLen(), 0u);
  q_.Done("a");
  EXPECT_EQ(q_.TryGet(), "a");
}

TEST_F(WorkQueueTest, DelayNotYetDueAtDoneStaysDelayed) {
  q_.Add("a", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "a");
  q_.AddAfter("a", seconds(5), Priority::kNormal);  // e.g. RequeueAfter from the reconcile
  clock_.Advance(seconds(1));
  q_.Done("a");
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  EXPECT_EQ(q_.DelayedLen(), 1u);
  clock_.Advance(seconds(4));
  EXPECT_EQ(q_.TryGet(), "a");
}

TEST_F(WorkQueueTest, RemoveDropsReadyDelayedAndParkedEntries) {
  q_.Add("busy", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "busy");
  q_.Add("ready", Priority::kNormal);
  q_.AddAfter("delayed", seconds(5), Priority::kNormal);
  q_.Add("busy", Priority::kHigh);  // pending re-add
  q_.Add("ready", Priority::kNormal);
  ASSERT_EQ(q_.Len(), 1u);

  q_.Remove("ready");
  q_.Remove("delayed");
  q_.Remove("busy");
  q_.Remove("never-seen");
  EXPECT_EQ(q_.Len(), 0u);
  EXPECT_EQ(q_.DelayedLen(), 0u);
  EXPECT_TRUE(q_.IsProcessing("busy"));  // the worker still owns it
  q_.Done("busy");
  EXPECT_FALSE(q_.IsProcessing("busy"));
  clock_.Advance(seconds(10));
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  EXPECT_EQ(q_.NextReadyTime(), std::nullopt);
}

TEST_F(WorkQueueTest, RemovedKeyCanBeAddedAgain) {
  q_.AddAfter("a", seconds(5), Priority::kNormal);
  q_.Remove("a");
  q_.Add("a", Priority::kLow);
  EXPECT_THAT(Drain(q_), ElementsAre("a"));
}

TEST_F(WorkQueueTest, NextReadyTimeIsNowWhenSomethingIsReady) {
  q_.AddAfter("later", seconds(30), Priority::kNormal);
  q_.Add("now", Priority::kLow);
  EXPECT_EQ(q_.NextReadyTime(), clock_.Now());
}

TEST_F(WorkQueueTest, LongestProcessingIsAgeOfOldestInFlightKey) {
  q_.Add("a", Priority::kNormal);
  q_.Add("b", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "a");
  clock_.Advance(seconds(3));
  ASSERT_EQ(q_.TryGet(), "b");
  clock_.Advance(seconds(1));
  EXPECT_EQ(q_.LongestProcessing(), seconds(4));
  q_.Done("a");
  EXPECT_EQ(q_.LongestProcessing(), seconds(1));
  q_.Done("b");
  EXPECT_EQ(q_.LongestProcessing(), Duration::zero());
}

TEST_F(WorkQueueTest, ObserverSeesAddsRetriesDepthAndLatency) {
  q_.Add("a", Priority::kNormal);                   // depth 1
  q_.Add("a", Priority::kNormal);                   // merged: no depth change
  q_.AddAfter("b", seconds(2), Priority::kNormal);  // retry, no depth change
  clock_.Advance(seconds(3));
  ASSERT_EQ(q_.TryGet(), "a");  // b promoted, a handed out: still 1, so no report
  ASSERT_EQ(q_.TryGet(), "b");  // depth 0
  EXPECT_EQ(observer_.adds, 3);
  EXPECT_EQ(observer_.retries, 1);
  EXPECT_THAT(observer_.depths, ElementsAre(1u, 0u));
  // "a" waited since it was added; "b" since its ready time, not since the AddAfter call.
  EXPECT_THAT(observer_.latencies, ElementsAre(seconds(3), seconds(1)));
}

TEST_F(WorkQueueTest, ShutDownRejectsAddsAndHandsOutNothing) {
  q_.Add("a", Priority::kNormal);
  ASSERT_EQ(q_.TryGet(), "a");
  q_.Add("b", Priority::kNormal);
  q_.ShutDown();
  q_.Add("c", Priority::kNormal);
  q_.AddAfter("d", seconds(1), Priority::kNormal);
  EXPECT_EQ(observer_.adds, 2);
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  q_.Done("a");  // still allowed: the worker finishes its item
  EXPECT_FALSE(q_.IsProcessing("a"));
  std::stop_source never;
  EXPECT_EQ(q_.Get(never.get_token()), std::nullopt);
}

TEST_F(WorkQueueTest, HandlesOneHundredThousandKeys) {
  constexpr int kKeys = 100000;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "k" + std::to_string(i);
    if (i % 2 == 0) {
      q_.AddAfter(key, milliseconds(kKeys - i), Priority::kNormal);
    } else {
      q_.Add(key, Priority::kLow);
    }
  }
  EXPECT_EQ(q_.Len(), static_cast<std::size_t>(kKeys / 2));
  EXPECT_EQ(q_.DelayedLen(), static_cast<std::size_t>(kKeys / 2));
  clock_.Advance(seconds(kKeys));
  EXPECT_EQ(Drain(q_).size(), static_cast<std::size_t>(kKeys));
}

TEST_F(WorkQueueTest, HandsOutThePriorityOfTheMergedEntry) {
  q_.AddAfter("edited", seconds(5), Priority::kLow);  // its resync
  q_.Add("edited", Priority::kHigh);                  // the edit
  q_.Add("resync", Priority::kLow);
  std::stop_source stop;
  const std::optional<WorkQueue::Item> first = q_.GetWithPriority(stop.get_token());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->key, "edited");
  EXPECT_EQ(first->priority, Priority::kHigh);
  // Re-added at that priority (a deferred look), it still goes ahead of the resync.
  q_.AddAfter(first->key, seconds(1), first->priority);
  q_.Done(first->key);
  clock_.Advance(seconds(1));
  const std::optional<WorkQueue::Item> second = q_.GetWithPriority(stop.get_token());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->key, "edited");
  EXPECT_EQ(second->priority, Priority::kHigh);
}

TEST_F(WorkQueueTest, RetryableErrorsBackOffExponentiallyHonourRetryAfterAndResetOnForget) {
  EXPECT_EQ(q_.AddRateLimited("a", std::nullopt, Priority::kNormal), seconds(1));
  EXPECT_EQ(q_.AddRateLimited("a", std::nullopt, Priority::kNormal), seconds(2));
  EXPECT_EQ(q_.AddRateLimited("a", milliseconds(7000), Priority::kNormal),
            seconds(7));  // Retry-After beats 4 s
  EXPECT_EQ(q_.NumRequeues("a"), 3);
  EXPECT_EQ(q_.NumRequeues("b"), 0);
  // The adds merged into one entry, due at the earliest delay.
  EXPECT_EQ(q_.DelayedLen(), 1u);
  EXPECT_EQ(q_.NextReadyTime(), clock_.Now() + seconds(1));
  EXPECT_EQ(observer_.retries, 3);  // workqueue_retries_total counts delayed adds

  q_.Forget("a");  // success
  EXPECT_EQ(q_.NumRequeues("a"), 0);
  EXPECT_EQ(q_.DelayedLen(), 1u);  // Forget resets failures only; Remove drops entries
  EXPECT_EQ(q_.AddRateLimited("a", std::nullopt, Priority::kNormal), seconds(1));
}

TEST_F(WorkQueueTest, RateLimitedAddIsReleasedByTheClock) {
  q_.AddRateLimited("a", std::nullopt, Priority::kNormal);
  q_.AddRateLimited("b", std::nullopt, Priority::kNormal);
  q_.AddRateLimited("b", std::nullopt, Priority::kNormal);  // merged: still due at 1 s
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  clock_.Advance(seconds(1) - milliseconds(1));
  EXPECT_EQ(q_.TryGet(), std::nullopt);
  clock_.Advance(milliseconds(1));
  EXPECT_THAT(Drain(q_), ElementsAre("a", "b"));
}

TEST(WorkQueueRateLimitTest, JitterSpreadsCappedRetriesWithTheSeededSource) {
  FakeClock clock;
  SeededRandom random(42);
  WorkQueue q(clock, BackoffPolicy{seconds(1), seconds(60), 0.1}, random);
  for (int i = 0; i < 10; ++i) q.AddRateLimited("a", std::nullopt, Priority::kNormal);
  for (int i = 0; i < 100; ++i) {
    const Duration d = q.AddRateLimited("a", std::nullopt, Priority::kNormal);
    EXPECT_GE(d, seconds(54));
    EXPECT_LE(d, seconds(66));
  }
}

// Get waits through the clock: these tests advance a fake clock instead of sleeping, and
// FakeClock::BlockUntilWaiters tells them when Get is waiting.
// Get blocks on the queue's clock: a fake clock releases it, and a second thread (std::async)
// shows that it wakes.
class WorkQueueGetTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeRandom random;
  WorkQueue q{clock, BackoffPolicy{}, random};
  std::stop_source stop;
};

TEST_F(WorkQueueGetTest, ReturnsDelayedItemWhenItBecomesReady) {
  const SteadyTime start = clock.Now();
  q.AddAfter("a", milliseconds(20), Priority::kNormal);
  auto got = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  EXPECT_EQ(clock.NextDeadline(), start + milliseconds(20));  // waits for the ready time
  clock.Advance(milliseconds(19));
  EXPECT_NE(got.wait_for(Duration::zero()), std::future_status::ready);
  clock.Advance(milliseconds(1));
  ASSERT_EQ(got.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
  EXPECT_EQ(clock.Now() - start, milliseconds(20));
}

TEST_F(WorkQueueGetTest, WakesOnAddFromAnotherThread) {
  auto got = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  q.Add("a", Priority::kNormal);
  ASSERT_EQ(got.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
}

TEST_F(WorkQueueGetTest, WakesEarlierWhenAnEarlierDelayedAddArrives) {
  q.AddAfter("late", std::chrono::hours(1), Priority::kNormal);
  auto got = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  q.AddAfter("soon", milliseconds(20), Priority::kNormal);
  clock.Advance(milliseconds(20));
  ASSERT_EQ(got.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "soon");
}

// Additions after the earliest delayed time and a Done that readies nothing do not wake the
// waiting workers (docs/benchmarks.md, "Where the CPU goes"); the waiter still gets the
// earliest item at its time, and an item readied by Done at once.
TEST_F(WorkQueueGetTest, UnwokenByLaterAdditionsStillHandsOutTheEarliestOnTime) {
  const SteadyTime start = clock.Now();
  q.Add("busy", Priority::kNormal);
  ASSERT_EQ(q.TryGet(), "busy");
  q.AddAfter("a", milliseconds(20), Priority::kNormal);
  auto got = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  q.AddAfter("later", std::chrono::hours(1), Priority::kNormal);
  q.Done("busy");  // readies nothing
  EXPECT_EQ(clock.NextDeadline(), start + milliseconds(20));
  clock.Advance(milliseconds(20));
  ASSERT_EQ(got.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");

  q.Add("a", Priority::kNormal);  // parked while "a" is processed
  auto next = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  q.Done("a");  // readies the parked "a"
  ASSERT_EQ(next.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(next.get(), "a");
}

// Of several idle workers one sleeps until the next ready time, the others until woken; items
// due together still reach as many workers, each handing the timed role on.
TEST_F(WorkQueueGetTest, OneWaiterIsTimedAndItemsDueTogetherReachEveryWaiter) {
  const SteadyTime start = clock.Now();
  q.AddAfter("a", milliseconds(20), Priority::kNormal);
  q.AddAfter("b", milliseconds(20), Priority::kNormal);
  auto first = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  auto second = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(2);
  EXPECT_EQ(clock.NextDeadline(), start + milliseconds(20));
  clock.Advance(milliseconds(20));
  ASSERT_EQ(first.wait_for(seconds(10)), std::future_status::ready);
  ASSERT_EQ(second.wait_for(seconds(10)), std::future_status::ready);
  std::vector<std::string> got = {*first.get(), *second.get()};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

// With a low-priority slot, resyncs due at jittered instants within one slot become ready
// together at its end (docs/benchmarks.md, "Idle CPU at 100k: batched resyncs"): one timed
// wake-up for the whole batch, which a worker then drains without waiting again.
TEST_F(WorkQueueGetTest, ResyncsDueWithinOneSlotAreHandedOutAfterOneWait) {
  WorkQueue slotted{clock, BackoffPolicy{}, random, nullptr, seconds(1)};
  const SteadyTime start = clock.Now();  // a whole second (FakeClock)
  clock.Advance(milliseconds(250));
  slotted.AddAfter("a", milliseconds(1300), Priority::kLow);     // due at 1.55 s
  slotted.AddAfter("b", milliseconds(1500), Priority::kLow);     // due at 1.75 s
  slotted.AddAfter("c", milliseconds(1750), Priority::kLow);     // due at 2.0 s: already aligned
  slotted.AddAfter("next", milliseconds(1760), Priority::kLow);  // 2.01 s: the next slot
  EXPECT_EQ(slotted.NextReadyTime(), start + seconds(2));
  auto got = std::async(std::launch::async, [&] { return slotted.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  EXPECT_EQ(clock.NextDeadline(), start + seconds(2));
  clock.Advance(milliseconds(1749));
  EXPECT_NE(got.wait_for(Duration::zero()), std::future_status::ready);
  clock.Advance(milliseconds(1));
  ASSERT_EQ(got.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
  EXPECT_EQ(slotted.Len(), 2u);  // b and c are ready with it: no further wait for them
  EXPECT_EQ(slotted.TryGet(), "b");
  EXPECT_EQ(slotted.TryGet(), "c");
  EXPECT_EQ(slotted.TryGet(), std::nullopt);
  EXPECT_EQ(slotted.NextReadyTime(), start + seconds(3));
}

// The daemon's slot: whole seconds at the default --resync 5m, a hundredth of a short period,
// so rounding up never delays a resync by more than 1 % of its period.
TEST(ResyncSlotTest, IsASecondOrAHundredthOfTheResyncPeriod) {
  EXPECT_EQ(ResyncSlot(std::chrono::minutes(5)), seconds(1));
  EXPECT_EQ(ResyncSlot(seconds(100)), seconds(1));
  EXPECT_EQ(ResyncSlot(seconds(20)), milliseconds(200));
  EXPECT_EQ(ResyncSlot(seconds(1)), milliseconds(10));
  EXPECT_EQ(ResyncSlot(Duration::max()), seconds(1));
}

// The slot gathers resyncs only: an edit, a poll or a retry keeps its exact time, and an
// immediate low-priority add is ready at once.
TEST_F(WorkQueueGetTest, OnlyDelayedLowPriorityAddsAreAligned) {
  WorkQueue slotted{clock, BackoffPolicy{}, random, nullptr, seconds(1)};
  const SteadyTime start = clock.Now();
  slotted.AddAfter("poll", milliseconds(20), Priority::kNormal);
  slotted.AddAfter("edit", milliseconds(30), Priority::kHigh);
  slotted.Add("now", Priority::kLow);
  slotted.AddAfter("resync", milliseconds(10), Priority::kLow);
  EXPECT_EQ(slotted.TryGet(), "now");
  clock.Advance(milliseconds(30));
  EXPECT_EQ(slotted.TryGet(), "edit");
  EXPECT_EQ(slotted.TryGet(), "poll");
  EXPECT_EQ(slotted.TryGet(), std::nullopt);
  EXPECT_EQ(slotted.NextReadyTime(), start + seconds(1));
  // A far resync saturates instead of overflowing.
  slotted.AddAfter("far", Duration::max(), Priority::kLow);
  EXPECT_EQ(slotted.DelayedLen(), 2u);
}

TEST_F(WorkQueueGetTest, StopRequestWakesBlockedGet) {
  q.AddAfter("a", std::chrono::hours(1), Priority::kNormal);
  auto got = std::async(std::launch::async, [&] { return q.Get(stop.get_token()); });
  clock.BlockUntilWaiters(1);
  stop.request_stop();
  ASSERT_EQ(got.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(got.get(), std::nullopt);
}

TEST_F(WorkQueueGetTest, ShutDownWakesEveryBlockedGet) {
  std::vector<std::future<std::optional<std::string>>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return q.Get(stop.get_token()); }));
  }
  clock.BlockUntilWaiters(3);
  q.ShutDown();
  for (auto& w : waiters) {
    ASSERT_EQ(w.wait_for(seconds(10)), std::future_status::ready);
    EXPECT_EQ(w.get(), std::nullopt);
  }
}

TEST_F(WorkQueueGetTest, ConcurrentWorkersNeverShareAKey) {
  constexpr int kKeys = 8;
  constexpr int kWorkers = 4;
  std::map<std::string, std::atomic<int>> in_flight;
  for (int i = 0; i < kKeys; ++i) {
    in_flight["k" + std::to_string(i)] = 0;
  }
  std::atomic<bool> overlap{false};
  std::atomic<int> handled{0};
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&] {
        while (auto key = q.Get(stop.get_token())) {
          if (in_flight.at(*key).fetch_add(1) != 0) {
            overlap = true;
          }
          std::this_thread::yield();
          in_flight.at(*key).fetch_sub(1);
          ++handled;
          q.Done(*key);
        }
      });
    }
    for (int round = 0; round < 2000; ++round) {
      q.Add("k" + std::to_string(round % kKeys), Priority::kNormal);
    }
    // Drained: every worker waits in Get and nothing is pending or in flight. (A worker the
    // last add woke still counts as waiting until it runs, hence the re-check.)
    const auto idle = [&] {
      if (q.Len() > 0 || q.NextReadyTime().has_value()) return false;
      for (const auto& [key, n] : in_flight) {
        if (q.IsProcessing(key)) return false;
      }
      return true;
    };
    do {
      clock.BlockUntilWaiters(kWorkers);
      std::this_thread::yield();
    } while (!idle());
    q.ShutDown();
  }
  EXPECT_FALSE(overlap);
  EXPECT_GE(handled.load(), kKeys);
  EXPECT_LE(handled.load(), 2000);
}

}  // namespace
}  // namespace mactl
