// The simulator's v1 API over HTTP, served in-process on 127.0.0.1:0 with a FakeClock: the
// four calls as sim/v1_handler.h answers them (its HTTP-free tests are in v1_handler_test.cc).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/sim_server.h"
#include "tests/sim/sim_server_fixture.h"

namespace mactl::sim {
namespace {

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

}  // namespace
}  // namespace mactl::sim
