// The simulator's HTTP API, served in-process on 127.0.0.1:0 with a FakeClock.

#include "sim/sim_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace mactl::sim {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr const char* kProject = "proj0000000000000000000000000001";

// Records each requested latency and moves the fake clock instead of sleeping.
class RecordingSleeper final : public Sleeper {
 public:
  explicit RecordingSleeper(mactl::testing::FakeClock& clock) : clock_(clock) {}
  void SleepFor(Duration d) override {
    std::lock_guard lock(mu_);
    slept_.push_back(d);
    clock_.Advance(d);
  }
  std::vector<Duration> slept() {
    std::lock_guard lock(mu_);
    return slept_;
  }

 private:
  mactl::testing::FakeClock& clock_;
  std::mutex mu_;
  std::vector<Duration> slept_;  // guarded by mu_
};

class SimServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        state_.AddJob(kProject, {10, "bert-finetune", "nlp", "0", {{9, 10, ""}, {10, 8, ""}}}));
    ASSERT_TRUE(state_.AddJob(kProject, {11, "resnet-sweep", "cv", "0", {{1, 7, ""}}}));
    ASSERT_TRUE(state_.AddJob(kProject, {13, "yolo-eval", "cv", "0", {{1, 10, ""}}}));
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start(std::optional<std::string> token = std::nullopt) {
    auth_ = std::make_unique<SimAuth>(std::move(token));
    server_ = std::make_unique<SimServer>(state_, faults_, log_, *auth_, clock_, sleeper_);
    auto port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().ToString();
    port_ = *port;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_read_timeout(5, 0);
  }

  // Adds jobs 200.. with names "job-a-000"... for paging tests.
  void AddManyJobs(int n) {
    for (int i = 0; i < n; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "many-%03d", i);
      ASSERT_TRUE(state_.AddJob(kProject, {200 + i, name, "", "0", {{1, 8, ""}}}));
    }
  }

  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) {
    return client_->Get(path.c_str(), headers);
  }
  httplib::Result Stop(std::int64_t job, std::int64_t version) {
    return client_->Post(VersionPath(job, version) + "/stop");
  }
  static std::string JobsPath() { return std::string("/v1/") + kProject + "/training-jobs"; }
  static std::string VersionPath(std::int64_t job, std::int64_t version) {
    return JobsPath() + "/" + std::to_string(job) + "/versions/" + std::to_string(version);
  }
  static json Body(const httplib::Result& res) { return json::parse(res->body); }
  int StatusOf(std::int64_t job, std::int64_t version) {
    return state_.GetVersion(kProject, job, version)->status;
  }
  void AddFaults(const std::string& rules_json) {
    auto res = client_->Post("/_sim/faults", rules_json, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  static std::vector<std::int64_t> JobIds(const json& body) {
    std::vector<std::int64_t> ids;
    for (const json& j : body["jobs"]) ids.push_back(j["job_id"].get<std::int64_t>());
    return ids;
  }
  void ExpectApiError(const httplib::Result& res, int status, const std::string& code) {
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const json body = Body(res);
    EXPECT_EQ(body["is_success"], false);
    EXPECT_EQ(body["error_code"], code) << res->body;
    EXPECT_TRUE(body["error_message"].is_string());
  }

  mactl::testing::FakeClock clock_;
  mactl::testing::FakeRandom random_{{0.5}};
  SimState state_{clock_, 3s};
  FaultInjector faults_{random_};
  RequestLog log_;
  RecordingSleeper sleeper_{clock_};
  std::unique_ptr<SimAuth> auth_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(SimServerTest, ListDefaultsToFirstTenJobsByNameWithQuotaFields) {
  AddManyJobs(12);
  Start();
  auto res = Get(JobsPath());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const json body = Body(res);
  EXPECT_EQ(body["is_success"], true);
  EXPECT_EQ(body["job_total_count"], 15);
  EXPECT_EQ(body["quotas"], 1000);
  EXPECT_EQ(body["job_count_limit"], 985);
  ASSERT_EQ(body["jobs"].size(), 10u);
  // job_name ascending: bert-finetune first, then many-000...
  EXPECT_EQ(body["jobs"][0]["job_name"], "bert-finetune");
  EXPECT_EQ(body["jobs"][1]["job_name"], "many-000");
  const json& bert = body["jobs"][0];
  EXPECT_EQ(bert["job_id"], 10);
  EXPECT_EQ(bert["version_id"], 10);  // latest version
  EXPECT_EQ(bert["status"], 8);       // its status
  EXPECT_EQ(bert["version_count"], 2);
  EXPECT_EQ(bert["job_desc"], "nlp");
  EXPECT_TRUE(bert["create_time"].is_number_integer());
  EXPECT_TRUE(bert["duration"].is_number_integer());
}

TEST_F(SimServerTest, ListPagesUpToThousandPerPage) {
  AddManyJobs(25);
  Start();
  EXPECT_EQ(Body(Get(JobsPath() + "?per_page=1000"))["jobs"].size(), 28u);
  const json page3 = Body(Get(JobsPath() + "?per_page=10&page=3"));
  EXPECT_EQ(page3["jobs"].size(), 8u);
  EXPECT_EQ(page3["job_total_count"], 28);
  EXPECT_EQ(Body(Get(JobsPath() + "?per_page=10&page=4"))["jobs"].size(), 0u);
  EXPECT_EQ(Body(Get(JobsPath() + "?page=65535"))["jobs"].size(), 0u);
  // Pages do not overlap and cover everything.
  std::vector<std::int64_t> all;
  for (int page = 1; page <= 3; ++page) {
    for (auto id : JobIds(Body(Get(JobsPath() + "?per_page=10&page=" + std::to_string(page))))) {
      all.push_back(id);
    }
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.size(), 28u);
}

TEST_F(SimServerTest, ListRejectsOutOfRangeAndNonNumericParameters) {
  Start();
  for (const char* query :
       {"per_page=0", "per_page=1001", "per_page=abc", "per_page=", "page=0", "page=65536",
        "page=-1", "page=1x", "status=x", "status=23", "order=up"}) {
    SCOPED_TRACE(query);
    ExpectApiError(Get(JobsPath() + "?" + query), 400, "ModelArts.2764");
  }
  ExpectApiError(Get(JobsPath() + "?sortBy=name"), 400, "ModelArts.2790");
  ExpectApiError(Get(JobsPath() + "?sort_by=owner"), 400, "ModelArts.2790");
  ExpectApiError(Get(JobsPath() + "?search_content=" + std::string(65, 'a')), 400,
                 "ModelArts.2764");
  EXPECT_EQ(Get(JobsPath() + "?search_content=" + std::string(64, 'a'))->status, 200);
  EXPECT_EQ(Get(JobsPath() + "?per_page=1&page=1")->status, 200);
}

TEST_F(SimServerTest, ListSortsOrdersSearchesAndFiltersByStatus) {
  Start();
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?order=desc"))), ElementsAre(13, 11, 10));
  // Statuses of the latest versions: 10 → 8, 11 → 7, 13 → 10.
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?sortBy=status"))), ElementsAre(11, 10, 13));
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?sort_by=status&order=desc"))),
              ElementsAre(13, 10, 11));
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?sortBy=version_count&order=desc"))),
              ElementsAre(10, 11, 13));
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?sortBy=job_desc"))), ElementsAre(11, 13, 10));
  const json searched = Body(Get(JobsPath() + "?search_content=sweep"));
  EXPECT_THAT(JobIds(searched), ElementsAre(11));
  EXPECT_EQ(searched["job_total_count"], 1);
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?status=10"))), ElementsAre(13));
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?status=12"))), ElementsAre());
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?workspace_id=0"))), ElementsAre(10, 11, 13));
  EXPECT_THAT(JobIds(Body(Get(JobsPath() + "?workspace_id=ws-other"))), ElementsAre());
}

