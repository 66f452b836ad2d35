// SimState alone: the asynchronous stop, timing fields and bookkeeping, on a FakeClock.

#include "sim/sim_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace mactl::sim {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

class SimStateTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  SimState state_{clock_, 5s};
};

TEST_F(SimStateTest, AddJobRejectsBadAndDuplicateIds) {
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {{1, 8, ""}}}));
  EXPECT_FALSE(state_.AddJob("p", {1, "again", "", "0", {{1, 8, ""}}}));
  EXPECT_FALSE(state_.AddJob("p", {0, "zero", "", "0", {{1, 8, ""}}}));
  EXPECT_FALSE(state_.AddJob("p", {2, "none", "", "0", {}}));
  EXPECT_FALSE(state_.AddJob("p", {3, "dup", "", "0", {{1, 8, ""}, {1, 10, ""}}}));
  EXPECT_FALSE(state_.AddJob("", {4, "noproject", "", "0", {{1, 8, ""}}}));
  EXPECT_TRUE(state_.AddJob("q", {1, "same id, other project", "", "0", {{1, 8, ""}}}));
}

TEST_F(SimStateTest, SeededKillingFinishesAfterTheKillDelay) {
  ASSERT_TRUE(state_.AddJob("p", {14, "t5", "", "0", {{3, 9, ""}}}));
  clock_.Advance(4999ms);
  EXPECT_EQ(state_.GetVersion("p", 14, 3)->status, 9);
  clock_.Advance(1ms);
  EXPECT_EQ(state_.GetVersion("p", 14, 3)->status, 12);
}

TEST_F(SimStateTest, TimingFieldsFollowTheStatus) {
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {{1, 10, ""}, {2, 7, ""}, {3, 8, ""}}}));
  const auto done = state_.GetVersion("p", 1, 1);
  const auto waiting = state_.GetVersion("p", 1, 2);
  const auto running = state_.GetVersion("p", 1, 3);
  EXPECT_LT(done->create_time_ms, waiting->create_time_ms);
  EXPECT_LT(waiting->create_time_ms, running->create_time_ms);
  EXPECT_EQ(waiting->start_time_ms, 0);
  EXPECT_EQ(waiting->duration_ms, 0);
  EXPECT_GT(running->start_time_ms, running->create_time_ms);
  EXPECT_GT(done->duration_ms, 0);
  clock_.Advance(10s);
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->duration_ms, done->duration_ms);
  EXPECT_EQ(state_.GetVersion("p", 1, 3)->duration_ms, running->duration_ms + 10000);
  EXPECT_EQ(state_.GetVersion("p", 1, 3)->pre_version_id, 2);
  EXPECT_EQ(state_.GetVersion("p", 1, 3)->version_name, "V003");
}

TEST_F(SimStateTest, StopRecordsEveryCallAndTheStatusItSaw) {
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {{1, 8, ""}}}));
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kAccepted);
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kNotAllowed);
  clock_.Advance(5s);
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kNotAllowed);
  EXPECT_EQ(state_.Stop("p", 1, 2), StopOutcome::kNotFound);
  EXPECT_EQ(state_.Stop("x", 1, 1), StopOutcome::kNotFound);
  const auto v = state_.GetVersion("p", 1, 1);
  EXPECT_EQ(v->status, 12);
  EXPECT_EQ(v->stop_calls, 3);
  EXPECT_EQ(v->stops_accepted, 1);
  EXPECT_THAT(v->stop_received_while, ElementsAre(8, 9, 12));
}

TEST_F(SimStateTest, StopLagKeepsTheOldStatusShowingAndAcceptsAStopAgainMeanwhile) {
  state_.SetStopLag(3s);
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {{1, 8, ""}}}));
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kAccepted);
  clock_.Advance(2999ms);
  // Accepted, yet still RUNNING to anyone who looks: a second stop is accepted too.
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->status, 8);
  EXPECT_EQ(state_.ListJobs("p", {}).jobs.at(0).latest.status, 8);
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kAccepted);
  clock_.Advance(1ms);
  // The first stop takes effect when its lag ends; the second does not push it back.
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->status, 9);
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kNotAllowed);
  clock_.Advance(5s);
  const auto v = state_.GetVersion("p", 1, 1);
  EXPECT_EQ(v->status, 12);
  EXPECT_EQ(v->stops_accepted, 2);
  EXPECT_THAT(v->stop_received_while, ElementsAre(8, 8, 9));
}

