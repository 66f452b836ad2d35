// V2JobStore alone: the asynchronous terminate, search filters and paging, timing fields and
// bookkeeping, on a FakeClock.

#include "sim/v2_jobs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace mactl::sim {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";
constexpr char kId2[] = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";
constexpr char kId3[] = "11111111-2222-4333-8444-555555555555";

V2JobSeed Seed(std::string id, std::string name, std::string phase) {
  V2JobSeed seed;
  seed.id = std::move(id);
  seed.name = std::move(name);
  seed.phase = std::move(phase);
  return seed;
}

class V2JobStoreTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  V2JobStore store_{clock_, 5s};
};

TEST_F(V2JobStoreTest, AddJobRejectsBadAndDuplicateIdsAndNames) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "a", "Running")));
  EXPECT_FALSE(store_.AddJob("p", Seed(kId, "b", "Running")));
  EXPECT_FALSE(store_.AddJob("p", Seed("CF63ABA9-63B1-4219-B717-708A2665100B", "b", "Running")));
  EXPECT_FALSE(store_.AddJob("p", Seed(kId2, "a", "Running")));
  EXPECT_FALSE(store_.AddJob("p", Seed("12", "c", "Running")));
  EXPECT_FALSE(store_.AddJob("p", Seed(kId2, "bad name", "Running")));
  EXPECT_FALSE(store_.AddJob("p", Seed(kId2, "c", "")));
  EXPECT_FALSE(store_.AddJob("", Seed(kId2, "c", "Running")));
  EXPECT_TRUE(store_.AddJob("q", Seed(kId, "a", "Running")));
  // Another workspace of the project may use the name again.
  V2JobSeed other_workspace = Seed(kId3, "a", "Running");
  other_workspace.workspace_id = "ws-2";
  EXPECT_TRUE(store_.AddJob("p", other_workspace));
}

TEST_F(V2JobStoreTest, TerminateIsAcceptedInTerminablePhasesAndEndsAfterTheKillDelay) {
  for (const char* phase : {"Creating", "Pending", "Running"}) {
    SCOPED_TRACE(phase);
    V2JobStore store(clock_, 5s);
    ASSERT_TRUE(store.AddJob("p", Seed(kId, "a", phase)));
    const V2TerminateResult r = store.Terminate("p", kId);
    EXPECT_EQ(r.outcome, V2TerminateOutcome::kAccepted);
    ASSERT_TRUE(r.job.has_value());
    EXPECT_EQ(r.job->phase, "Terminating");
    EXPECT_EQ(r.job->secondary_phase, "Terminating");
    clock_.Advance(4999ms);
    EXPECT_EQ(store.Get("p", kId)->phase, "Terminating");
    clock_.Advance(1ms);
    EXPECT_EQ(store.Get("p", kId)->phase, "Terminated");
    EXPECT_EQ(store.Get("p", kId)->secondary_phase, "Terminated");
  }
}

TEST_F(V2JobStoreTest, TerminateIsRefusedInEveryOtherPhaseAndCounted) {
  const char* phases[] = {"Terminating", "Completed", "Failed",
                          "Terminated",  "Abnormal",  "Hibernating"};
  for (const char* phase : phases) {
    SCOPED_TRACE(phase);
    V2JobStore store(clock_, 5s);
    ASSERT_TRUE(store.AddJob("p", Seed(kId, "a", phase)));
    const V2TerminateResult r = store.Terminate("p", kId);
    EXPECT_EQ(r.outcome, V2TerminateOutcome::kNotAllowed);
    EXPECT_EQ(r.job->terminate_calls, 1);
    EXPECT_EQ(r.job->terminates_accepted, 0);
    EXPECT_THAT(r.job->terminate_received_while, ElementsAre(phase));
  }
  EXPECT_EQ(store_.Terminate("p", kId).outcome, V2TerminateOutcome::kNotFound);
}

TEST_F(V2JobStoreTest, ASecondTerminateIsRefusedAndRecorded) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "a", "Running")));
  EXPECT_EQ(store_.Terminate("p", kId).outcome, V2TerminateOutcome::kAccepted);
  const V2TerminateResult again = store_.Terminate("p", kId);
  EXPECT_EQ(again.outcome, V2TerminateOutcome::kNotAllowed);
  EXPECT_EQ(again.job->terminates_accepted, 1);
  EXPECT_THAT(again.job->terminate_received_while, ElementsAre("Running", "Terminating"));
}

TEST_F(V2JobStoreTest, CompleteFirstIsTheJobFinishingBeforeTheTerminate) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "a", "Running")));
  const V2TerminateResult r = store_.Terminate("p", kId, /*complete_first=*/true);
  EXPECT_EQ(r.outcome, V2TerminateOutcome::kNotAllowed);
  EXPECT_EQ(r.job->phase, "Completed");
}

TEST_F(V2JobStoreTest, StickyTerminatingStaysAndForcedPhasesApply) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "a", "Running")));
  ASSERT_TRUE(store_.ForcePhase("p", kId, "Terminating", "", /*sticky=*/true));
  clock_.Advance(1h);
  EXPECT_EQ(store_.Get("p", kId)->phase, "Terminating");
  ASSERT_TRUE(store_.ForcePhase("p", kId, "Abnormal", "TerminatedFailed"));
  EXPECT_EQ(store_.Get("p", kId)->secondary_phase, "TerminatedFailed");
  EXPECT_FALSE(store_.ForcePhase("p", kId2, "Running"));
}