TEST_F(SimServerTest, VersionDetailCarriesTheDocumentedFields) {
  Start();
  auto res = Get(VersionPath(10, 10));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json body = Body(res);
  EXPECT_EQ(body["is_success"], true);
  EXPECT_EQ(body["job_id"], 10);
  EXPECT_EQ(body["job_name"], "bert-finetune");
  EXPECT_EQ(body["version_id"], 10);
  EXPECT_EQ(body["version_name"], "V002");
  EXPECT_EQ(body["pre_version_id"], 9);
  EXPECT_EQ(body["status"], 8);
  for (const char* field :
       {"job_desc", "engine_type", "engine_name", "engine_id", "engine_version", "create_time",
        "start_time", "duration", "spec_id", "core", "cpu", "gpu_num", "worker_server_num",
        "data_url", "train_url", "log_url", "parameter", "system_metric_list"}) {
    EXPECT_TRUE(body.contains(field)) << field;
  }
  EXPECT_TRUE(body["parameter"].is_array());
  EXPECT_TRUE(body["system_metric_list"].is_object());
  EXPECT_GT(body["start_time"].get<std::int64_t>(), body["create_time"].get<std::int64_t>());
  // A running version's duration grows with the clock.
  const auto before = body["duration"].get<std::int64_t>();
  clock_.Advance(90s);
  EXPECT_EQ(Body(Get(VersionPath(10, 10)))["duration"].get<std::int64_t>(), before + 90000);
  EXPECT_EQ(Body(Get(VersionPath(10, 9)))["version_name"], "V001");
  EXPECT_EQ(Body(Get(VersionPath(10, 9)))["pre_version_id"], 0);
}

