#include "controller/runtime/backoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <thread>
#include <vector>

#include "fakes/fake_random.h"

namespace mactl {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::FakeRandom;

// u = 0.5 is the midpoint of the jitter range: the delay is exactly the un-jittered value.
class ItemBackoffTest : public ::testing::Test {
 protected:
  FakeRandom rng_{{0.5}};
  ItemBackoff backoff_{BackoffPolicy{}, rng_};
};

TEST_F(ItemBackoffTest, DefaultsMatchTheContract) {
  const BackoffPolicy policy;
  EXPECT_EQ(policy.base, seconds(1));
  EXPECT_EQ(policy.max, minutes(5));
  EXPECT_DOUBLE_EQ(policy.jitter, 0.1);
}

TEST_F(ItemBackoffTest, DoublesFromBaseAndCapsAtMax) {
  const std::vector<Duration> expected = {seconds(1),   seconds(2),  seconds(4),  seconds(8),
                                          seconds(16),  seconds(32), seconds(64), seconds(128),
                                          seconds(256), minutes(5),  minutes(5)};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(backoff_.NextDelay("a"), expected[i]) << "failure " << i + 1;
  }
  EXPECT_EQ(backoff_.Failures("a"), static_cast<int>(expected.size()));
}

TEST_F(ItemBackoffTest, KeysAreIndependent) {
  EXPECT_EQ(backoff_.NextDelay("a"), seconds(1));
  EXPECT_EQ(backoff_.NextDelay("a"), seconds(2));
  EXPECT_EQ(backoff_.NextDelay("b"), seconds(1));
  EXPECT_EQ(backoff_.Failures("a"), 2);
  EXPECT_EQ(backoff_.Failures("b"), 1);
  EXPECT_EQ(backoff_.Failures("c"), 0);
}

TEST_F(ItemBackoffTest, ResetStartsOverFromBase) {
  backoff_.NextDelay("a");
  backoff_.NextDelay("a");
  backoff_.NextDelay("a");
  backoff_.Reset("a");
  EXPECT_EQ(backoff_.Failures("a"), 0);
  EXPECT_EQ(backoff_.NextDelay("a"), seconds(1));
  backoff_.Reset("never-failed");  // harmless
}

TEST_F(ItemBackoffTest, JitterSpreadsAroundTheExponentialValue) {
  rng_.Set({0.0, 1.0, 0.0, 0.25});
  EXPECT_EQ(backoff_.NextDelay("a"), milliseconds(900));   // 1s − 10 %
  EXPECT_EQ(backoff_.NextDelay("a"), milliseconds(2200));  // 2s + 10 %
  EXPECT_EQ(backoff_.NextDelay("a"), milliseconds(3600));  // 4s − 10 %
  EXPECT_EQ(backoff_.NextDelay("a"), milliseconds(7600));  // 8s − 5 %
}

TEST_F(ItemBackoffTest, CappedDelayIsStillSpread) {
  for (int i = 0; i < 20; ++i) {
    backoff_.NextDelay("a");
  }
  rng_.Set({0.0, 0.999});
  EXPECT_EQ(backoff_.NextDelay("a"), seconds(270));
  const Duration high = backoff_.NextDelay("a");
  EXPECT_GT(high, seconds(329));
  EXPECT_LT(high, seconds(330));
}

TEST_F(ItemBackoffTest, ManyFailuresNeverOverflow) {
  for (int i = 0; i < 200; ++i) {
    const Duration d = backoff_.NextDelay("a");
    ASSERT_GT(d, Duration::zero()) << "failure " << i + 1;
    ASSERT_LE(d, minutes(5));
  }
  EXPECT_EQ(backoff_.Failures("a"), 200);
}

TEST(ItemBackoffLimitsTest, HugeBaseAndMaxDoNotOverflow) {
  FakeRandom rng({0.5});
  ItemBackoff backoff(BackoffPolicy{hours(1), Duration::max(), 0.0}, rng);
  Duration previous = Duration::zero();
  for (int i = 0; i < 100; ++i) {
    const Duration d = backoff.NextDelay("a");
    ASSERT_GE(d, previous) << "failure " << i + 1;
    previous = d;
  }
  EXPECT_EQ(previous, Duration::max());
}

TEST(ItemBackoffLimitsTest, MaxBelowBaseCapsFirstDelay) {
  FakeRandom rng({0.5});
  ItemBackoff backoff(BackoffPolicy{seconds(10), seconds(3), 0.1}, rng);
  EXPECT_EQ(backoff.NextDelay("a"), seconds(3));
}

TEST(ItemBackoffLimitsTest, NoJitterGivesExactValues) {
  FakeRandom rng({0.0});
  ItemBackoff backoff(BackoffPolicy{milliseconds(250), seconds(1), 0.0}, rng);
  EXPECT_EQ(backoff.NextDelay("a"), milliseconds(250));
  EXPECT_EQ(backoff.NextDelay("a"), milliseconds(500));
  EXPECT_EQ(backoff.NextDelay("a"), seconds(1));
  EXPECT_EQ(backoff.NextDelay("a"), seconds(1));
}

TEST_F(ItemBackoffTest, RetryAfterIsAFloor) {
  EXPECT_EQ(backoff_.NextDelay("a", seconds(30)), seconds(30));       // 1s < 30s
  EXPECT_EQ(backoff_.NextDelay("a", milliseconds(100)), seconds(2));  // 2s > 100ms
  EXPECT_EQ(backoff_.Failures("a"), 2);  // a Retry-After failure still counts
}

TEST_F(ItemBackoffTest, RetryAfterAboveMaxIsHonoured) {
  EXPECT_EQ(backoff_.NextDelay("a", minutes(20)), minutes(20));
}

TEST_F(ItemBackoffTest, AbsurdRetryAfterIsClampedToOneHour) {
  EXPECT_EQ(backoff_.NextDelay("a", hours(24 * 365)), hours(1));
  EXPECT_EQ(backoff_.NextDelay("a", Duration::max()), ItemBackoff::kMaxRetryAfter);
}

TEST_F(ItemBackoffTest, NegativeRetryAfterIsIgnored) {
  EXPECT_EQ(backoff_.NextDelay("a", -seconds(5)), seconds(1));
}

TEST(ItemBackoffConcurrencyTest, CountsEveryFailureFromManyThreads) {
  SeededRandom rng(7);
  ItemBackoff backoff(BackoffPolicy{}, rng);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&backoff] {
        for (int i = 0; i < 1000; ++i) {
          backoff.NextDelay("shared");
        }
      });
    }
  }
  EXPECT_EQ(backoff.Failures("shared"), 4000);
}

}  // namespace
}  // namespace mactl
