#include "controller/cloud/modelarts_types.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace mactl {
namespace {

using ::testing::HasSubstr;

// The documented list answer plus fields this client does not know.
constexpr char kListBody[] = R"({
  "is_success": true,
  "job_total_count": 2,
  "job_count_limit": 24,
  "quotas": 30,
  "unknown_top": {"nested": [1, 2, 3]},
  "jobs": [
    {"job_id": 10, "job_name": "bert", "version_id": 10, "status": 8,
     "create_time": 1524189990635, "duration": 532, "job_desc": "x", "version_count": 3,
     "is_zombie": false},
    {"job_id": 9223372036854775807, "job_name": "big", "version_id": 1, "status": 12}
  ]
})";

TEST(DecodeJobListPageTest, DecodesTheDocumentedAnswerAndIgnoresUnknownFields) {
  const auto d = DecodeJobListPage(kListBody);
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_FALSE(d.api_error.has_value());
  EXPECT_TRUE(d.decode_error.empty());
  EXPECT_EQ(d.value->job_total_count, 2);
  ASSERT_EQ(d.value->jobs.size(), 2u);
  const JobSummary& j = d.value->jobs[0];
  EXPECT_EQ(j.job_id, 10);
  EXPECT_EQ(j.job_name, "bert");
  EXPECT_EQ(j.version_id, 10);
  EXPECT_EQ(j.status, 8);
  EXPECT_EQ(j.create_time_ms, 1524189990635);
  EXPECT_EQ(j.duration_ms, 532);
  EXPECT_EQ(j.version_count, 3);
  EXPECT_EQ(d.value->jobs[1].job_id, 9223372036854775807);
  EXPECT_EQ(d.value->jobs[1].status, 12);
}

TEST(DecodeJobListPageTest, EmptyListAndNullOptionalFields) {
  const auto d = DecodeJobListPage(
      R"({"is_success": true, "jobs": [{"job_id": 1, "version_id": 2, "status": 7,
          "job_name": null, "create_time": null}]})");
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->jobs[0].job_name, "");
  EXPECT_EQ(d.value->jobs[0].create_time_ms, 0);
  const auto empty = DecodeJobListPage(R"({"is_success": true, "job_total_count": 0, "jobs": []})");
  ASSERT_TRUE(empty.value.has_value());
  EXPECT_TRUE(empty.value->jobs.empty());
}

TEST(DecodeJobListPageTest, IsSuccessFalseWithBothErrorTextSpellings) {
  const auto a = DecodeJobListPage(
      R"({"is_success": false, "error_message": "Error string", "error_code": "ModelArts.0105"})");
  EXPECT_FALSE(a.value.has_value());
  ASSERT_TRUE(a.api_error.has_value());
  EXPECT_EQ(a.api_error->error_code, "ModelArts.0105");
  EXPECT_EQ(a.api_error->error_message, "Error string");

  const auto b = DecodeJobListPage(
      R"({"is_success": false, "error_msg": "old spelling", "error_code": "ModelArts.2775"})");
  ASSERT_TRUE(b.api_error.has_value());
  EXPECT_EQ(b.api_error->error_code, "ModelArts.2775");
  EXPECT_EQ(b.api_error->error_message, "old spelling");
}

TEST(DecodeJobListPageTest, IsSuccessFalseWinsEvenWithAWellShapedBody) {
  const auto d = DecodeJobListPage(R"({"is_success": false, "jobs": [], "error_code": "X.1"})");
  EXPECT_FALSE(d.value.has_value());
  ASSERT_TRUE(d.api_error.has_value());
  EXPECT_EQ(d.api_error->error_code, "X.1");
}

