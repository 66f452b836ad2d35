#include "controller/cloud/http_cloud_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/cloud/http_cloud_client_fixture.h"

namespace mactl {
namespace {

// ---- paths, queries, headers, decoding ----

TEST_F(HttpCloudClientTest, ListJobsSendsPathQueryAndHeadersAndDecodes) {
  Serve("/base/v1/proj-1/training-jobs", 200,
        R"({"is_success": true, "job_total_count": 1, "quotas": 5,
            "jobs": [{"job_id": 10, "job_name": "bert", "version_id": 11, "status": 8,
                      "unknown": true}]})");
  HttpCloudClientOptions options;
  options.endpoint = Endpoint("/base/");
  auto result = MakeClient(options).ListJobs("proj-1", 2, 50);
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  ASSERT_EQ(result->jobs.size(), 1u);
  EXPECT_EQ(result->jobs[0].job_id, 10);
  EXPECT_EQ(result->jobs[0].version_id, 11);
  EXPECT_EQ(result->jobs[0].status, 8);

  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/base/v1/proj-1/training-jobs?per_page=50&page=2");
  EXPECT_EQ(seen[0].token, kToken);
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].accept, "application/json");
  EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(port_));
  // What the authenticator was shown matches what was sent.
  EXPECT_EQ(auth_.seen_host_, seen[0].host);
  EXPECT_EQ(auth_.seen_path_, "/base/v1/proj-1/training-jobs");
  EXPECT_EQ(auth_.seen_method_, "GET");
  EXPECT_EQ(auth_.seen_query_,
            (std::vector<std::pair<std::string, std::string>>{{"per_page", "50"}, {"page", "2"}}));
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"list", 200}}));
  EXPECT_EQ(throttle_.acquired.load(), 1);
}

TEST_F(HttpCloudClientTest, PathSegmentsArePercentEncoded) {
  Serve(R"(/v1/.*)", 200, R"({"is_success": true, "jobs": []})");
  auto result = MakeClient().ListJobs("a b/c?d%e", 1, 10);
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/a%20b%2Fc%3Fd%25e/training-jobs?per_page=10&page=1");
}

TEST_F(HttpCloudClientTest, GetVersionPathAndDecoding) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  auto result = MakeClient().GetVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  EXPECT_EQ(result->job_id, 10);
  EXPECT_EQ(result->version_id, 11);
  EXPECT_EQ(result->version_name, "V0011");
  EXPECT_EQ(result->status, 8);
  EXPECT_EQ(SeenRequests().at(0).target, "/v1/p/training-jobs/10/versions/11");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"get_version", 200}}));
}

TEST_F(HttpCloudClientTest, ListVersionsPathQueryAndDecoding) {
  Serve("/v1/p/training-jobs/10/versions", 200,
        R"({"is_success": true, "job_id": 10, "job_name": "bert", "version_count": 2,
            "versions": [{"job_id": 10, "version_id": 2, "status": 9},
                         {"version_id": 1, "status": 12}]})");
  auto result = MakeClient().ListVersions("p", 10, 1, 1000);
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  ASSERT_EQ(result->versions.size(), 2u);
  EXPECT_EQ(result->versions[1].job_id, 10);
  EXPECT_EQ(result->versions[1].status, 12);
  EXPECT_EQ(SeenRequests().at(0).target, "/v1/p/training-jobs/10/versions?per_page=1000&page=1");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"list_versions", 200}}));
}

TEST_F(HttpCloudClientTest, StopVersionPostsToTheStopPath) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 200, R"({"is_success": true})");
  const Status status = MakeClient().StopVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(status.ok()) << Keep(status.error()).ToString();
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/p/training-jobs/10/versions/11/stop");
  EXPECT_EQ(seen[0].token, kToken);
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"stop", 200}}));
}

TEST_F(HttpCloudClientTest, InvalidArgumentsAreRefusedWithoutSending) {
  HttpCloudClient& client = MakeClient();
  EXPECT_EQ(ErrorOf(client.ListJobs("p", 0, 10)).code, "InvalidArgument");
  EXPECT_EQ(ErrorOf(client.ListJobs("p", 1, 1001)).code, "InvalidArgument");
  EXPECT_EQ(ErrorOf(client.ListVersions("p", 1, 0, 10)).code, "InvalidArgument");
  EXPECT_EQ(ErrorOf(client.GetVersion(VersionRef{"", 1, 1})).code, "InvalidArgument");
  EXPECT_TRUE(SeenRequests().empty());
  EXPECT_EQ(throttle_.acquired.load(), 0);
}

// ---- error answers ----

TEST_F(HttpCloudClientTest, IsSuccessFalseOn200IsClassifiedByItsCode) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 200,
        R"({"is_success": false, "error_msg": "cannot stop", "error_code": "ModelArts.2796"})");
  Serve(
      "/v1/p/training-jobs/1/versions/2", 200,
      R"({"is_success": false, "error_message": "Error string", "error_code": "ModelArts.0105"})");
  HttpCloudClient& client = MakeClient();
  const Status stop = client.StopVersion(VersionRef{"p", 10, 11});
  ASSERT_FALSE(stop.ok());
  const Error& e = Keep(stop.error());
  EXPECT_EQ(e.error_class, ErrorClass::kNotAllowed);
  EXPECT_EQ(e.code, "ModelArts.2796");
  EXPECT_EQ(e.http_status, 200);
  EXPECT_THAT(e.message, HasSubstr("cannot stop"));

  const Error unknown = ErrorOf(client.GetVersion(VersionRef{"p", 1, 2}));
  EXPECT_EQ(unknown.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(unknown.code, "ModelArts.0105");
  EXPECT_THAT(unknown.message, HasSubstr("Error string"));
}

