#include "controller/cloud/token_bucket_throttle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;

class WaitRecorder {
 public:
  std::function<void(Duration)> Callback() {
    return [this](Duration d) {
      std::lock_guard lock(mu_);
      waits_.push_back(d);
    };
  }
  std::vector<Duration> Waits() {
    std::lock_guard lock(mu_);
    return waits_;
  }

 private:
  std::mutex mu_;
  std::vector<Duration> waits_;  // guarded by mu_
};

// Bounds a wait for another thread to finish, so a broken throttle fails the test instead of
// hanging it; a correct one is released by the fake clock long before.
constexpr seconds kPatience{10};

bool Finished(std::future<bool>& f) { return f.wait_for(seconds(0)) == std::future_status::ready; }

TEST(TokenBucketThrottleTest, WaitsOnTheClockForExactlyTheReservedSlot) {
  FakeClock clock;
  TokenBucket bucket(50, 1, clock);  // one token every 20 ms
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());
  ASSERT_TRUE(throttle.Acquire());  // the burst: no wait, so no waiter on the clock
  EXPECT_EQ(clock.Waiters(), 0u);

  auto second = std::async(std::launch::async, [&] { return throttle.Acquire(); });
  clock.BlockUntilWaiters(1);
  EXPECT_EQ(clock.NextDeadline() - clock.Now(), milliseconds(20));
  clock.Advance(milliseconds(19));
  EXPECT_FALSE(Finished(second));  // a millisecond short of its slot: still waiting
  clock.Advance(milliseconds(1));
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(second.get());
  EXPECT_EQ(recorder.Waits(), (std::vector<Duration>{Duration::zero(), milliseconds(20)}));
}

TEST(TokenBucketThrottleTest, RequestsPastTheBurstWaitOneIntervalMoreEach) {
  FakeClock clock;
  TokenBucket bucket(10, 3, clock);  // 100 ms interval, 3 at once
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(throttle.Acquire()) << "request " << i;
  }
  EXPECT_EQ(clock.Waiters(), 0u);

  auto fourth = std::async(std::launch::async, [&] { return throttle.Acquire(); });
  clock.BlockUntilWaiters(1);
  auto fifth = std::async(std::launch::async, [&] { return throttle.Acquire(); });
  clock.BlockUntilWaiters(2);
  EXPECT_EQ(recorder.Waits(),
            (std::vector<Duration>{Duration::zero(), Duration::zero(), Duration::zero(),
                                   milliseconds(100), milliseconds(200)}));
  EXPECT_EQ(clock.NextDeadline() - clock.Now(), milliseconds(100));

  clock.Advance(milliseconds(100));
  ASSERT_EQ(fourth.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(fourth.get());
  EXPECT_FALSE(Finished(fifth));
  EXPECT_EQ(clock.NextDeadline() - clock.Now(), milliseconds(100));
  clock.Advance(milliseconds(100));
  ASSERT_EQ(fifth.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(fifth.get());
}

TEST(TokenBucketThrottleTest, StopWakesALongWaitAtOnce) {
  FakeClock clock;                      // never advanced: only the stop can end the wait
  TokenBucket bucket(0.001, 1, clock);  // the second token is 1000 s away
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());
  ASSERT_TRUE(throttle.Acquire());

  auto second = std::async(std::launch::async, [&] { return throttle.Acquire(); });
  clock.BlockUntilWaiters(1);
  stop.request_stop();
  ASSERT_EQ(second.wait_for(kPatience), std::future_status::ready);
  EXPECT_FALSE(second.get());
  const std::vector<Duration> waits = recorder.Waits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[1], seconds(1000));
}

TEST(TokenBucketThrottleTest, StopWakesEveryWaiter) {
  FakeClock clock;
  TokenBucket bucket(0.001, 1, clock);
  std::stop_source stop;
  TokenBucketThrottle throttle(bucket, stop.get_token(), nullptr);
  ASSERT_TRUE(throttle.Acquire());
  std::vector<std::future<bool>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return throttle.Acquire(); }));
  }
  clock.BlockUntilWaiters(3);
  stop.request_stop();
  for (auto& w : waiters) {
    ASSERT_EQ(w.wait_for(kPatience), std::future_status::ready);
    EXPECT_FALSE(w.get());
  }
}

TEST(TokenBucketThrottleTest, AlreadyStoppedReturnsFalseWithoutTakingAToken) {
  FakeClock clock;
  TokenBucket bucket(1, 1, clock);
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());
  stop.request_stop();
  EXPECT_FALSE(throttle.Acquire());
  EXPECT_TRUE(recorder.Waits().empty());
  EXPECT_EQ(bucket.Reserve(), Duration::zero());  // the one token is still there
}

TEST(TokenBucketThrottleTest, UnlimitedBucketNeverWaits) {
  FakeClock clock;  // never advances: any real wait would hang the test
  TokenBucket bucket(0, 1, clock);
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(throttle.Acquire());
  }
  EXPECT_EQ(recorder.Waits(), std::vector<Duration>(100, Duration::zero()));
}

}  // namespace
}  // namespace mactl
