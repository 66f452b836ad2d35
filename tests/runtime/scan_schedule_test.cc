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

constexpr Duration kCoalesce = ScanSchedule::kCoalesceWindow;
constexpr Duration kDebounce = 200ms;
constexpr Duration kRescan = 30s;

std::optional<ScanReason> Reason(const std::optional<ScanRequest>& request) {
  if (!request) return std::nullopt;
  return request->reason;
}

TEST(ScanScheduleTest, ReasonNamesAreTheCallbacksWords) {
  EXPECT_EQ(ScanReasonName(ScanReason::kSignal), "signal");
  EXPECT_EQ(ScanReasonName(ScanReason::kInotify), "inotify");
  EXPECT_EQ(ScanReasonName(ScanReason::kPeriodic), "periodic");
}

TEST(ScanScheduleTest, ARescanIntervalNearTheLargestDurationMeansNeverNotThePast) {
  FakeClock clock;
  // The duration parser accepts up to the largest Duration (about 292 years); added to the
  // clock it overflowed into the past, and a rescan ran at once and then constantly.
  ScanSchedule schedule({kCoalesce, kDebounce, Duration::max()}, clock.Now());
  EXPECT_EQ(schedule.NextDue(), SteadyTime::max());
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);
  schedule.Request();
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kSignal);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);
}

TEST(ScanScheduleTest, NothingIsDueBeforeTheFirstRescan) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  EXPECT_EQ(schedule.NextDue(), clock.Now() + kRescan);
  clock.Advance(kRescan - 1ns);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);
}

TEST(ScanScheduleTest, AFileStillBeingWrittenIsScannedExactlyOneDebounceLater) {
  FakeClock clock;
  const SteadyTime changed = clock.Now();
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, changed);
  schedule.OnChange(changed, ChangeKind::kWriting, "a.yaml");
  EXPECT_EQ(schedule.NextDue(), changed + kDebounce);
  clock.Advance(kDebounce - 1ns);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);
  clock.Advance(1ns);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kInotify);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);  // taken once
  EXPECT_EQ(schedule.NextDue(), changed + kRescan);  // only the periodic rescan is left
}

TEST(ScanScheduleTest, EachChangeOfABurstPushesTheScanBack) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  for (int i = 0; i < 3; ++i) {
    schedule.OnChange(clock.Now(), ChangeKind::kWriting, "a.yaml");
    clock.Advance(150ms);
    EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt) << "change " << i;
  }
  // The last change was 150 ms ago: due 50 ms from now.
  EXPECT_EQ(schedule.NextDue(), clock.Now() + 50ms);
  clock.Advance(50ms);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kInotify);
}

TEST(ScanScheduleTest, AnEndlessBurstIsStillScannedEveryMaxHold) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  const SteadyTime first = clock.Now();
  std::vector<SteadyTime> scans;
  // A change every 100 ms for 2.5 s: the debounce alone would never fire.
  for (int i = 0; i < 25; ++i) {
    schedule.OnChange(clock.Now(), ChangeKind::kWriting, "a.yaml");
    clock.Advance(100ms);
    if (Reason(schedule.TakeDue(clock.Now())) == ScanReason::kInotify) scans.push_back(clock.Now());
  }
  ASSERT_EQ(scans.size(), 2u);
  EXPECT_EQ(scans[0], first + ScanSchedule::kMaxHold);
  // The next burst starts with the next change, at the instant of that scan.
  EXPECT_EQ(scans[1], first + 2 * ScanSchedule::kMaxHold);
}

TEST(ScanScheduleTest, PeriodicRescanEveryIntervalFromTheLastOne) {
  FakeClock clock;
  const SteadyTime start = clock.Now();
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, start);
  clock.Advance(kRescan);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.NextDue(), start + 2 * kRescan);
  // Taken late (the previous scan ran long): the next is an interval after it, no catch-up.
  clock.Advance(kRescan + 5s);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kPeriodic);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);
  EXPECT_EQ(schedule.NextDue(), clock.Now() + kRescan);
}

TEST(ScanScheduleTest, ARequestIsDueAtOnceAndCoversAPendingChange) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  schedule.OnChange(clock.Now(), ChangeKind::kWriting, "a.yaml");
  schedule.Request();
  EXPECT_LE(schedule.NextDue(), clock.Now());
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kSignal);
  clock.Advance(kDebounce);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);  // the change was scanned with it
}

TEST(ScanScheduleTest, WhenSeveralAreDueARequestComesFirstThenChangesThenPeriodic) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  clock.Advance(kRescan - kDebounce);
  schedule.OnChange(clock.Now(), ChangeKind::kWriting, "a.yaml");
  clock.Advance(kDebounce);  // the change and the rescan fall due together
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kInotify);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kPeriodic);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);

  schedule.OnChange(clock.Now(), ChangeKind::kWriting, "a.yaml");
  clock.Advance(kRescan);  // both due again, and a request on top
  schedule.Request();
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kSignal);  // covers the change too
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kPeriodic);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), std::nullopt);
}