TEST(DecodeJobListPageTest, MissingIsSuccessIsSuccessOnlyWithTheRequiredFields) {
  const auto ok = DecodeJobListPage(R"({"jobs": [{"job_id": 1, "version_id": 1, "status": 9}]})");
  ASSERT_TRUE(ok.value.has_value()) << ok.decode_error;
  EXPECT_EQ(ok.value->jobs[0].status, 9);

  const auto no_jobs = DecodeJobListPage(R"({"job_total_count": 3})");
  EXPECT_FALSE(no_jobs.value.has_value());
  EXPECT_FALSE(no_jobs.api_error.has_value());
  EXPECT_EQ(no_jobs.decode_error, "field is_success is missing and field jobs is missing");

  const auto gateway = DecodeJobListPage(
      R"({"error_code": "APIGW.0308", "error_msg": "throttled", "request_id": "abc"})");
  ASSERT_TRUE(gateway.api_error.has_value());
  EXPECT_EQ(gateway.api_error->error_code, "APIGW.0308");
  EXPECT_EQ(gateway.api_error->error_message, "throttled");
}

TEST(DecodeJobListPageTest, WrongTypesNameTheFieldAndWhatWasFound) {
  struct Case {
    const char* body;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"is_success": "true", "jobs": []})",
       "field is_success: expected a boolean, found string \"true\""},
      {R"({"is_success": true, "jobs": {}})", "field jobs: expected an array, found object"},
      {R"({"is_success": true, "jobs": [1]})", "jobs[0]: expected an object, found integer 1"},
      {R"({"is_success": true, "jobs": [{"job_id": 1, "version_id": 1, "status": "8"}]})",
       "field jobs[0].status: expected an integer in [-2147483648, 2147483647], found string "
       "\"8\""},
      {R"({"is_success": true, "jobs": [{"job_id": 1.5, "version_id": 1, "status": 8}]})",
       "field jobs[0].job_id: expected a non-negative integer, found float 1.5"},
      {R"({"is_success": true, "jobs": [{"job_id": -3, "version_id": 1, "status": 8}]})",
       "field jobs[0].job_id: expected a non-negative integer, found integer -3"},
      {R"({"is_success": true, "jobs": [{"job_id": 9223372036854775808, "version_id": 1,
           "status": 8}]})",
       "field jobs[0].job_id: expected a non-negative integer, found too big integer "
       "9223372036854775808"},
      {R"({"is_success": true, "jobs": [{"job_id": 1e30, "version_id": 1, "status": 8}]})",
       "field jobs[0].job_id: expected a non-negative integer, found float 1e+30"},
      {R"({"is_success": true, "jobs": [{"job_id": 1, "version_id": 1, "status": 4294967296}]})",
       "field jobs[0].status: expected an integer in [-2147483648, 2147483647], found too big "
       "integer 4294967296"},
      {R"({"is_success": true, "jobs": [{"job_id": 1, "status": 8}]})",
       "field jobs[0].version_id is missing"},
      {R"({"is_success": true, "jobs": [{"job_id": 1, "version_id": 1, "status": 8,
           "job_name": 5}]})",
       "field jobs[0].job_name: expected a string, found integer 5"},
      {R"({"is_success": true, "job_total_count": true, "jobs": []})",
       "field job_total_count: expected a non-negative integer, found boolean true"},
  };
  for (const Case& c : cases) {
    const auto d = DecodeJobListPage(c.body);
    EXPECT_FALSE(d.value.has_value()) << c.body;
    EXPECT_FALSE(d.api_error.has_value()) << c.body;
    EXPECT_EQ(d.decode_error, c.expected) << c.body;
  }
}

TEST(DecodeJobListPageTest, LongOffendingValuesAreQuotedBounded) {
  const std::string body = R"({"is_success": true, "jobs": [{"job_id": ")" +
                           std::string(10000, 'a') + R"(", "version_id": 1, "status": 8}]})";
  const auto d = DecodeJobListPage(body);
  EXPECT_THAT(d.decode_error, HasSubstr("field jobs[0].job_id"));
  EXPECT_LT(d.decode_error.size(), 200u);
}

