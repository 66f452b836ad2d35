#include "controller/cloud/token_bucket.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;

TEST(TokenBucketTest, BurstPassesAtOnceThenNextWaitsOneInterval) {
  FakeClock clock;
  TokenBucket bucket(10, 5, clock);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(bucket.Reserve(), Duration::zero()) << "request " << i;
  }
  EXPECT_EQ(bucket.Reserve(), milliseconds(100));
}

TEST(TokenBucketTest, CallerThatWaitsIsPacedAtQps) {
  FakeClock clock;
  TokenBucket bucket(10, 5, clock);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(bucket.Reserve(), Duration::zero());
  }
  const SteadyTime start = clock.Now();
  for (int i = 0; i < 100; ++i) {
    const Duration wait = bucket.Reserve();
    ASSERT_EQ(wait, milliseconds(100)) << "request " << i;
    clock.Advance(wait);
  }
  EXPECT_EQ(clock.Now() - start, seconds(10));
}

TEST(TokenBucketTest, SteadyTrafficAtQpsNeverWaits) {
  FakeClock clock;
  TokenBucket bucket(10, 1, clock);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(bucket.Reserve(), Duration::zero()) << "request " << i;
    clock.Advance(milliseconds(100));
  }
}

TEST(TokenBucketTest, RefillAfterIdleNeverExceedsBurst) {
  FakeClock clock;
  TokenBucket bucket(10, 5, clock);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(bucket.Reserve(), Duration::zero());
  }
  clock.Advance(hours(1));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(bucket.Reserve(), Duration::zero()) << "request " << i;
  }
  EXPECT_EQ(bucket.Reserve(), milliseconds(100));
}

TEST(TokenBucketTest, PartialRefillGivesFractionalCredit) {
  FakeClock clock;
  TokenBucket bucket(10, 5, clock);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(bucket.Reserve(), Duration::zero());
  }
  clock.Advance(milliseconds(250));  // 2.5 tokens back
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), milliseconds(50));
}

TEST(TokenBucketTest, SimultaneousReservationsGetExactIncreasingWaits) {
  FakeClock clock;
  constexpr int kBurst = 20;
  constexpr int kRequests = 50;
  TokenBucket bucket(10, kBurst, clock);
  for (int i = 0; i < kRequests; ++i) {
    const Duration expected = milliseconds(100) * std::max(0, i + 1 - kBurst);
    EXPECT_EQ(bucket.Reserve(), expected) << "request " << i;
  }
}

TEST(TokenBucketTest, BorrowedTokensAreRepaidBeforeNewOnesAccrue) {
  FakeClock clock;
  TokenBucket bucket(10, 2, clock);
  for (int i = 0; i < 6; ++i) {
    bucket.Reserve();  // 2 free, 4 borrowed: tat is 400 ms past "full"
  }
  clock.Advance(milliseconds(300));
  EXPECT_EQ(bucket.Reserve(), milliseconds(200));  // the 7th slot: 500 ms after start
}

TEST(TokenBucketTest, FractionalQps) {
  FakeClock clock;
  TokenBucket bucket(0.5, 1, clock);
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), seconds(2));
  EXPECT_EQ(bucket.Reserve(), seconds(4));
  clock.Advance(seconds(4));
  EXPECT_EQ(bucket.Reserve(), seconds(2));
  clock.Advance(seconds(10));
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), seconds(2));
}

TEST(TokenBucketTest, NonIntegralIntervalDoesNotDrift) {
  FakeClock clock;
  TokenBucket bucket(3, 1, clock);
  ASSERT_EQ(bucket.Reserve(), Duration::zero());
  Duration last{};
  for (int i = 0; i < 3000; ++i) {
    last = bucket.Reserve();
  }
  // 3000 borrowed slots at 3 per second: exactly 1000 s, to the nanosecond.
  EXPECT_EQ(last, seconds(1000));
}

TEST(TokenBucketTest, NonPositiveQpsIsUnlimited) {
  FakeClock clock;
  TokenBucket zero(0, 1, clock);
  TokenBucket negative(-5, 1, clock);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(zero.Reserve(), Duration::zero());
    ASSERT_EQ(negative.Reserve(), Duration::zero());
  }
}

TEST(TokenBucketTest, BurstBelowOneActsAsOne) {
  FakeClock clock;
  TokenBucket bucket(10, 0, clock);
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), milliseconds(100));
}

TEST(TokenBucketTest, TinyQpsDoesNotOverflow) {
  FakeClock clock;
  TokenBucket bucket(1e-300, 1, clock);
  EXPECT_EQ(bucket.Reserve(), Duration::zero());
  EXPECT_EQ(bucket.Reserve(), seconds(1000000));  // clamped to kMinQps
}

TEST(TokenBucketTest, ConcurrentCallersEachGetTheirOwnSlot) {
  FakeClock clock;
  TokenBucket bucket(10, 1, clock);
  std::mutex mu;
  std::vector<Duration> waits;  // guarded by mu
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 250; ++i) {
          const Duration w = bucket.Reserve();
          std::lock_guard lock(mu);
          waits.push_back(w);
        }
      });
    }
  }
  std::sort(waits.begin(), waits.end());
  ASSERT_EQ(waits.size(), 1000u);
  for (std::size_t i = 0; i < waits.size(); ++i) {
    ASSERT_EQ(waits[i], milliseconds(100) * static_cast<int>(i)) << "slot " << i;
  }
}

}  // namespace
}  // namespace mactl
