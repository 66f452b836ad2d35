#include "controller/cloud/training_job_search.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "fakes/fake_training_job_client.h"

namespace mactl {
namespace {

using testing::FakeTrainingJobClient;

// A distinct UUID for job number n.
std::string Uuid(int n) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

TrainingJobInfo Job(int n, std::string phase = "Running", std::string name = "") {
  TrainingJobInfo job;
  job.id = Uuid(n);
  job.name = name.empty() ? "job-" + std::to_string(n) : std::move(name);
  job.phase = std::move(phase);
  return job;
}

TEST(SearchRequestBodyTest, SendsOffsetLimitOrderAndOnlyTheFiltersThatAreSet) {
  const auto plain = nlohmann::json::parse(SearchRequestBody({}, 0));
  EXPECT_EQ(plain, nlohmann::json::parse(
                       R"({"offset":0,"limit":50,"sort_by":"create_time","order":"asc"})"));

  TrainingJobSearch search;
  search.phases = {"Creating", "Pending", "Running", "Terminating"};
  search.name_like = "llama-sft";
  search.limit = 20;
  const auto filtered = nlohmann::json::parse(SearchRequestBody(search, 3));
  EXPECT_EQ(filtered, nlohmann::json::parse(R"({"offset":3,"limit":20,"sort_by":"create_time",
      "order":"asc","filters":[
        {"key":"phase","operator":"in","value":["Creating","Pending","Running","Terminating"]},
        {"key":"name","operator":"like","value":["llama-sft"]}]})"));
}

TEST(SearchRequestBodyTest, NeverSendsALimitOutsideTheDocumentedRange) {
  TrainingJobSearch search;
  search.limit = 1000;
  EXPECT_EQ(nlohmann::json::parse(SearchRequestBody(search, 0)).at("limit"), 50);
  search.limit = 0;
  EXPECT_EQ(nlohmann::json::parse(SearchRequestBody(search, 0)).at("limit"), 1);
}

TEST(SearchAllTrainingJobsTest, PagesByPageIndexUntilAShortPage) {
  FakeTrainingJobClient client;
  for (int n = 0; n < 120; ++n) client.SetJob("p", Job(n));
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", {});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->jobs.size(), 120u);
  EXPECT_EQ(r->pages, 3);
  EXPECT_FALSE(r->record_offsets);
  EXPECT_EQ(client.Offsets(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(r->jobs.back().id, Uuid(119));
}

TEST(SearchAllTrainingJobsTest, AnExactMultipleEndsOnAnEmptyPage) {
  FakeTrainingJobClient client;
  for (int n = 0; n < 100; ++n) client.SetJob("p", Job(n));
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs.size(), 100u);
  EXPECT_EQ(r->pages, 3);
  FakeTrainingJobClient empty;
  const Result<SearchResult> none = SearchAllTrainingJobs(empty, "p", {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->jobs.empty());
  EXPECT_EQ(none->pages, 1);
}

TEST(SearchAllTrainingJobsTest, NoticesRecordOffsetsAndStepsByLimit) {
  FakeTrainingJobClient client;
  client.UseRecordOffsets(true);
  for (int n = 0; n < 120; ++n) client.SetJob("p", Job(n));
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", {});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->record_offsets);
  ASSERT_EQ(r->jobs.size(), 120u);
  for (int n = 0; n < 120; ++n) EXPECT_EQ(r->jobs[static_cast<std::size_t>(n)].id, Uuid(n));
  // 0, then 1 (which gives it away), then by records.
  EXPECT_EQ(client.Offsets(), (std::vector<int>{0, 1, 50, 100}));
}

TEST(SearchAllTrainingJobsTest, FiltersGoToTheClientAndJobsAreKeptOnce) {
  FakeTrainingJobClient client;
  client.SetJob("p", Job(1, "Running", "llama-sft"));
  client.SetJob("p", Job(2, "Completed", "llama-sft"));
  client.SetJob("p", Job(3, "Pending", "llama-sft-2"));
  client.SetJob("p", Job(4, "Running", "other"));
  TrainingJobSearch search;
  search.phases = {"Running", "Pending"};
  search.name_like = "llama";
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", search);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->jobs.size(), 2u);
  EXPECT_EQ(r->jobs[0].id, Uuid(1));
  EXPECT_EQ(r->jobs[1].id, Uuid(3));
}

TEST(SearchAllTrainingJobsTest, AServiceThatIgnoresOffsetIsAnErrorNotALoop) {
  FakeTrainingJobClient client;
  client.IgnoreOffset(true);
  for (int n = 0; n < 60; ++n) client.SetJob("p", Job(n));
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "Search.NoProgress");
  EXPECT_TRUE(r.error().retryable());
  EXPECT_EQ(client.Calls("search_jobs"), 2);
}

TEST(SearchAllTrainingJobsTest, EndlessFullPagesStopAtThePageCap) {
  FakeTrainingJobClient client;
  for (int n = 0; n < 500; ++n) client.SetJob("p", Job(n));
  TrainingJobSearch search;
  search.limit = 10;
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", search, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "Search.TooManyPages");
  EXPECT_EQ(client.Calls("search_jobs"), 5);
}

TEST(SearchAllTrainingJobsTest, APageErrorEndsTheSearchWithThatError) {
  FakeTrainingJobClient client;
  for (int n = 0; n < 60; ++n) client.SetJob("p", Job(n));
  client.FailNext("search_jobs", MakeError(ErrorClass::kRetryable, "HTTP.503", "busy", 503));
  const Result<SearchResult> r = SearchAllTrainingJobs(client, "p", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "HTTP.503");
  EXPECT_EQ(client.Calls("search_jobs"), 1);
}

}  // namespace
}  // namespace mactl
