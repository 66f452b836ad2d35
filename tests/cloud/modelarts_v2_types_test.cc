#include "controller/cloud/modelarts_v2_types.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace mactl {
namespace {

using ::testing::HasSubstr;

// A detail answer in the documented shape (pretty-printed with " : " like the reference's
// examples), with fields this client does not read and a null node_count_metrics.
constexpr char kDetailBody[] = R"({
  "kind" : "job",
  "metadata" : {
    "id" : "cf63aba9-63b1-4219-b717-708a2665100b",
    "name" : "trainjob-bert_01",
    "description" : "",
    "create_time" : 1641892655000,
    "workspace_id" : "0",
    "user_name" : "someone",
    "annotations" : {"job_template" : "Template DL"}
  },
  "status" : {
    "phase" : "Running",
    "secondary_phase" : "Running",
    "duration" : 532000,
    "start_time" : 1641892655000,
    "tasks" : ["worker-0"],
    "task_statuses" : [{"task" : "worker-0", "exit_code" : 0, "message" : ""}],
    "running_records" : [{"start_at" : 1641892655, "end_at" : 0}],
    "node_count_metrics" : null
  },
  "algorithm" : {"id" : "x", "parameters" : [{"name" : "lr", "value" : "0.01"}]},
  "spec" : {"resource" : {"flavor_id" : "modelarts.vm.cpu.8u", "node_count" : 1,
                          "policy" : "regular", "flavor_detail" : {"flavor_type" : "CPU"}}},
  "endpoints" : {"ssh" : {"key_pair_names" : ["k"]}},
  "train_type" : "new-field-the-client-ignores"
})";

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";

std::string Job(const std::string& id, const std::string& name, const std::string& phase,
                const std::string& secondary = "") {
  return R"({"metadata": {"id": ")" + id + R"(", "name": ")" + name +
         R"("}, "status": {"phase": ")" + phase + R"(")" +
         (secondary.empty() ? "" : R"(, "secondary_phase": ")" + secondary + R"(")") + "}}";
}

TEST(DecodeTrainingJobTest, DecodesTheDocumentedDetailAndIgnoresUnknownFields) {
  const auto d = DecodeTrainingJob(kDetailBody);
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_FALSE(d.api_error.has_value());
  EXPECT_TRUE(d.decode_error.empty());
  const TrainingJobInfo& j = *d.value;
  EXPECT_EQ(j.id, kId);
  EXPECT_EQ(j.name, "trainjob-bert_01");
  EXPECT_EQ(j.phase, "Running");
  EXPECT_EQ(j.secondary_phase, "Running");
  EXPECT_EQ(j.create_time_ms, 1641892655000);
  EXPECT_EQ(j.start_time_ms, 1641892655000);
  EXPECT_EQ(j.duration_ms, 532000);
}

TEST(DecodeTrainingJobTest, OptionalFieldsMayBeAbsentOrNullAndIdsAreReadInLowerCase) {
  const auto d = DecodeTrainingJob(
      R"({"metadata": {"id": "CF63ABA9-63B1-4219-B717-708A2665100B", "name": "a",
          "create_time": null}, "status": {"phase": "Pending", "secondary_phase": null}})");
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->id, kId);
  EXPECT_EQ(d.value->secondary_phase, "");
  EXPECT_EQ(d.value->create_time_ms, 0);
  EXPECT_EQ(d.value->duration_ms, 0);
}

TEST(DecodeTrainingJobTest, AnUndocumentedPhaseIsKeptForThePhaseTableToJudge) {
  const auto d = DecodeTrainingJob(Job(kId, "a", "Hibernating", "Frozen Solid"));
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->phase, "Hibernating");
  EXPECT_EQ(d.value->secondary_phase, "Frozen Solid");
}

TEST(DecodeTrainingJobTest, ErrorBodiesAreApiErrorsWithEitherTextSpelling) {
  const auto a = DecodeTrainingJob(
      R"({"error_code": "ModelArts.2775", "error_msg": "Training job not found.",
          "error_solution": "Check the job ID."})");
  EXPECT_FALSE(a.value.has_value());
  ASSERT_TRUE(a.api_error.has_value());
  EXPECT_EQ(a.api_error->error_code, "ModelArts.2775");
  EXPECT_EQ(a.api_error->error_message, "Training job not found.");
  const auto b = DecodeTrainingJob(R"({"error_code": "APIGW.0308", "error_message": "busy"})");
  ASSERT_TRUE(b.api_error.has_value());
  EXPECT_EQ(b.api_error->error_message, "busy");
  // An error code wins over a well-shaped job.
  const auto c =
      DecodeTrainingJob(R"({"error_code": "ModelArts.2796", "metadata": {"id": ")" +
                        std::string(kId) + R"(", "name": "a"}, "status": {"phase": "Running"}})");
  ASSERT_TRUE(c.api_error.has_value());
  EXPECT_FALSE(c.value.has_value());
}

