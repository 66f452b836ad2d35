// plan over both kinds with fake clients: one table with a KIND column, the decision `run`
// would take for each object, the exit code, and never a stop or terminate.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "controller/cli/commands.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_cloud_client.h"
#include "fakes/fake_training_job_client.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;
using testing::FakeClock;
using testing::FakeCloudClient;
using testing::FakeTrainingJobClient;

constexpr const char* kProject = "p1";

std::string Id(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return id;
}

std::string VersionManifest(const std::string& name, int job, int version,
                            const std::string& desired) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: " +
         name + "\nspec:\n  jobId: " + std::to_string(job) +
         "\n  versionId: " + std::to_string(version) + "\n  desiredState: " + desired + "\n";
}

std::string JobManifest(const std::string& name, const std::string& identity,
                        const std::string& desired, bool paused = false) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: " + name +
         (paused ? "\n  annotations:\n    modelarts-controller.io/paused: \"true\"" : "") +
         "\nspec:\n  " + identity + "\n  desiredState: " + desired + "\n";
}

std::string ById(const std::string& name, int n, const std::string& desired = "Stopped") {
  return JobManifest(name, "trainingJobId: " + Id(n), desired);
}

std::string ByName(const std::string& name, const std::string& job_name,
                   const std::string& desired = "Stopped") {
  return JobManifest(name, "trainingJobName: " + job_name, desired);
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mactl-plan-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    flags_.manifests = dir_.string();
    flags_.project_id = kProject;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& text) { std::ofstream(dir_ / "m.yaml") << text; }
  void SetJob(int n, const std::string& name, const std::string& phase,
              std::int64_t duration_ms = 0) {
    jobs_.SetJob(kProject, TrainingJobInfo{Id(n), name, phase, "", n, n, duration_ms});
  }
  int Plan() {
    std::ostringstream out;
    const int code = RunPlan(flags_, versions_, jobs_, clock_, out);
    out_ = out.str();
    return code;
  }
  // The table row of one object ("" when absent).
  std::string Row(const std::string& name) const {
    std::istringstream lines(out_);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return line;
    }
    return "";
  }

  fs::path dir_;
  Flags flags_;
  FakeClock clock_;
  FakeCloudClient versions_;
  FakeTrainingJobClient jobs_;
  std::string out_;
};

TEST_F(PlanTest, BothKindsInOneTableWithTheActionRunWouldTake) {
  versions_.SetStatus(VersionRef{kProject, 10, 10}, 8);  // running
  SetJob(1, "llama-sft", "Running");
  SetJob(2, "done", "Completed");
  SetJob(3, "stopping", "Terminating");
  SetJob(4, "by-name", "Running");
  Write(VersionManifest("bert", 10, 10, "Stopped") + "---\n" + ById("llama", 1) + "---\n" +
        ById("done-job", 2) + "---\n" + ById("stopping-job", 3) + "---\n" +
        ByName("named", "by-name"));

  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  EXPECT_NE(out_.find("KIND"), std::string::npos) << out_;
  EXPECT_NE(Row("bert").find("TrainingJobVersion"), std::string::npos) << out_;
  EXPECT_NE(Row("bert").find("stop"), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("TrainingJob "), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find(Id(1)), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("Running"), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("terminate"), std::string::npos) << out_;
  EXPECT_NE(Row("done-job").find("Completed"), std::string::npos) << out_;
  EXPECT_NE(Row("done-job").find("none"), std::string::npos) << out_;
  EXPECT_NE(Row("stopping-job").find("Terminating"), std::string::npos) << out_;
  EXPECT_EQ(Row("stopping-job").find("terminate "), std::string::npos) << out_;
  EXPECT_NE(Row("named").find("name:by-name"), std::string::npos) << out_;
  EXPECT_NE(Row("named").find("terminate"), std::string::npos) << out_;
  EXPECT_NE(Row("named").find(Id(4)), std::string::npos) << out_;
  // plan never acts.
  EXPECT_EQ(jobs_.Calls("terminate"), 0);
  EXPECT_TRUE(versions_.Stops().empty());
}

TEST_F(PlanTest, OnlyATrainingJobToTerminateIsAChangePending) {
  SetJob(1, "llama-sft", "Pending");
  Write(ById("llama", 1));
  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  EXPECT_EQ(jobs_.Calls("terminate"), 0);
}

