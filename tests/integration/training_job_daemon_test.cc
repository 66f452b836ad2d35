// kind TrainingJob end to end: the real modelarts-controller against the real modelarts-sim
// serving v2 jobs. Every documented phase, desired Stopped and Running, an unknown phase, a
// 409 race, a name matching two active jobs, and a restart after kill -9.

#include <gtest/gtest.h>

#include "integration/harness.h"
#include "integration/ready_reason.h"

namespace mactl::integration {
namespace {

// Ids of the seeded v2 jobs: the job number in the last group.
std::string Id(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
  return id;
}

struct SeedJob {
  int n;
  const char* name;
  const char* phase;
  const char* workspace = "0";
};

std::string SeedFile(const std::vector<SeedJob>& jobs) {
  json list = json::array();
  for (const SeedJob& j : jobs) {
    list.push_back(
        {{"id", Id(j.n)}, {"name", j.name}, {"phase", j.phase}, {"workspace_id", j.workspace}});
  }
  return json{{"projects", {{{"project_id", kProject}, {"training_jobs", list}}}}}.dump();
}

std::string JobManifest(const std::string& name, const std::string& id_or_name_line,
                        const std::string& desired) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: " + name +
         "\nspec:\n  " + id_or_name_line + "\n  desiredState: " + desired + "\n";
}

std::string ById(const std::string& name, int n, const std::string& desired = "Stopped") {
  return JobManifest(name, "trainingJobId: " + Id(n), desired);
}

// The simulator's view of one v2 job.
json SimJob(const Simulator& sim, int n) {
  for (const json& j : GetJson(sim.port(), "/_sim/training-jobs")) {
    if (j["id"] == Id(n)) return j;
  }
  return json();
}

int TerminateCalls(const Simulator& sim, int n) {
  const json j = SimJob(sim, n);
  return j.is_object() ? j.value("terminate_calls", -1) : -1;
}

TEST(TrainingJobDaemon, EveryPhaseConvergesWithAtMostOneTerminateAndNoneWhereNoneIsDue) {
  TempDir dir;
  WriteFile(dir.path() / "seed.json", SeedFile({{1, "run-1", "Running"},
                                                {2, "pend-1", "Pending"},
                                                {3, "create-1", "Creating"},
                                                {4, "term-1", "Terminating"},
                                                {5, "done-1", "Completed"},
                                                {6, "fail-1", "Failed"},
                                                {7, "stopped-1", "Terminated"},
                                                {8, "abn-1", "Abnormal"},
                                                {9, "keep-1", "Running"},
                                                {10, "keep-2", "Failed"},
                                                {11, "unk-1", "Hibernating"},
                                                {12, "race-1", "Running"},
                                                {13, "twin", "Running"},
                                                {14, "twin", "Pending", "ws-2"}}));
  Simulator sim(dir, ExactArgs{},
                {"--seed", (dir.path() / "seed.json").string(), "--token", kToken, "--kill-delay",
                 "1s", "--project-id", kProject});
  ASSERT_GT(sim.port(), 0);
  // The job finishes between the controller's look and its terminate: 409.
  ASSERT_TRUE(sim.AddFaults(json::array({{{"operation", "terminate"},
                                          {"training_job_id", Id(12)},
                                          {"type", "complete_before_stop"}}})));
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "stop.yaml",
            ById("run-1", 1) + "---\n" + ById("pend-1", 2) + "---\n" +
                JobManifest("create-1", "trainingJobName: create-1", "Stopped") + "---\n" +
                ById("term-1", 4) + "---\n" + ById("done-1", 5) + "---\n" + ById("fail-1", 6) +
                "---\n" + ById("stopped-1", 7) + "---\n" + ById("abn-1", 8) + "---\n" +
                ById("unk-1", 11) + "---\n" + ById("race-1", 12) + "---\n" +
                JobManifest("twin", "trainingJobName: twin", "Stopped"));
  WriteFile(manifests / "keep.yaml",
            ById("keep-1", 9, "Running") + "---\n" + ById("keep-2", 10, "Running"));
  Controller controller(dir, manifests, sim.endpoint(), {"--poll", "500ms"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  // Running, Pending and Creating jobs are terminated once each and end Terminated.
  ASSERT_TRUE(WaitFor([&] {
    return SimJob(sim, 1)["phase"] == "Terminated" && SimJob(sim, 2)["phase"] == "Terminated" &&
           SimJob(sim, 3)["phase"] == "Terminated";
  })) << GetJson(sim.port(), "/_sim/training-jobs").dump(1);
  for (const char* name : {"run-1", "pend-1", "create-1", "term-1", "race-1"}) {
    EXPECT_TRUE(WaitFor([&] { return controller.Phase(name) == "Converged"; })) << name;
  }
  EXPECT_EQ(TerminateCalls(sim, 1), 1);
  EXPECT_EQ(TerminateCalls(sim, 2), 1);
  EXPECT_EQ(TerminateCalls(sim, 3), 1);
  // Terminating is polled, never terminated; ended jobs get no call.
  for (int n : {4, 5, 6, 7, 8}) EXPECT_EQ(TerminateCalls(sim, n), 0) << n;
  for (const char* name : {"done-1", "fail-1", "stopped-1", "abn-1"}) {
    EXPECT_EQ(controller.Phase(name), "Converged") << name;
  }
  // Desired Running is never terminated; an ended job shows Drifted.
  EXPECT_EQ(controller.Phase("keep-1"), "Converged");
  EXPECT_EQ(controller.Phase("keep-2"), "Drifted");
  EXPECT_EQ(TerminateCalls(sim, 9), 0);
  EXPECT_EQ(TerminateCalls(sim, 10), 0);
  // An unknown phase is never acted on.
  EXPECT_EQ(TerminateCalls(sim, 11), 0);
  EXPECT_EQ(ReadyReason(controller, "unk-1"), "StatusUnknown");
  // The race: one refused terminate, then converged on the Completed job.
  EXPECT_EQ(TerminateCalls(sim, 12), 1);
  EXPECT_EQ(SimJob(sim, 12)["terminates_accepted"], 0);
  EXPECT_EQ(SimJob(sim, 12)["phase"], "Completed");
  // A name matching two active jobs is Ambiguous, and neither is terminated.
  EXPECT_TRUE(WaitFor([&] { return ReadyReason(controller, "twin") == "Ambiguous"; }));
  EXPECT_EQ(TerminateCalls(sim, 13), 0);
  EXPECT_EQ(TerminateCalls(sim, 14), 0);

  // /status names the kind, the job and its phase; the metrics name the v2 calls.
  const json run = controller.Object("run-1");
  EXPECT_EQ(run["kind"], "TrainingJob");
  EXPECT_EQ(run["trainingJobId"], Id(1));
  EXPECT_EQ(run["observed"]["phase"], "Terminated");
  const json create = controller.Object("create-1");
  EXPECT_EQ(create["trainingJobName"], "create-1");
  EXPECT_EQ(create["trainingJobId"], Id(3));
  const std::string metrics = controller.Metrics();
  EXPECT_NE(metrics.find("operation=\"terminate\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("operation=\"search_jobs\""), std::string::npos);

  // Steady state adds no terminate.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(TerminateCalls(sim, 1), 1);
  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(), 0) << controller.process().Stdout();
}

TEST(TrainingJobDaemon, KillNineAndRestartSendNoSecondTerminate) {
  TempDir dir;
  WriteFile(dir.path() / "seed.json", SeedFile({{1, "run-1", "Running"}}));
  // A long kill delay keeps the job Terminating across the restart.
  Simulator sim(dir, ExactArgs{},
                {"--seed", (dir.path() / "seed.json").string(), "--token", kToken, "--kill-delay",
                 "60s", "--project-id", kProject});
  ASSERT_GT(sim.port(), 0);
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "a.yaml", ById("run-1", 1));
  {
    Controller first(dir, manifests, sim.endpoint(), {"--poll", "500ms"});
    ASSERT_GT(first.port(), 0);
    ASSERT_TRUE(WaitFor([&] { return TerminateCalls(sim, 1) == 1; }));
    first.process().Signal(SIGKILL);
    first.process().Wait();
  }
  // Its own output files: the first controller's still name the first one's port.
  Controller second(dir, manifests, sim.endpoint(), {"--poll", "500ms"}, {}, "controller2");
  ASSERT_GT(second.port(), 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyReason(second, "run-1") == "Terminating"; }))
      << second.Object("run-1").dump(1);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(TerminateCalls(sim, 1), 1);
  EXPECT_EQ(second.Phase("run-1"), "Stopping");
}

}  // namespace
}  // namespace mactl::integration
