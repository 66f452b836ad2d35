#include "api/manifest_decoder.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mactl {
namespace {

constexpr char kValid[] = R"(apiVersion: modelarts-controller.io/v1
kind: TrainingJobVersion
metadata:
  name: bert-finetune-v10
  labels: {team: nlp}
  annotations:
    modelarts-controller.io/paused: "true"
spec:
  projectId: 0f1e2d3c
  jobId: 10
  versionId: 11
  desiredState: Stopped
)";

std::string Doc(const std::string& spec_lines, const std::string& name = "a") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: " +
         name + "\nspec:\n" + spec_lines;
}

// Decodes and expects exactly one error at line:column containing `needle`.
void ExpectOneError(const std::string& yaml, int line, int column, const std::string& needle) {
  const DecodeResult r = DecodeManifests(yaml, "dir/m.yaml");
  EXPECT_TRUE(r.objects.empty());
  ASSERT_EQ(r.errors.size(), 1u) << (r.errors.empty() ? "" : r.errors[0].ToString());
  EXPECT_EQ(r.errors[0].position.file, "dir/m.yaml");
  EXPECT_EQ(r.errors[0].position.line, line) << r.errors[0].ToString();
  EXPECT_EQ(r.errors[0].position.column, column) << r.errors[0].ToString();
  EXPECT_NE(r.errors[0].reason.find(needle), std::string::npos) << r.errors[0].ToString();
}

TEST(ManifestDecoder, DecodesTheContractExample) {
  const DecodeResult r = DecodeManifests(kValid, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.objects.size(), 1u);
  const TrainingJobVersion& o = r.objects[0];
  EXPECT_EQ(o.name, "bert-finetune-v10");
  EXPECT_EQ(o.project_id, "0f1e2d3c");
  EXPECT_EQ(o.job_id, 10);
  EXPECT_EQ(o.version_id, 11);
  EXPECT_EQ(o.desired_state, DesiredState::kStopped);
  EXPECT_TRUE(o.paused);
  EXPECT_EQ(o.labels.at("team"), "nlp");
  EXPECT_EQ(o.source.ToString(), "m.yaml:1:1");
}

TEST(ManifestDecoder, MultipleDocumentsAndEmptyOnesAreSkipped) {
  const std::string yaml = "---\n" + Doc("  jobId: 1\n  versionId: 1\n  desiredState: Running\n") +
                           "---\n---\n" +
                           Doc("  jobId: 2\n  versionId: 1\n  desiredState: Stopped\n", "b");
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.objects.size(), 2u);
  EXPECT_EQ(r.objects[1].name, "b");
  EXPECT_EQ(r.objects[1].source.line, 11);
}

TEST(ManifestDecoder, AnInvalidDocumentDoesNotHideTheValidOneBesideIt) {
  const std::string yaml = Doc("  jobId: abc\n  versionId: 1\n  desiredState: Stopped\n") +
                           "---\n" +
                           Doc("  jobId: 2\n  versionId: 1\n  desiredState: Stopped\n", "b");
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.objects[0].name, "b");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "m.yaml:6:10: spec.jobId: must be an integer >= 1, got \"abc\"");
}

TEST(ManifestDecoder, UnknownFieldPointsAtTheKey) {
  ExpectOneError(Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n  replicas: 3\n"), 9, 3,
                 "spec.replicas: unknown field");
}

TEST(ManifestDecoder, MissingFieldsAreEachReported) {
  const DecodeResult r = DecodeManifests(Doc("  jobId: 1\n"), "m.yaml");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_NE(r.errors[0].reason.find("missing required field spec.versionId"), std::string::npos);
  EXPECT_NE(r.errors[1].reason.find("missing required field spec.desiredState"), std::string::npos);
}

TEST(ManifestDecoder, DuplicateKeysAreRejected) {
  ExpectOneError(Doc("  jobId: 1\n  jobId: 2\n  versionId: 1\n  desiredState: Stopped\n"), 7, 3,
                 "spec.jobId: duplicate key");
}

