#include "controller/cloud/http_training_job_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controller/cloud/training_job_search.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using ::testing::HasSubstr;

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";
constexpr char kOtherId[] = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";

std::string JobBody(const std::string& id, const std::string& phase) {
  return R"({"kind":"job","metadata":{"id":")" + id +
         R"(","name":"llama-sft","create_time":1641892655000},"status":{"phase":")" + phase +
         R"(","secondary_phase":")" + phase + R"(","duration":0}})";
}

// Records each request and answers from a script.
class ScriptedExchange final : public HttpExchange {
 public:
  void Answer(int status, std::string body, std::string retry_after = "") {
    script_.push_back(HttpAnswer{status, std::move(body), std::move(retry_after), {"s3cr3t"}});
  }
  void Fail(Error error) { failures_.push_back(std::move(error)); }

  Result<HttpAnswer> Exchange(const HttpRequest& request) override {
    Sent sent{std::string(request.operation), request.method, request.path, request.body};
    requests.push_back(std::move(sent));
    if (!failures_.empty()) {
      Error e = failures_.front();
      failures_.pop_front();
      return e;
    }
    HttpAnswer a = script_.front();
    script_.pop_front();
    return a;
  }

  struct Sent {
    std::string operation;
    std::string method;
    std::string path;
    std::string body;
  };
  std::vector<Sent> requests;

 private:
  std::deque<HttpAnswer> script_;
  std::deque<Error> failures_;
};

class HttpTrainingJobClientTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  ScriptedExchange exchange_;
  HttpTrainingJobClient client_{exchange_, clock_};
};

TEST_F(HttpTrainingJobClientTest, DetailIsAGetOfTheJobPath) {
  exchange_.Answer(200, JobBody(kId, "Running"));
  const Result<TrainingJobInfo> job = client_.GetTrainingJob("proj-1", kId);
  ASSERT_TRUE(job.ok()) << job.error().ToString();
  EXPECT_EQ(job->phase, "Running");
  ASSERT_EQ(exchange_.requests.size(), 1u);
  EXPECT_EQ(exchange_.requests[0].operation, "get_job");
  EXPECT_EQ(exchange_.requests[0].method, "GET");
  EXPECT_EQ(exchange_.requests[0].path, std::string("/v2/proj-1/training-jobs/") + kId);
  EXPECT_EQ(exchange_.requests[0].body, "");
}

TEST_F(HttpTrainingJobClientTest, AnUpperCaseIdIsSentAndComparedInLowerCase) {
  exchange_.Answer(200, JobBody(kId, "Running"));
  const Result<TrainingJobInfo> job =
      client_.GetTrainingJob("p", "CF63ABA9-63B1-4219-B717-708A2665100B");
  ASSERT_TRUE(job.ok()) << job.error().ToString();
  EXPECT_EQ(exchange_.requests[0].path, std::string("/v2/p/training-jobs/") + kId);
}

TEST_F(HttpTrainingJobClientTest, TheDetailOfAnotherJobIsNotTakenForTheOneAskedFor) {
  exchange_.Answer(200, JobBody(kOtherId, "Completed"));
  const Result<TrainingJobInfo> job = client_.GetTrainingJob("p", kId);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, "MalformedResponse");
  EXPECT_TRUE(job.error().retryable());
  EXPECT_THAT(job.error().message, HasSubstr(kOtherId));
}

TEST_F(HttpTrainingJobClientTest, SearchPostsTheBodyToTheSearchPath) {
  exchange_.Answer(200, R"({"total":1,"count":1,"items":[)" + JobBody(kId, "Pending") + "]}");
  TrainingJobSearch search;
  search.phases = {"Creating", "Pending", "Running", "Terminating"};
  const Result<TrainingJobSearchPage> page = client_.SearchTrainingJobs("p", search, 2);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  const auto& sent = exchange_.requests.at(0);
  EXPECT_EQ(sent.operation, "search_jobs");
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v2/p/training-job-searches");
  EXPECT_EQ(nlohmann::json::parse(sent.body), nlohmann::json::parse(SearchRequestBody(search, 2)));
}

