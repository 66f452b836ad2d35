#include "controller/observer.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_cloud_client.h"

namespace mactl {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeCloudClient;

VersionRef Ref(std::int64_t job, std::int64_t version) { return VersionRef{"p", job, version}; }

class ObserverTest : public ::testing::Test {
 protected:
  void Seed(int jobs) {
    for (int j = 1; j <= jobs; ++j) client_.SetStatus(Ref(j, 1), 8);
  }
  FakeClock clock_;
  FakeCloudClient client_;
  Observer observer_{client_, clock_};
};

TEST_F(ObserverTest, AResyncOfManyObjectsCostsListPagesNotDetailCalls) {
  Seed(2500);
  observer_.SetManagedCounts({{"p", 2500}});
  const SteadyTime due = clock_.Now();
  for (int j = 1; j <= 2500; ++j) {
    Result<Observation> o = observer_.Observe({Ref(j, 1), due, true});
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->status, 8);
  }
  // One refresh of ceil(2500/1000) = 3 pages answered every object.
  EXPECT_EQ(client_.Calls("list"), 3);
  EXPECT_EQ(client_.Calls("get_version"), 0);
  EXPECT_EQ(observer_.counters().cache_hits, 2500u);
}

TEST_F(ObserverTest, NonLatestVersionsUseTheDetailCall) {
  Seed(10);
  client_.SetStatus(Ref(3, 2), 10);  // job 3's latest is now version 2
  observer_.SetManagedCounts({{"p", 10}});
  Result<Observation> o = observer_.Observe({Ref(3, 1), clock_.Now(), true});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, 8);
  EXPECT_EQ(o->source, "detail");
  EXPECT_EQ(client_.Calls("list"), 1);
  EXPECT_EQ(client_.Calls("get_version"), 1);
}

TEST_F(ObserverTest, ASnapshotOlderThanNotBeforeIsNotTrusted) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  ASSERT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
  clock_.Advance(seconds(1));
  client_.SetStatus(Ref(1, 1), 9);  // our stop took effect after the last list
  Result<Observation> o = observer_.Observe({Ref(1, 1), clock_.Now(), true});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, 9);
  EXPECT_EQ(client_.Calls("list"), 2);
}

TEST_F(ObserverTest, FreshObservationsSkipTheCache) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  Result<Observation> o = observer_.Observe({Ref(1, 1), clock_.Now(), false});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->source, "detail");
  EXPECT_EQ(client_.Calls("list"), 0);
}

TEST_F(ObserverTest, FewObjectsInABigProjectUseDetailCalls) {
  Seed(3000);
  // Learn the project size from one list, then manage only two of its jobs.
  observer_.SetManagedCounts({{"p", 3000}});
  ASSERT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
  observer_.SetManagedCounts({{"p", 2}});
  clock_.Advance(seconds(60));
  ASSERT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
  EXPECT_EQ(client_.Calls("list"), 3);  // only the first refresh
  EXPECT_EQ(client_.Calls("get_version"), 1);
  EXPECT_FALSE(observer_.WorthListing("p", 3));
  EXPECT_TRUE(observer_.WorthListing("p", 4));
}

TEST_F(ObserverTest, ListErrorsComeBackAsValues) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  client_.FailNext("list", MakeError(ErrorClass::kRetryable, "HTTP.503", "unavailable", 503));
  Result<Observation> o = observer_.Observe({Ref(1, 1), clock_.Now(), true});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().http_status, 503);
  EXPECT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
}

TEST_F(ObserverTest, UnknownJobFallsBackToDetailWhichReportsNotFound) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  Result<Observation> o = observer_.Observe({Ref(99, 1), clock_.Now(), true});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "ModelArts.2775");
  EXPECT_EQ(o.error().error_class, ErrorClass::kTerminal);
}

}  // namespace
}  // namespace mactl
