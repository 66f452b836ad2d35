// The simulator's v2 JSON: answers in the documented shapes, request bodies checked with the
// reference's 400 codes, v2 jobs in the seed.

#include "sim/v2_wire.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/fake_clock.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";

TEST(V2WireTest, TheJobObjectHasTheDocumentedShape) {
  V2JobView job;
  job.id = kId;
  job.name = "llama-sft";
  job.phase = "Running";
  job.secondary_phase = "Running";
  job.workspace_id = "0";
  job.create_time_ms = 1641892655000;
  job.start_time_ms = 1641892685000;
  job.duration_ms = 532000;
  const json j = V2JobJson(job);
  EXPECT_EQ(j.at("kind"), "job");
  EXPECT_EQ(j.at("metadata").at("id"), kId);  // a string, not a number
  EXPECT_EQ(j.at("metadata").at("name"), "llama-sft");
  EXPECT_EQ(j.at("metadata").at("create_time"), 1641892655000);  // milliseconds
  EXPECT_EQ(j.at("metadata").at("workspace_id"), "0");
  EXPECT_EQ(j.at("status").at("phase"), "Running");
  EXPECT_EQ(j.at("status").at("secondary_phase"), "Running");
  EXPECT_EQ(j.at("status").at("duration"), 532000);
  EXPECT_EQ(j.at("status").at("start_time"), 1641892685000);
  EXPECT_TRUE(j.at("status").at("node_count_metrics").is_null());
}

TEST(V2WireTest, TheSearchPageEchoesThePagingAndHoldsItems) {
  V2SearchResult result;
  result.total = 7;
  result.count = 1;
  V2JobView job;
  job.id = kId;
  job.name = "a";
  job.phase = "Pending";
  result.items.push_back(job);
  V2SearchQuery query;
  query.offset = 2;
  query.limit = 50;
  query.descending = false;
  const json page = json::parse(V2SearchPageBody(result, query));
  EXPECT_EQ(page.at("total"), 7);
  EXPECT_EQ(page.at("count"), 1);
  EXPECT_EQ(page.at("limit"), 50);
  EXPECT_EQ(page.at("offset"), 2);
  EXPECT_EQ(page.at("order"), "asc");
  EXPECT_EQ(page.at("sort_by"), "create_time");
  EXPECT_EQ(page.at("ai_project"), "default-ai-project");
  ASSERT_EQ(page.at("items").size(), 1u);
  EXPECT_EQ(page.at("items")[0].at("metadata").at("id"), kId);
}

TEST(V2WireTest, ErrorBodyHasTheV2Fields) {
  const json e = json::parse(V2ErrorBody("ModelArts.2796", "cannot terminate", "check status"));
  EXPECT_EQ(e, json::parse(R"({"error_code":"ModelArts.2796","error_msg":"cannot terminate",
                              "error_solution":"check status"})"));
  EXPECT_FALSE(e.contains("is_success"));
}

