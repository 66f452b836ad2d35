#include "controller/core/training_job_observer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_training_job_client.h"

namespace mactl {
namespace {

using namespace std::chrono_literals;
using testing::FakeTrainingJobClient;

std::string Uuid(int n) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

TrainingJobInfo Job(int n, std::string phase, std::string name = "") {
  TrainingJobInfo job;
  job.id = Uuid(n);
  job.name = name.empty() ? "job-" + std::to_string(n) : std::move(name);
  job.phase = std::move(phase);
  job.create_time_ms = n;
  return job;
}

TrainingJobObserveRequest ById(int n, SteadyTime not_before, bool recheck = true) {
  TrainingJobObserveRequest r;
  r.ref = TrainingJobRef{"p", Uuid(n), ""};
  r.not_before = not_before;
  r.recheck_if_absent = recheck ? Uuid(n) : "";
  return r;
}

TrainingJobObserveRequest ByName(const std::string& name, SteadyTime not_before) {
  TrainingJobObserveRequest r;
  r.ref = TrainingJobRef{"p", "", name};
  r.not_before = not_before;
  return r;
}

// Observe on a thread, waited for at most 10 s: a hang ends the test binary with a failure
// instead of holding the whole run.
Result<TrainingJobObservation> ObserveWithin(TrainingJobObserver& observer,
                                             const TrainingJobObserveRequest& request) {
  auto done = std::make_shared<std::promise<Result<TrainingJobObservation>>>();
  std::future<Result<TrainingJobObservation>> answer = done->get_future();
  std::thread([&observer, request, done] { done->set_value(observer.Observe(request)); }).detach();
  if (answer.wait_for(10s) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: Observe did not return within 10 s\n");
    std::_Exit(1);
  }
  return answer.get();
}

class TrainingJobObserverTest : public ::testing::Test {
 protected:
  // Unless a test says otherwise, the project manages many jobs none of which was scheduled:
  // all due now, so a search pays off (the tests below it are about the search itself).
  TrainingJobObserverTest() { observer_.SetManagedCounts({{"p", 1000}}); }

  testing::FakeClock clock_;
  FakeTrainingJobClient client_;
  TrainingJobObserver observer_{client_, clock_};
};

TEST_F(TrainingJobObserverTest, OneSearchAnswersEveryActiveJobOfTheProject) {
  for (int n = 0; n < 120; ++n) client_.SetJob("p", Job(n, n % 2 ? "Running" : "Pending"));
  client_.SetJob("p", Job(500, "Completed"));
  const SteadyTime t = clock_.Now();
  for (int n = 0; n < 120; ++n) {
    const Result<TrainingJobObservation> o = observer_.Observe(ById(n, t));
    ASSERT_TRUE(o.ok()) << o.error().ToString();
    ASSERT_EQ(o->jobs.size(), 1u);
    EXPECT_EQ(o->jobs[0].id, Uuid(n));
    EXPECT_EQ(o->source, "search");
  }
  // ceil(120 / 50) pages of one search, and no detail call.
  EXPECT_EQ(client_.Calls("search_jobs"), 3);
  EXPECT_EQ(client_.Calls("get_job"), 0);
  EXPECT_EQ(observer_.counters().searches, 1u);
  EXPECT_EQ(observer_.counters().search_pages, 3u);
}

TEST_F(TrainingJobObserverTest, OnlyAJobWhoseInferredStateChangedCostsADetailCall) {
  client_.SetJob("p", Job(1, "Running"));
  client_.SetJob("p", Job(2, "Completed"));
  client_.SetJob("p", Job(3, "Hibernating"));  // an undocumented phase: the search misses it
  const SteadyTime t = clock_.Now();
  // Last seen ended, not listed: unchanged, no call.
  const Result<TrainingJobObservation> ended = observer_.Observe(ById(2, t, /*recheck=*/false));
  ASSERT_TRUE(ended.ok());
  EXPECT_TRUE(ended->jobs.empty());
  EXPECT_EQ(client_.Calls("get_job"), 0);
  // Last seen active (or never seen), not listed: the detail call says what happened.
  const Result<TrainingJobObservation> finished = observer_.Observe(ById(2, t));
  ASSERT_TRUE(finished.ok());
  ASSERT_EQ(finished->jobs.size(), 1u);
  EXPECT_EQ(finished->jobs[0].phase, "Completed");
  EXPECT_EQ(finished->source, "detail");
  const Result<TrainingJobObservation> unknown = observer_.Observe(ById(3, t));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->jobs.at(0).phase, "Hibernating");
  EXPECT_EQ(client_.Calls("get_job"), 2);
  EXPECT_EQ(client_.Calls("search_jobs"), 1);
  // Gone: the id's error is shown.
  const Result<TrainingJobObservation> gone = observer_.Observe(ById(9, t));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "ModelArts.2775");
}

