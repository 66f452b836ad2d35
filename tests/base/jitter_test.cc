#include "controller/base/jitter.h"

#include <gtest/gtest.h>

#include <chrono>

#include "fakes/fake_random.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeRandom;

TEST(JitteredTest, ZeroFractionReturnsInputAndDrawsNothing) {
  FakeRandom rng({0.0, 1.0});
  EXPECT_EQ(Jittered(seconds(10), 0.0, rng), seconds(10));
  // The first value is still unused: the next draw returns 0.0, i.e. the lower bound.
  EXPECT_EQ(Jittered(seconds(10), 0.1, rng), seconds(9));
}

TEST(JitteredTest, MapsUniformDrawOntoSymmetricRange) {
  FakeRandom rng({0.0, 0.25, 0.5, 0.75});
  EXPECT_EQ(Jittered(seconds(100), 0.1, rng), seconds(90));
  EXPECT_EQ(Jittered(seconds(100), 0.1, rng), seconds(95));
  EXPECT_EQ(Jittered(seconds(100), 0.1, rng), seconds(100));
  EXPECT_EQ(Jittered(seconds(100), 0.1, rng), seconds(105));
}

TEST(JitteredTest, UpperBoundIsApproachedFromBelow) {
  // Uniform01 is in [0, 1): the largest value lands just under d·(1+f).
  FakeRandom rng({0.999999});
  const Duration d = Jittered(seconds(100), 0.1, rng);
  EXPECT_LT(d, seconds(110));
  EXPECT_GT(d, milliseconds(109990));
}

TEST(JitteredTest, FractionAboveOneIsClampedSoResultIsNeverNegative) {
  FakeRandom rng({0.0, 0.9});
  EXPECT_EQ(Jittered(seconds(10), 5.0, rng), Duration::zero());
  EXPECT_EQ(Jittered(seconds(10), 5.0, rng), seconds(18));
}

TEST(JitteredTest, NonPositiveDurationPassesThrough) {
  FakeRandom rng({0.0});
  EXPECT_EQ(Jittered(Duration::zero(), 0.5, rng), Duration::zero());
  EXPECT_EQ(Jittered(-seconds(1), 0.5, rng), -seconds(1));
}

TEST(JitteredTest, HugeDurationSaturatesInsteadOfOverflowing) {
  FakeRandom rng({0.99});
  EXPECT_EQ(Jittered(Duration::max(), 0.1, rng), Duration::max());
}

TEST(JitteredTest, SeededSourceStaysWithinBounds) {
  SeededRandom rng(42);
  Duration lowest = Duration::max();
  Duration highest = Duration::zero();
  for (int i = 0; i < 10000; ++i) {
    const Duration d = Jittered(seconds(300), 0.1, rng);
    ASSERT_GE(d, seconds(270));
    ASSERT_LE(d, seconds(330));
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
  }
  // The spread is actually used, not collapsed onto one value.
  EXPECT_LT(lowest, seconds(275));
  EXPECT_GT(highest, seconds(325));
}

TEST(JitteredBeforeSlotTest, RangeEndsOneSlotBelowTheJitteredRange) {
  FakeRandom rng({0.0, 0.5, 0.999999});
  EXPECT_EQ(JitteredBeforeSlot(seconds(300), 0.1, seconds(1), rng), seconds(270));
  EXPECT_EQ(JitteredBeforeSlot(seconds(300), 0.1, seconds(1), rng), milliseconds(299500));
  const Duration top = JitteredBeforeSlot(seconds(300), 0.1, seconds(1), rng);
  EXPECT_LT(top, seconds(329));
  EXPECT_GT(top, milliseconds(328990));
}

TEST(JitteredBeforeSlotTest, AlignedUpItStaysWithinTheJitter) {
  // The property the work queue relies on: now + delay, rounded up to the slot, is within
  // [0.9·d, 1.1·d] of now, whatever now's place in its slot.
  for (const Duration into : {milliseconds(0), milliseconds(1), milliseconds(999)}) {
    const SteadyTime now = SteadyTime{std::chrono::hours(7)} + into;
    FakeRandom rng({0.0, 0.999999});
    for (int i = 0; i < 2; ++i) {
      const Duration delay = JitteredBeforeSlot(seconds(300), 0.1, seconds(1), rng);
      const Duration waited = AlignedUp(now + delay, seconds(1)) - now;
      EXPECT_GE(waited, seconds(270));
      EXPECT_LE(waited, seconds(330));
    }
  }
}

TEST(JitteredBeforeSlotTest, NoSlotIsJitteredAndTooWideASlotIsTheLowerBound) {
  FakeRandom a({0.75});
  FakeRandom b({0.75});
  EXPECT_EQ(JitteredBeforeSlot(seconds(100), 0.1, Duration::zero(), a),
            Jittered(seconds(100), 0.1, b));
  FakeRandom c({0.75});
  EXPECT_EQ(JitteredBeforeSlot(seconds(10), 0.1, seconds(5), c), seconds(9));
  FakeRandom d({0.75});
  EXPECT_EQ(JitteredBeforeSlot(seconds(10), 0.0, seconds(1), d), seconds(10));
}

TEST(AlignedUpTest, RoundsUpToTheNextMultipleOfTheSlot) {
  const SteadyTime whole{std::chrono::hours(1000)};
  EXPECT_EQ(AlignedUp(whole, seconds(1)), whole);  // already on a boundary
  EXPECT_EQ(AlignedUp(whole + milliseconds(1), seconds(1)), whole + seconds(1));
  EXPECT_EQ(AlignedUp(whole + milliseconds(999), seconds(1)), whole + seconds(1));
  EXPECT_EQ(AlignedUp(whole + seconds(1), seconds(1)), whole + seconds(1));
  EXPECT_EQ(AlignedUp(whole + milliseconds(1500), milliseconds(250)), whole + milliseconds(1500));
  EXPECT_EQ(AlignedUp(whole + milliseconds(1501), milliseconds(250)), whole + milliseconds(1750));
}

TEST(AlignedUpTest, NonPositiveSlotKeepsTheTime) {
  const SteadyTime t{std::chrono::nanoseconds(123456789)};
  EXPECT_EQ(AlignedUp(t, Duration::zero()), t);
  EXPECT_EQ(AlignedUp(t, -seconds(1)), t);
}

TEST(AlignedUpTest, TimesBeforeTheEpochAndAtTheEndOfTime) {
  EXPECT_EQ(AlignedUp(SteadyTime{-milliseconds(300)}, seconds(1)), SteadyTime{});
  EXPECT_EQ(AlignedUp(SteadyTime{-milliseconds(1300)}, seconds(1)), SteadyTime{-seconds(1)});
  EXPECT_EQ(AlignedUp(SteadyTime::max(), seconds(1)), SteadyTime::max());
}

}  // namespace
}  // namespace mactl
