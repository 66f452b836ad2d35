// The simulator's HTTP front, served in-process on 127.0.0.1:0 with a FakeClock: credentials,
// projects, faults, the request log and /_sim (the v1 calls themselves: v1_server_test.cc).

#include "sim/sim_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/sim/sim_server_fixture.h"

namespace mactl::sim {
namespace {

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