TEST_F(PlanTest, ConvergedDriftedUnknownAndNamesResolvingToNoneAreNothingToDo) {
  SetJob(1, "done", "Completed");
  SetJob(2, "ended", "Terminated");
  SetJob(3, "odd", "Hibernating");  // not a documented phase
  SetJob(4, "gone-by", "Failed");
  Write(ById("done-job", 1) + "---\n" + ById("ended-job", 2, "Running") + "---\n" +
        ById("odd-job", 3) + "---\n" + ByName("gone", "gone-by") + "---\n" +
        ByName("never", "no-such-job", "Running"));

  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(Row("done-job").find("none"), std::string::npos) << out_;
  EXPECT_NE(Row("ended-job").find("Terminated"), std::string::npos) << out_;
  EXPECT_NE(Row("ended-job").find("Running but"), std::string::npos) << out_;
  EXPECT_NE(Row("odd-job").find("Hibernating"), std::string::npos) << out_;
  EXPECT_NE(Row("gone").find("none active"), std::string::npos) << out_;
  EXPECT_NE(Row("never").find("desired Running but no active job"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("terminate"), std::string::npos) << out_;
}

TEST_F(PlanTest, AnAmbiguousNameIsReportedAndNeverActedOn) {
  SetJob(1, "twin", "Running");
  SetJob(2, "twin", "Pending");
  Write(ByName("twins", "twin"));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(Row("twins").find("2 active"), std::string::npos) << out_;
  EXPECT_NE(Row("twins").find("not acting on any"), std::string::npos) << out_;
  EXPECT_EQ(Row("twins").find("terminate"), std::string::npos) << out_;
}

TEST_F(PlanTest, PausedAndConflictingTrainingJobsWouldNotBeTerminated) {
  SetJob(1, "paused", "Running");
  SetJob(2, "contested", "Running");
  Write(JobManifest("held", "trainingJobId: " + Id(1), "Stopped", /*paused=*/true) + "---\n" +
        ById("stop-it", 2) + "---\n" + ById("keep-it", 2, "Running"));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(Row("held").find("paused"), std::string::npos) << out_;
  EXPECT_NE(Row("stop-it").find("disagree"), std::string::npos) << out_;
  EXPECT_NE(Row("keep-it").find("disagree"), std::string::npos) << out_;
}

TEST_F(PlanTest, AFailedObservationOrAnUnknownIdIsAnError) {
  SetJob(1, "llama-sft", "Running");
  Write(ById("llama", 1) + "---\n" + ById("missing", 9));
  EXPECT_EQ(Plan(), kExitError) << out_;
  EXPECT_NE(Row("missing").find("error"), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("terminate"), std::string::npos) << out_;

  // One job alone is looked up by its detail call (docs/architecture.md, "When a list pays
  // off"); a failure there is an error of that row.
  Write(ById("llama", 1));
  jobs_.FailNext("get_job", MakeError(ErrorClass::kRetryable, "APIGW.0308", "throttled"));
  EXPECT_EQ(Plan(), kExitError) << out_;
  EXPECT_NE(Row("llama").find("APIGW.0308"), std::string::npos) << out_;
}

TEST_F(PlanTest, AnInvalidTrainingJobManifestIsAnErrorBesideTheValidOnes) {
  SetJob(1, "llama-sft", "Completed");
  Write(ById("llama", 1) + "---\n" + JobManifest("broken", "trainingJobId: not-a-uuid", "Stopped"));
  EXPECT_EQ(Plan(), kExitError) << out_;
  EXPECT_NE(out_.find("m.yaml:"), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("Completed"), std::string::npos) << out_;
}

// spec.maxRuntime: plan takes the decision `run` takes on the observed run duration, and says
// when the limit falls due (README, "Runtime limits").
constexpr std::int64_t kMinute = 60 * 1000;

std::string Limited(const std::string& manifest) { return manifest + "  maxRuntime: 1h\n"; }

TEST_F(PlanTest, AVersionOverItsMaxRuntimeWouldBeStopped) {
  versions_.SetStatus(VersionRef{kProject, 10, 10}, 8);  // running
  versions_.SetDuration(VersionRef{kProject, 10, 10}, 61 * kMinute);
  Write(Limited(VersionManifest("bert", 10, 10, "Running")));
  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  EXPECT_NE(Row("bert").find("stop"), std::string::npos) << out_;
  EXPECT_NE(Row("bert").find("has run 1h1m of maxRuntime 1h; stopping it"), std::string::npos)
      << out_;
  EXPECT_TRUE(versions_.Stops().empty());
}

TEST_F(PlanTest, AVersionUnderItsMaxRuntimeShowsWhenItFallsDue) {
  versions_.SetStatus(VersionRef{kProject, 10, 10}, 8);  // running
  versions_.SetDuration(VersionRef{kProject, 10, 10}, 48 * kMinute);
  versions_.SetStatus(VersionRef{kProject, 11, 1}, 7);  // waiting: no run time yet
  Write(Limited(VersionManifest("bert", 10, 10, "Running")) + "---\n" +
        Limited(VersionManifest("queued", 11, 1, "Running")));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  // The fake clock's wall time is 2024-10-04T00:00:00Z.
  EXPECT_NE(Row("bert").find("none"), std::string::npos) << out_;
  EXPECT_NE(Row("bert").find("has run 48m of maxRuntime 1h; limit 1h reached in 12m (at "
                             "2024-10-04T00:12:00Z)"),
            std::string::npos)
      << out_;
  EXPECT_NE(Row("queued").find("limit 1h reached after 1h more of running (at "
                               "2024-10-04T01:00:00Z at the earliest)"),
            std::string::npos)
      << out_;
}

TEST_F(PlanTest, AnUntrustedRunDurationIsReportedAndNothingIsStopped) {
  versions_.SetStatus(VersionRef{kProject, 10, 10}, 8);
  versions_.SetDuration(VersionRef{kProject, 10, 10}, -5);
  SetJob(1, "llama-sft", "Running", -5);
  Write(Limited(VersionManifest("bert", 10, 10, "Running")) + "---\n" +
        Limited(ById("llama", 1, "Running")));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(Row("bert").find("maxRuntime 1h not enforced"), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("maxRuntime 1h not enforced"), std::string::npos) << out_;
}

TEST_F(PlanTest, ATrainingJobOverItsMaxRuntimeWouldBeTerminated) {
  SetJob(1, "llama-sft", "Running", 90 * kMinute);
  SetJob(2, "named-sft", "Running", 61 * kMinute);
  Write(Limited(ById("llama", 1, "Running")) + "---\n" +
        Limited(ByName("named", "named-sft", "Running")));
  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  EXPECT_NE(Row("llama").find("terminate"), std::string::npos) << out_;
  EXPECT_NE(Row("llama").find("has run 1h30m of maxRuntime 1h; terminating it"), std::string::npos)
      << out_;
  EXPECT_NE(Row("named").find("terminate"), std::string::npos) << out_;
  EXPECT_EQ(jobs_.Calls("terminate"), 0);
}

TEST_F(PlanTest, ATrainingJobUnderItsMaxRuntimeShowsWhenItFallsDue) {
  SetJob(1, "llama-sft", "Running", 48 * kMinute);
  Write(Limited(ById("llama", 1, "Running")));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(Row("llama").find("has run 48m of maxRuntime 1h; limit 1h reached in 12m (at "
                              "2024-10-04T00:12:00Z)"),
            std::string::npos)
      << out_;
}

// TrainingJobPolicy: after the objects, plan takes one policy pass as `run` would and lists
// every job each policy would stop now (README, "Runtime limits"), stopping nothing.
std::string Policy(const std::string& name, const std::string& spec, bool paused = false) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: " +
         name + (paused ? "\n  annotations:\n    modelarts-controller.io/paused: \"true\"" : "") +
         "\nspec:\n" + spec;
}

