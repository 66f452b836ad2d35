// plan, validate and get as a user and a CI job run them.

#include <gtest/gtest.h>

#include <sstream>
#include <tuple>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

int RunCli(const TempDir& dir, const std::vector<std::string>& args, std::string* out,
           const std::string& name) {
  Process p(MACTL_CONTROLLER_BIN, args, dir.path(), name, {"OS_TOKEN=" + kToken});
  const int code = p.Wait();
  if (out != nullptr) *out = p.Stdout() + p.Stderr();
  return code;
}

TEST(Cli, PlanExitCodesSayWhetherChangesArePending) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped") + "---\n" +
                                      Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  const std::vector<std::string> plan = {"plan",       "--manifests",  manifests.string(),
                                         "--endpoint", sim.endpoint(), "--project-id",
                                         kProject};
  std::string out;
  EXPECT_EQ(RunCli(dir, plan, &out, "plan1"), 2) << out;
  EXPECT_NE(out.find("bert-finetune-v10"), std::string::npos);
  EXPECT_NE(out.find("stop"), std::string::npos);
  EXPECT_EQ(sim.StopCalls(10, 10), 0);  // plan never acts

  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  EXPECT_EQ(RunCli(dir, plan, &out, "plan2"), 0) << out;

  std::vector<std::string> unreachable = plan;
  unreachable[4] = "http://127.0.0.1:1";
  EXPECT_EQ(RunCli(dir, unreachable, &out, "plan3"), 1) << out;
}

// Ids of the seeded v2 jobs: the job number in the last group.
std::string JobId(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return id;
}

std::string JobManifest(const std::string& name, const std::string& identity,
                        const std::string& desired) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: " + name +
         "\nspec:\n  " + identity + "\n  desiredState: " + desired + "\n";
}

int TerminateCalls(const Simulator& sim, int n) {
  for (const json& j : GetJson(sim.port(), "/_sim/training-jobs")) {
    if (j["id"] == JobId(n)) return j.value("terminate_calls", -1);
  }
  return -1;
}

// The table row of one object ("" when absent).
std::string Row(const std::string& out, const std::string& name) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return line;
  }
  return "";
}

TEST(Cli, PlanShowsTrainingJobsBesideVersionsAndTerminatesNothing) {
  TempDir dir;
  const fs::path seed = dir.path() / "seed.json";
  json jobs = json::array();
  for (const auto& [n, name, phase] :
       std::vector<std::tuple<int, std::string, std::string>>{{1, "llama-sft", "Running"},
                                                              {2, "stopping", "Terminating"},
                                                              {3, "finished", "Completed"},
                                                              {4, "twin", "Running"},
                                                              {5, "twin", "Pending"}}) {
    // One name in two workspaces: the API keeps names unique per workspace only.
    jobs.push_back({{"id", JobId(n)},
                    {"name", name},
                    {"phase", phase},
                    {"workspace_id", n == 5 ? "ws-2" : "0"}});
  }
  WriteFile(seed, json{{"projects", {{{"project_id", kProject}, {"training_jobs", jobs}}}}}.dump());
  Simulator sim(dir, ExactArgs{},
                {"--seed", seed.string(), "--token", kToken, "--project-id", kProject});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  const fs::path manifests = dir.path() / "m";
  const std::string settled = JobManifest("stopping-job", "trainingJobId: " + JobId(2), "Stopped") +
                              "---\n" +
                              JobManifest("finished-job", "trainingJobId: " + JobId(3), "Stopped") +
                              "---\n" + JobManifest("twins", "trainingJobName: twin", "Stopped");
  WriteFile(manifests / "a.yaml",
            JobManifest("llama", "trainingJobName: llama-sft", "Stopped") + "---\n" + settled);
  const std::vector<std::string> plan = {"plan",       "--manifests",  manifests.string(),
                                         "--endpoint", sim.endpoint(), "--project-id",
                                         kProject};
  std::string out;
  EXPECT_EQ(RunCli(dir, plan, &out, "plan1"), 2) << out;
  EXPECT_NE(out.find("KIND"), std::string::npos) << out;
  EXPECT_NE(Row(out, "llama").find("TrainingJob"), std::string::npos) << out;
  EXPECT_NE(Row(out, "llama").find("terminate"), std::string::npos) << out;
  EXPECT_NE(Row(out, "llama").find(JobId(1)), std::string::npos) << out;
  EXPECT_NE(Row(out, "stopping-job").find("Terminating"), std::string::npos) << out;
  EXPECT_NE(Row(out, "finished-job").find("Completed"), std::string::npos) << out;
  EXPECT_NE(Row(out, "twins").find("2 active"), std::string::npos) << out;
  EXPECT_NE(Row(out, "twins").find("not acting on any"), std::string::npos) << out;
  for (int n = 1; n <= 5; ++n) EXPECT_EQ(TerminateCalls(sim, n), 0) << n;  // plan never acts

  WriteFile(manifests / "a.yaml", settled);
  EXPECT_EQ(RunCli(dir, plan, &out, "plan2"), 0) << out;
  EXPECT_EQ(out.find("terminate"), std::string::npos) << out;
}

