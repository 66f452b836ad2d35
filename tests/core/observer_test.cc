#include "controller/core/observer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_cloud_client.h"

namespace mactl {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeCloudClient;
using testing::ListPageGate;

VersionRef Ref(std::int64_t job, std::int64_t version) { return VersionRef{"p", job, version}; }

// Observe on a thread, waited for at most 10 s: a hang ends the test binary with a failure
// instead of holding the whole run.
Result<Observation> ObserveWithin(Observer& observer, const ObserveRequest& request) {
  auto done = std::make_shared<std::promise<Result<Observation>>>();
  std::future<Result<Observation>> answer = done->get_future();
  std::thread([&observer, request, done] { done->set_value(observer.Observe(request)); }).detach();
  if (answer.wait_for(seconds(10)) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: Observe did not return within 10 s\n");
    std::_Exit(1);
  }
  return answer.get();
}

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

TEST_F(ObserverTest, ANotBeforeLaterThanNowIsAnsweredByOneListTakenNow) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  const Result<Observation> o =
      ObserveWithin(observer_, {Ref(1, 1), clock_.Now() + std::chrono::hours(1), true});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->status, 8);
  EXPECT_EQ(o->observed_at, clock_.Now());
  EXPECT_EQ(client_.Calls("list"), 1);
  ASSERT_TRUE(
      ObserveWithin(observer_, {Ref(2, 1), clock_.Now() + std::chrono::hours(1), true}).ok());
  EXPECT_EQ(client_.Calls("list"), 1);
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

TEST_F(ObserverTest, ALonePollUsesTheDetailCallHoweverManyObjectsTheProjectManages) {
  Seed(10000);  // ten pages
  observer_.SetManagedCounts({{"p", 10000}});
  // Every other object resyncs in five minutes and would take a list taken now.
  const SteadyTime now = clock_.Now();
  for (int j = 2; j <= 10000; ++j) {
    observer_.ExpectObservation(Ref(j, 1).Key(), {"p", now + std::chrono::minutes(5), now, true});
  }
  // A poll of job 1: nothing else is due within its window (--poll/2), so one detail call.
  ObserveRequest poll{Ref(1, 1), now, true, false, std::chrono::seconds(5)};
  for (int i = 0; i < 3; ++i) {
    const Result<Observation> o = observer_.Observe(poll);
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->source, "detail");
  }
  EXPECT_EQ(client_.Calls("get_version"), 3);
  EXPECT_EQ(client_.Calls("list"), 0);
  // A resync's window (--resync) covers them all: one refresh of ten pages.
  ObserveRequest resync{Ref(1, 1), now, true, false, std::chrono::minutes(5)};
  const Result<Observation> o = observer_.Observe(resync);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->source, "list");
  EXPECT_EQ(client_.Calls("list"), 10);
}

TEST_F(ObserverTest, PollsDueTogetherShareARefreshWhenTheyOutnumberItsPages) {
  Seed(3000);  // three pages
  // Learn the project size from one list, then count only the objects scheduled below.
  observer_.SetManagedCounts({{"p", 3000}});
  ASSERT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
  observer_.SetManagedCounts({});
  ASSERT_EQ(client_.Calls("list"), 3);
  clock_.Advance(seconds(60));
  const SteadyTime now = clock_.Now();
  // Three polls due within the window: three detail calls cost no more than three pages.
  for (int j = 1; j <= 3; ++j) observer_.ExpectObservation(Ref(j, 1).Key(), {"p", now, now, true});
  ObserveRequest poll{Ref(1, 1), now, true, false, std::chrono::seconds(5)};
  ASSERT_TRUE(observer_.Observe(poll).ok());
  EXPECT_EQ(client_.Calls("list"), 3);
  EXPECT_EQ(client_.Calls("get_version"), 1);
  // A fourth: one refresh of three pages answers all four.
  observer_.ExpectObservation(Ref(4, 1).Key(), {"p", now + std::chrono::seconds(4), now, true});
  for (int j = 1; j <= 4; ++j) {
    poll.ref = Ref(j, 1);
    ASSERT_TRUE(observer_.Observe(poll).ok());
  }
  EXPECT_EQ(client_.Calls("list"), 6);
  EXPECT_EQ(client_.Calls("get_version"), 1);
}