TEST_F(TrainingJobObserverTest, ASnapshotOlderThanNotBeforeIsSearchedAgain) {
  client_.SetJob("p", Job(1, "Running"));
  ASSERT_TRUE(observer_.Observe(ById(1, clock_.Now())).ok());
  clock_.Advance(10s);
  client_.SetPhase("p", Uuid(1), "Terminating");
  ASSERT_TRUE(observer_.Observe(ById(1, clock_.Now() - 20s)).ok());  // the old one will do
  EXPECT_EQ(client_.Calls("search_jobs"), 1);
  const Result<TrainingJobObservation> fresh = observer_.Observe(ById(1, clock_.Now()));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->jobs.at(0).phase, "Terminating");
  EXPECT_EQ(client_.Calls("search_jobs"), 2);
}

TEST_F(TrainingJobObserverTest, ANotBeforeLaterThanNowIsAnsweredByOneSearchTakenNow) {
  client_.SetJob("p", Job(1, "Running"));
  const Result<TrainingJobObservation> o = ObserveWithin(observer_, ById(1, clock_.Now() + 1h));
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  ASSERT_EQ(o->jobs.size(), 1u);
  EXPECT_EQ(o->jobs[0].phase, "Running");
  EXPECT_EQ(o->observed_at, clock_.Now());
  EXPECT_EQ(client_.Calls("search_jobs"), 1);
  // The same future time, asked again at the same now, is answered by that search.
  ASSERT_TRUE(ObserveWithin(observer_, ById(1, clock_.Now() + 1h)).ok());
  EXPECT_EQ(client_.Calls("search_jobs"), 1);
}

TEST_F(TrainingJobObserverTest, EditsAskExactly) {
  client_.SetJob("p", Job(1, "Running", "llama-sft"));
  client_.SetJob("p", Job(2, "Completed", "llama-sft"));
  client_.SetJob("p", Job(3, "Running", "llama-sft-2"));
  TrainingJobObserveRequest id = ById(1, clock_.Now());
  id.allow_batch = false;
  const Result<TrainingJobObservation> detail = observer_.Observe(id);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->source, "detail");
  EXPECT_EQ(client_.Calls("get_job"), 1);
  TrainingJobObserveRequest name = ByName("llama-sft", clock_.Now());
  name.allow_batch = false;
  const Result<TrainingJobObservation> named = observer_.Observe(name);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->source, "name-search");
  // Every job of exactly that name, ended ones too; not the substring match.
  ASSERT_EQ(named->jobs.size(), 2u);
  EXPECT_EQ(named->jobs[0].id, Uuid(1));
  EXPECT_EQ(named->jobs[1].id, Uuid(2));
  EXPECT_EQ(observer_.counters().searches, 0u);
}

