#include "controller/core/due_schedule.h"

#include <gtest/gtest.h>

#include <string>

namespace mactl {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const SteadyTime kNow = SteadyTime{} + minutes(60);

DueQuery Query(Duration window, std::optional<SteadyTime> cached = std::nullopt) {
  DueQuery q;
  q.project_id = "p";
  q.key = "asking";
  q.now = kNow;
  q.window = window;
  q.cached = cached;
  return q;
}

struct Row {
  DueObservation other;
  bool counted;
  const char* why;
};

TEST(DueScheduleTest, CountsTheObjectsARefreshNowWouldAnswerAndTheCachedListDoesNot) {
  const SteadyTime cached = kNow - minutes(5);
  const Row rows[] = {
      {{"p", kNow + seconds(3), kNow - seconds(2), true}, true, "due within the window"},
      {{"p", kNow - seconds(3), kNow - seconds(8), true}, true, "overdue"},
      {{"p", kNow + seconds(6), kNow + seconds(1), true}, false, "due after the window"},
      {{"p", kNow + seconds(3), kNow + seconds(1), true}, false, "needs a later list"},
      {{"p", kNow + seconds(3), cached, true}, false, "the cached list answers it"},
      {{"p", kNow + seconds(3), kNow - seconds(2), false}, false, "asks exactly (an edit)"},
      {{"q", kNow + seconds(3), kNow - seconds(2), true}, false, "another project"},
  };
  for (const Row& row : rows) {
    DueSchedule schedule;
    schedule.Set("asking", {"p", kNow, kNow - seconds(5), true});
    schedule.Set("other", row.other);
    EXPECT_EQ(schedule.CountDue(Query(seconds(5), cached)), row.counted ? 2u : 1u) << row.why;
  }
}

TEST(DueScheduleTest, TheAskingObjectCountsOnceWhetherScheduledOrNot) {
  DueSchedule schedule;
  EXPECT_EQ(schedule.CountDue(Query(seconds(5))), 1u);
  schedule.Set("asking", {"p", kNow + minutes(5), kNow + minutes(5), false});
  EXPECT_EQ(schedule.CountDue(Query(seconds(5))), 1u);
}

TEST(DueScheduleTest, ManagedObjectsNeverScheduledAreDueNow) {
  DueSchedule schedule;
  schedule.SetManagedCounts({{"p", 10}, {"other", 50}});
  // Ten managed, none scheduled (a fresh start, or `plan`): all ten are due.
  EXPECT_EQ(schedule.CountDue(Query(seconds(0))), 10u);
  // Two scheduled for later: eight are due, the asking one among them.
  schedule.Set("a", {"p", kNow + minutes(5), kNow, true});
  schedule.Set("b", {"p", kNow + minutes(5), kNow, true});
  EXPECT_EQ(schedule.CountDue(Query(seconds(0))), 8u);
  schedule.Set("asking", {"p", kNow, kNow, true});
  EXPECT_EQ(schedule.CountDue(Query(seconds(0))), 8u);
}

TEST(DueScheduleTest, ErasedAndMovedObjectsAreNoLongerCounted) {
  DueSchedule schedule;
  schedule.Set("a", {"p", kNow, kNow, true});
  schedule.Set("b", {"p", kNow, kNow, true});
  EXPECT_EQ(schedule.CountDue(Query(seconds(0))), 3u);
  schedule.Erase("a");
  schedule.Erase("never-set");
  schedule.Set("b", {"q", kNow, kNow, true});
  EXPECT_EQ(schedule.CountDue(Query(seconds(0))), 1u);
}

TEST(DueScheduleTest, AWindowNearTheLargestDurationDoesNotOverflow) {
  DueSchedule schedule;
  schedule.Set("a", {"p", SteadyTime::max(), kNow, true});
  EXPECT_EQ(schedule.CountDue(Query(Duration::max())), 2u);
}

}  // namespace
}  // namespace mactl