TEST_F(ObserverTest, ListErrorsComeBackAsValues) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  client_.FailNext("list", MakeError(ErrorClass::kRetryable, "HTTP.503", "unavailable", 503));
  Result<Observation> o = observer_.Observe({Ref(1, 1), clock_.Now(), true});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().http_status, 503);
  clock_.Advance(Observer::kFailedRefreshShared);
  EXPECT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
}

TEST_F(ObserverTest, AFailedRefreshIsSharedForASecondThenListedAgain) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  client_.FailNext("list", MakeError(ErrorClass::kRetryable, "HTTP.503", "unavailable", 503));
  ASSERT_FALSE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
  // Other objects within the interval get the same error without a call of their own.
  const Result<Observation> shared = observer_.Observe({Ref(2, 1), clock_.Now(), true});
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.error().http_status, 503);
  clock_.Advance(Observer::kFailedRefreshShared - std::chrono::milliseconds(1));
  EXPECT_FALSE(observer_.Observe({Ref(3, 1), clock_.Now(), true}).ok());
  EXPECT_EQ(client_.Calls("list"), 1);
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(observer_.Observe({Ref(3, 1), clock_.Now(), true}).ok());
  EXPECT_EQ(client_.Calls("list"), 2);
}

TEST_F(ObserverTest, CallersThatMayDeferAreNotHeldByAnotherCallersRefresh) {
  Seed(2500);  // three pages
  observer_.SetManagedCounts({{"p", 2500}});
  // Page 1 costs 300 ms of fake time; page 2 is held until the test has looked.
  ListPageGate gate(client_, 2, [&](int page) {
    if (page == 1) clock_.Advance(std::chrono::milliseconds(300));
  });
  const SteadyTime due = clock_.Now();
  std::thread refresher([&] { EXPECT_TRUE(observer_.Observe({Ref(1, 1), due, true}).ok()); });
  gate.WaitUntilHeld();
  // One page done in 300 ms, two left: come back in three pages' time (one more than the
  // pace predicts), and no call was made.
  const Result<Observation> deferred = observer_.Observe({Ref(2, 1), due, true, true});
  ASSERT_TRUE(deferred.ok());
  ASSERT_TRUE(deferred->retry_in.has_value());
  EXPECT_EQ(*deferred->retry_in, std::chrono::milliseconds(900));
  EXPECT_TRUE(deferred->source.empty());
  EXPECT_EQ(client_.Calls("get_version"), 0);
  EXPECT_EQ(observer_.counters().deferrals, 1u);
  gate.Release();
  refresher.join();
  // Back after the refresh: answered from it.
  const Result<Observation> later = observer_.Observe({Ref(2, 1), due, true, true});
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->retry_in.has_value());
  EXPECT_EQ(later->source, "list");
  EXPECT_EQ(client_.Calls("list"), 3);
}

TEST_F(ObserverTest, DeferralBeforeTheFirstPageLastsAsLongAsTheLastRefreshWithinBounds) {
  Seed(2500);
  observer_.SetManagedCounts({{"p", 2500}});
  {
    // First refresh: nothing known yet, so the floor of 100 ms. It takes 2 s of fake time
    // (pages 2 and 3, listed after the release, cost 1 s each), which the next refresh's
    // deferrals start from.
    ListPageGate gate(client_, 1, [&](int page) {
      if (page != 1) clock_.Advance(std::chrono::seconds(1));
    });
    std::thread refresher([&] {
      EXPECT_TRUE(observer_.Observe({Ref(1, 1), clock_.Now(), true}).ok());
    });
    gate.WaitUntilHeld();
    const Result<Observation> first = observer_.Observe({Ref(2, 1), clock_.Now(), true, true});
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->retry_in, std::chrono::milliseconds(100));
    gate.Release();
    refresher.join();
  }
  ListPageGate gate(client_);
  const SteadyTime after_first = clock_.Now();
  std::thread second([&] { EXPECT_TRUE(observer_.Observe({Ref(1, 1), after_first, true}).ok()); });
  gate.WaitUntilHeld();
  const Result<Observation> deferred = observer_.Observe({Ref(2, 1), after_first, true, true});
  ASSERT_TRUE(deferred.ok());
  EXPECT_EQ(deferred->retry_in, std::chrono::seconds(2));
  gate.Release();
  second.join();
}