TEST(DecodeTrainingJobTest, HostileAnswersAreDecodeErrorsNamingTheField) {
  struct Case {
    std::string body;
    std::string expected;
  };
  const std::string meta = R"("metadata": {"id": ")" + std::string(kId) + R"(", "name": "a"})";
  const Case cases[] = {
      {"", "empty body"},
      {"[]", "expected a JSON object, found array"},
      {R"({"metadata": )", "not valid JSON (error at byte 14)"},
      {R"({"status": {"phase": "Running"}})", "field metadata is missing"},
      {"{" + meta + "}", "field status is missing"},
      {R"({"metadata": [], "status": {"phase": "Running"}})",
       "metadata: expected an object, found array"},
      {R"({"metadata": {"name": "a"}, "status": {"phase": "Running"}})",
       "field metadata.id is missing"},
      {R"({"metadata": {"id": 12, "name": "a"}, "status": {"phase": "Running"}})",
       "field metadata.id: expected a UUID string, found integer 12"},
      {R"({"metadata": {"id": "cf63aba9-63b1-4219-b717-708a2665100", "name": "a"},
           "status": {"phase": "Running"}})",
       "field metadata.id: expected a UUID string, found string "
       "\"cf63aba9-63b1-4219-b717-708a2665100\""},
      {R"({"metadata": {"id": "../../x", "name": "a"}, "status": {"phase": "Running"}})",
       "field metadata.id: expected a UUID string, found string \"../../x\""},
      {R"({"metadata": {"id": ")" + std::string(kId) +
           R"(", "name": "a\nb"}, "status": {"phase": "Running"}})",
       "field metadata.name: expected a job name (1-64 letters, digits, '_' or '-'), found "
       "string \"a\\nb\""},
      {R"({"metadata": {"id": ")" + std::string(kId) + R"(", "name": ")" + std::string(65, 'n') +
           R"("}, "status": {"phase": "Running"}})",
       "field metadata.name: expected a job name (1-64 letters, digits, '_' or '-'), found "
       "string \"" +
           std::string(39, 'n') + "..."},
      {"{" + meta + R"(, "status": {"phase": 8}})",
       "field status.phase: expected a phase (1-64 printable ASCII characters), found integer 8"},
      {"{" + meta + R"(, "status": {"phase": ""}})",
       "field status.phase: expected a phase (1-64 printable ASCII characters), found string "
       "\"\""},
      {"{" + meta + R"(, "status": {"phase": "Run\u001b[2Jning"}})",
       "field status.phase: expected a phase (1-64 printable ASCII characters), found string "
       "\"Run\\u001b[2Jning\""},
      {"{" + meta + R"(, "status": {"phase": "Running", "secondary_phase": ["Running"]}})",
       "field status.secondary_phase: expected a phase (1-64 printable ASCII characters), found "
       "array"},
      {"{" + meta + R"(, "status": {"phase": "Running", "duration": -1}})",
       "field status.duration: expected a non-negative integer, found integer -1"},
      {"{" + meta + R"(, "status": {"phase": "Running", "duration": 1.5}})",
       "field status.duration: expected a non-negative integer, found float 1.5"},
      {"{" + meta + R"(, "status": {"phase": "Running", "duration": "532"}})",
       "field status.duration: expected a non-negative integer, found string \"532\""},
      {"{" + meta + R"(, "status": {"phase": "Running", "start_time": 9223372036854775808}})",
       "field status.start_time: expected a 64-bit integer, found too big integer "
       "9223372036854775808"},
      {R"({"metadata": {"id": ")" + std::string(kId) +
           R"(", "name": "a", "create_time": true}, "status": {"phase": "Running"}})",
       "field metadata.create_time: expected a 64-bit integer, found boolean true"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const auto d = DecodeTrainingJob(c.body);
    EXPECT_FALSE(d.value.has_value());
    EXPECT_FALSE(d.api_error.has_value());
    EXPECT_EQ(d.decode_error, c.expected);
  }
}

TEST(DecodeTrainingJobTest, ARepeatedKeyAtAnyDepthIsADecodeError) {
  // nlohmann would keep the last phase: a Terminated job would read as Running or back.
  const auto a = DecodeTrainingJob(
      R"({"metadata": {"id": ")" + std::string(kId) +
      R"(", "name": "a"}, "status": {"phase": "Running", "phase": "Terminated"}})");
  EXPECT_FALSE(a.value.has_value());
  EXPECT_EQ(a.decode_error, "duplicate key \"phase\"");
  const auto b = DecodeTrainingJob(
      R"({"error_code": "", "error_code": "ModelArts.2775", "metadata": {}, "status": {}})");
  EXPECT_FALSE(b.api_error.has_value());
  EXPECT_EQ(b.decode_error, "duplicate key \"error_code\"");
  // Equal keys in different objects are fine.
  const auto c = DecodeTrainingJob(Job(kId, "a", "Running").insert(1, R"("x": {"phase": 1},)"));
  EXPECT_TRUE(c.value.has_value()) << c.decode_error;
}

TEST(DecodeTrainingJobTest, OversizedBodyIsRefusedUnparsed) {
  const std::string big(kMaxDecodedBodyBytes + 1, ' ');
  EXPECT_THAT(DecodeTrainingJob(big).decode_error, HasSubstr("body too large"));
}