// spec.maxRuntime against the simulator's run durations (seeded, growing while running): plan
// takes the decision run takes, and says when a limit under way falls due.
TEST(Cli, PlanStopsWhatIsOverItsMaxRuntimeAndSaysWhenTheRestFallsDue) {
  TempDir dir;
  const fs::path seed = dir.path() / "seed.json";
  constexpr std::int64_t kMinute = 60 * 1000;
  const auto version = [](int job, std::int64_t duration_ms) {
    return json{{"job_id", job},
                {"job_name", "job-" + std::to_string(job)},
                {"versions", {{{"version_id", 1}, {"status", 8}, {"duration_ms", duration_ms}}}}};
  };
  const auto job = [](int n, std::int64_t duration_ms) {
    return json{{"id", JobId(n)},
                {"name", "sft-" + std::to_string(n)},
                {"phase", "Running"},
                {"duration_ms", duration_ms}};
  };
  const json project = {{"project_id", kProject},
                        {"jobs", {version(1, 90 * kMinute), version(2, 30 * kMinute)}},
                        {"training_jobs", {job(1, 90 * kMinute), job(2, 30 * kMinute)}}};
  WriteFile(seed, json{{"projects", {project}}}.dump());
  Simulator sim(dir, ExactArgs{},
                {"--seed", seed.string(), "--token", kToken, "--project-id", kProject});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  const fs::path manifests = dir.path() / "m";
  const std::string limit = "  maxRuntime: 1h\n";
  const std::string under = Manifest("v-under", 2, 1, "Running") + limit + "---\n" +
                            JobManifest("j-under", "trainingJobId: " + JobId(2), "Running") + limit;
  WriteFile(manifests / "a.yaml", Manifest("v-over", 1, 1, "Running") + limit + "---\n" +
                                      JobManifest("j-over", "trainingJobName: sft-1", "Running") +
                                      limit + "---\n" + under);
  const std::vector<std::string> plan = {"plan",       "--manifests",  manifests.string(),
                                         "--endpoint", sim.endpoint(), "--project-id",
                                         kProject};
  std::string out;
  EXPECT_EQ(RunCli(dir, plan, &out, "plan1"), 2) << out;
  EXPECT_NE(Row(out, "v-over").find("stop"), std::string::npos) << out;
  EXPECT_NE(Row(out, "v-over").find("of maxRuntime 1h; stopping it"), std::string::npos) << out;
  EXPECT_NE(Row(out, "j-over").find("terminate"), std::string::npos) << out;
  EXPECT_NE(Row(out, "j-over").find("of maxRuntime 1h; terminating it"), std::string::npos) << out;
  for (const std::string name : {"v-under", "j-under"}) {
    EXPECT_NE(Row(out, name).find(" none "), std::string::npos) << out;
    EXPECT_NE(Row(out, name).find("; limit 1h reached in "), std::string::npos) << out;
    EXPECT_NE(Row(out, name).find("Z)"), std::string::npos) << out;
  }
  EXPECT_EQ(sim.StopCalls(1, 1), 0);  // plan never acts
  EXPECT_EQ(TerminateCalls(sim, 1), 0);

  WriteFile(manifests / "a.yaml", under);
  EXPECT_EQ(RunCli(dir, plan, &out, "plan2"), 0) << out;
}