TEST(ManifestDecoder, Yaml11CoercionsAreRefused) {
  ExpectOneError(Doc("  jobId: 010\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10, "octal");
  ExpectOneError(Doc("  jobId: \"10\"\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10,
                 "without quotes");
  ExpectOneError(Doc("  jobId: 0x10\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10,
                 "integer >= 1");
  ExpectOneError(Doc("  jobId: 1.5\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10,
                 "integer >= 1");
  ExpectOneError(Doc("  jobId: 0\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10,
                 "integer >= 1");
  ExpectOneError(Doc("  jobId: -3\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10,
                 "integer >= 1");
  ExpectOneError(Doc("  jobId: 99999999999999999999999\n  versionId: 1\n  desiredState: Stopped\n"),
                 6, 10, "out of range");
  const std::string paused_yes =
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: a\n"
      "  annotations:\n    modelarts-controller.io/paused: yes\nspec:\n  jobId: 1\n"
      "  versionId: 1\n  desiredState: Stopped\n";
  ExpectOneError(paused_yes, 6, 37, "must be \"true\" or \"false\"");
}

TEST(ManifestDecoder, EnumsAndNamesAreChecked) {
  ExpectOneError(Doc("  jobId: 1\n  versionId: 1\n  desiredState: stopped\n"), 8, 17,
                 "did you mean Stopped?");
  ExpectOneError(Doc("  jobId: 1\n  versionId: 1\n  desiredState: Paused\n"), 8, 17,
                 "must be Stopped or Running");
  ExpectOneError(Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n", "Bad_Name"), 4, 9,
                 "DNS-1123");
  ExpectOneError(Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n", std::string(64, 'a')),
                 4, 9, "DNS-1123");
  ExpectOneError(Doc("  projectId: ../../x\n  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n"),
                 6, 14, "spec.projectId");
}

TEST(ManifestDecoder, WrongKindsSayWhatWasExpected) {
  ExpectOneError(Doc("  jobId: [1]\n  versionId: 1\n  desiredState: Stopped\n"), 6, 10,
                 "got a list");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata: x\n"
      "spec: {jobId: 1, versionId: 1, desiredState: Stopped}\n",
      3, 11, "metadata: must be a mapping");
  ExpectOneError("- just\n- a list\n", 1, 1, "must be a mapping");
  ExpectOneError(
      "apiVersion: v2\nkind: TrainingJobVersion\nmetadata: {name: a}\n"
      "spec: {jobId: 1, versionId: 1, desiredState: Stopped}\n",
      1, 13, "apiVersion: must be modelarts-controller.io/v1");
}

TEST(ManifestDecoder, SyntaxErrorsCarryThePositionAndKeepEarlierDocuments) {
  const std::string yaml =
      Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n") + "---\nspec: [unclosed\n";
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  EXPECT_EQ(r.objects.size(), 1u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].reason.find("invalid YAML"), std::string::npos);
  EXPECT_GE(r.errors[0].position.line, 10);
}

TEST(ManifestDecoder, AliasBombIsRejectedQuickly) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    const char prev = static_cast<char>(c - 1);
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const DecodeResult r = DecodeManifests(bomb, "bomb.yaml");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].reason.find("aliases"), std::string::npos);
  EXPECT_TRUE(r.objects.empty());
}

TEST(ManifestDecoder, HostileSizesAreBoundedWithClearErrors) {
  DecodeLimits limits;
  limits.max_file_bytes = 1000;
  EXPECT_NE(DecodeManifests(std::string(2000, 'a'), "big.yaml", limits)
                .errors.at(0)
                .reason.find("larger than"),
            std::string::npos);
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "[";
  const DecodeResult nested = DecodeManifests(deep, "deep.yaml");
  ASSERT_FALSE(nested.errors.empty());
  std::string many = "spec:\n";
  for (int i = 0; i < 20000; ++i) many += "  k" + std::to_string(i) + ": v\n";
  EXPECT_NE(DecodeManifests(many, "many.yaml").errors.at(0).reason.find("nodes"),
            std::string::npos);
  EXPECT_NE(DecodeManifests(std::string("a: b\0c", 6), "bin.yaml").errors.at(0).reason.find("NUL"),
            std::string::npos);
  const std::string garbage = "\xff\xfe\x01\x02: [\x80\x81";
  EXPECT_FALSE(DecodeManifests(garbage, "garbage.yaml").errors.empty());
}

// Found by fuzz/manifest_decoder_fuzzer: a key was echoed raw into the field path of an
// error, so a key with a line break or an ESC split or repainted the log line, and a key
// written as an explicit `? key` (which has no length limit, unlike a plain `key:`) made a
// reason as long as the key.
TEST(ManifestDecoder, KeysInErrorsAreBoundedAndPrintable) {
  const std::string spec = "  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n";
  ExpectOneError(Doc("  \"job\\nId\": 1\n" + spec), 6, 3, "spec.job?Id: unknown field");

  const std::string labels = "  labels:\n    \"a\\e[2Jb\": [x]\n";
  const DecodeResult label = DecodeManifests(Doc(spec, "a\n" + labels), "m.yaml");
  ASSERT_EQ(label.errors.size(), 1u);
  EXPECT_NE(label.errors[0].reason.find("metadata.labels.a?[2Jb: must be a string"),
            std::string::npos)
      << label.errors[0].reason;

  const std::string long_key = "  ? " + std::string(5000, 'k') + "\n  : 1\n";
  const DecodeResult r = DecodeManifests(Doc(long_key + spec), "m.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_LT(r.errors[0].reason.size(), 1024u);
  EXPECT_NE(r.errors[0].reason.find("kkk...: unknown field"), std::string::npos)
      << r.errors[0].reason.substr(0, 200);
}

// Caught by the printable-reason property of fuzz/manifest_decoder_fuzzer (on an input
// written by hand: yaml-cpp is not instrumented, so the fuzzer alone is slow to reach it):
// yaml-cpp ends some messages with the input byte it choked on ("unknown escape character: "
// and the byte after a backslash), which could be a control byte such as ESC or a line break.
TEST(ManifestDecoder, SyntaxErrorReasonsHaveNoControlBytes) {
  for (const char* bad : {"a: \"x\\\x1b[31m\"\n", "a: \"x\\\r\"\n", "a: \"x\\\x7f\"\n"}) {
    const DecodeResult r = DecodeManifests(bad, "m.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    const std::string& reason = r.errors[0].reason;
    EXPECT_NE(reason.find("unknown escape character: ?"), std::string::npos) << reason;
    for (const char c : reason) {
      const auto byte = static_cast<unsigned char>(c);
      EXPECT_TRUE(byte >= 0x20 && byte != 0x7f) << "control byte " << int{byte} << " in " << reason;
    }
  }
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

// kind TrainingJob (the v2 API): the contract example, then one row per rule.
constexpr char kValidJob[] = R"(apiVersion: modelarts-controller.io/v1
kind: TrainingJob
metadata:
  name: llama-sft
  labels: {team: nlp}
spec:
  projectId: 0f1e2d3c
  trainingJobId: 2C7F7A0E-5d4b-4a51-9c61-0b8e4f3a7d21
  desiredState: Stopped
)";

std::string JobDoc(const std::string& spec_lines, const std::string& name = "a") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: " + name +
         "\nspec:\n" + spec_lines;
}

constexpr char kUuid[] = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";

TEST(ManifestDecoderTrainingJob, DecodesTheContractExampleAndLowerCasesTheId) {
  const DecodeResult r = DecodeManifests(kValidJob, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_TRUE(r.objects.empty());
  ASSERT_EQ(r.jobs.size(), 1u);
  const TrainingJob& j = r.jobs[0];
  EXPECT_EQ(j.name, "llama-sft");
  EXPECT_EQ(j.project_id, "0f1e2d3c");
  EXPECT_EQ(j.training_job_id, kUuid);
  EXPECT_EQ(j.training_job_name, "");
  EXPECT_EQ(j.desired_state, DesiredState::kStopped);
  EXPECT_FALSE(j.paused);
  EXPECT_EQ(j.labels.at("team"), "nlp");
  EXPECT_EQ(j.source.ToString(), "m.yaml:1:1");
  EXPECT_EQ(j.Ref("default").Key(), std::string("0f1e2d3c/") + kUuid);
}

TEST(ManifestDecoderTrainingJob, ByNameWithTheDefaultProjectAndPausedAnnotation) {
  const std::string yaml =
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: a\n"
      "  annotations:\n    modelarts-controller.io/paused: \"true\"\nspec:\n"
      "  trainingJobName: llama_SFT-0412\n  desiredState: Running\n";
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.jobs.size(), 1u);
  EXPECT_EQ(r.jobs[0].training_job_name, "llama_SFT-0412");
  EXPECT_EQ(r.jobs[0].training_job_id, "");
  EXPECT_EQ(r.jobs[0].desired_state, DesiredState::kRunning);
  EXPECT_TRUE(r.jobs[0].paused);
  EXPECT_EQ(r.jobs[0].Ref("p").Key(), "p/name:llama_SFT-0412");
}

TEST(ManifestDecoderTrainingJob, BothKindsInOneFileKeepTheirOrderAndErrors) {
  const std::string yaml = JobDoc("  trainingJobName: x\n  desiredState: Stopped\n", "j") +
                           "---\n" + Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n") +
                           "---\n" + JobDoc("  trainingJobName: y\n", "k");
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_EQ(r.jobs.size(), 1u);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.jobs[0].source.line, 1);
  EXPECT_EQ(r.objects[0].source.line, 8);  // a document starts at its "---"
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "m.yaml:23:3: missing required field spec.desiredState");
}

// One document, one error: where it is and what it says.
struct JobErrorRow {
  const char* what;
  std::string spec;  // the lines under spec:, starting at line 6
  int line;
  int column;
  const char* needle;
};

TEST(ManifestDecoderTrainingJob, EveryRuleHasItsPositionedError) {
  const std::string id = kUuid;
  const JobErrorRow rows[] = {
      {"neither id nor name", "  desiredState: Stopped\n", 6, 3,
       "missing required field spec.trainingJobId or spec.trainingJobName"},
      {"both id and name",
       "  trainingJobId: " + id + "\n  trainingJobName: x\n  desiredState: Stopped\n", 7, 20,
       "exactly one of spec.trainingJobId and spec.trainingJobName"},
      {"id null and no name", "  trainingJobId: ~\n  desiredState: Stopped\n", 6, 3,
       "missing required field spec.trainingJobId or spec.trainingJobName"},
      {"short uuid",
       "  trainingJobId: 2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d2\n  desiredState: Stopped\n", 6, 18,
       "spec.trainingJobId: must be a UUID"},
      {"not hex",
       "  trainingJobId: 2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7dzz\n  desiredState: Stopped\n", 6, 18,
       "must be a UUID"},
      {"dashes moved",
       "  trainingJobId: 2c7f7a0e5-d4b-4a51-9c61-0b8e4f3a7d21\n  desiredState: Stopped\n", 6, 18,
       "must be a UUID"},
      {"braced uuid", "  trainingJobId: \"{" + id + "}\"\n  desiredState: Stopped\n", 6, 18,
       "must be a UUID"},
      {"v1 integer id", "  trainingJobId: 10\n  desiredState: Stopped\n", 6, 18, "must be a UUID"},
      {"id as a list", "  trainingJobId: [a]\n  desiredState: Stopped\n", 6, 18,
       "spec.trainingJobId: must be a string, got a list"},
      {"name with a space", "  trainingJobName: \"llama sft\"\n  desiredState: Stopped\n", 6, 20,
       "spec.trainingJobName: must be 1-64 letters, digits, '_' or '-'"},
      {"name too long",
       "  trainingJobName: " + std::string(65, 'a') + "\n  desiredState: Stopped\n", 6, 20,
       "spec.trainingJobName: must be 1-64"},
      {"empty name", "  trainingJobName: \"\"\n  desiredState: Stopped\n", 6, 20,
       "spec.trainingJobName: must be 1-64"},
      {"unknown field", "  trainingJobName: x\n  desiredState: Stopped\n  replicas: 3\n", 8, 3,
       "spec.replicas: unknown field (allowed: projectId, trainingJobId, trainingJobName, "
       "desiredState, maxRuntime)"},
      {"maxRuntime with Stopped",
       "  trainingJobName: x\n  desiredState: Stopped\n  maxRuntime: 72h\n", 8, 15,
       "spec.maxRuntime: only allowed with desiredState Running"},
      {"maxRuntime under a minute",
       "  trainingJobName: x\n  desiredState: Running\n  maxRuntime: 59s\n", 8, 15,
       "spec.maxRuntime: must be at least 1m, got \"59s\""},
      {"v1 field in a v2 spec", "  trainingJobName: x\n  jobId: 1\n  desiredState: Stopped\n", 7, 3,
       "spec.jobId: unknown field"},
      {"bad desired state", "  trainingJobName: x\n  desiredState: running\n", 7, 17,
       "did you mean Running?"},
      {"missing desired state", "  trainingJobName: x\n", 6, 3,
       "missing required field spec.desiredState"},
      {"bad project", "  projectId: a/b\n  trainingJobName: x\n  desiredState: Stopped\n", 6, 14,
       "spec.projectId: must be 1-64"},
      {"duplicate key", "  trainingJobName: x\n  trainingJobName: y\n  desiredState: Stopped\n", 7,
       3, "spec.trainingJobName: duplicate key"},
  };
  for (const JobErrorRow& row : rows) {
    SCOPED_TRACE(row.what);
    ExpectOneError(JobDoc(row.spec), row.line, row.column, row.needle);
    const DecodeResult r = DecodeManifests(JobDoc(row.spec), "dir/m.yaml");
    EXPECT_TRUE(r.jobs.empty());
  }
}

TEST(ManifestDecoderTrainingJob, MetadataRulesAreTheSameAsForVersions) {
  ExpectOneError(JobDoc("  trainingJobName: x\n  desiredState: Stopped\n", "Bad_Name"), 4, 9,
                 "DNS-1123");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: a\n"
      "  annotations:\n    modelarts-controller.io/paused: yes\nspec:\n  trainingJobName: x\n"
      "  desiredState: Stopped\n",
      6, 37, "must be \"true\" or \"false\"");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: a\n"
      "  uid: 3\nspec:\n  trainingJobName: x\n  desiredState: Stopped\n",
      5, 3, "metadata.uid: unknown field");
}