TEST_F(SimServerTest, UnknownJobOrVersionIs2775AndNonNumericIdsAre0104) {
  Start();
  ExpectApiError(Get(VersionPath(99, 1)), 400, "ModelArts.2775");
  ExpectApiError(Get(VersionPath(10, 11)), 400, "ModelArts.2775");
  ExpectApiError(Get(JobsPath() + "/99/versions"), 400, "ModelArts.2775");
  ExpectApiError(Get(JobsPath() + "/ten/versions/10"), 400, "ModelArts.0104");
  ExpectApiError(Get(JobsPath() + "/10/versions/1x"), 400, "ModelArts.0104");
  ExpectApiError(Get(JobsPath() + "/abc/versions"), 400, "ModelArts.0104");
  ExpectApiError(client_->Post(JobsPath() + "/10/versions/x/stop"), 400, "ModelArts.0104");
}

TEST_F(SimServerTest, VersionListIsNewestFirstAndPagesOnlyWhenAsked) {
  ASSERT_TRUE(
      state_.AddJob(kProject, {20, "multi", "", "0", {{1, 10, ""}, {2, 11, ""}, {3, 8, ""}}}));
  Start();
  const json all = Body(Get(JobsPath() + "/20/versions"));
  EXPECT_EQ(all["is_success"], true);
  EXPECT_EQ(all["job_id"], 20);
  EXPECT_EQ(all["job_name"], "multi");
  EXPECT_EQ(all["version_count"], 3);
  ASSERT_EQ(all["versions"].size(), 3u);  // page 0 (default) = no paging, even past per_page
  EXPECT_EQ(all["versions"][0]["version_id"], 3);
  EXPECT_EQ(all["versions"][2]["version_id"], 1);
  EXPECT_EQ(all["versions"][0]["status"], 8);
  EXPECT_EQ(Body(Get(JobsPath() + "/20/versions?per_page=1"))["versions"].size(), 3u);
  const json second = Body(Get(JobsPath() + "/20/versions?per_page=1&page=2"));
  ASSERT_EQ(second["versions"].size(), 1u);
  EXPECT_EQ(second["versions"][0]["version_id"], 2);
  EXPECT_EQ(second["version_count"], 3);
  EXPECT_EQ(Body(Get(JobsPath() + "/20/versions?per_page=2&page=2"))["versions"].size(), 1u);
  ExpectApiError(Get(JobsPath() + "/20/versions?per_page=0"), 400, "ModelArts.2764");
  ExpectApiError(Get(JobsPath() + "/20/versions?per_page=1001"), 400, "ModelArts.2764");
  ExpectApiError(Get(JobsPath() + "/20/versions?page=65536"), 400, "ModelArts.2764");
}

TEST_F(SimServerTest, StopMovesRunningToKillingThenKilledAfterTheKillDelay) {
  Start();
  auto res = Stop(10, 10);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Body(res), json({{"is_success", true}}));
  EXPECT_EQ(Body(Get(VersionPath(10, 10)))["status"], 9);
  EXPECT_EQ(Body(Get(JobsPath()))["jobs"][0]["status"], 9);  // the list shows it too
  clock_.Advance(2999ms);
  EXPECT_EQ(Body(Get(VersionPath(10, 10)))["status"], 9);
  clock_.Advance(1ms);
  const json killed = Body(Get(VersionPath(10, 10)));
  EXPECT_EQ(killed["status"], 12);
  // Once stopped, the duration stops growing.
  clock_.Advance(60s);
  EXPECT_EQ(Body(Get(VersionPath(10, 10)))["duration"], killed["duration"]);
}

