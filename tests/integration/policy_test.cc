// TrainingJobPolicy end to end (README, "Runtime limits"): the real modelarts-controller
// against the real modelarts-sim, seeded with jobs of both kinds that have run for a given
// time. Stops are counted from the simulator's request log, never from the daemon: a policy
// stops exactly the matching over-limit jobs and none an exception manifest names, a job
// crossing the limit later is stopped within 1 s after crossing and not before, the guard
// stops nothing and reports PolicyLimitExceeded, paused policies and --dry-run only list
// their matches, and a restart after kill -9 stops nothing again.

#include <gtest/gtest.h>

#include <csignal>
#include <map>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kOverMs = 2 * kHourMs;        // well over a 1h limit
constexpr std::int64_t kAlmostMs = kHourMs - 4'000;  // crosses a 1h limit 4 s after start
constexpr std::int64_t kCrossingMs = kHourMs - kAlmostMs;

// v2 job ids of the seed, by name.
const std::map<std::string, std::string> kJobIds = {
    {"exp-v2-over", "00000000-0000-4000-8000-0000000000a1"},
    {"exp-v2-kept", "00000000-0000-4000-8000-0000000000a2"},
    {"prod-v2-over", "00000000-0000-4000-8000-0000000000a3"},
    {"exp-v2-later", "00000000-0000-4000-8000-0000000000a4"},
    {"exp-v2-queued", "00000000-0000-4000-8000-0000000000a5"},
};

json V1Job(std::int64_t id, const std::string& name, int status, std::int64_t duration_ms) {
  json version = {{"version_id", 1}, {"status", status}};
  if (duration_ms > 0) version["duration_ms"] = duration_ms;
  return {{"job_id", id}, {"job_name", name}, {"versions", json::array({version})}};
}

json V2Job(const std::string& name, const std::string& phase, std::int64_t duration_ms) {
  json job = {{"id", kJobIds.at(name)}, {"name", name}, {"phase", phase}};
  if (duration_ms > 0) job["duration_ms"] = duration_ms;
  return job;
}

// Both kinds: over the limit, named by an exception, not matched by the glob, crossing later.
std::string MixedSeed() {
  const json jobs =
      json::array({V1Job(20, "exp-v1-over", 8, kOverMs), V1Job(21, "exp-v1-kept", 8, kOverMs),
                   V1Job(22, "prod-v1-over", 8, kOverMs), V1Job(23, "exp-v1-later", 8, kAlmostMs)});
  const json training_jobs = json::array(
      {V2Job("exp-v2-over", "Running", kOverMs), V2Job("exp-v2-kept", "Running", kOverMs),
       V2Job("prod-v2-over", "Running", kOverMs), V2Job("exp-v2-later", "Running", kAlmostMs),
       V2Job("exp-v2-queued", "Pending", 0)});
  return json{
      {"projects", {{{"project_id", kProject}, {"jobs", jobs}, {"training_jobs", training_jobs}}}}}
      .dump();
}

// Three over-limit experiments: more than --policy-max-stops 2.
std::string ThreeOverSeed() {
  const json jobs = json::array({V1Job(20, "exp-v1-over", 8, kOverMs)});
  const json training_jobs = json::array(
      {V2Job("exp-v2-over", "Running", kOverMs), V2Job("prod-v2-over", "Running", kOverMs)});
  return json{
      {"projects", {{{"project_id", kProject}, {"jobs", jobs}, {"training_jobs", training_jobs}}}}}
      .dump();
}

std::string Policy(const std::string& name, const std::string& glob, bool paused = false) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: " +
         name + "\n" +
         (paused ? "  annotations:\n    modelarts-controller.io/paused: \"true\"\n" : "") +
         "spec:\n  nameGlob: \"" + glob + "\"\n  maxRuntime: 1h\n";
}

// The exceptions: a manifest of each kind with desiredState Running and no maxRuntime.
constexpr char kExceptions[] = R"(apiVersion: modelarts-controller.io/v1
kind: TrainingJobVersion
metadata:
  name: exp-v1-kept
spec:
  jobId: 21
  versionId: 1
  desiredState: Running
---
apiVersion: modelarts-controller.io/v1
kind: TrainingJob
metadata:
  name: exp-v2-kept
spec:
  trainingJobName: exp-v2-kept
  desiredState: Running
)";

struct Request {
  std::string path;
  std::int64_t time_ms = 0;
};

// Every stop (v1) and terminate (v2) the simulator received, in order.
std::vector<Request> StopRequests(const Simulator& sim) {
  std::vector<Request> out;
  for (const json& r : sim.Requests()) {
    const std::string op = r.value("operation", "");
    if (op == "stop" || op == "terminate") {
      out.push_back({r.value("path", ""), r.value("time_ms", std::int64_t{0})});
    }
  }
  return out;
}