TEST(DecodeAnswersTest, BrokenBodiesAreDecodeErrorsNeverCrashes) {
  const std::string truncated = std::string(kListBody).substr(0, 120);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string huge(kMaxDecodedBodyBytes + 1, ' ');
  struct Case {
    std::string body;
    const char* expected;
  };
  const Case cases[] = {
      {"", "empty body"},
      {" \r\n\t", "empty body"},
      {"<html>502 Bad Gateway</html>", "not valid JSON (error at byte 1)"},
      {truncated, "not valid JSON"},
      {"[1, 2]", "expected a JSON object, found array"},
      {"\"text\"", "expected a JSON object, found string \"text\""},
      {"null", "expected a JSON object, found null"},
      {"{} trailing", "not valid JSON"},
      {"{\"a\": \"\xff\"}", "not valid JSON"},
      {deep, "expected a JSON object, found array"},
      {huge, "body too large"},
  };
  for (const Case& c : cases) {
    const std::string label = c.body.substr(0, 40);
    EXPECT_THAT(DecodeJobListPage(c.body).decode_error, HasSubstr(c.expected)) << label;
    EXPECT_THAT(DecodeVersionDetail(c.body).decode_error, HasSubstr(c.expected)) << label;
    EXPECT_THAT(DecodeVersionListPage(c.body).decode_error, HasSubstr(c.expected)) << label;
    EXPECT_THAT(DecodeStopResponse(c.body).decode_error, HasSubstr(c.expected)) << label;
    EXPECT_FALSE(DecodeErrorBody(c.body).has_value()) << label;
  }
}

// nlohmann keeps the last of two equal keys silently; the decoders refuse the answer instead,
// wherever the repeat is, so no field can be read from a body that says two things.
TEST(DecodeJobListPageTest, DuplicateKeysAtAnyDepthAreDecodeErrors) {
  const char* bodies[] = {
      R"({"is_success": true, "jobs": [], "jobs": [{"job_id": 1, "version_id": 1, "status": 8}]})",
      R"({"is_success": true, "jobs": [{"job_id": 1, "version_id": 1, "status": 8, "status": 7}]})",
      R"({"is_success": true, "jobs": [], "unknown": [{"a": {"status": 1, "status": 1}}]})",
      R"({"is_success": false, "is_success": true, "jobs": []})",
  };
  for (const char* body : bodies) {
    const auto d = DecodeJobListPage(body);
    EXPECT_FALSE(d.value.has_value()) << body;
    EXPECT_FALSE(d.api_error.has_value()) << body;
    EXPECT_THAT(d.decode_error, HasSubstr("duplicate key \"")) << body;
  }
  EXPECT_EQ(DecodeJobListPage(bodies[1]).decode_error, "duplicate key \"status\"");
  // The same key in two objects, or at two depths, is not a repeat.
  const auto ok = DecodeJobListPage(R"({"is_success": true, "x": {"is_success": false},
      "jobs": [{"job_id": 1, "version_id": 1, "status": 8}, {"job_id": 2, "version_id": 1,
      "status": 8}]})");
  ASSERT_TRUE(ok.value.has_value()) << ok.decode_error;
  EXPECT_EQ(ok.value->jobs.size(), 2u);
}

TEST(DecodeJobListPageTest, ARepeatedKeyIsQuotedEscapedAndBounded) {
  const std::string key = "\\u001b[31m" + std::string(500, 'k');
  const auto d = DecodeJobListPage(R"({"jobs": [], ")" + key + R"(": 1, ")" + key + R"(": 2})");
  EXPECT_THAT(d.decode_error, HasSubstr("duplicate key \"\\u001b[31mkkk"));
  EXPECT_LT(d.decode_error.size(), 100u);
  EXPECT_EQ(d.decode_error.find('\x1b'), std::string::npos);
}