TEST_F(HttpTrainingJobClientTest, TerminatePostsTheActionAndReturnsTheAcceptingAnswer) {
  exchange_.Answer(202, JobBody(kId, "Terminating"));
  const Result<TrainingJobInfo> job = client_.TerminateTrainingJob("p", kId);
  ASSERT_TRUE(job.ok()) << job.error().ToString();
  EXPECT_EQ(job->phase, "Terminating");
  const auto& sent = exchange_.requests.at(0);
  EXPECT_EQ(sent.operation, "terminate");
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, std::string("/v2/p/training-jobs/") + kId + "/actions");
  EXPECT_EQ(sent.body, R"({"action_type":"terminate"})");
}

TEST_F(HttpTrainingJobClientTest, AnAcceptedTerminateForAnotherJobIsNotAccepted) {
  exchange_.Answer(202, JobBody(kOtherId, "Terminating"));
  const Result<TrainingJobInfo> job = client_.TerminateTrainingJob("p", kId);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.error().code, "MalformedResponse");
}

TEST_F(HttpTrainingJobClientTest, ErrorsAreClassifiedByStatusAndCode) {
  struct Row {
    int status;
    std::string body;
    std::string retry_after;
    ErrorClass expected;
    std::string code;
  };
  const auto v2_error = [](const std::string& code) {
    return R"({"error_code":")" + code + R"(","error_msg":"x","error_solution":"y"})";
  };
  const Row rows[] = {
      {409, v2_error("ModelArts.2796"), "", ErrorClass::kNotAllowed, "ModelArts.2796"},
      {409, v2_error("ModelArts.2878"), "", ErrorClass::kNotAllowed, "ModelArts.2878"},
      {400, v2_error("ModelArts.2775"), "", ErrorClass::kTerminal, "ModelArts.2775"},
      {400, v2_error("ModelArts.2812"), "", ErrorClass::kTerminal, "ModelArts.2812"},
      {429, v2_error("APIGW.0308"), "7", ErrorClass::kRetryable, "APIGW.0308"},
      {500, v2_error("ModelArts.0010"), "", ErrorClass::kRetryable, "ModelArts.0010"},
      {503, "<html>busy</html>", "", ErrorClass::kRetryable, "HTTP.503"},
      {401, v2_error("ModelArts.0203"), "", ErrorClass::kReauthenticate, "ModelArts.0203"},
      {200, v2_error("ModelArts.2796"), "", ErrorClass::kNotAllowed, "ModelArts.2796"},
      {200, "<html>login</html>", "", ErrorClass::kRetryable, "MalformedResponse"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::to_string(row.status) + " " + row.body);
    exchange_.Answer(row.status, row.body, row.retry_after);
    const Result<TrainingJobInfo> r = client_.TerminateTrainingJob("p", kId);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().error_class, row.expected) << r.error().ToString();
    EXPECT_EQ(r.error().code, row.code);
    if (!row.retry_after.empty()) {
      ASSERT_TRUE(r.error().retry_after.has_value());
      EXPECT_EQ(*r.error().retry_after, std::chrono::seconds(7));
    }
  }
}

TEST_F(HttpTrainingJobClientTest, EchoedCredentialsNeverReachErrorMessages) {
  exchange_.Answer(200, R"({"metadata":{"id":"s3cr3t"},"status":{}})");
  const Result<TrainingJobInfo> r = client_.GetTrainingJob("p", kId);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos) << r.error().message;
}

TEST_F(HttpTrainingJobClientTest, TransportErrorsPassThroughAndBadArgumentsSendNothing) {
  exchange_.Fail(MakeError(ErrorClass::kRetryable, "Transport.Connection", "refused"));
  const Result<TrainingJobSearchPage> r = client_.SearchTrainingJobs("p", {}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "Transport.Connection");
  const std::size_t sent = exchange_.requests.size();
  EXPECT_EQ(client_.GetTrainingJob("", kId).error().code, "InvalidArgument");
  EXPECT_EQ(client_.GetTrainingJob("p", "../../x").error().code, "InvalidArgument");
  EXPECT_EQ(client_.TerminateTrainingJob("p", "12").error().code, "InvalidArgument");
  EXPECT_EQ(client_.SearchTrainingJobs("p", {}, -1).error().code, "InvalidArgument");
  TrainingJobSearch too_big;
  too_big.limit = 51;
  EXPECT_EQ(client_.SearchTrainingJobs("p", too_big, 0).error().code, "InvalidArgument");
  EXPECT_EQ(exchange_.requests.size(), sent);
}

}  // namespace
}  // namespace mactl