// The policy table's line for one job ("" when absent): the job's name is its fifth column.
std::string PolicyRowOf(const std::string& out, const std::string& job_name) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::vector<std::string> row;
    for (std::string cell; cells >> cell;) row.push_back(cell);
    if (row.size() >= 8 && row[4] == job_name) return line;
  }
  return "";
}

std::string Line(const std::string& out, const std::string& prefix) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

TEST_F(PlanTest, APolicyListsTheJobsItWouldStopNowAndWhenTheNextFallsDue) {
  SetJob(1, "exp-over", "Running", 90 * kMinute);
  SetJob(2, "exp-under", "Running", 45 * kMinute);
  SetJob(3, "prod-over", "Running", 5 * 60 * kMinute);  // not matched by the glob
  SetJob(4, "exp-kept", "Running", 3 * 60 * kMinute);   // named by a manifest: the exception
  Write(Policy("cap-exp", "  nameGlob: \"exp-*\"\n  maxRuntime: 1h\n") + "---\n" +
        ByName("kept", "exp-kept", "Running"));

  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  for (const char* column :
       {"POLICY", "KIND", "PROJECT", "JOB", "NAME", "RUN", "LIMIT", "ACTION"}) {
    EXPECT_NE(out_.find(column), std::string::npos) << column << "\n" << out_;
  }
  const std::string row = PolicyRowOf(out_, "exp-over");
  EXPECT_EQ(row.rfind("cap-exp ", 0), 0u) << out_;
  EXPECT_NE(row.find("TrainingJob "), std::string::npos) << out_;
  EXPECT_NE(row.find(Id(1)), std::string::npos) << out_;
  EXPECT_NE(row.find("1h30m"), std::string::npos) << out_;
  EXPECT_NE(row.find("terminate"), std::string::npos) << out_;
  EXPECT_EQ(PolicyRowOf(out_, "exp-under"), "") << out_;  // under the limit: not a stop
  EXPECT_EQ(PolicyRowOf(out_, "prod-over"), "") << out_;
  EXPECT_EQ(PolicyRowOf(out_, "exp-kept"), "") << out_;
  const std::string line = Line(out_, "policy cap-exp:");
  EXPECT_NE(line.find("2 job(s) matched, 1 over maxRuntime 1h"), std::string::npos) << out_;
  // The fake clock's wall time is 2024-10-04T00:00:00Z; exp-under has 15m to go.
  EXPECT_NE(line.find("next due in 15m (at 2024-10-04T00:15:00Z)"), std::string::npos) << out_;
  EXPECT_EQ(jobs_.Calls("terminate"), 0);
}