TEST(DecodeVersionDetailTest, DecodesTheDocumentedAnswer) {
  const auto d = DecodeVersionDetail(R"({
    "is_success": true, "job_id": 10, "job_name": "bert", "job_desc": "d", "version_id": 11,
    "version_name": "V0011", "pre_version_id": 10, "engine_type": 1, "status": 9,
    "create_time": 1524189990635, "start_time": 1524189990700, "duration": 1000,
    "parameter": [{"label": "lr", "value": "0.1"}], "system_metric_list": {"cpuUsage": []},
    "model_metric_list": "{}", "volumes": [], "is_zombie": false
  })");
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->job_id, 10);
  EXPECT_EQ(d.value->job_name, "bert");
  EXPECT_EQ(d.value->version_id, 11);
  EXPECT_EQ(d.value->version_name, "V0011");
  EXPECT_EQ(d.value->status, 9);
  EXPECT_EQ(d.value->create_time_ms, 1524189990635);
  EXPECT_EQ(d.value->start_time_ms, 1524189990700);
  EXPECT_EQ(d.value->duration_ms, 1000);
}

TEST(DecodeVersionDetailTest, RequiredFieldsAndErrors) {
  EXPECT_EQ(
      DecodeVersionDetail(R"({"is_success": true, "version_id": 1, "status": 8})").decode_error,
      "field job_id is missing");
  EXPECT_EQ(
      DecodeVersionDetail(R"({"is_success": true, "job_id": 1, "version_id": 1})").decode_error,
      "field status is missing");
  const auto no_flag = DecodeVersionDetail(R"({"job_id": 1, "version_id": 2, "status": 10})");
  ASSERT_TRUE(no_flag.value.has_value()) << no_flag.decode_error;
  EXPECT_EQ(no_flag.value->status, 10);
  const auto failure = DecodeVersionDetail(
      R"({"is_success": false, "error_msg": "not found", "error_code": "ModelArts.2775"})");
  ASSERT_TRUE(failure.api_error.has_value());
  EXPECT_EQ(failure.api_error->error_message, "not found");
}

TEST(DecodeVersionDetailTest, DuplicateKeysAtAnyDepthAreDecodeErrors) {
  for (const char* body : {
           R"({"is_success": true, "job_id": 1, "version_id": 2, "status": 10, "status": 8})",
           R"({"is_success": true, "job_id": 1, "version_id": 2, "status": 8,
               "parameter": [{"label": "lr", "label": "lr"}]})",
           R"({"is_success": false, "error_code": "A", "error_code": "B"})",
       }) {
    const auto d = DecodeVersionDetail(body);
    EXPECT_FALSE(d.value.has_value()) << body;
    EXPECT_FALSE(d.api_error.has_value()) << body;
    EXPECT_THAT(d.decode_error, HasSubstr("duplicate key")) << body;
  }
}

TEST(DecodeVersionListPageTest, DecodesAndInheritsTheJobId) {
  const auto d = DecodeVersionListPage(R"({
    "is_success": true, "job_id": 10, "job_name": "bert", "job_desc": "", "version_count": 2,
    "versions": [
      {"job_id": 10, "version_id": 11, "version_name": "V0002", "status": 8, "extra": 1},
      {"version_id": 10, "version_name": "V0001", "status": 12}
    ]
  })");
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->job_id, 10);
  EXPECT_EQ(d.value->job_name, "bert");
  EXPECT_EQ(d.value->version_count, 2);
  ASSERT_EQ(d.value->versions.size(), 2u);
  EXPECT_EQ(d.value->versions[0].version_id, 11);
  EXPECT_EQ(d.value->versions[0].status, 8);
  EXPECT_EQ(d.value->versions[1].job_id, 10);
  EXPECT_EQ(d.value->versions[1].job_name, "bert");
  EXPECT_EQ(d.value->versions[1].status, 12);
}

TEST(DecodeVersionListPageTest, WrongShapes) {
  EXPECT_EQ(DecodeVersionListPage(R"({"is_success": true, "versions": "none"})").decode_error,
            "field versions: expected an array, found string \"none\"");
  EXPECT_EQ(DecodeVersionListPage(R"({"is_success": true, "job_id": 1})").decode_error,
            "field versions is missing");
  EXPECT_EQ(DecodeVersionListPage(R"({"is_success": true, "versions": [{"version_id": 1}]})")
                .decode_error,
            "field versions[0].status is missing");
}