TEST_F(SimServerTest, StopIsRefusedWhileKillingAndOnTerminalVersions) {
  Start();
  ASSERT_EQ(Stop(10, 10)->status, 200);
  ExpectApiError(Stop(10, 10), 409, "ModelArts.2796");  // KILLING
  clock_.Advance(3s);
  ExpectApiError(Stop(10, 10), 409, "ModelArts.2796");  // KILLED
  ExpectApiError(Stop(10, 9), 409, "ModelArts.2796");   // COMPLETED
  ASSERT_EQ(Stop(11, 1)->status, 200);                  // WAITING is active: stoppable
  state_.ForceStatus(kProject, 13, 1, 0);
  ExpectApiError(Stop(13, 1), 409, "ModelArts.2796");  // UNKNOWN
  ExpectApiError(Stop(99, 1), 400, "ModelArts.2775");
  ExpectApiError(Stop(10, 77), 400, "ModelArts.2775");
  const auto v = state_.GetVersion(kProject, 10, 10);
  EXPECT_EQ(v->stop_calls, 3);
  EXPECT_EQ(v->stops_accepted, 1);
  EXPECT_THAT(v->stop_received_while, ElementsAre(8, 9, 12));
}

TEST_F(SimServerTest, UnknownProjectIs0210AndUnknownRouteIs404) {
  Start();
  ExpectApiError(Get("/v1/nosuchproject/training-jobs"), 403, "ModelArts.0210");
  ExpectApiError(Get("/v1/nosuchproject/training-jobs/10/versions/10"), 403, "ModelArts.0210");
  ExpectApiError(client_->Post("/v1/nosuchproject/training-jobs/10/versions/10/stop"), 403,
                 "ModelArts.0210");
  for (const std::string& path : {std::string("/v2/x"), std::string("/"), JobsPath() + "/10",
                                  VersionPath(10, 10) + "/logs"}) {
    SCOPED_TRACE(path);
    auto res = Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(Body(res)["is_success"], false);
  }
  // The stop route exists only for POST.
  EXPECT_EQ(Get(VersionPath(10, 10) + "/stop")->status, 404);
  EXPECT_EQ(client_->Delete(VersionPath(10, 10))->status, 404);
}

TEST_F(SimServerTest, TokenIsRequiredOnEveryV1RequestButNotOnControlEndpoints) {
  Start("s3cret-token");
  ExpectApiError(Get(JobsPath()), 401, "ModelArts.0201");
  ExpectApiError(Get(JobsPath(), {{"X-Auth-Token", "wrong"}}), 401, "ModelArts.0203");
  ExpectApiError(Get(JobsPath(), {{"X-Auth-Token", "s3cret-token-and-more"}}), 401,
                 "ModelArts.0203");
  auto denied_stop = client_->Post(VersionPath(10, 10) + "/stop");
  ExpectApiError(denied_stop, 401, "ModelArts.0201");
  EXPECT_EQ(StatusOf(10, 10), 8);  // nothing happened
  auto ok = Get(JobsPath(), {{"X-Auth-Token", "s3cret-token"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(client_
                ->Post((VersionPath(10, 10) + "/stop").c_str(), {{"X-Auth-Token", "s3cret-token"}},
                       "", "")
                ->status,
            200);
  EXPECT_EQ(Get("/_sim/requests")->status, 200);
  const std::string log = Get("/_sim/requests")->body;
  EXPECT_EQ(log.find("s3cret"), std::string::npos);
  EXPECT_EQ(log.find("wrong"), std::string::npos);
  const json entries = json::parse(log);
  EXPECT_EQ(entries[0]["has_auth_token"], false);
  EXPECT_EQ(entries[1]["has_auth_token"], true);
  EXPECT_EQ(entries[0]["status"], 401);
}

TEST_F(SimServerTest, StatusFaultAnswersItsStatusWithRetryAfterForCountRequests) {
  Start();
  AddFaults(R"({"rules":[{"operation":"list","type":"status","http_status":429,
                          "retry_after":7,"count":2}]})");
  for (int i = 0; i < 2; ++i) {
    auto res = Get(JobsPath());
    ExpectApiError(res, 429, "ModelArts.2799");
    EXPECT_EQ(res->get_header_value("Retry-After"), "7");
  }
  EXPECT_EQ(Get(JobsPath())->status, 200);
  // Other operations were never affected.
  AddFaults(R"({"rules":[{"operation":"get_version","type":"status","http_status":503,
                          "error_code":"APIGW.0308"}]})");
  auto res = Get(VersionPath(10, 10));
  ExpectApiError(res, 503, "APIGW.0308");
  EXPECT_FALSE(res->has_header("Retry-After"));
  EXPECT_EQ(Get(VersionPath(10, 10))->status, 200);
}