TEST_F(V2JobStoreTest, TimingFieldsFollowThePhase) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "a", "Pending")));
  ASSERT_TRUE(store_.AddJob("p", Seed(kId2, "b", "Completed")));
  ASSERT_TRUE(store_.AddJob("p", Seed(kId3, "c", "Running")));
  const V2JobView pending = *store_.Get("p", kId);
  EXPECT_EQ(pending.start_time_ms, 0);
  EXPECT_EQ(pending.duration_ms, 0);
  EXPECT_EQ(pending.secondary_phase, "Queuing");
  EXPECT_GT(pending.create_time_ms, 0);
  const V2JobView completed = *store_.Get("p", kId2);
  EXPECT_EQ(completed.duration_ms, 20 * 60 * 1000);
  clock_.Advance(1h);
  EXPECT_EQ(store_.Get("p", kId2)->duration_ms, 20 * 60 * 1000);  // ended: frozen
  const V2JobView running = *store_.Get("p", kId3);
  EXPECT_GT(running.duration_ms, 3600 * 1000);  // still counting
  EXPECT_LT(pending.create_time_ms, completed.create_time_ms);
}

TEST_F(V2JobStoreTest, SearchFiltersByPhaseAndNameAndPagesByPageIndex) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "llama-sft", "Running")));
  ASSERT_TRUE(store_.AddJob("p", Seed(kId2, "llama-sft-2", "Completed")));
  ASSERT_TRUE(store_.AddJob("p", Seed(kId3, "bert", "Pending")));
  V2SearchQuery active;
  active.descending = false;
  active.filters = {{"phase", "in", {"Creating", "Pending", "Running", "Terminating"}}};
  V2SearchResult r = store_.Search("p", active);
  EXPECT_EQ(r.total, 3);
  EXPECT_EQ(r.count, 2);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].id, kId);
  EXPECT_EQ(r.items[1].id, kId3);

  V2SearchQuery like;
  like.filters = {{"name", "like", {"llama-sft"}}};
  r = store_.Search("p", like);
  ASSERT_EQ(r.items.size(), 2u);  // a substring match: both llama jobs, newest first
  EXPECT_EQ(r.items[0].id, kId2);

  V2SearchQuery not_running;
  not_running.filters = {{"phase", "not", {"Running"}}, {"name", "in", {"bert"}}};
  r = store_.Search("p", not_running);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].id, kId3);

  V2SearchQuery empty_value;  // the reference's example: an empty value does not constrain
  empty_value.filters = {{"phase", "in", {""}}};
  EXPECT_EQ(store_.Search("p", empty_value).items.size(), 3u);

  V2SearchQuery paged;
  paged.limit = 2;
  paged.descending = false;
  paged.offset = 1;
  r = store_.Search("p", paged);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].id, kId3);
  paged.offset = 2;
  EXPECT_TRUE(store_.Search("p", paged).items.empty());
  EXPECT_TRUE(store_.Search("nope", paged).items.empty());
}

TEST_F(V2JobStoreTest, SearchByCreateTimeAndSeesSettledPhases) {
  ASSERT_TRUE(store_.AddJob("p", Seed(kId, "a", "Running")));
  const std::int64_t created = store_.Get("p", kId)->create_time_ms;
  V2SearchQuery window;
  window.filters = {{"create_time", "between", {std::to_string(created), ""}}};
  EXPECT_EQ(store_.Search("p", window).items.size(), 1u);
  window.filters = {{"create_time", "between", {"", std::to_string(created - 1)}}};
  EXPECT_TRUE(store_.Search("p", window).items.empty());

  ASSERT_EQ(store_.Terminate("p", kId).outcome, V2TerminateOutcome::kAccepted);
  clock_.Advance(5s);
  V2SearchQuery active;
  active.filters = {{"phase", "in", {"Running", "Terminating"}}};
  EXPECT_TRUE(store_.Search("p", active).items.empty());
  EXPECT_EQ(store_.All().at(0).phase, "Terminated");
}

TEST(V2PhasesTest, TheReferencesPhases) {
  for (const char* p : {"Creating", "Pending", "Running"}) EXPECT_TRUE(IsTerminableV2Phase(p));
  for (const char* p : {"Completed", "Failed", "Terminated", "Abnormal"}) {
    EXPECT_TRUE(IsEndedV2Phase(p));
    EXPECT_FALSE(IsTerminableV2Phase(p));
  }
  EXPECT_TRUE(IsDocumentedV2Phase("Terminating"));
  EXPECT_FALSE(IsDocumentedV2Phase("Queuing"));
  EXPECT_FALSE(IsTerminableV2Phase("running"));
}

}  // namespace
}  // namespace mactl::sim

namespace mactl::sim {
namespace {

TEST_F(V2JobStoreTest, SeededRunTimeGrowsWithTheClockWhileRunning) {
  V2JobSeed seed = Seed(kId, "a", "Running");
  seed.duration_ms = 59 * 60'000;
  ASSERT_TRUE(store_.AddJob("p", seed));
  EXPECT_EQ(store_.Get("p", kId)->duration_ms, 59 * 60'000);
  clock_.Advance(61s);
  EXPECT_EQ(store_.Get("p", kId)->duration_ms, 60 * 60'000 + 1000);
}

}  // namespace
}  // namespace mactl::sim