TEST(ManifestDecoderTrainingJob, AnUnknownKindNamesEveryKind) {
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobs\nmetadata: {name: a}\n"
      "spec: {jobId: 1, versionId: 1, desiredState: Stopped}\n",
      2, 7,
      "kind: must be TrainingJobVersion, TrainingJob or TrainingJobPolicy, got \"TrainingJobs\"");
}

TEST(ManifestDecoderMaxRuntime, BothKindsKeepTheLimitInMilliseconds) {
  const std::string yaml =
      Doc("  jobId: 1\n  versionId: 1\n  desiredState: Running\n  maxRuntime: 72h\n") + "---\n" +
      JobDoc("  trainingJobName: x\n  desiredState: Running\n  maxRuntime: 1m30s\n", "j");
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.objects.size(), 1u);
  ASSERT_EQ(r.jobs.size(), 1u);
  EXPECT_EQ(r.objects[0].max_runtime, std::chrono::hours(72));
  EXPECT_EQ(r.jobs[0].max_runtime, std::chrono::seconds(90));
  const DecodeResult none = DecodeManifests(kValid, "m.yaml");
  ASSERT_EQ(none.objects.size(), 1u);
  EXPECT_FALSE(none.objects[0].max_runtime.has_value());
}

TEST(ManifestDecoderMaxRuntime, EveryRuleHasItsPositionedError) {
  const std::string ids = "  jobId: 1\n  versionId: 1\n";
  ExpectOneError(Doc(ids + "  desiredState: Stopped\n  maxRuntime: 2h\n"), 9, 15,
                 "spec.maxRuntime: only allowed with desiredState Running");
  ExpectOneError(Doc(ids + "  desiredState: Running\n  maxRuntime: 30s\n"), 9, 15,
                 "spec.maxRuntime: must be at least 1m");
  ExpectOneError(Doc(ids + "  desiredState: Running\n  maxRuntime: 72\n"), 9, 15,
                 "spec.maxRuntime: must be a duration like 90m or 72h, got \"72\"");
  ExpectOneError(Doc(ids + "  desiredState: Running\n  maxRuntime: -1h\n"), 9, 15,
                 "must be a duration");
  ExpectOneError(Doc(ids + "  desiredState: Running\n  maxRuntime: 3d\n"), 9, 15,
                 "must be a duration");
  ExpectOneError(Doc(ids + "  desiredState: Running\n  maxRuntime: 99999999999999h\n"), 9, 15,
                 "must be a duration");
  ExpectOneError(Doc(ids + "  desiredState: Running\n  maxRuntime: [1h]\n"), 9, 15,
                 "spec.maxRuntime: must be a string, got a list");
  // An invalid desiredState is the one error; the limit beside it is not blamed for it.
  ExpectOneError(Doc(ids + "  desiredState: running\n  maxRuntime: 2h\n"), 8, 17,
                 "did you mean Running?");
  ExpectOneError(Doc(ids + "  maxRuntime: 2h\n"), 6, 3, "missing required field spec.desiredState");
}