// The stop requests for one v1 job or v2 job id.
std::vector<Request> StopsOf(const Simulator& sim, const std::string& needle) {
  std::vector<Request> out;
  for (const Request& r : StopRequests(sim)) {
    if (r.path.find(needle) != std::string::npos) out.push_back(r);
  }
  return out;
}
std::string V1Path(std::int64_t job) { return "/training-jobs/" + std::to_string(job) + "/"; }

json PolicyStatus(const Controller& c, const std::string& name) {
  for (const json& p : c.Status().value("policies", json::array())) {
    if (p.value("name", "") == name) return p;
  }
  return json();
}
std::string PolicyPhase(const Controller& c, const std::string& name) {
  const json p = PolicyStatus(c, name);
  return p.is_object() ? p.value("phase", "") : "";
}
// Whether the policy's last pass is over (it has looked at least once).
bool Passed(const Controller& c, const std::string& name) {
  const json p = PolicyStatus(c, name);
  return p.is_object() && p.contains("lastPassAt") && !p["lastPassAt"].is_null();
}
json MatchOf(const json& policy, const std::string& job_name) {
  for (const json& m : policy.value("matches", json::array())) {
    if (m.value("name", "") == job_name) return m;
  }
  return json();
}

fs::path WriteManifests(const TempDir& dir, const std::string& text) {
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "policy.yaml", text);
  return manifests;
}

// After a pass: a real daemon and a real sim, so a second look needs real time.
void SettleASecond() { std::this_thread::sleep_for(std::chrono::seconds(1)); }

TEST(PolicyDaemon, StopsExactlyTheMatchingOverLimitJobsOnTimeAndNotAgainAfterRestart) {
  TempDir dir;
  WriteFile(dir.path() / "seed.json", MixedSeed());
  const fs::path manifests =
      WriteManifests(dir, Policy("cap-exp", "exp-*") + "---\n" + kExceptions);
  Simulator sim(dir, {}, (dir.path() / "seed.json").string());
  // A long resync: only the policy's due time can catch the jobs crossing later in time.
  auto first = std::make_unique<Controller>(dir, manifests, sim.endpoint(),
                                            std::vector<std::string>{"--resync", "10m"});
  ASSERT_GT(first->port(), 0) << first->process().Stdout();

  // The over-limit experiments of both kinds go at once; the ones crossing later, on time.
  ASSERT_TRUE(WaitFor([&] { return StopRequests(sim).size() >= 4; }, std::chrono::seconds(15)))
      << sim.Requests().dump(1) << first->process().Stdout();
  ASSERT_EQ(StopsOf(sim, V1Path(20)).size(), 1u);
  ASSERT_EQ(StopsOf(sim, kJobIds.at("exp-v2-over")).size(), 1u);
  for (const std::string& later : {V1Path(23), kJobIds.at("exp-v2-later")}) {
    SCOPED_TRACE(later);
    const std::vector<Request> stops = StopsOf(sim, later);
    ASSERT_EQ(stops.size(), 1u);
    EXPECT_GE(stops[0].time_ms, kCrossingMs - 50);  // never before (50 ms for the seed's load)
    EXPECT_LE(stops[0].time_ms, kCrossingMs + 1000);
  }
  // Exceptions, unmatched names and a queued job are never touched.
  SettleASecond();
  EXPECT_EQ(StopRequests(sim).size(), 4u) << sim.Requests().dump(1);
  EXPECT_EQ(sim.StopCalls(21, 1), 0);
  EXPECT_EQ(sim.StopCalls(22, 1), 0);
  for (const char* kept : {"exp-v2-kept", "prod-v2-over", "exp-v2-queued"}) {
    EXPECT_TRUE(StopsOf(sim, kJobIds.at(kept)).empty()) << kept;
  }
  EXPECT_EQ(first->Phase("exp-v1-kept"), "Converged");
  EXPECT_EQ(first->Phase("exp-v2-kept"), "Converged");

  const json status = PolicyStatus(*first, "cap-exp");
  EXPECT_EQ(status.value("phase", ""), "Enforcing") << status.dump(1);
  EXPECT_EQ(status.value("stops", 0), 4) << status.dump(1);
  EXPECT_TRUE(MatchOf(status, "exp-v1-kept").is_null()) << status.dump(1);
  EXPECT_TRUE(MatchOf(status, "prod-v2-over").is_null()) << status.dump(1);
  ASSERT_TRUE(WaitFor([&] {
    return first->Metrics().find(
               "modelarts_controller_runtime_limit_stops_total{source=\"policy\"} 4") !=
           std::string::npos;
  })) << first->Metrics();

  // kill -9 and start again: the new process sees them stopping or ended and stops nothing.
  first->process().Signal(SIGKILL);
  first->process().Wait();
  first.reset();
  Controller second(dir, manifests, sim.endpoint(), {"--resync", "10m"}, {}, "controller-2");
  ASSERT_TRUE(WaitFor([&] { return Passed(second, "cap-exp"); })) << second.process().Stdout();
  SettleASecond();
  EXPECT_EQ(StopRequests(sim).size(), 4u) << sim.Requests().dump(1);
  EXPECT_EQ(sim.StopCalls(20, 1), 1);
  EXPECT_EQ(sim.StopCalls(23, 1), 1);
}