TEST(ScanScheduleTest, APeriodicRescanLeavesAPendingBurstPending) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  clock.Advance(kRescan - 100ms);
  const SteadyTime changed = clock.Now();
  schedule.OnChange(changed, ChangeKind::kWriting, "a.yaml");
  clock.Advance(100ms);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kPeriodic);
  EXPECT_EQ(schedule.NextDue(), changed + kDebounce);
  clock.Advance(100ms);
  EXPECT_EQ(Reason(schedule.TakeDue(clock.Now())), ScanReason::kInotify);
}

// One row per burst of events: when its scan falls due (after the first event), and what it
// re-reads. Events are at the given offsets from the first one.
struct Event {
  Duration at;
  ChangeKind kind;
  std::optional<std::string> file;  // nullopt: cannot be pinned on a file
};
struct BurstRow {
  const char* name;
  std::vector<Event> events;
  Duration due;  // after the first event
  bool full;
  std::vector<std::string> files;
};

TEST(ScanScheduleTest, EachBurstFallsDueAsItsEventsSay) {
  using enum ChangeKind;
  const std::vector<BurstRow> rows = {
      {"close after write: coalesced briefly",
       {{0ms, kWriting, "a.yaml"}, {1ms, kComplete, "a.yaml"}},
       1ms + kCoalesce,
       false,
       {"a.yaml"}},
      {"rename into the tree", {{0ms, kComplete, "a.yaml"}}, kCoalesce, false, {"a.yaml"}},
      {"a burst of completed files is one scan",
       {{0ms, kComplete, "a.yaml"}, {2ms, kComplete, "b.yaml"}, {4ms, kComplete, "a.yaml"}},
       4ms + kCoalesce,
       false,
       {"a.yaml", "b.yaml"}},
      {"modify alone waits for quiet",
       {{0ms, kWriting, "a.yaml"}, {50ms, kWriting, "a.yaml"}},
       50ms + kDebounce,
       false,
       {"a.yaml"}},
      {"another file still being written holds the burst",
       {{0ms, kWriting, "b.yaml"}, {10ms, kComplete, "a.yaml"}},
       kDebounce,
       false,
       {"a.yaml", "b.yaml"}},
      {"a directory or symlink swap is a full rescan",
       {{0ms, kComplete, std::nullopt}},
       kCoalesce,
       true,
       {}},
      {"a full rescan covers the files too",
       {{0ms, kComplete, "a.yaml"}, {1ms, kComplete, std::nullopt}},
       1ms + kCoalesce,
       true,
       {}},
      {"a writer that never closes is held at most kMaxHold",
       {{0ms, kWriting, "a.yaml"}, {900ms, kWriting, "a.yaml"}},
       ScanSchedule::kMaxHold,
       false,
       {"a.yaml"}},
  };
  for (const BurstRow& row : rows) {
    FakeClock clock;
    const SteadyTime first = clock.Now();
    ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, first);
    for (const Event& event : row.events)
      schedule.OnChange(first + event.at, event.kind, event.file);
    clock.Advance(row.events.back().at);
    EXPECT_EQ(schedule.NextDue(), first + row.due) << row.name;
    EXPECT_EQ(schedule.TakeDue(first + row.due - 1ns), std::nullopt) << row.name;
    const std::optional<ScanRequest> scan = schedule.TakeDue(first + row.due);
    ASSERT_TRUE(scan.has_value()) << row.name;
    EXPECT_EQ(scan->reason, ScanReason::kInotify) << row.name;
    EXPECT_EQ(scan->full, row.full) << row.name;
    EXPECT_EQ(scan->files, row.files) << row.name;
    EXPECT_EQ(schedule.TakeDue(first + row.due), std::nullopt) << row.name;
  }
}

TEST(ScanScheduleTest, SignalAndPeriodicScansAreFull) {
  FakeClock clock;
  ScanSchedule schedule({kCoalesce, kDebounce, kRescan}, clock.Now());
  schedule.OnChange(clock.Now(), ChangeKind::kComplete, "a.yaml");
  schedule.Request();
  const std::optional<ScanRequest> signal = schedule.TakeDue(clock.Now());
  ASSERT_TRUE(signal.has_value());
  EXPECT_TRUE(signal->full);
  clock.Advance(kRescan);
  const std::optional<ScanRequest> periodic = schedule.TakeDue(clock.Now());
  ASSERT_TRUE(periodic.has_value());
  EXPECT_EQ(periodic->reason, ScanReason::kPeriodic);
  EXPECT_TRUE(periodic->full);
}

}  // namespace
}  // namespace mactl