TEST_F(SimServerTest, StatusFaultOnStopDoesNotStopUnlessAskedToProcess) {
  Start();
  AddFaults(R"({"rules":[{"operation":"stop","type":"status","http_status":500}]})");
  ExpectApiError(Stop(10, 10), 500, "ModelArts.0010");
  EXPECT_EQ(StatusOf(10, 10), 8);
  AddFaults(R"({"rules":[{"operation":"stop","type":"status","http_status":504,
                          "process":true}]})");
  ExpectApiError(Stop(10, 10), 504, "ModelArts.0010");
  EXPECT_EQ(StatusOf(10, 10), 9);  // the stop was carried out, its answer was not
}

TEST_F(SimServerTest, DropGivesTheClientATransportErrorNotAStatus) {
  Start();
  AddFaults(R"({"rules":[{"operation":"stop","type":"drop"}]})");
  auto res = Stop(10, 10);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error(), httplib::Error::Success);
  EXPECT_EQ(StatusOf(10, 10), 8);
  const auto log = log_.Snapshot();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].status, 0);
  EXPECT_EQ(log[0].fault, "drop");
  // The next request is answered normally.
  EXPECT_EQ(Stop(10, 10)->status, 200);
}

TEST_F(SimServerTest, DropWithProcessAcceptsTheStopButLosesTheAnswer) {
  Start();
  AddFaults(R"({"rules":[{"operation":"stop","type":"drop","process":true}]})");
  EXPECT_FALSE(Stop(10, 10));
  EXPECT_EQ(StatusOf(10, 10), 9);
  EXPECT_EQ(state_.GetVersion(kProject, 10, 10)->stops_accepted, 1);
}

TEST_F(SimServerTest, LatencyDelaysThenAnswersNormally) {
  Start();
  AddFaults(R"({"rules":[{"operation":"get_version","type":"latency","ms":1500}]})");
  auto res = Get(VersionPath(10, 10));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Body(res)["status"], 8);
  EXPECT_THAT(sleeper_.slept(), ElementsAre(Duration(1500ms)));
  EXPECT_EQ(log_.Snapshot()[0].fault, "latency");
  EXPECT_EQ(Get(VersionPath(10, 10))->status, 200);
  EXPECT_EQ(sleeper_.slept().size(), 1u);
}

TEST_F(SimServerTest, MalformedAnswers200WithInvalidJson) {
  Start();
  AddFaults(R"({"rules":[{"operation":"list","type":"malformed"},
                         {"operation":"stop","type":"malformed"}]})");
  auto res = Get(JobsPath());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(res->body.empty());
  EXPECT_TRUE(json::parse(res->body, nullptr, false).is_discarded()) << res->body;
  auto stop = Stop(10, 10);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  EXPECT_TRUE(json::parse(stop->body, nullptr, false).is_discarded()) << stop->body;
  EXPECT_EQ(StatusOf(10, 10), 8);
}

TEST_F(SimServerTest, CompleteBeforeStopAnswers409AndLeavesTheVersionCompleted) {
  Start();
  AddFaults(R"({"rules":[{"operation":"stop","job_id":10,"version_id":10,
                          "type":"complete_before_stop"}]})");
  ExpectApiError(Stop(10, 10), 409, "ModelArts.2796");
  EXPECT_EQ(StatusOf(10, 10), 10);
  const auto v = state_.GetVersion(kProject, 10, 10);
  EXPECT_EQ(v->stop_calls, 1);
  EXPECT_EQ(v->stops_accepted, 0);
  EXPECT_THAT(v->stop_received_while, ElementsAre(10));
}