TEST(PolicyDaemon, AGlobMatchingMoreThanTheGuardStopsNothingAndReportsIt) {
  TempDir dir;
  WriteFile(dir.path() / "seed.json", ThreeOverSeed());
  // "*" where "exp-*" was meant: three jobs to stop, and the guard allows two.
  const fs::path manifests = WriteManifests(dir, Policy("cap-typo", "*"));
  Simulator sim(dir, {}, (dir.path() / "seed.json").string());
  Controller controller(dir, manifests, sim.endpoint(), {"--policy-max-stops", "2"});
  ASSERT_TRUE(WaitFor([&] { return PolicyPhase(controller, "cap-typo") == "PolicyLimitExceeded"; }))
      << controller.Status().dump(1) << controller.process().Stdout();
  SettleASecond();
  EXPECT_TRUE(StopRequests(sim).empty()) << sim.Requests().dump(1);
  const json status = PolicyStatus(controller, "cap-typo");
  EXPECT_EQ(status.value("reason", ""), "PolicyLimitExceeded") << status.dump(1);
  EXPECT_EQ(status.value("overLimit", 0), 3) << status.dump(1);
  EXPECT_EQ(status.value("stops", -1), 0) << status.dump(1);
  for (const char* job : {"exp-v1-over", "exp-v2-over", "prod-v2-over"}) {
    const json match = MatchOf(status, job);
    EXPECT_EQ(match.value("verdict", ""), "OverLimit") << job << status.dump(1);
    EXPECT_FALSE(match.value("stopped", true)) << job;
  }
  const std::string metrics = controller.Metrics();
  EXPECT_NE(metrics.find("modelarts_controller_policies{phase=\"PolicyLimitExceeded\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("modelarts_controller_runtime_limit_stops_total{source=\"policy\"} 0"),
            std::string::npos)
      << metrics;
}

// Paused (the annotation) and --dry-run: the policy is evaluated and its matches listed, and
// no stop reaches the simulator.
void ExpectListedButNothingStopped(const std::string& seed, const std::string& manifest_text,
                                   const std::vector<std::string>& flags,
                                   const std::string& phase) {
  TempDir dir;
  WriteFile(dir.path() / "seed.json", seed);
  const fs::path manifests = WriteManifests(dir, manifest_text);
  Simulator sim(dir, {}, (dir.path() / "seed.json").string());
  Controller controller(dir, manifests, sim.endpoint(), flags);
  ASSERT_TRUE(WaitFor([&] {
    return PolicyPhase(controller, "cap-exp") == phase && Passed(controller, "cap-exp");
  })) << controller.Status().dump(1)
      << controller.process().Stdout();
  SettleASecond();
  EXPECT_TRUE(StopRequests(sim).empty()) << sim.Requests().dump(1);
  const json status = PolicyStatus(controller, "cap-exp");
  for (const char* job : {"exp-v1-over", "exp-v2-over"}) {
    const json match = MatchOf(status, job);
    EXPECT_EQ(match.value("verdict", ""), "OverLimit") << job << status.dump(1);
    EXPECT_FALSE(match.value("stopped", true)) << job;
  }
  EXPECT_TRUE(MatchOf(status, "prod-v2-over").is_null()) << status.dump(1);
  EXPECT_NE(controller.Metrics().find("modelarts_controller_policies{phase=\"" + phase + "\"} 1"),
            std::string::npos);
}

TEST(PolicyDaemon, APausedPolicyStopsNothingAndListsItsMatches) {
  ExpectListedButNothingStopped(ThreeOverSeed(), Policy("cap-exp", "exp-*", /*paused=*/true), {},
                                "Paused");
}

TEST(PolicyDaemon, ADryRunDaemonStopsNothingAndListsThePolicysMatches) {
  ExpectListedButNothingStopped(ThreeOverSeed(), Policy("cap-exp", "exp-*"), {"--dry-run"},
                                "DryRun");
}

}  // namespace
}  // namespace mactl::integration