TEST_F(ObserverTest, UnknownJobFallsBackToDetailWhichReportsNotFound) {
  Seed(5);
  observer_.SetManagedCounts({{"p", 5}});
  Result<Observation> o = observer_.Observe({Ref(99, 1), clock_.Now(), true});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "ModelArts.2775");
  EXPECT_EQ(o.error().error_class, ErrorClass::kTerminal);
}

// Claims job_total_count INT64_MAX and answers every page with 1000 jobs: new ones, or the
// same ones again (a server repeating page 1).
class EndlessListClient final : public CloudClient {
 public:
  explicit EndlessListClient(bool repeat) : repeat_(repeat) {}
  Result<JobListPage> ListJobs(const std::string&, int page, int per_page) override {
    if (before_page_) before_page_(page);
    ++pages;
    JobListPage out;
    out.job_total_count = std::numeric_limits<std::int64_t>::max();
    const std::int64_t first = repeat_ ? 1 : std::int64_t{page - 1} * per_page + 1;
    for (std::int64_t j = first; j < first + per_page; ++j) out.jobs.push_back({j, "", 1, 8});
    return out;
  }
  Result<VersionDetail> GetVersion(const VersionRef& ref) override {
    ++details;
    VersionDetail d;
    d.job_id = ref.job_id;
    d.version_id = ref.version_id;
    d.status = 8;
    return d;
  }
  Result<VersionListPage> ListVersions(const std::string&, std::int64_t, int, int) override {
    return VersionListPage{};
  }
  Status StopVersion(const VersionRef&) override { return OkStatus(); }

  std::function<void(int)> before_page_;
  std::atomic<int> pages{0};
  std::atomic<int> details{0};

 private:
  const bool repeat_;
};

TEST(ObserverBoundsTest, AHostileJobTotalCountNeverCostsMorePagesThanManagedObjects) {
  FakeClock clock;
  EndlessListClient client(false);
  Observer observer(client, clock);
  observer.SetManagedCounts({{"p", 5}});
  // Job 4000 is on page 4; five managed objects are worth at most five pages.
  Result<Observation> o = observer.Observe({Ref(4000, 1), clock.Now(), true});
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->source, "list");
  EXPECT_EQ(client.pages.load(), 5);
  // A job past the pages read is asked for exactly.
  o = observer.Observe({Ref(999999, 1), SteadyTime{}, true});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->source, "detail");
  EXPECT_EQ(client.pages.load(), 5);  // and the huge estimate stops further batching
}

TEST(ObserverBoundsTest, AServerRepeatingThePageIsListedOnce) {
  FakeClock clock;
  EndlessListClient client(true);
  Observer observer(client, clock);
  observer.SetManagedCounts({{"p", 50000}});
  const Result<Observation> o = observer.Observe({Ref(7, 1), clock.Now(), true});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(client.pages.load(), 2);  // the second page brought nothing new
}

TEST(ObserverBoundsTest, DeferralForAHostilePageCountIsCappedNotOverflowed) {
  FakeClock clock;
  EndlessListClient client(false);
  Observer observer(client, clock);
  observer.SetManagedCounts({{"p", 100}});
  std::mutex mu;
  std::condition_variable cv;
  bool held = false, release = false;
  client.before_page_ = [&](int page) {
    if (page == 1) clock.Advance(std::chrono::seconds(3));  // one slow page
    if (page != 2) return;
    std::unique_lock lock(mu);
    held = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  std::thread refresher([&] { (void)observer.Observe({Ref(1, 1), clock.Now(), true}); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return held; });
  }
  // 3 s per page and 99 pages left: past the cap. (Counted from the announced INT64_MAX
  // jobs, the pages left made the product overflow.)
  const Result<Observation> deferred = observer.Observe({Ref(2, 1), clock.Now(), true, true});
  ASSERT_TRUE(deferred.ok());
  EXPECT_EQ(deferred->retry_in, std::chrono::seconds(5));  // the cap
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  refresher.join();
  EXPECT_EQ(client.pages.load(), 100);
}

}  // namespace
}  // namespace mactl
