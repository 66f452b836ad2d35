// The simulator's v2 API over HTTP, served in-process on 127.0.0.1:0 with a FakeClock: the
// three calls, the same credentials, faults and request log as v1, the /_sim view, and v2
// jobs in the seed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "sim/seed.h"
#include "sim/sim_config.h"
#include "sim/sim_server.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr const char* kProject = "proj0000000000000000000000000001";
constexpr const char* kRunning = "cf63aba9-63b1-4219-b717-708a2665100b";
constexpr const char* kCompleted = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";
constexpr const char* kPending = "11111111-2222-4333-8444-555555555555";

class NoSleep final : public Sleeper {
 public:
  void SleepFor(Duration) override {}
};

class V2ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto add = [&](const char* id, const char* name, const char* phase) {
      V2JobSeed seed;
      seed.id = id;
      seed.name = name;
      seed.phase = phase;
      ASSERT_TRUE(store_.AddJob(kProject, seed));
    };
    add(kRunning, "llama-sft", "Running");
    add(kCompleted, "llama-sft-old", "Completed");
    add(kPending, "bert", "Pending");
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  void Start(std::optional<std::string> token = std::nullopt) {
    auth_ = std::make_unique<SimAuth>(std::move(token));
    server_ = std::make_unique<SimServer>(state_, faults_, log_, *auth_, clock_, sleeper_);
    server_->ServeTrainingJobs(store_);
    auto port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_read_timeout(5, 0);
  }
  static std::string JobPath(const std::string& id) {
    return std::string("/v2/") + kProject + "/training-jobs/" + id;
  }
  httplib::Result Terminate(const std::string& id, const httplib::Headers& headers = {}) {
    return client_->Post(JobPath(id) + "/actions", headers, R"({"action_type":"terminate"})",
                         "application/json");
  }
  httplib::Result Search(const std::string& body) {
    return client_->Post(std::string("/v2/") + kProject + "/training-job-searches", body,
                         "application/json");
  }
  void AddFaults(const std::string& rules_json) {
    auto res = client_->Post("/_sim/faults", rules_json, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  mactl::testing::FakeClock clock_;
  mactl::testing::FakeRandom random_;
  SimState state_{clock_, 5s};
  V2JobStore store_{clock_, 5s};
  FaultInjector faults_{random_};
  RequestLog log_;
  NoSleep sleeper_;
  std::unique_ptr<SimAuth> auth_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(V2ServerTest, DetailSearchAndAnAsynchronousTerminate) {
  Start();
  auto res = client_->Get(JobPath(kRunning).c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["metadata"]["id"], kRunning);
  EXPECT_TRUE(json::parse(res->body)["metadata"]["create_time"].is_number_integer());

  res = Search(R"({"offset":0,"limit":50,"order":"asc","filters":[
      {"key":"phase","operator":"in","value":["Creating","Pending","Running","Terminating"]}]})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json page = json::parse(res->body);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["metadata"]["id"], kRunning);

  res = Terminate(kRunning);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(json::parse(res->body)["status"]["phase"], "Terminating");
  res = Terminate(kRunning);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(json::parse(res->body)["error_code"], "ModelArts.2796");
  clock_.Advance(5s);
  EXPECT_EQ(json::parse(client_->Get(JobPath(kRunning).c_str())->body)["status"]["phase"],
            "Terminated");
}

TEST_F(V2ServerTest, CredentialsAreCheckedAsForV1AndErrorsHaveTheV2Shape) {
  Start("tok");
  auto res = client_->Get(JobPath(kRunning).c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  const json body = json::parse(res->body);
  EXPECT_FALSE(body.contains("is_success"));
  EXPECT_TRUE(body["error_code"].is_string());
  EXPECT_TRUE(body["error_msg"].is_string());
  res = Terminate(kRunning);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(store_.Get(kProject, kRunning)->phase, "Running");
  res = Terminate(kRunning, {{"X-Auth-Token", "tok"}});
  EXPECT_EQ(res->status, 202);
  res = client_->Get(std::string("/v2/nope/training-jobs/") + kRunning,
                     httplib::Headers{{"X-Auth-Token", "tok"}});
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error_code"], "ModelArts.2786");
}

TEST_F(V2ServerTest, FaultsMatchV2OperationsAndJobIds) {
  Start();
  AddFaults(std::string(R"({"rules":[{"operation":"terminate","training_job_id":")") + kPending +
            R"(","type":"status","http_status":429,"retry_after":3}]})");
  auto res = Terminate(kRunning);  // another job: not matched
  EXPECT_EQ(res->status, 202);
  res = Terminate(kPending);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "3");
  EXPECT_FALSE(json::parse(res->body).contains("is_success"));
  EXPECT_EQ(store_.Get(kProject, kPending)->phase, "Pending");
  res = Terminate(kPending);  // count 1: used up
  EXPECT_EQ(res->status, 202);
}