TEST_F(HttpCloudClientTest, ErrorStatusesAreClassifiedByStatusAndCode) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 409,
        R"({"is_success": false, "error_message": "no", "error_code": "ModelArts.2796"})");
  Serve("/v1/p/training-jobs/1/versions/2/stop", 409,
        R"({"is_success": false, "error_message": "later", "error_code": "ModelArts.2878"})");
  Serve("/v1/p/training-jobs/1/versions/3", 400,
        R"({"is_success": false, "error_msg": "Training job not found.",
            "error_code": "ModelArts.2775"})");
  Serve("/v1/p/training-jobs/1/versions/4", 500, "<html>Internal error</html>");
  Serve("/v1/p/training-jobs/1/versions/5", 403,
        R"({"error_code": "ModelArts.0210", "error_message": "project mismatch"})");
  HttpCloudClient& client = MakeClient();

  EXPECT_EQ(Keep(client.StopVersion(VersionRef{"p", 10, 11}).error()).error_class,
            ErrorClass::kNotAllowed);
  EXPECT_EQ(Keep(client.StopVersion(VersionRef{"p", 1, 2}).error()).error_class,
            ErrorClass::kRetryable);
  const Error not_found = ErrorOf(client.GetVersion(VersionRef{"p", 1, 3}));
  EXPECT_EQ(not_found.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(not_found.message,
            "get_version request failed with HTTP 400 ModelArts.2775: Training job not found.");
  const Error internal = ErrorOf(client.GetVersion(VersionRef{"p", 1, 4}));
  EXPECT_EQ(internal.error_class, ErrorClass::kRetryable);
  EXPECT_EQ(internal.code, "HTTP.500");
  const Error forbidden = ErrorOf(client.GetVersion(VersionRef{"p", 1, 5}));
  EXPECT_EQ(forbidden.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(forbidden.code, "ModelArts.0210");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"stop", 409},
                                                                     {"stop", 409},
                                                                     {"get_version", 400},
                                                                     {"get_version", 500},
                                                                     {"get_version", 403}}));
}

TEST_F(HttpCloudClientTest, RetryAfterAsSecondsAndAsHttpDate) {
  Serve("/v1/p/training-jobs", 429,
        R"({"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"})",
        {{"Retry-After", "3"}});
  Serve("/v1/p/training-jobs/10/versions/11", 503, "",
        {{"Retry-After", "Sun, 06 Nov 1994 08:50:37 GMT"}});
  HttpCloudClient& client = MakeClient();
  const Error throttled = ErrorOf(client.ListJobs("p", 1, 10));
  EXPECT_TRUE(throttled.retryable());
  EXPECT_EQ(throttled.code, "APIGW.0308");
  EXPECT_EQ(throttled.http_status, 429);
  EXPECT_EQ(throttled.retry_after, std::chrono::milliseconds(3000));
  const Error unavailable = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(unavailable.retryable());
  EXPECT_EQ(unavailable.code, "HTTP.503");
  EXPECT_EQ(unavailable.retry_after, std::chrono::milliseconds(60000));
}

// ---- secrets ----

TEST_F(HttpCloudClientTest, EchoedCredentialsNeverReachErrorMessages) {
  Serve("/v1/p/training-jobs/10/versions/11", 403,
        std::string(R"({"error_code": "ModelArts.0206", "error_message": "token )") + kToken +
            " is not valid here\"}");
  Serve("/v1/p/training-jobs/1/versions/2", 200, std::string("garbage echoing ") + kToken);
  HttpCloudClient& client = MakeClient();
  const Error forbidden = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_THAT(forbidden.message, HasSubstr("[REDACTED]"));
  const Error malformed = ErrorOf(client.GetVersion(VersionRef{"p", 1, 2}));
  EXPECT_EQ(malformed.code, "MalformedResponse");
  EXPECT_THAT(malformed.message, HasSubstr("garbage echoing [REDACTED]"));
  // TearDown greps every kept message for the token.
}

// ---- malformed answers ----

TEST_F(HttpCloudClientTest, MalformedBodiesOn2xxAreRetryableWithAnExcerpt) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, R"({"is_success": true, "job_id": 1, "vers)");
  Serve("/v1/p/training-jobs/1/versions/2", 200, R"({"is_success": true, "job_id": "one"})");
  Serve("/v1/p/training-jobs/1/versions/3", 200, "");
  Serve("/v1/p/training-jobs/1/versions/4", 200, std::string(5000, '\x01'));
  HttpCloudClient& client = MakeClient();
  const Error truncated = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(truncated.retryable());
  EXPECT_EQ(truncated.code, "MalformedResponse");
  EXPECT_THAT(truncated.message, HasSubstr("not valid JSON"));
  EXPECT_THAT(truncated.message, HasSubstr(R"(body: {"is_success": true, "job_id": 1, "vers)"));
  const Error wrong_type = ErrorOf(client.GetVersion(VersionRef{"p", 1, 2}));
  EXPECT_EQ(wrong_type.code, "MalformedResponse");
  EXPECT_THAT(wrong_type.message, HasSubstr("field job_id: expected a non-negative integer"));
  EXPECT_EQ(ErrorOf(client.GetVersion(VersionRef{"p", 1, 3})).code, "MalformedResponse");
  const Error binary = ErrorOf(client.GetVersion(VersionRef{"p", 1, 4}));
  EXPECT_EQ(binary.code, "MalformedResponse");
  EXPECT_LT(binary.message.size(), 600u);
  EXPECT_EQ(binary.message.find('\x01'), std::string::npos);
}

}  // namespace
}  // namespace mactl