TEST(V2WireTest, SearchBodiesAreCheckedWithTheReferencesCodes) {
  const Result<V2SearchQuery> ok = ParseV2SearchBody(
      R"({"offset":1,"limit":50,"sort_by":"create_time","order":"asc","filters":[
          {"key":"phase","operator":"in","value":["Running","Pending"]},
          {"key":"name","operator":"like","value":["llama"]},
          {"key":"create_time","operator":"between","value":["",""]}]})");
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->offset, 1);
  EXPECT_EQ(ok->limit, 50);
  EXPECT_FALSE(ok->descending);
  ASSERT_EQ(ok->filters.size(), 3u);
  EXPECT_EQ(ok->filters[0].values, (std::vector<std::string>{"Running", "Pending"}));

  const Result<V2SearchQuery> defaults = ParseV2SearchBody("{}");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->limit, 10);
  EXPECT_EQ(defaults->offset, 0);
  EXPECT_TRUE(defaults->descending);

  struct Row {
    const char* body;
    const char* code;
  };
  const Row rows[] = {
      {"not json", "ModelArts.2787"},
      {"[]", "ModelArts.2787"},
      {R"({"limit":51})", "ModelArts.2816"},
      {R"({"limit":0})", "ModelArts.2816"},
      {R"({"offset":-1})", "ModelArts.2816"},
      {R"({"limit":"50"})", "ModelArts.2788"},
      {R"({"sort_by":"name"})", "ModelArts.2790"},
      {R"({"order":"up"})", "ModelArts.2790"},
      {R"({"filters":{}})", "ModelArts.2789"},
      {R"({"filters":[{"key":"phase","value":["Running"]}]})", "ModelArts.2789"},
      {R"({"filters":[{"key":"id","operator":"in","value":["x"]}]})", "ModelArts.2807"},
      {R"({"filters":[{"key":"phase","operator":"like","value":["Run"]}]})", "ModelArts.2808"},
      {R"({"filters":[{"key":"phase","operator":"in","value":[1]}]})", "ModelArts.2809"},
      {R"({"filters":[{"key":"create_time","operator":"between","value":["x",""]}]})",
       "ModelArts.2809"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.body);
    const Result<V2SearchQuery> r = ParseV2SearchBody(row.body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, row.code);
    EXPECT_EQ(r.error().http_status, 400);
  }
}

TEST(V2WireTest, ActionBodyMustBeTerminate) {
  EXPECT_TRUE(ParseV2ActionBody(R"({"action_type":"terminate"})").ok());
  EXPECT_EQ(ParseV2ActionBody("").error().code, "ModelArts.2787");
  EXPECT_EQ(ParseV2ActionBody("{}").error().code, "ModelArts.2812");
  EXPECT_EQ(ParseV2ActionBody(R"({"action_type":"stop"})").error().code, "ModelArts.2812");
}

TEST(V2WireTest, SeedJobsAreParsedStrictly) {
  const Result<std::vector<V2JobSeed>> ok = ParseV2JobSeeds(
      json::parse(R"([{"id":"cf63aba9-63b1-4219-b717-708a2665100b","name":"llama-sft"},
                      {"id":"2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21","name":"b",
                       "phase":"Abnormal","secondary_phase":"CreateFailed"}])"),
      "projects[0].training_jobs");
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].phase, "Running");
  EXPECT_EQ((*ok)[1].secondary_phase, "CreateFailed");

  const Result<std::vector<V2JobSeed>> typo =
      ParseV2JobSeeds(json::parse(R"([{"id":"cf63aba9-63b1-4219-b717-708a2665100b","name":"a",
                                       "phaes":"Running"}])"),
                      "projects[0].training_jobs");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().message, "seed: projects[0].training_jobs[0]: unknown field \"phaes\"");
  const Result<std::vector<V2JobSeed>> bad_id =
      ParseV2JobSeeds(json::parse(R"([{"id":12,"name":"a"}])"), "t");
  EXPECT_EQ(bad_id.error().message, "seed: t[0].id: must be a string");
  EXPECT_FALSE(ParseV2JobSeeds(json::parse(R"([{"id":"x","name":"a"}])"), "t").ok());
  EXPECT_FALSE(ParseV2JobSeeds(json::parse(R"({})"), "t").ok());
}

TEST(V2WireTest, GeneratedJobsAreDistinctValidAndDeterministic) {
  const std::vector<V2JobSeed> a = GenerateV2Jobs(500, 7);
  EXPECT_EQ(a.size(), 500u);
  testing::FakeClock clock;
  V2JobStore store(clock, 1s);
  for (const V2JobSeed& seed : a) ASSERT_TRUE(store.AddJob("p", seed)) << seed.id;
  const std::vector<V2JobSeed> b = GenerateV2Jobs(500, 7);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].phase, b[i].phase);
  }
  int running = 0;
  for (const V2JobSeed& s : a) running += s.phase == "Running" ? 1 : 0;
  EXPECT_GT(running, 200);
  EXPECT_LT(running, 400);
}

}  // namespace
}  // namespace mactl::sim
