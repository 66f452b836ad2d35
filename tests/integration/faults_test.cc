// Faults on the wire and crashes of the daemon: retries with growing gaps, Retry-After,
// and kill -9 with restart, always ending in exactly one accepted stop.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kKilling = 9;
constexpr int kKilled = 12;

std::vector<double> StopTimes(const Simulator& sim, int job, int version) {
  std::vector<double> times;
  for (const json& r : sim.Requests()) {
    if (r.value("operation", "") == "stop" &&
        r.value("path", "")
                .find("/training-jobs/" + std::to_string(job) + "/versions/" +
                      std::to_string(version) + "/stop") != std::string::npos) {
      times.push_back(r.value("time_ms", 0.0));
    }
  }
  return times;
}

TEST(Faults, ErrorsThenSuccessEndInOneAcceptedStopWithGrowingGapsAndRetryAfter) {
  TempDir dir;
  Simulator sim(dir);
  ASSERT_TRUE(sim.AddFaults(json::array({
      {{"operation", "stop"},
       {"job_id", 10},
       {"count", 1},
       {"type", "status"},
       {"http_status", 503}},
      {{"operation", "stop"}, {"job_id", 10}, {"count", 1}, {"type", "drop"}},
      {{"operation", "stop"},
       {"job_id", 10},
       {"count", 1},
       {"type", "status"},
       {"http_status", 429},
       {"error_code", "ModelArts.2799"},
       {"retry_after", 2}},
  })));
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(10, 10) == kKilled; }, std::chrono::seconds(30)))
      << sim.Requests().dump(1);
  const json v = sim.Version(10, 10);
  EXPECT_EQ(v.value("stops_accepted", -1), 1);
  const std::vector<double> t = StopTimes(sim, 10, 10);
  ASSERT_EQ(t.size(), 4u) << sim.Requests().dump(1);
  const double gap1 = t[1] - t[0], gap2 = t[2] - t[1], gap3 = t[3] - t[2];
  EXPECT_GE(gap1, 180);   // backoff base 200 ms, −10 %
  EXPECT_GT(gap2, gap1);  // doubled
  EXPECT_GE(gap3, 2000);  // Retry-After: 2 is a floor
  const std::string metrics = controller.Metrics();
  EXPECT_NE(metrics.find("code=\"503\",operation=\"stop\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("code=\"429\",operation=\"stop\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("code=\"error\",operation=\"stop\"} 1"), std::string::npos);
  EXPECT_TRUE(WaitFor([&] { return controller.Phase("bert-finetune-v10") == "Converged"; }));
}

TEST(Faults, KillNineAndRestartNeverStopsTwiceAndEnforcesEditsMadeWhileDown) {
  TempDir dir;
  Simulator sim(dir, {"--kill-delay", "60s"});  // stays KILLING across the restart
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  {
    Controller first(dir, manifests, sim.endpoint(), {}, {}, "first");
    ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(10, 10) == kKilling; }));
    first.process().Signal(SIGKILL);
    EXPECT_EQ(first.process().Wait(), 128 + SIGKILL);
  }
  WriteFile(manifests / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  Controller second(dir, manifests, sim.endpoint(), {}, {}, "second");
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(11, 1) == kKilling; }));
  ASSERT_TRUE(WaitFor([&] { return second.Phase("bert-finetune-v10") == "Stopping"; }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(sim.StopCalls(10, 10), 1);
  EXPECT_EQ(sim.StopCalls(11, 1), 1);
  EXPECT_EQ(second.Object("bert-finetune-v10")["conditions"][0]["reason"], "Killing");
}

TEST(Faults, MalformedAnswersAreRetriedNotFatal) {
  TempDir dir;
  Simulator sim(dir);
  ASSERT_TRUE(
      sim.AddFaults(json::array({{{"operation", "any"}, {"count", 3}, {"type", "malformed"}}})));
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(10, 10) == kKilled; }, std::chrono::seconds(30)));
  EXPECT_TRUE(controller.process().Running());
  EXPECT_EQ(sim.Version(10, 10).value("stops_accepted", -1), 1);
}

}  // namespace
}  // namespace mactl::integration