TEST_F(SimStateTest, AVersionEndingDuringTheStopLagIsNotKilled) {
  state_.SetStopLag(3s);
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {{1, 8, ""}}}));
  EXPECT_EQ(state_.Stop("p", 1, 1), StopOutcome::kAccepted);
  state_.ForceStatus("p", 1, 1, 10);  // it completes by itself meanwhile
  clock_.Advance(10s);
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->status, 10);
}

TEST_F(SimStateTest, CompleteFirstOnlyAffectsActiveVersions) {
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {{1, 8, ""}, {2, 11, ""}}}));
  EXPECT_EQ(state_.Stop("p", 1, 1, /*complete_first=*/true), StopOutcome::kNotAllowed);
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->status, 10);
  EXPECT_EQ(state_.Stop("p", 1, 2, /*complete_first=*/true), StopOutcome::kNotAllowed);
  EXPECT_EQ(state_.GetVersion("p", 1, 2)->status, 11);
}

TEST_F(SimStateTest, ForcedStatusesCreateVersionsAndMayBeSticky) {
  state_.ForceStatus("new", 7, 3, 8);
  ASSERT_TRUE(state_.HasProject("new"));
  EXPECT_EQ(state_.GetVersion("new", 7, 3)->status, 8);
  EXPECT_EQ(state_.GetVersion("new", 7, 3)->job_name, "job-7");
  state_.ForceStatus("new", 7, 3, 9, /*sticky=*/true);
  clock_.Advance(1h);
  EXPECT_EQ(state_.GetVersion("new", 7, 3)->status, 9);
  state_.ForceStatus("new", 7, 3, 9);
  clock_.Advance(5s);
  EXPECT_EQ(state_.GetVersion("new", 7, 3)->status, 12);
  state_.ForceStatus("new", 7, 3, 99);  // codes outside 0–22 are allowed for tests
  EXPECT_EQ(state_.GetVersion("new", 7, 3)->status, 99);
  EXPECT_EQ(state_.Stop("new", 7, 3), StopOutcome::kNotAllowed);
}

TEST_F(SimStateTest, AllVersionsIsOrderedByProjectJobVersion) {
  ASSERT_TRUE(state_.AddJob("b", {2, "x", "", "0", {{5, 8, ""}, {1, 10, ""}}}));
  ASSERT_TRUE(state_.AddJob("a", {9, "y", "", "0", {{1, 8, ""}}}));
  const auto all = state_.AllVersions();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].project_id, "a");
  EXPECT_EQ(all[1].version_id, 1);
  EXPECT_EQ(all[2].version_id, 5);
}

}  // namespace
}  // namespace mactl::sim

namespace mactl::sim {
namespace {

TEST_F(SimStateTest, SeededRunTimeGrowsWithTheClockWhileRunningAndStopsAtTheEnd) {
  VersionSeed running{1, 8, ""};
  running.duration_ms = 59 * 60'000;
  VersionSeed ended{2, 12, ""};
  ended.duration_ms = 90'000;
  ASSERT_TRUE(state_.AddJob("p", {1, "a", "", "0", {running}}));
  ASSERT_TRUE(state_.AddJob("p", {2, "b", "", "0", {ended}}));
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->duration_ms, 59 * 60'000);
  EXPECT_EQ(state_.GetVersion("p", 2, 2)->duration_ms, 90'000);
  clock_.Advance(61s);
  EXPECT_EQ(state_.GetVersion("p", 1, 1)->duration_ms, 60 * 60'000 + 1000);
  EXPECT_EQ(state_.GetVersion("p", 2, 2)->duration_ms, 90'000);
  EXPECT_LT(state_.GetVersion("p", 1, 1)->create_time_ms,
            state_.GetVersion("p", 1, 1)->start_time_ms);
}

}  // namespace
}  // namespace mactl::sim
