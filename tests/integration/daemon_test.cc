// The real modelarts-controller against the real modelarts-sim over loopback: the demo
// manifests converge with exactly one stop per version that needs one.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kKilling = 9;
constexpr int kKilled = 12;

// The simulator's record of one v2 job, by name.
json SimJob(const Simulator& sim, const std::string& name) {
  for (const json& j : GetJson(sim.port(), "/_sim/training-jobs")) {
    if (j.value("name", "") == name) return j;
  }
  return json::object();
}

fs::path CopyDemoManifests(const TempDir& dir) {
  const fs::path manifests = dir.path() / "manifests";
  fs::copy(fs::path(MACTL_SOURCE_DIR) / "deploy/examples/manifests", manifests,
           fs::copy_options::recursive);
  return manifests;
}

TEST(Daemon, DemoManifestsConvergeWithExactlyOneStopEach) {
  TempDir dir;
  Simulator sim(dir);
  ASSERT_GT(sim.port(), 0);
  const fs::path manifests = CopyDemoManifests(dir);
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  // Running (10/10), queued (11/1) and non-latest (12/1) versions end KILLED.
  ASSERT_TRUE(WaitFor([&] {
    return sim.StatusOf(10, 10) == kKilled && sim.StatusOf(11, 1) == kKilled &&
           sim.StatusOf(12, 1) == kKilled;
  })) << sim.Versions().dump(1);
  ASSERT_TRUE(WaitFor([&] { return controller.Phase("bert-finetune-v10") == "Converged"; }));
  EXPECT_EQ(sim.StopCalls(10, 10), 1);
  EXPECT_EQ(sim.StopCalls(11, 1), 1);
  EXPECT_EQ(sim.StopCalls(12, 1), 1);
  // Completed and KILLING versions are never stopped; desired Running is left alone;
  // a paused object is observed only.
  EXPECT_EQ(sim.StopCalls(13, 1), 0);
  EXPECT_EQ(sim.StopCalls(14, 3), 0);
  EXPECT_EQ(sim.StopCalls(12, 2), 0);
  EXPECT_EQ(sim.StopCalls(15, 1), 0);
  EXPECT_EQ(sim.StopCalls(16, 1), 0);
  EXPECT_EQ(sim.StatusOf(12, 2), 8);
  EXPECT_EQ(sim.StatusOf(16, 1), 8);

  EXPECT_TRUE(WaitFor([&] { return controller.Phase("t5-distill-v3") == "Converged"; }));
  EXPECT_EQ(controller.Phase("yolo-eval-v1"), "Converged");
  EXPECT_EQ(controller.Phase("gpt-pretrain-v2"), "Converged");
  EXPECT_EQ(controller.Phase("whisper-asr-v1"), "Drifted");
  EXPECT_EQ(controller.Phase("llama-lora-v1"), "Paused");
  // The TrainingJob examples (llm.yaml): the Running and the Pending job are terminated once;
  // the job kept Running and the Completed one are left alone.
  EXPECT_TRUE(WaitFor([&] {
    return controller.Phase("llama-sft") == "Converged" &&
           controller.Phase("mistral-dpo") == "Converged";
  })) << controller.Status().dump(1);
  EXPECT_EQ(controller.Phase("qwen-pretrain"), "Converged");
  EXPECT_EQ(controller.Phase("sdxl-finetune"), "Converged");
  EXPECT_EQ(controller.Object("llama-sft")["observed"]["phase"], "Terminated");
  // policies.yaml: exp-forgotten, named by no manifest and 5 days over the 72h cap of exp-*,
  // is terminated once by the policy; exp-long-baseline, named by the exception, keeps running.
  ASSERT_TRUE(WaitFor([&] {
    return SimJob(sim, "exp-forgotten").value("terminate_calls", 0) == 1;
  })) << controller.Status().dump(1);
  EXPECT_EQ(SimJob(sim, "exp-long-baseline").value("terminate_calls", -1), 0);
  EXPECT_EQ(controller.Phase("exp-long-baseline"), "Converged");
  const json bert = controller.Object("bert-finetune-v10");
  EXPECT_EQ(bert["observed"]["statusName"], "JOBSTAT_KILLED");
  EXPECT_EQ(bert["conditions"][0]["type"], "Ready");
  EXPECT_EQ(bert["conditions"][0]["status"], "True");

  const std::string metrics = controller.Metrics();
  EXPECT_NE(
      metrics.find("modelarts_controller_api_requests_total{code=\"200\",operation=\"stop\"} 3"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("modelarts_controller_objects{phase=\"Paused\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find(
                "modelarts_controller_api_requests_total{code=\"202\",operation=\"terminate\"} 3"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("modelarts_controller_build_info{version="), std::string::npos);
  EXPECT_NE(metrics.find("process_resident_memory_bytes"), std::string::npos);

  // Steady state: more resyncs and polls never add a stop.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(sim.StopCalls(10, 10), 1);

  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(), 0) << controller.process().Stdout();
}

TEST(Daemon, DryRunReportsWhatItWouldStopAndStopsNothing) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = CopyDemoManifests(dir);
  Controller controller(dir, manifests, sim.endpoint(), {"--dry-run", "--resync", "1s"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  ASSERT_TRUE(WaitFor([&] {
    const json bert = controller.Object("bert-finetune-v10");
    return !bert.is_null() && bert["conditions"][0]["reason"] == "DryRun";
  })) << controller.Object("bert-finetune-v10").dump(1);
  const json bert = controller.Object("bert-finetune-v10");
  EXPECT_NE(bert["conditions"][0]["message"].get<std::string>().find("would stop"),
            std::string::npos);
  // Completed: nothing to do anyway.
  EXPECT_TRUE(WaitFor([&] { return controller.Phase("yolo-eval-v1") == "Converged"; }))
      << controller.Phase("yolo-eval-v1");

  // Several resyncs later still nothing was sent, and the versions run on.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  for (const auto& [job, version] : {std::pair{10, 10}, {11, 1}, {12, 1}}) {
    EXPECT_EQ(sim.StopCalls(job, version), 0) << job << "/" << version;
  }
  EXPECT_EQ(sim.StatusOf(10, 10), 8);
  const std::string metrics = controller.Metrics();
  EXPECT_EQ(
      metrics.find("modelarts_controller_api_requests_total{code=\"200\",operation=\"stop\"}"),
      std::string::npos)
      << metrics;

  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(), 0) << controller.process().Stdout();
}

