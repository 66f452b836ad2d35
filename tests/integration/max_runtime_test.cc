// spec.maxRuntime end to end (README, "Runtime limits"): the real modelarts-controller against
// the real modelarts-sim, a v1 version and a v2 job seeded with a run time just under their
// limit. The stop must reach the sim within 1 s after the limit is crossed and not before
// (the sim's request log timestamps), and a restart after kill -9 sends no second stop.

#include <gtest/gtest.h>

#include <csignal>

#include "integration/harness.h"
#include "integration/ready_reason.h"

namespace mactl::integration {
namespace {

constexpr char kJobId[] = "00000000-0000-4000-8000-000000000001";
constexpr std::int64_t kLimitMs = 60'000;   // maxRuntime: 1m, the shortest allowed
constexpr std::int64_t kSeededMs = 56'000;  // seeded run time: the limit is 4 s away

std::string SeedFile() {
  const json versions =
      json::array({{{"version_id", 1}, {"status", 8}, {"duration_ms", kSeededMs}}});
  const json jobs = json::array({{{"job_id", 7}, {"job_name", "bert"}, {"versions", versions}}});
  const json training_jobs = json::array(
      {{{"id", kJobId}, {"name", "llama"}, {"phase", "Running"}, {"duration_ms", kSeededMs}}});
  return json{
      {"projects", {{{"project_id", kProject}, {"jobs", jobs}, {"training_jobs", training_jobs}}}}}
      .dump();
}

constexpr char kManifests[] = R"(apiVersion: modelarts-controller.io/v1
kind: TrainingJobVersion
metadata:
  name: bert-capped
spec:
  jobId: 7
  versionId: 1
  desiredState: Running
  maxRuntime: 1m
---
apiVersion: modelarts-controller.io/v1
kind: TrainingJob
metadata:
  name: llama-capped
spec:
  trainingJobId: 00000000-0000-4000-8000-000000000001
  desiredState: Running
  maxRuntime: 1m
)";

// The sim-clock times (ms since it started) of every request of one operation.
std::vector<std::int64_t> RequestTimes(const Simulator& sim, const std::string& operation) {
  std::vector<std::int64_t> times;
  for (const json& r : sim.Requests()) {
    if (r.value("operation", "") == operation) times.push_back(r.value("time_ms", std::int64_t{0}));
  }
  return times;
}

TEST(MaxRuntimeDaemon, BothKindsAreStoppedWithinASecondOfTheirLimitOnceAndNotAgainAfterRestart) {
  TempDir dir;
  WriteFile(dir.path() / "seed.json", SeedFile());
  WriteFile(dir.path() / "manifests" / "capped.yaml", kManifests);
  // A long resync: only the due-time schedule can catch the limit in time.
  Simulator sim(dir, {}, (dir.path() / "seed.json").string());
  auto first = std::make_unique<Controller>(dir, dir.path() / "manifests", sim.endpoint(),
                                            std::vector<std::string>{"--resync", "10m"});

  ASSERT_TRUE(WaitFor([&] { return ReadyReason(*first, "bert-capped") == "Converged"; }))
      << first->process().Stdout();
  const json due = first->Object("bert-capped");
  EXPECT_FALSE(due.value("maxRuntimeDueAt", json()).is_null()) << due.dump();
  EXPECT_EQ(due.value("maxRuntime", ""), "1m");

  ASSERT_TRUE(WaitFor(
      [&] { return !RequestTimes(sim, "stop").empty() && !RequestTimes(sim, "terminate").empty(); },
      std::chrono::seconds(15)))
      << first->process().Stdout();
  // The seed was loaded before the sim served its first request (time 0): the limit is
  // crossed at kLimitMs - kSeededMs on the sim's clock, or up to its start-up time later.
  const std::int64_t crossing = kLimitMs - kSeededMs;
  for (const std::string op : {"stop", "terminate"}) {
    SCOPED_TRACE(op);
    const std::vector<std::int64_t> times = RequestTimes(sim, op);
    ASSERT_EQ(times.size(), 1u);
    EXPECT_GE(times[0], crossing - 50);  // never before the limit (50 ms for the seed's load)
    EXPECT_LE(times[0], crossing + 1000);
  }
  ASSERT_TRUE(WaitFor([&] {
    return ReadyReason(*first, "bert-capped") == "MaxRuntimeExceeded" &&
           ReadyReason(*first, "llama-capped") == "MaxRuntimeExceeded";
  }));
  ASSERT_TRUE(WaitFor([&] {
    return first->Metrics().find(
               "modelarts_controller_runtime_limit_stops_total{source=\"object\"} 2") !=
           std::string::npos;
  })) << first->Metrics();
  EXPECT_NE(
      first->Metrics().find("modelarts_controller_runtime_limit_stops_total{source=\"policy\"} 0"),
      std::string::npos);

  // kill -9 and start again: the new process observes KILLING/KILLED and Terminating/
  // Terminated and sends nothing.
  first->process().Signal(SIGKILL);
  first->process().Wait();
  first.reset();
  Controller second(dir, dir.path() / "manifests", sim.endpoint(), {"--resync", "10m"}, {},
                    "controller-2");
  ASSERT_TRUE(WaitFor([&] {
    return ReadyReason(second, "bert-capped") == "MaxRuntimeExceeded" &&
           ReadyReason(second, "llama-capped") == "MaxRuntimeExceeded";
  })) << second.process().Stdout();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a real daemon; its polls run on
  EXPECT_EQ(RequestTimes(sim, "stop").size(), 1u);
  EXPECT_EQ(RequestTimes(sim, "terminate").size(), 1u);
  EXPECT_EQ(sim.StopCalls(7, 1), 1);
}

}  // namespace
}  // namespace mactl::integration
