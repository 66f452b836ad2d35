// The manifest watcher's timers as pure logic, on a FakeClock: every expectation is exact.

#include "controller/runtime/scan_schedule.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

constexpr Duration kDebounce = 200ms;
constexpr Duration kRescan = 30s;

TEST(ScanScheduleTest, ReasonNamesAreTheCallbacksWords) {
  EXPECT_EQ(ScanReasonName(ScanReason::kSignal), "signal");
  EXPECT_EQ(ScanReasonName(ScanReason::kInotify), "inotify");
  EXPECT_EQ(ScanReasonName(ScanReason::kPeriodic), "periodic");
}

TEST(ScanScheduleTest, ARescanIntervalNearTheLargestDurationMeansNeverNotThePast) {
  FakeClock clock;
  // The duration parser accepts up to the largest Duration (about 292 years); added to the
  // clock it overflowed into the past, and a rescan ran at once and then constantly.
  ScanSchedule schedule(kDebounce, Duration::max(), clock.Now());
  EXPECT_EQ(schedule.NextDue(), SteadyTime::max());
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);
  schedule.Request();
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kSignal);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);
}

TEST(ScanScheduleTest, NothingIsDueBeforeTheFirstRescan) {
  FakeClock clock;
  ScanSchedule schedule(kDebounce, kRescan, clock.Now());
  EXPECT_EQ(schedule.NextDue(), clock.Now() + kRescan);
  clock.Advance(kRescan - 1ns);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);
}

TEST(ScanScheduleTest, AChangeIsScannedExactlyOneDebounceLater) {
  FakeClock clock;
  const SteadyTime changed = clock.Now();
  ScanSchedule schedule(kDebounce, kRescan, changed);
  schedule.OnChange(changed);
  EXPECT_EQ(schedule.NextDue(), changed + kDebounce);
  clock.Advance(kDebounce - 1ns);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);
  clock.Advance(1ns);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kInotify);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);  // taken once
  EXPECT_EQ(schedule.NextDue(), changed + kRescan);        // only the periodic rescan is left
}

TEST(ScanScheduleTest, EachChangeOfABurstPushesTheScanBack) {
  FakeClock clock;
  ScanSchedule schedule(kDebounce, kRescan, clock.Now());
  for (int i = 0; i < 3; ++i) {
    schedule.OnChange(clock.Now());
    clock.Advance(150ms);
    EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt) << "change " << i;
  }
  // The last change was 150 ms ago: due 50 ms from now.
  EXPECT_EQ(schedule.NextDue(), clock.Now() + 50ms);
  clock.Advance(50ms);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kInotify);
}

TEST(ScanScheduleTest, AnEndlessBurstIsStillScannedEveryMaxHold) {
  FakeClock clock;
  ScanSchedule schedule(kDebounce, kRescan, clock.Now());
  const SteadyTime first = clock.Now();
  std::vector<SteadyTime> scans;
  // A change every 100 ms for 2.5 s: the debounce alone would never fire.
  for (int i = 0; i < 25; ++i) {
    schedule.OnChange(clock.Now());
    clock.Advance(100ms);
    if (schedule.TakeDue(clock.Now()) == ScanReason::kInotify) scans.push_back(clock.Now());
  }
  ASSERT_EQ(scans.size(), 2u);
  EXPECT_EQ(scans[0], first + ScanSchedule::kMaxHold);
  // The next burst starts with the next change, at the instant of that scan.
  EXPECT_EQ(scans[1], first + 2 * ScanSchedule::kMaxHold);
}

TEST(ScanScheduleTest, PeriodicRescanEveryIntervalFromTheLastOne) {
  FakeClock clock;
  const SteadyTime start = clock.Now();
  ScanSchedule schedule(kDebounce, kRescan, start);
  clock.Advance(kRescan);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.NextDue(), start + 2 * kRescan);
  // Taken late (the previous scan ran long): the next is an interval after it, no catch-up.
  clock.Advance(kRescan + 5s);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);
  EXPECT_EQ(schedule.NextDue(), clock.Now() + kRescan);
}

TEST(ScanScheduleTest, ARequestIsDueAtOnceAndCoversAPendingChange) {
  FakeClock clock;
  ScanSchedule schedule(kDebounce, kRescan, clock.Now());
  schedule.OnChange(clock.Now());
  schedule.Request();
  EXPECT_LE(schedule.NextDue(), clock.Now());
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kSignal);
  clock.Advance(kDebounce);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);  // the change was scanned with it
}

TEST(ScanScheduleTest, WhenSeveralAreDueARequestComesFirstThenChangesThenPeriodic) {
  FakeClock clock;
  ScanSchedule schedule(kDebounce, kRescan, clock.Now());
  clock.Advance(kRescan - kDebounce);
  schedule.OnChange(clock.Now());
  clock.Advance(kDebounce);  // the change and the rescan fall due together
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kInotify);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);

  schedule.OnChange(clock.Now());
  clock.Advance(kRescan);  // both due again, and a request on top
  schedule.Request();
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kSignal);  // covers the change too
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), std::nullopt);
}

TEST(ScanScheduleTest, APeriodicRescanLeavesAPendingBurstPending) {
  FakeClock clock;
  ScanSchedule schedule(kDebounce, kRescan, clock.Now());
  clock.Advance(kRescan - 100ms);
  const SteadyTime changed = clock.Now();
  schedule.OnChange(changed);
  clock.Advance(100ms);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.NextDue(), changed + kDebounce);
  clock.Advance(100ms);
  EXPECT_EQ(schedule.TakeDue(clock.Now()), ScanReason::kInotify);
}

}  // namespace
}  // namespace mactl