TEST(Daemon, InvalidManifestIsReportedWhileValidOnesBesideItAreEnforced) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "good.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  WriteFile(manifests / "bad.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped") + "---\n" +
                                        Manifest("broken", 11, 1, "Halted"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(10, 10) == kKilled; }));
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(11, 1) == kKilled; }));

  const json status = controller.Status();
  ASSERT_EQ(status["manifestErrors"].size(), 1u) << status.dump(1);
  const json error = status["manifestErrors"][0];
  EXPECT_EQ(error["file"], "bad.yaml");
  EXPECT_EQ(error["line"], 17);
  EXPECT_EQ(error["column"], 17);
  EXPECT_NE(error["error"].get<std::string>().find("spec.desiredState"), std::string::npos);
  EXPECT_NE(controller.Metrics().find("modelarts_controller_manifest_errors 1"), std::string::npos);
  bool logged = false;
  for (const json& line : controller.LogLines()) {
    logged = logged || (line.value("msg", "") == "invalid manifest" &&
                        line.value("file", "") == "bad.yaml" && line.value("line", "") == "17");
  }
  EXPECT_TRUE(logged) << controller.process().Stdout();
}

TEST(Daemon, JobFinishingBetweenObserveAndStopConvergesWithoutASecondStop) {
  TempDir dir;
  Simulator sim(
      dir,
      {"--fault", R"({"operation":"stop","job_id":10,"count":1,"type":"complete_before_stop"})"});
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "m.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return controller.Phase("bert-finetune-v10") == "Converged"; }))
      << controller.Status().dump(1);
  EXPECT_EQ(sim.StatusOf(10, 10), 10);  // COMPLETED, by itself
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(sim.StopCalls(10, 10), 1);
}

TEST(Daemon, StartupErrorsExitOne) {
  TempDir dir;
  Process missing(MACTL_CONTROLLER_BIN,
                  {"run", "--manifests", (dir.path() / "absent").string(), "--endpoint",
                   "http://127.0.0.1:9", "--project-id", kProject},
                  dir.path(), "missing", {"OS_TOKEN=x"});
  EXPECT_EQ(missing.Wait(), 1);
  Process bad_flag(MACTL_CONTROLLER_BIN, {"run", "--bogus"}, dir.path(), "badflag");
  EXPECT_EQ(bad_flag.Wait(), 1);
  EXPECT_NE(bad_flag.Stderr().find("unknown flag"), std::string::npos);
}

}  // namespace
}  // namespace mactl::integration