TEST(TrainingJobIds, UuidAndNameRules) {
  EXPECT_TRUE(IsValidTrainingJobId(kUuid));
  EXPECT_TRUE(IsValidTrainingJobId("CF63ABA9-63B1-4219-B717-708A2665100B"));
  EXPECT_EQ(NormalizeTrainingJobId("CF63ABA9-63B1-4219-B717-708A2665100B"),
            "cf63aba9-63b1-4219-b717-708a2665100b");
  EXPECT_FALSE(IsValidTrainingJobId(""));
  EXPECT_FALSE(IsValidTrainingJobId("cf63aba963b14219b717708a2665100b"));
  EXPECT_FALSE(IsValidTrainingJobId("cf63aba9-63b1-4219-b717-708a2665100b "));
  EXPECT_FALSE(IsValidTrainingJobId("cf63aba9-63b1-4219-b717-708a2665100g"));
  EXPECT_FALSE(IsValidTrainingJobId(std::string("cf63aba9-63b1-4219-b717-708a2665100\0", 36)));
  EXPECT_TRUE(IsValidTrainingJobName("a"));
  EXPECT_TRUE(IsValidTrainingJobName(std::string(64, 'Z')));
  EXPECT_FALSE(IsValidTrainingJobName(std::string(65, 'Z')));
  EXPECT_FALSE(IsValidTrainingJobName("a.b"));
  EXPECT_FALSE(IsValidTrainingJobName("a/b"));
  EXPECT_FALSE(IsValidTrainingJobName("ü"));
}

