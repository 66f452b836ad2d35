// The simulator's v2 routes and answers, HTTP-free, on a FakeClock.

#include "sim/v2_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/fake_clock.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";

TEST(ClassifyV2Test, TheThreeCallsAndNothingElse) {
  const V2Route get = ClassifyV2("GET", std::string("/v2/p1/training-jobs/") + kId);
  EXPECT_EQ(get.operation, V2Operation::kGetJob);
  EXPECT_EQ(get.project_id, "p1");
  EXPECT_EQ(get.job_id, kId);
  const V2Route search = ClassifyV2("POST", "/v2/p1/training-job-searches");
  EXPECT_EQ(search.operation, V2Operation::kSearchJobs);
  const V2Route terminate =
      ClassifyV2("POST", std::string("/v2/p1/training-jobs/") + kId + "/actions");
  EXPECT_EQ(terminate.operation, V2Operation::kTerminate);
  EXPECT_EQ(terminate.job_id, kId);
  for (const auto& [method, path] : std::vector<std::pair<const char*, std::string>>{
           {"POST", std::string("/v2/p1/training-jobs/") + kId},
           {"GET", "/v2/p1/training-job-searches"},
           {"GET", std::string("/v2/p1/training-jobs/") + kId + "/actions"},
           {"DELETE", std::string("/v2/p1/training-jobs/") + kId},
           {"GET", "/v2/p1/training-jobs"},
           {"GET", "/v2//training-jobs/x"},
           {"GET", "/v1/p1/training-jobs"}}) {
    SCOPED_TRACE(std::string(method) + " " + path);
    EXPECT_EQ(ClassifyV2(method, path).operation, V2Operation::kNone);
  }
  EXPECT_EQ(V2OperationName(V2Operation::kSearchJobs), "search_jobs");
}

class AnswerV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    V2JobSeed seed;
    seed.id = kId;
    seed.name = "llama-sft";
    seed.phase = "Running";
    ASSERT_TRUE(store_.AddJob("p", seed));
  }
  V2Answer Call(const char* method, const std::string& path, std::string_view body = "",
                bool complete_first = false) {
    return AnswerV2(store_, ClassifyV2(method, path), body, complete_first);
  }
  testing::FakeClock clock_;
  V2JobStore store_{clock_, 5s};
  const std::string job_path_ = std::string("/v2/p/training-jobs/") + kId;
};

TEST_F(AnswerV2Test, DetailSearchAndAnAsynchronousTerminate) {
  V2Answer a = Call("GET", job_path_);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(json::parse(a.body).at("status").at("phase"), "Running");

  a = Call(
      "POST", "/v2/p/training-job-searches",
      R"({"limit":50,"offset":0,"filters":[{"key":"phase","operator":"in","value":["Running"]}]})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(json::parse(a.body).at("items").size(), 1u);

  a = Call("POST", job_path_ + "/actions", R"({"action_type":"terminate"})");
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(json::parse(a.body).at("metadata").at("id"), kId);
  EXPECT_EQ(json::parse(a.body).at("status").at("phase"), "Terminating");

  a = Call("POST", job_path_ + "/actions", R"({"action_type":"terminate"})");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(json::parse(a.body).at("error_code"), "ModelArts.2796");

  clock_.Advance(5s);
  EXPECT_EQ(json::parse(Call("GET", job_path_).body).at("status").at("phase"), "Terminated");
  EXPECT_EQ(store_.Get("p", kId)->terminate_calls, 2);
  EXPECT_EQ(store_.Get("p", kId)->terminates_accepted, 1);
}

TEST_F(AnswerV2Test, ErrorsHaveTheDocumentedStatusesAndCodes) {
  const auto code = [](const V2Answer& a) {
    return json::parse(a.body).at("error_code").get<std::string>();
  };
  const std::string other = "/v2/p/training-jobs/2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";
  V2Answer a = Call("GET", other);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(code(a), "ModelArts.2775");
  a = Call("GET", "/v2/p/training-jobs/12");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(code(a), "ModelArts.2775");
  a = Call("POST", other + "/actions", R"({"action_type":"terminate"})");
  EXPECT_EQ(code(a), "ModelArts.2775");
  a = Call("POST", job_path_ + "/actions", R"({"action_type":"stop"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(code(a), "ModelArts.2812");
  a = Call("POST", job_path_ + "/actions", "");
  EXPECT_EQ(code(a), "ModelArts.2787");
  a = Call("POST", "/v2/p/training-job-searches", R"({"limit":100})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(code(a), "ModelArts.2816");
  a = Call("GET", "/v2/p/nothing-here");
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(json::parse(a.body).contains("is_success"));
  EXPECT_EQ(store_.Get("p", kId)->phase, "Running");  // none of these touched the job
}

TEST_F(AnswerV2Test, AJobFinishingBeforeTheTerminateIsRefused) {
  const V2Answer a = Call("POST", job_path_ + "/actions", R"({"action_type":"terminate"})", true);
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(store_.Get("p", kId)->phase, "Completed");
}

}  // namespace
}  // namespace mactl::sim