// The README's demo tree against the demo seed: both kinds, and work pending for each.
TEST(Cli, PlanAndValidateOnTheDemoTreeShowBothKinds) {
  TempDir dir;
  Simulator sim(dir);
  const std::string manifests = std::string(MACTL_SOURCE_DIR) + "/deploy/examples/manifests";
  std::string out;
  EXPECT_EQ(RunCli(dir, {"validate", "--manifests", manifests}, &out, "validate"), 0) << out;
  // 8 TrainingJobVersion and 5 TrainingJob objects, and the two policies of policies.yaml.
  EXPECT_NE(out.find("5 file(s), 13 valid object(s), 2 valid policies, 0 invalid document(s)"),
            std::string::npos)
      << out;
  const std::vector<std::string> plan = {"plan",         "--manifests",  manifests, "--endpoint",
                                         sim.endpoint(), "--project-id", kProject};
  EXPECT_EQ(RunCli(dir, plan, &out, "plan"), 2) << out;
  EXPECT_NE(Row(out, "bert-finetune-v10").find("stop"), std::string::npos) << out;
  EXPECT_NE(Row(out, "llama-sft").find("terminate"), std::string::npos) << out;
  EXPECT_NE(Row(out, "mistral-dpo").find("terminate"), std::string::npos) << out;
  EXPECT_NE(Row(out, "qwen-pretrain").find("none"), std::string::npos) << out;
  EXPECT_NE(Row(out, "sdxl-finetune").find("none active"), std::string::npos) << out;
  // The policies: the forgotten experiment would be terminated, its excepted neighbour not.
  const std::string policy_row = Row(out, "runtime-cap-experiments");
  EXPECT_NE(policy_row.find("exp-forgotten"), std::string::npos) << out;
  EXPECT_NE(policy_row.find("terminate"), std::string::npos) << out;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("runtime-cap-", 0) == 0) {
      EXPECT_EQ(line.find("exp-long-baseline"), std::string::npos) << out;
    }
  }
  EXPECT_NE(out.find("policy runtime-cap-project: "), std::string::npos) << out;
  EXPECT_EQ(sim.StopCalls(10, 10), 0);
  for (const json& j : GetJson(sim.port(), "/_sim/training-jobs")) {
    EXPECT_EQ(j.value("terminate_calls", -1), 0) << j.dump();  // plan never acts
  }
}

// A guard that a plan's policies exceed: plan says so, names the jobs, exits 2 and stops nothing.
TEST(Cli, PlanShowsATrippedPolicyGuard) {
  TempDir dir;
  Simulator sim(dir);
  const std::string manifests = std::string(MACTL_SOURCE_DIR) + "/deploy/examples/manifests";
  std::string out;
  const std::vector<std::string> plan = {"plan",       "--manifests",        manifests,
                                         "--endpoint", sim.endpoint(),       "--project-id",
                                         kProject,     "--policy-max-stops", "0"};
  EXPECT_EQ(RunCli(dir, plan, &out, "plan"), 2) << out;
  EXPECT_NE(Row(out, "runtime-cap-experiments").find("none (PolicyLimitExceeded)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("more than --policy-max-stops 0; nothing would be stopped"), std::string::npos)
      << out;
}

TEST(Cli, ValidateReportsEveryErrorWithItsPosition) {
  TempDir dir;
  const fs::path tree = dir.path() / "tree";
  WriteFile(tree / "ok.yaml", Manifest("fine", 1, 1, "Stopped"));
  WriteFile(tree / "team/bad.yaml", Manifest("bad", 1, 1, "Stopped") + "  extra: 1\n");
  WriteFile(tree / "syntax.yml", "apiVersion: [\n");
  std::string out;
  EXPECT_EQ(RunCli(dir, {"validate", "--manifests", tree.string()}, &out, "v1"), 1);
  EXPECT_NE(out.find("team/bad.yaml:9:3: spec.extra: unknown field"), std::string::npos) << out;
  EXPECT_NE(out.find("syntax.yml:"), std::string::npos) << out;
  EXPECT_NE(out.find("1 valid object(s), 0 valid policies, 2 invalid document(s)"),
            std::string::npos)
      << out;

  fs::remove(tree / "team/bad.yaml");
  fs::remove(tree / "syntax.yml");
  EXPECT_EQ(RunCli(dir, {"validate", "--manifests", tree.string()}, &out, "v2"), 0) << out;
}

TEST(Cli, GetPrintsATableOrFailsWhenUnreachable) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return controller.Phase("yolo-eval-v1") == "Converged"; }));
  std::string out;
  EXPECT_EQ(
      RunCli(dir, {"get", "--server", "http://127.0.0.1:" + std::to_string(controller.port())},
             &out, "get1"),
      0);
  EXPECT_NE(out.find("NAME"), std::string::npos);
  EXPECT_NE(out.find("yolo-eval-v1"), std::string::npos);
  EXPECT_NE(out.find("Converged"), std::string::npos) << out;
  EXPECT_EQ(RunCli(dir, {"get", "--server", "http://127.0.0.1:1"}, &out, "get2"), 1);
}

}  // namespace
}  // namespace mactl::integration