TEST_F(PlanTest, APolicyOverAV1JobWouldStopItsLatestVersion) {
  versions_.SetStatus(VersionRef{kProject, 10, 3}, 8);  // running
  versions_.SetDuration(VersionRef{kProject, 10, 3}, 2 * 60 * kMinute);
  versions_.SetStatus(VersionRef{kProject, 11, 1}, 8);  // named by a manifest
  versions_.SetDuration(VersionRef{kProject, 11, 1}, 2 * 60 * kMinute);
  Write(Policy("cap-all", "  jobKinds: [TrainingJobVersion]\n  maxRuntime: 1h\n") + "---\n" +
        VersionManifest("kept", 11, 1, "Running"));
  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  const std::string line = Line(out_, "cap-all ");
  EXPECT_NE(line.find("TrainingJobVersion"), std::string::npos) << out_;
  EXPECT_NE(line.find("10 (version 3)"), std::string::npos) << out_;
  EXPECT_NE(line.find("stop"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("11 (version 1)"), std::string::npos) << out_;
  EXPECT_TRUE(versions_.Stops().empty());
}

TEST_F(PlanTest, ATrippedGuardSaysPolicyLimitExceededAndThatNothingWouldBeStopped) {
  for (int n = 1; n <= 3; ++n) SetJob(n, "exp-" + std::to_string(n), "Running", 2 * 60 * kMinute);
  flags_.policy_max_stops = 2;
  Write(Policy("cap-exp", "  nameGlob: \"exp-*\"\n  maxRuntime: 1h\n"));
  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  for (int n = 1; n <= 3; ++n) {
    const std::string row = PolicyRowOf(out_, "exp-" + std::to_string(n));
    EXPECT_NE(row.find("none (PolicyLimitExceeded)"), std::string::npos) << out_;
  }
  const std::string line = Line(out_, "policy cap-exp:");
  EXPECT_NE(line.find("PolicyLimitExceeded"), std::string::npos) << out_;
  EXPECT_NE(line.find("3 job(s) at once, more than --policy-max-stops 2"), std::string::npos)
      << out_;
  EXPECT_NE(line.find("nothing would be stopped"), std::string::npos) << out_;

  flags_.policy_max_stops = 3;  // the guard allows exactly N
  EXPECT_EQ(Plan(), kExitChangesPending) << out_;
  EXPECT_NE(PolicyRowOf(out_, "exp-3").find("terminate"), std::string::npos) << out_;
  EXPECT_EQ(out_.find("PolicyLimitExceeded"), std::string::npos) << out_;
  EXPECT_EQ(jobs_.Calls("terminate"), 0);
}

TEST_F(PlanTest, APausedPolicyListsItsMatchesButNothingIsPending) {
  SetJob(1, "exp-over", "Running", 2 * 60 * kMinute);
  Write(Policy("cap-exp", "  nameGlob: \"exp-*\"\n  maxRuntime: 1h\n", /*paused=*/true));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(PolicyRowOf(out_, "exp-over").find("none (Paused)"), std::string::npos) << out_;
  EXPECT_NE(Line(out_, "policy cap-exp:").find("paused"), std::string::npos) << out_;
}

TEST_F(PlanTest, APolicyUnderItsLimitIsNothingToDo) {
  SetJob(1, "exp-under", "Running", 10 * kMinute);
  Write(Policy("cap-exp", "  maxRuntime: 1h\n"));
  EXPECT_EQ(Plan(), kExitOk) << out_;
  EXPECT_NE(Line(out_, "policy cap-exp:").find("next due in 50m"), std::string::npos) << out_;
}

TEST_F(PlanTest, AProjectThatCannotBeListedForAPolicyIsAnError) {
  SetJob(1, "exp-over", "Running", 2 * 60 * kMinute);
  jobs_.FailNext("search_jobs", MakeError(ErrorClass::kRetryable, "APIGW.0308", "throttled"));
  Write(Policy("cap-exp", "  jobKinds: [TrainingJob]\n  maxRuntime: 1h\n"));
  EXPECT_EQ(Plan(), kExitError) << out_;
  EXPECT_NE(out_.find("APIGW.0308"), std::string::npos) << out_;
  EXPECT_EQ(PolicyRowOf(out_, "exp-over"), "") << out_;
}

}  // namespace
}  // namespace mactl