TEST_F(SimServerTest, RulesMatchByIdsInOrderAndHonourCountAndProbability) {
  Start();
  AddFaults(R"({"rules":[
      {"operation":"get_version","job_id":11,"type":"status","http_status":502,"count":-1},
      {"operation":"any","type":"status","http_status":500,"count":1},
      {"operation":"any","type":"status","http_status":503,"count":1,"probability":0.5}]})");
  // job 10 skips rule 1, takes rule 2 (count 1).
  EXPECT_EQ(Get(VersionPath(10, 10))->status, 500);
  // job 11 always gets rule 1.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get(VersionPath(11, 1))->status, 502);
  // Rule 3 draws: 0.9 ≥ 0.5 → no fault; 0.1 < 0.5 → fault.
  random_.Set({0.9, 0.1});
  EXPECT_EQ(Get(JobsPath())->status, 200);
  EXPECT_EQ(Get(JobsPath())->status, 503);
  EXPECT_EQ(Get(JobsPath())->status, 200);  // count used up
  const json rules = Body(Get("/_sim/faults"))["rules"];
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0]["count"], -1);
  EXPECT_EQ(rules[1]["count"], 0);
  EXPECT_EQ(rules[2]["count"], 0);
  ASSERT_EQ(client_->Delete("/_sim/faults")->status, 200);
  EXPECT_EQ(Get(VersionPath(11, 1))->status, 200);
}

TEST_F(SimServerTest, BadFaultRulesAreRejected) {
  Start();
  for (const char* body : {"not json", "{}", R"({"rules":{}})", R"({"rules":[{"type":"explode"}]})",
                           R"({"rules":[{"type":"status"}]})", R"({"rules":[{"type":"latency"}]})",
                           R"({"rules":[{"type":"drop","operation":"delete"}]})",
                           R"({"rules":[{"type":"drop","probability":2}]})",
                           R"({"rules":[{"type":"drop","count":-2}]})",
                           R"({"rules":[{"type":"drop","colour":"red"}]})",
                           R"({"rules":[{"type":"complete_before_stop","operation":"list"}]})"}) {
    SCOPED_TRACE(body);
    auto res = client_->Post("/_sim/faults", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_EQ(Body(res)["is_success"], false);
  }
  EXPECT_TRUE(faults_.Rules().empty());
}

TEST_F(SimServerTest, RequestLogRecordsEveryApiRequestInOrder) {
  Start("tok");
  Get(JobsPath() + "?per_page=5&sortBy=status", {{"X-Auth-Token", "tok"}});
  clock_.Advance(250ms);
  AddFaults(R"({"rules":[{"operation":"stop","type":"status","http_status":503}]})");
  client_->Post((VersionPath(10, 10) + "/stop").c_str(), {{"X-Auth-Token", "tok"}}, "", "");
  Get("/v1/elsewhere/training-jobs", {{"X-Auth-Token", "tok"}});
  client_->Post("/v3/auth/tokens", "{}", "application/json");
  Get("/nothing-here");
  const json log = Body(Get("/_sim/requests"));
  ASSERT_EQ(log.size(), 5u);  // control requests are not logged
  EXPECT_EQ(log[0]["seq"], 1);
  EXPECT_EQ(log[0]["method"], "GET");
  EXPECT_EQ(log[0]["path"], JobsPath());
  EXPECT_EQ(log[0]["query"], json({{"per_page", "5"}, {"sortBy", "status"}}));
  EXPECT_EQ(log[0]["operation"], "list");
  EXPECT_EQ(log[0]["status"], 200);
  EXPECT_EQ(log[0]["fault"], nullptr);
  EXPECT_EQ(log[0]["has_auth_token"], true);
  EXPECT_EQ(log[0]["time_ms"], 0);
  EXPECT_EQ(log[1]["seq"], 2);
  EXPECT_EQ(log[1]["method"], "POST");
  EXPECT_EQ(log[1]["operation"], "stop");
  EXPECT_EQ(log[1]["status"], 503);
  EXPECT_EQ(log[1]["fault"], "status");
  EXPECT_EQ(log[1]["time_ms"], 250);
  EXPECT_EQ(log[2]["operation"], "list");
  EXPECT_EQ(log[2]["status"], 403);
  EXPECT_EQ(log[3]["operation"], "auth");
  EXPECT_EQ(log[3]["has_auth_token"], false);
  EXPECT_EQ(log[4]["operation"], "other");
  EXPECT_EQ(log[4]["status"], 404);
  const json since = Body(Get("/_sim/requests?since=3"));
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0]["seq"], 4);
  EXPECT_EQ(Body(Get("/_sim/requests?since=5")).size(), 0u);
  EXPECT_EQ(Body(Get("/_sim/requests?since=0")).size(), 5u);
  EXPECT_EQ(Get("/_sim/requests?since=-1")->status, 400);
  EXPECT_EQ(Get("/_sim/requests?since=x")->status, 400);
  ASSERT_EQ(client_->Delete("/_sim/requests")->status, 200);
  EXPECT_EQ(Body(Get("/_sim/requests")).size(), 0u);
  // Cleared, seqs go on: a poller's since stays meaningful.
  Get("/nothing-here");
  EXPECT_EQ(Body(Get("/_sim/requests?since=5"))[0]["seq"], 6);
}