TEST(DecodeTrainingJobSearchPageTest, DecodesAPageOfJobs) {
  const std::string body = R"({"total": 7, "count": 2, "limit": 50, "offset": 0,
      "sort_by": "create_time", "order": "asc", "group_by": "", "workspace_id": "0",
      "ai_project": "default-ai-project", "items": [)" +
                           std::string(kDetailBody) + "," +
                           Job("2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21", "b", "Pending", "Queuing") +
                           "]}";
  const auto d = DecodeTrainingJobSearchPage(body);
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->total, 7);
  EXPECT_EQ(d.value->count, 2);
  ASSERT_EQ(d.value->items.size(), 2u);
  EXPECT_EQ(d.value->items[0].id, kId);
  EXPECT_EQ(d.value->items[1].name, "b");
  EXPECT_EQ(d.value->items[1].secondary_phase, "Queuing");
  const auto empty = DecodeTrainingJobSearchPage(R"({"total": 0, "count": 0, "items": []})");
  ASSERT_TRUE(empty.value.has_value());
  EXPECT_TRUE(empty.value->items.empty());
}

TEST(DecodeTrainingJobSearchPageTest, HostilePagesNameTheRow) {
  const auto no_items = DecodeTrainingJobSearchPage(R"({"total": 3})");
  EXPECT_EQ(no_items.decode_error, "field items is missing");
  const auto object_items = DecodeTrainingJobSearchPage(R"({"items": {}})");
  EXPECT_EQ(object_items.decode_error, "field items: expected an array, found object");
  const auto bad_row =
      DecodeTrainingJobSearchPage(R"({"items": [)" + Job(kId, "a", "Running") + R"(, 3]})");
  EXPECT_EQ(bad_row.decode_error, "items[1]: expected an object, found integer 3");
  const auto bad_field = DecodeTrainingJobSearchPage(R"({"items": [)" + Job(kId, "a", "Running") +
                                                     "," + Job("nope", "b", "Running") + "]}");
  EXPECT_EQ(bad_field.decode_error,
            "field items[1].metadata.id: expected a UUID string, found string \"nope\"");
  const auto negative = DecodeTrainingJobSearchPage(R"({"count": -1, "items": []})");
  EXPECT_EQ(negative.decode_error,
            "field count: expected a non-negative integer, found integer -1");
  const auto repeated = DecodeTrainingJobSearchPage(R"({"items": [)" + Job(kId, "a", "Running") +
                                                    R"(], "items": []})");
  EXPECT_EQ(repeated.decode_error, "duplicate key \"items\"");
}

TEST(DecodeTerminateAnswerTest, TheAnswerIsTheJobAndMustBeTheOneAskedFor) {
  const auto ok = DecodeTerminateAnswer(Job(kId, "a", "Terminating", "Terminating"), kId);
  ASSERT_TRUE(ok.value.has_value()) << ok.decode_error;
  EXPECT_EQ(ok.value->phase, "Terminating");
  const auto upper =
      DecodeTerminateAnswer(Job("CF63ABA9-63B1-4219-B717-708A2665100B", "a", "Terminated"), kId);
  EXPECT_TRUE(upper.value.has_value()) << upper.decode_error;
  const auto other =
      DecodeTerminateAnswer(Job("2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21", "a", "Terminating"), kId);
  EXPECT_FALSE(other.value.has_value());
  EXPECT_EQ(
      other.decode_error,
      "field metadata.id: expected the terminated job's id "
      "\"cf63aba9-63b1-4219-b717-708a2665100b\", found \"2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21\"");
  const auto refused =
      DecodeTerminateAnswer(R"({"error_code": "ModelArts.2796", "error_msg": "not allowed"})", kId);
  ASSERT_TRUE(refused.api_error.has_value());
  EXPECT_EQ(refused.api_error->error_code, "ModelArts.2796");
  EXPECT_FALSE(DecodeTerminateAnswer("", kId).decode_error.empty());
}

TEST(DecodeV2ErrorBodyTest, ReadsTheErrorFieldsOfAnyObject) {
  const auto a = DecodeV2ErrorBody(
      R"({"error_code": "ModelArts.2878", "error_msg": "Job status changed.",
          "error_solution": "Try again later."})");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->error_code, "ModelArts.2878");
  EXPECT_EQ(a->error_message, "Job status changed.");
  const auto numeric = DecodeV2ErrorBody(R"({"error_code": 2775})");
  ASSERT_TRUE(numeric.has_value());
  EXPECT_EQ(numeric->error_code, "2775");
  EXPECT_FALSE(DecodeV2ErrorBody("<html>502 Bad Gateway</html>").has_value());
  EXPECT_FALSE(DecodeV2ErrorBody(R"({"items": []})").has_value());
  EXPECT_FALSE(
      DecodeV2ErrorBody(R"({"error_code": "ModelArts.2796", "error_code": "X"})").has_value());
}

}  // namespace
}  // namespace mactl