TEST_F(V2ServerTest, ACompleteBeforeStopFaultFinishesTheJobBeforeItsTerminate) {
  Start();
  AddFaults(R"({"rules":[{"operation":"terminate","type":"complete_before_stop"}]})");
  auto res = Terminate(kRunning);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(store_.Get(kProject, kRunning)->phase, "Completed");
}

TEST_F(V2ServerTest, MalformedAndDropFaultsApplyToV2Calls) {
  Start();
  AddFaults(R"({"rules":[{"operation":"search_jobs","type":"malformed"},
                         {"operation":"get_job","type":"drop"}]})");
  auto res = Search("{}");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(json::parse(res->body, nullptr, false).is_discarded());
  res = client_->Get(JobPath(kRunning).c_str());
  EXPECT_FALSE(res);
}

TEST_F(V2ServerTest, TheRequestLogNamesTheV2Operations) {
  Start();
  client_->Get(JobPath(kRunning).c_str());
  Search("{}");
  Terminate(kRunning);
  std::vector<std::string> ops;
  for (const RequestRecord& r : log_.Snapshot()) ops.push_back(r.operation);
  EXPECT_THAT(ops, ElementsAre("get_job", "search_jobs", "terminate"));
}

TEST_F(V2ServerTest, SimTrainingJobsShowsTheJobsAndForcesPhases) {
  Start();
  Terminate(kRunning);
  Terminate(kCompleted);
  auto res = client_->Get("/_sim/training-jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json jobs = json::parse(res->body);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0]["id"], kRunning);
  EXPECT_EQ(jobs[0]["terminates_accepted"], 1);
  EXPECT_EQ(jobs[1]["terminate_calls"], 1);
  EXPECT_EQ(jobs[1]["terminate_received_while"], json::array({"Completed"}));

  res = client_->Post(std::string("/_sim/training-jobs/") + kProject + "/" + kPending,
                      R"({"phase":"Hibernating","secondary_phase":"Unknown"})", "application/json");
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(store_.Get(kProject, kPending)->phase, "Hibernating");
  res = client_->Post(std::string("/_sim/training-jobs/") + kProject + "/" + kPending,
                      R"({"phase":3})", "application/json");
  EXPECT_EQ(res->status, 400);
  res = client_->Post(std::string("/_sim/training-jobs/") + kProject + "/nope",
                      R"({"phase":"Running"})", "application/json");
  EXPECT_EQ(res->status, 404);
}

TEST(V2SeedTest, ProjectsMayHoldV2JobsWithOrWithoutV1Jobs) {
  auto seed = ParseSeed(R"({"projects":[
      {"project_id":"p1","training_jobs":[
        {"id":"cf63aba9-63b1-4219-b717-708a2665100b","name":"llama-sft"}]},
      {"project_id":"p2","jobs":[],"training_jobs":[
        {"id":"2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21","name":"b","phase":"Pending"}]}]})");
  ASSERT_TRUE(seed) << seed.error().ToString();
  ASSERT_EQ(seed->projects.size(), 2u);
  EXPECT_EQ(seed->projects[0].training_jobs.at(0).name, "llama-sft");
  mactl::testing::FakeClock clock;
  V2JobStore store(clock, 1s);
  ASSERT_TRUE(ApplyTrainingJobSeed(store, *seed));
  EXPECT_EQ(store.Get("p2", "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21")->phase, "Pending");

  auto bad =
      ParseSeed(R"({"projects":[{"project_id":"p1","training_jobs":[{"id":"x","name":"a"}]}]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "seed: projects[0].training_jobs[0].id: must be a UUID");
  EXPECT_FALSE(ParseSeed(R"({"projects":[{"project_id":"p1"}]})"));
}

TEST(V2SeedTest, GenerateTrainingJobsFlag) {
  auto config = ParseSimFlags({"--generate-training-jobs", "40"});
  ASSERT_TRUE(config) << config.error().ToString();
  EXPECT_EQ(config->generate_training_jobs, 40);
  EXPECT_FALSE(ParseSimFlags({"--generate-training-jobs=-1"}));
  mactl::testing::FakeClock clock;
  V2JobStore store(clock, 1s);
  ASSERT_TRUE(PopulateTrainingJobs(store, *config));
  EXPECT_EQ(store.All().size(), 40u);
  EXPECT_EQ(store.All().front().project_id, config->project_id);
}

}  // namespace
}  // namespace mactl::sim