TEST_F(TrainingJobObserverTest, NamesAreAnsweredFromTheSameSearch) {
  client_.SetJob("p", Job(1, "Running", "llama-sft"));
  client_.SetJob("p", Job(2, "Pending", "llama-sft"));
  client_.SetJob("p", Job(3, "Running", "llama-sft-2"));
  client_.SetJob("p", Job(4, "Failed", "llama-sft"));
  const Result<TrainingJobObservation> o = observer_.Observe(ByName("llama-sft", clock_.Now()));
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->jobs.size(), 2u);
  EXPECT_EQ(o->jobs[0].id, Uuid(1));
  EXPECT_EQ(o->jobs[1].id, Uuid(2));
  EXPECT_EQ(client_.Calls("get_job"), 0);
}

TEST_F(TrainingJobObserverTest, ANamesLastJobIsRecheckedWhenTheSearchNoLongerListsIt) {
  client_.SetJob("p", Job(1, "Running", "llama-sft"));
  TrainingJobObserveRequest r = ByName("llama-sft", clock_.Now());
  r.recheck_if_absent = Uuid(1);
  ASSERT_EQ(observer_.Observe(r)->jobs.size(), 1u);
  EXPECT_EQ(client_.Calls("get_job"), 0);
  client_.SetPhase("p", Uuid(1), "Terminated");
  clock_.Advance(1s);
  r.not_before = clock_.Now();
  const Result<TrainingJobObservation> ended = observer_.Observe(r);
  ASSERT_TRUE(ended.ok());
  ASSERT_EQ(ended->jobs.size(), 1u);
  EXPECT_EQ(ended->jobs[0].phase, "Terminated");
  EXPECT_EQ(client_.Calls("get_job"), 1);
  // A job of the name that is gone is simply no job of that name.
  r.recheck_if_absent = Uuid(7);
  const Result<TrainingJobObservation> gone = observer_.Observe(r);
  ASSERT_TRUE(gone.ok()) << gone.error().ToString();
  EXPECT_TRUE(gone->jobs.empty());
}

TEST_F(TrainingJobObserverTest, AFailedSearchIsSharedForASecond) {
  client_.SetJob("p", Job(1, "Running"));
  client_.FailNext("search_jobs", MakeError(ErrorClass::kRetryable, "HTTP.503", "busy", 503));
  EXPECT_EQ(observer_.Observe(ById(1, clock_.Now())).error().code, "HTTP.503");
  EXPECT_EQ(observer_.Observe(ById(1, clock_.Now())).error().code, "HTTP.503");
  EXPECT_EQ(client_.Calls("search_jobs"), 1);
  clock_.Advance(TrainingJobObserver::kFailedSearchShared);
  EXPECT_TRUE(observer_.Observe(ById(1, clock_.Now())).ok());
  EXPECT_EQ(client_.Calls("search_jobs"), 2);
}

TEST_F(TrainingJobObserverTest, ACallerThatMayDeferIsNotHeldByAnotherCallersSearch) {
  client_.SetJob("p", Job(1, "Running"));
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  client_.BeforeSearch([&, first = true](int) mutable {
    if (!first) return;
    first = false;
    entered.set_value();
    released.wait();
  });
  const SteadyTime t = clock_.Now();
  std::thread searching([&] { EXPECT_TRUE(observer_.Observe(ById(1, t)).ok()); });
  entered.get_future().wait();
  TrainingJobObserveRequest deferring = ById(1, t);
  deferring.may_defer = true;
  const Result<TrainingJobObservation> deferred = observer_.Observe(deferring);
  ASSERT_TRUE(deferred.ok());
  ASSERT_TRUE(deferred->retry_in.has_value());
  EXPECT_EQ(*deferred->retry_in, std::chrono::milliseconds(100));
  EXPECT_TRUE(deferred->jobs.empty());
  release.set_value();
  searching.join();
  EXPECT_EQ(observer_.counters().deferrals, 1u);
  EXPECT_EQ(client_.Calls("search_jobs"), 1);
}