// kind TrainingJobPolicy (README, "Runtime limits"): the contract example, the defaults, then
// one row per rule.
constexpr char kValidPolicy[] = R"(apiVersion: modelarts-controller.io/v1
kind: TrainingJobPolicy
metadata:
  name: runtime-cap-experiments
  labels: {team: nlp}
  annotations:
    modelarts-controller.io/paused: "true"
spec:
  projectId: 0f1e2d3c
  jobKinds: [TrainingJob, TrainingJobVersion]
  nameGlob: "exp-*"
  maxRuntime: 72h
)";

std::string PolicyDoc(const std::string& spec_lines, const std::string& name = "a") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: " +
         name + "\nspec:\n" + spec_lines;
}

TEST(ManifestDecoderPolicy, DecodesTheContractExample) {
  const DecodeResult r = DecodeManifests(kValidPolicy, "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  EXPECT_TRUE(r.objects.empty());
  EXPECT_TRUE(r.jobs.empty());
  ASSERT_EQ(r.policies.size(), 1u);
  const TrainingJobPolicy& p = r.policies[0];
  EXPECT_EQ(p.name, "runtime-cap-experiments");
  EXPECT_EQ(p.labels.at("team"), "nlp");
  EXPECT_EQ(p.annotations.at("modelarts-controller.io/paused"), "true");
  EXPECT_TRUE(p.paused);
  EXPECT_EQ(p.project_id, "0f1e2d3c");
  EXPECT_EQ(p.ProjectId("default"), "0f1e2d3c");
  EXPECT_TRUE(p.training_jobs);
  EXPECT_TRUE(p.versions);
  EXPECT_EQ(p.name_glob, "exp-*");
  EXPECT_EQ(p.max_runtime, std::chrono::hours(72));
  EXPECT_EQ(p.source.ToString(), "m.yaml:1:1");
}

TEST(ManifestDecoderPolicy, OptionalFieldsDefaultToEveryJobOfTheDefaultProject) {
  const DecodeResult r = DecodeManifests(PolicyDoc("  maxRuntime: 90m\n"), "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.policies.size(), 1u);
  const TrainingJobPolicy& p = r.policies[0];
  EXPECT_EQ(p.project_id, "");
  EXPECT_EQ(p.ProjectId("default"), "default");
  EXPECT_TRUE(p.training_jobs);
  EXPECT_TRUE(p.versions);
  EXPECT_EQ(p.name_glob, "");
  EXPECT_FALSE(p.paused);
  EXPECT_EQ(p.max_runtime, std::chrono::minutes(90));
  // Null optional fields are absent fields.
  const DecodeResult nulls = DecodeManifests(
      PolicyDoc("  projectId: ~\n  jobKinds: ~\n  nameGlob: ~\n  maxRuntime: 1m\n"), "m.yaml");
  ASSERT_TRUE(nulls.errors.empty()) << nulls.errors[0].ToString();
  ASSERT_EQ(nulls.policies.size(), 1u);
  EXPECT_TRUE(nulls.policies[0].training_jobs && nulls.policies[0].versions);
  EXPECT_EQ(nulls.policies[0].max_runtime, std::chrono::minutes(1));
}

TEST(ManifestDecoderPolicy, JobKindsNarrowToOneKind) {
  const DecodeResult r =
      DecodeManifests(PolicyDoc("  jobKinds: [TrainingJobVersion]\n  maxRuntime: 1h\n") + "---\n" +
                          PolicyDoc("  jobKinds:\n  - TrainingJob\n  maxRuntime: 2h\n", "b"),
                      "m.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].ToString();
  ASSERT_EQ(r.policies.size(), 2u);
  EXPECT_TRUE(r.policies[0].versions);
  EXPECT_FALSE(r.policies[0].training_jobs);
  EXPECT_FALSE(r.policies[1].versions);
  EXPECT_TRUE(r.policies[1].training_jobs);
  EXPECT_EQ(r.policies[1].source.line, 8);
}

TEST(ManifestDecoderPolicy, EveryKindInOneFileKeepsItsOrderAndErrors) {
  const std::string yaml = PolicyDoc("  maxRuntime: 1h\n", "p") + "---\n" +
                           JobDoc("  trainingJobName: x\n  desiredState: Stopped\n", "j") +
                           "---\n" + Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n") +
                           "---\n" + PolicyDoc("  nameGlob: x\n", "q");
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_EQ(r.policies.size(), 1u);
  ASSERT_EQ(r.jobs.size(), 1u);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.policies[0].source.line, 1);
  EXPECT_EQ(r.jobs[0].source.line, 7);
  EXPECT_EQ(r.objects[0].source.line, 15);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "m.yaml:30:3: missing required field spec.maxRuntime");
  EXPECT_EQ(r.errors[0].Document().ToString(), "m.yaml:24:1");
}

TEST(ManifestDecoderPolicy, EveryRuleHasItsPositionedError) {
  const std::string limit = "  maxRuntime: 1h\n";
  const JobErrorRow rows[] = {
      {"missing maxRuntime", "  nameGlob: exp-*\n", 6, 3, "missing required field spec.maxRuntime"},
      {"null maxRuntime", "  maxRuntime: ~\n", 6, 15, "missing required field spec.maxRuntime"},
      {"maxRuntime under a minute", "  maxRuntime: 59s\n", 6, 15,
       "spec.maxRuntime: must be at least 1m, got \"59s\""},
      {"maxRuntime without unit", "  maxRuntime: 72\n", 6, 15,
       "spec.maxRuntime: must be a duration like 90m or 72h, got \"72\""},
      {"maxRuntime in days", "  maxRuntime: 3d\n", 6, 15, "must be a duration"},
      {"maxRuntime negative", "  maxRuntime: -1h\n", 6, 15, "must be a duration"},
      {"maxRuntime a list", "  maxRuntime: [1h]\n", 6, 15,
       "spec.maxRuntime: must be a string, got a list"},
      {"jobKinds empty", "  jobKinds: []\n" + limit, 6, 13,
       "spec.jobKinds: must name at least one kind"},
      {"jobKinds a scalar", "  jobKinds: TrainingJob\n" + limit, 6, 13,
       "spec.jobKinds: must be a list of TrainingJob and/or TrainingJobVersion, got "
       "\"TrainingJob\""},
      {"jobKinds unknown", "  jobKinds: [TrainingJob, Job]\n" + limit, 6, 27,
       "spec.jobKinds[1]: must be TrainingJob or TrainingJobVersion, got \"Job\""},
      {"jobKinds wrong case", "  jobKinds: [trainingjob]\n" + limit, 6, 14,
       "spec.jobKinds[0]: must be TrainingJob or TrainingJobVersion, got \"trainingjob\""},
      {"jobKinds policy kind", "  jobKinds: [TrainingJobPolicy]\n" + limit, 6, 14,
       "spec.jobKinds[0]: must be TrainingJob or TrainingJobVersion"},
      {"jobKinds twice", "  jobKinds: [TrainingJob, TrainingJob]\n" + limit, 6, 27,
       "spec.jobKinds[1]: TrainingJob is listed twice"},
      {"jobKinds item a map", "  jobKinds: [{a: b}]\n" + limit, 6, 14,
       "spec.jobKinds[0]: must be a string"},
      {"nameGlob unclosed set", "  nameGlob: \"exp-[\"\n" + limit, 6, 13,
       "spec.nameGlob: not a valid glob: unclosed '[' at byte 5"},
      {"nameGlob lone backslash", "  nameGlob: 'exp\\'\n" + limit, 6, 13,
       "spec.nameGlob: not a valid glob: ends with a lone '\\'"},
      {"nameGlob too long", "  nameGlob: " + std::string(257, 'a') + "\n" + limit, 6, 13,
       "spec.nameGlob: not a valid glob: longer than 256 bytes"},
      {"nameGlob a list", "  nameGlob: [a]\n" + limit, 6, 13,
       "spec.nameGlob: must be a string, got a list"},
      {"desiredState is not a policy field", limit + "  desiredState: Stopped\n", 7, 3,
       "spec.desiredState: unknown field (allowed: projectId, jobKinds, nameGlob, maxRuntime)"},
      {"v1 field", "  jobId: 1\n" + limit, 6, 3, "spec.jobId: unknown field"},
      {"bad project", "  projectId: a/b\n" + limit, 6, 14, "spec.projectId: must be 1-64"},
      {"duplicate key", limit + "  maxRuntime: 2h\n", 7, 3, "spec.maxRuntime: duplicate key"},
  };
  for (const JobErrorRow& row : rows) {
    SCOPED_TRACE(row.what);
    ExpectOneError(PolicyDoc(row.spec), row.line, row.column, row.needle);
    const DecodeResult r = DecodeManifests(PolicyDoc(row.spec), "dir/m.yaml");
    EXPECT_TRUE(r.policies.empty());
  }
}

TEST(ManifestDecoderPolicy, MetadataRulesAreTheSameAsForObjects) {
  ExpectOneError(PolicyDoc("  maxRuntime: 1h\n", "Bad_Name"), 4, 9, "DNS-1123");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: a\n"
      "  annotations:\n    modelarts-controller.io/paused: yes\nspec:\n  maxRuntime: 1h\n",
      6, 37, "must be \"true\" or \"false\"");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: a\n"
      "  uid: 3\nspec:\n  maxRuntime: 1h\n",
      5, 3, "metadata.uid: unknown field");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v2\nkind: TrainingJobPolicy\nmetadata:\n  name: a\n"
      "spec:\n  maxRuntime: 1h\n",
      1, 13, "apiVersion: must be modelarts-controller.io/v1");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: a\n", 1,
      1, "missing required field spec");
  ExpectOneError(
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: a\n"
      "spec: 72h\n",
      5, 7, "spec: must be a mapping");
}

// Errors of one document share its start, so that validate counts documents, not errors.
TEST(ManifestDecoderPolicy, ErrorsKnowTheirDocument) {
  const std::string yaml = PolicyDoc("  jobKinds: []\n  nameGlob: \"[\"\n", "Bad") + "---\n" +
                           PolicyDoc("  maxRuntime: 1s\n");
  const DecodeResult r = DecodeManifests(yaml, "m.yaml");
  ASSERT_EQ(r.errors.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.errors[i].Document().ToString(), "m.yaml:1:1") << r.errors[i].ToString();
  }
  EXPECT_EQ(r.errors[4].Document().ToString(), "m.yaml:8:1") << r.errors[4].ToString();
}

}  // namespace
}  // namespace mactl