TEST(DecodeVersionListPageTest, DuplicateKeysAtAnyDepthAreDecodeErrors) {
  for (const char* body : {
           R"({"is_success": true, "job_id": 1, "job_id": 2, "versions": []})",
           R"({"is_success": true, "job_id": 1, "versions": [{"version_id": 1, "status": 8,
               "job_id": 1, "job_id": 2}]})",
       }) {
    const auto d = DecodeVersionListPage(body);
    EXPECT_FALSE(d.value.has_value()) << body;
    EXPECT_EQ(d.decode_error, "duplicate key \"job_id\"") << body;
  }
}

TEST(DecodeStopResponseTest, SuccessAndFailure) {
  const auto ok = DecodeStopResponse(R"({"is_success": true})");
  ASSERT_TRUE(ok.value.has_value());
  EXPECT_TRUE(*ok.value);
  const auto failed = DecodeStopResponse(
      R"({"is_success": false, "error_message": "Error string", "error_code": "ModelArts.0105"})");
  ASSERT_TRUE(failed.api_error.has_value());
  EXPECT_EQ(failed.api_error->error_code, "ModelArts.0105");
  EXPECT_EQ(failed.api_error->error_message, "Error string");
}

TEST(DecodeStopResponseTest, IsSuccessIsRequiredBecauseNothingElseProvesSuccess) {
  const auto empty_object = DecodeStopResponse("{}");
  EXPECT_FALSE(empty_object.value.has_value());
  EXPECT_EQ(empty_object.decode_error, "field is_success is missing");
  const auto with_code = DecodeStopResponse(R"({"error_code": "ModelArts.2796"})");
  ASSERT_TRUE(with_code.api_error.has_value());
  EXPECT_EQ(with_code.api_error->error_code, "ModelArts.2796");
}

TEST(DecodeStopResponseTest, ARepeatedIsSuccessIsNeverAnAcceptedStop) {
  for (const char* body : {R"({"is_success": false, "is_success": true})",
                           R"({"is_success": true, "is_success": true})",
                           R"({"is_success": true, "detail": {"a": 1, "a": 1}})"}) {
    const auto d = DecodeStopResponse(body);
    EXPECT_FALSE(d.value.has_value()) << body;
    EXPECT_FALSE(d.api_error.has_value()) << body;
    EXPECT_THAT(d.decode_error, HasSubstr("duplicate key")) << body;
  }
  EXPECT_EQ(DecodeStopResponse(R"({"is_success": false, "is_success": true})").decode_error,
            "duplicate key \"is_success\"");
}

TEST(DecodeErrorBodyTest, ARepeatedKeyLeavesNothingToRead) {
  EXPECT_FALSE(DecodeErrorBody(R"({"error_code": "A", "error_code": "B"})").has_value());
  EXPECT_FALSE(DecodeErrorBody(R"({"error_code": "A", "x": [{"y": 1, "y": 2}]})").has_value());
}

TEST(DecodeErrorBodyTest, ReadsOnlyTheErrorFields) {
  const auto a = DecodeErrorBody(R"({"error_code": "ModelArts.2796", "error_message": "no"})");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->error_code, "ModelArts.2796");
  EXPECT_EQ(a->error_message, "no");
  const auto b = DecodeErrorBody(R"({"error_msg": "only text"})");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->error_code, "");
  EXPECT_EQ(b->error_message, "only text");
  // An empty error_message falls back to error_msg.
  const auto c = DecodeErrorBody(R"({"error_code": "E", "error_message": "", "error_msg": "m"})");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->error_message, "m");
  EXPECT_FALSE(DecodeErrorBody(R"({"is_success": false})").has_value());
  EXPECT_FALSE(DecodeErrorBody("{}").has_value());
}

}  // namespace
}  // namespace mactl