TEST_F(TrainingJobObserverTest, ALonePollAsksExactlyAndPollsDueTogetherShareASearch) {
  for (int n = 0; n < 120; ++n) client_.SetJob("p", Job(n, "Running"));  // three pages
  ASSERT_TRUE(observer_.Observe(ById(0, clock_.Now())).ok());            // learns the project size
  ASSERT_EQ(client_.Calls("search_jobs"), 3);
  observer_.SetManagedCounts({});
  clock_.Advance(60s);
  const SteadyTime now = clock_.Now();
  // Every other job resyncs in five minutes: not due within a poll's window (--poll/2).
  for (int n = 1; n < 120; ++n) {
    observer_.ExpectObservation(TrainingJobRef{"p", Uuid(n), ""}.Key(),
                                {"p", now + 5min, now, true});
  }
  TrainingJobObserveRequest poll = ById(0, now);
  poll.batch_window = 5s;
  for (int i = 0; i < 3; ++i) {
    const Result<TrainingJobObservation> o = observer_.Observe(poll);
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->source, "detail");
  }
  EXPECT_EQ(client_.Calls("get_job"), 3);
  EXPECT_EQ(client_.Calls("search_jobs"), 3);
  // Four polls due within the window outnumber the three pages: one search answers them.
  for (int n = 1; n <= 3; ++n) {
    observer_.ExpectObservation(TrainingJobRef{"p", Uuid(n), ""}.Key(), {"p", now + 2s, now, true});
  }
  for (int n = 0; n <= 3; ++n) {
    poll.ref = TrainingJobRef{"p", Uuid(n), ""};
    poll.recheck_if_absent = Uuid(n);
    const Result<TrainingJobObservation> o = observer_.Observe(poll);
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->source, "search");
  }
  EXPECT_EQ(client_.Calls("search_jobs"), 6);
  EXPECT_EQ(client_.Calls("get_job"), 3);
}

TEST_F(TrainingJobObserverTest, ADeferralLastsAboutAsLongAsTheSearchsRemainingPages) {
  for (int n = 0; n < 120; ++n) client_.SetJob("p", Job(n, "Running"));  // three pages
  // Page 0 costs 300 ms of fake time; page 1 is held until the test has looked.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  client_.BeforeSearch([&](int offset) {
    if (offset == 0) clock_.Advance(300ms);
    if (offset != 1) return;
    entered.set_value();
    released.wait();
  });
  const SteadyTime t = clock_.Now();
  std::thread searching([&] { EXPECT_TRUE(observer_.Observe(ById(0, t)).ok()); });
  entered.get_future().wait();
  // One page done in 300 ms, two left: come back in three pages' time (one more than the
  // pace predicts), and no call was made.
  TrainingJobObserveRequest deferring = ById(1, t);
  deferring.may_defer = true;
  const Result<TrainingJobObservation> deferred = observer_.Observe(deferring);
  ASSERT_TRUE(deferred.ok());
  EXPECT_EQ(deferred->retry_in, 900ms);
  EXPECT_EQ(client_.Calls("get_job"), 0);
  release.set_value();
  searching.join();
  // Back after the search: answered from it.
  const Result<TrainingJobObservation> later = observer_.Observe(deferring);
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->retry_in.has_value());
  EXPECT_EQ(later->source, "search");
  EXPECT_EQ(client_.Calls("search_jobs"), 3);
  // The next search's deferrals start, before its first page, from this one's 300 ms.
  std::promise<void> entered_again;
  std::promise<void> release_again;
  std::shared_future<void> released_again = release_again.get_future().share();
  client_.BeforeSearch([&](int offset) {
    if (offset != 0) return;
    entered_again.set_value();
    released_again.wait();
  });
  const SteadyTime t2 = clock_.Now() + 1ms;
  clock_.Advance(1ms);
  std::thread again([&] { EXPECT_TRUE(observer_.Observe(ById(0, t2)).ok()); });
  entered_again.get_future().wait();
  deferring.not_before = t2;
  EXPECT_EQ(observer_.Observe(deferring)->retry_in, 300ms);
  release_again.set_value();
  again.join();
}

}  // namespace
}  // namespace mactl
