// The simulator's v1 routes and answers, HTTP-free, on a FakeClock.

#include "sim/v1_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/fake_clock.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(ClassifyV1Test, TheFourCallsAndNothingElse) {
  const V1Route list = ClassifyV1("GET", "/v1/p1/training-jobs");
  EXPECT_EQ(list.operation, Operation::kList);
  EXPECT_EQ(list.project_id, "p1");
  const V1Route versions = ClassifyV1("GET", "/v1/p1/training-jobs/7/versions");
  EXPECT_EQ(versions.operation, Operation::kListVersions);
  EXPECT_EQ(versions.job_text, "7");
  const V1Route get = ClassifyV1("GET", "/v1/p1/training-jobs/7/versions/3");
  EXPECT_EQ(get.operation, Operation::kGetVersion);
  EXPECT_EQ(get.version_text, "3");
  const V1Route stop = ClassifyV1("POST", "/v1/p1/training-jobs/7/versions/3/stop");
  EXPECT_EQ(stop.operation, Operation::kStop);
  for (const auto& [method, path] : std::vector<std::pair<const char*, const char*>>{
           {"POST", "/v1/p1/training-jobs"},
           {"GET", "/v1/p1/training-jobs/7/versions/3/stop"},
           {"POST", "/v1/p1/training-jobs/7/versions/3"},
           {"GET", "/v1//training-jobs"},
           {"GET", "/v1/p1/training-jobs//versions"},
           {"GET", "/v1/p1/jobs"},
           {"GET", "/v2/p1/training-jobs"}}) {
    SCOPED_TRACE(std::string(method) + " " + path);
    EXPECT_EQ(ClassifyV1(method, path).operation, Operation::kOther);
  }
}

class AnswerV1Test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(state_.AddJob("p", {7, "bert", "", "0", {{3, 8, ""}}})); }
  V1Answer Call(const char* method, const std::string& path, const V1Query& query = {}) {
    return AnswerV1(state_, ClassifyV1(method, path), query);
  }
  testing::FakeClock clock_;
  SimState state_{clock_, 5s};
};

TEST_F(AnswerV1Test, ListPagesAndRefusesBadParameters) {
  const V1Answer list = Call("GET", "/v1/p/training-jobs", {{"per_page", "5"}});
  ASSERT_EQ(list.status, 200) << list.body;
  const json body = json::parse(list.body);
  EXPECT_EQ(body["job_total_count"], 1);
  EXPECT_EQ(body["jobs"][0]["job_id"], 7);
  EXPECT_EQ(body["jobs"][0]["status"], 8);

  const V1Answer bad = Call("GET", "/v1/p/training-jobs", {{"per_page", "0"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error_code"], "ModelArts.2764");
  const V1Answer sort = Call("GET", "/v1/p/training-jobs", {{"sort_by", "color"}});
  EXPECT_EQ(sort.status, 400);
  EXPECT_EQ(json::parse(sort.body)["error_code"], "ModelArts.2790");
}

TEST_F(AnswerV1Test, VersionDetailAndVersionList) {
  const V1Answer get = Call("GET", "/v1/p/training-jobs/7/versions/3");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(json::parse(get.body)["is_success"], true);
  EXPECT_EQ(json::parse(get.body)["version_id"], 3);
  const V1Answer versions = Call("GET", "/v1/p/training-jobs/7/versions");
  ASSERT_EQ(versions.status, 200) << versions.body;
  EXPECT_EQ(json::parse(versions.body)["version_count"], 1);

  EXPECT_EQ(Call("GET", "/v1/p/training-jobs/8/versions/3").status, 400);
  const V1Answer bad_id = Call("GET", "/v1/p/training-jobs/x/versions/3");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(json::parse(bad_id.body)["error_code"], "ModelArts.0104");
}

TEST_F(AnswerV1Test, StopIsAcceptedOnceThenRefused) {
  const V1Answer first = Call("POST", "/v1/p/training-jobs/7/versions/3/stop");
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body), json({{"is_success", true}}));
  const V1Answer second = Call("POST", "/v1/p/training-jobs/7/versions/3/stop");
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(json::parse(second.body)["error_code"], "ModelArts.2796");
  EXPECT_EQ(Call("POST", "/v1/p/training-jobs/7/versions/4/stop").status, 400);
}

TEST(V1ErrorBodyTest, HasTheDocumentedFields) {
  EXPECT_EQ(json::parse(V1ErrorBody("ModelArts.2775", "training job not found")),
            json({{"is_success", false},
                  {"error_code", "ModelArts.2775"},
                  {"error_message", "training job not found"}}));
}

}  // namespace
}  // namespace mactl::sim