TEST_F(SimServerTest, SimVersionsListsEveryVersionWithStopBookkeeping) {
  Start();
  Stop(10, 10);
  Stop(10, 10);
  const json versions = Body(Get("/_sim/versions"));
  ASSERT_EQ(versions.size(), 4u);
  const json& v = versions[1];  // ordered by project, job, version: 10/9, 10/10, 11/1, 13/1
  EXPECT_EQ(v["project_id"], kProject);
  EXPECT_EQ(v["job_id"], 10);
  EXPECT_EQ(v["version_id"], 10);
  EXPECT_EQ(v["status"], 9);
  EXPECT_EQ(v["status_name"], "JOBSTAT_KILLING");
  EXPECT_EQ(v["stop_calls"], 2);
  EXPECT_EQ(v["stops_accepted"], 1);
  EXPECT_EQ(v["stop_received_while"], json({8, 9}));
  EXPECT_EQ(versions[0]["stop_calls"], 0);
  EXPECT_EQ(versions[0]["stop_received_while"], json::array());
}

TEST_F(SimServerTest, ForcingAStatusCreatesMissingVersionsAndValidatesTheBody) {
  Start();
  auto res = client_->Post("/_sim/versions/newproject/5/6", R"({"status":8})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json detail = Body(Get("/v1/newproject/training-jobs/5/versions/6"));
  EXPECT_EQ(detail["status"], 8);
  EXPECT_EQ(detail["version_name"], "V001");
  ASSERT_EQ(client_
                ->Post("/_sim/versions/" + std::string(kProject) + "/10/10", R"({"status":11})",
                       "application/json")
                ->status,
            200);
  EXPECT_EQ(StatusOf(10, 10), 11);
  // A forced KILLING finishes after the kill delay, unless sticky.
  client_->Post("/_sim/versions/newproject/5/7", R"({"status":9})", "application/json");
  client_->Post("/_sim/versions/newproject/5/8", R"({"status":9,"sticky":true})",
                "application/json");
  clock_.Advance(3s);
  EXPECT_EQ(state_.GetVersion("newproject", 5, 7)->status, 12);
  EXPECT_EQ(state_.GetVersion("newproject", 5, 8)->status, 9);
  for (const char* body :
       {"", "{}", R"({"status":"8"})", R"({"status":-1})", R"({"status":8,"sticky":1})"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(client_->Post("/_sim/versions/p/1/1", body, "application/json")->status, 400);
  }
  EXPECT_EQ(client_->Post("/_sim/versions/p/x/1", R"({"status":8})", "application/json")->status,
            400);
  EXPECT_EQ(Get("/_sim/nothing")->status, 404);
}

TEST_F(SimServerTest, StopWithoutContentLengthIsServed) {
  Start();
  // The documented stop call has no body; a client may send no Content-Length at all.
  httplib::Request req;
  req.method = "POST";
  req.path = VersionPath(10, 10) + "/stop";
  auto res = client_->send(req);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(StatusOf(10, 10), 9);
}

TEST_F(SimServerTest, StartFailsOnAPortInUse) {
  Start();
  SimServer second(state_, faults_, log_, *auth_, clock_, sleeper_);
  auto res = second.Start("127.0.0.1", port_);
  EXPECT_FALSE(res);
}

}  // namespace
}  // namespace mactl::sim
