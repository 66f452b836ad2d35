#include "controller/cloud/token_bucket_throttle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

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

TEST(TokenBucketThrottleTest, SleepsForTheReservedWaitAndReportsIt) {
  const SystemClock clock;
  TokenBucket bucket(50, 1, clock);  // one token every 20 ms
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());

  EXPECT_TRUE(throttle.Acquire());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(throttle.Acquire());
  const auto took = std::chrono::steady_clock::now() - start;

  const std::vector<Duration> waits = recorder.Waits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0], Duration::zero());
  EXPECT_GT(waits[1], Duration::zero());
  EXPECT_LE(waits[1], milliseconds(20));
  EXPECT_GE(took, waits[1]);
  EXPECT_LT(took, seconds(2));
}

TEST(TokenBucketThrottleTest, StopWakesALongWaitPromptly) {
  const SystemClock clock;
  TokenBucket bucket(0.001, 1, clock);  // the second token is 1000 s away
  std::stop_source stop;
  WaitRecorder recorder;
  TokenBucketThrottle throttle(bucket, stop.get_token(), recorder.Callback());
  ASSERT_TRUE(throttle.Acquire());

  auto second = std::async(std::launch::async, [&] { return throttle.Acquire(); });
  std::this_thread::sleep_for(milliseconds(20));
  stop.request_stop();
  ASSERT_EQ(second.wait_for(seconds(2)), std::future_status::ready);
  EXPECT_FALSE(second.get());
  const std::vector<Duration> waits = recorder.Waits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_GT(waits[1], seconds(900));
}

TEST(TokenBucketThrottleTest, StopWakesEveryWaiter) {
  const SystemClock clock;
  TokenBucket bucket(0.001, 1, clock);
  std::stop_source stop;
  TokenBucketThrottle throttle(bucket, stop.get_token(), nullptr);
  ASSERT_TRUE(throttle.Acquire());
  std::vector<std::future<bool>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return throttle.Acquire(); }));
  }
  std::this_thread::sleep_for(milliseconds(20));
  stop.request_stop();
  for (auto& w : waiters) {
    ASSERT_EQ(w.wait_for(seconds(2)), std::future_status::ready);
    EXPECT_FALSE(w.get());
  }
}

TEST(TokenBucketThrottleTest, AlreadyStoppedReturnsFalseWithoutTakingAToken) {
  testing::FakeClock clock;
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
  testing::FakeClock clock;  // never advances: any real wait would hang the test
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
