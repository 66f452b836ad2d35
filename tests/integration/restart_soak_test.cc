// Restart soak: the daemon is killed with SIGKILL at seeded random points while it converges
// a large generated set (every latest version desired Stopped), and restarted each time. The
// simulator's kill delay outlasts the restarts, so each new daemon finds versions KILLING
// that an earlier one stopped. In the end every version is terminal, no stop ever reached a
// version that was not active (the sim's stop_received_while), and no version accepted more
// than one stop. SOAK_SEED (default 1) seeds the kill points and the generated set.

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "integration/harness.h"
#include "integration/soak_support.h"

namespace mactl::integration {
namespace {

TEST(RestartSoak, KillNineAtRandomPointsNeverStopsTwiceOrWhileKilling) {
  const auto seed = static_cast<std::uint64_t>(EnvOr("SOAK_SEED", 1));
  constexpr int kRestarts = 6;
  TempDir dir;
  // 8 s: versions stopped by one daemon are still KILLING when the next ones start.
  Simulator sim(dir, {"--project-id", kProject, "--generate", "300", "--random-seed",
                      std::to_string(seed), "--kill-delay", "8s"});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();

  // The latest version of every job, with its status before any daemon ran.
  std::map<std::int64_t, std::pair<std::int64_t, int>> latest;  // job → (version, status)
  for (const json& v : sim.Versions()) {
    if (v.value("project_id", "") != kProject) continue;
    const std::int64_t job = v.value("job_id", std::int64_t{0});
    const std::int64_t version = v.value("version_id", std::int64_t{0});
    if (latest[job].first < version) latest[job] = {version, v.value("status", -1)};
  }
  ASSERT_GE(latest.size(), 300u);
  int initially_active = 0;
  for (const auto& [job, vs] : latest) initially_active += IsActiveStatus(vs.second) ? 1 : 0;
  ASSERT_GT(initially_active, 100);

  // Several documents per file, in a few files and folders.
  const fs::path manifests = dir.path() / "m";
  std::map<std::string, std::string> files;
  for (const auto& [job, vs] : latest) {
    const std::string file =
        "team-" + std::to_string(job % 7) + "/jobs-" + std::to_string(job % 3) + ".yaml";
    std::string& text = files[file];
    if (!text.empty()) text += "---\n";
    text += Manifest("restart-" + std::to_string(job) + "-" + std::to_string(vs.first), job,
                     vs.first, "Stopped");
  }
  for (const auto& [file, text] : files) WriteFile(manifests / file, text);

  const std::vector<std::string> flags = {"--qps", "40", "--burst", "10", "--workers", "4"};
  std::mt19937_64 rng(seed);
  std::vector<int> killed_after_ms;
  std::vector<int> killing_seen_at_restart;
  for (int i = 0; i < kRestarts; ++i) {
    int killing_now = 0;
    for (const json& v : sim.Versions())
      killing_now += v.value("status", -1) == kStatusKilling ? 1 : 0;
    killing_seen_at_restart.push_back(killing_now);
    Controller controller(dir, manifests, sim.endpoint(), flags, {}, "run" + std::to_string(i));
    ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
    const int delay_ms = std::uniform_int_distribution<int>(200, 2500)(rng);
    killed_after_ms.push_back(delay_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_TRUE(controller.process().Running()) << controller.process().Stderr();
    controller.process().Signal(SIGKILL);
    ASSERT_EQ(controller.process().Wait(), 128 + SIGKILL);
  }

  Controller last(dir, manifests, sim.endpoint(), flags, {}, "last");
  ASSERT_GT(last.port(), 0) << last.process().Stdout();
  std::string pending;
  const bool converged = WaitFor(
      [&] {
        pending.clear();
        int not_converged = 0;
        for (const json& o : last.Status().value("objects", json::array())) {
          not_converged += o.value("phase", "") == "Converged" ? 0 : 1;
        }
        for (const json& v : sim.Versions()) {
          const auto it = latest.find(v.value("job_id", std::int64_t{0}));
          if (v.value("project_id", "") != kProject || it == latest.end() ||
              it->second.first != v.value("version_id", std::int64_t{0})) {
            continue;
          }
          if (!IsTerminalStatus(v.value("status", -1)))
            pending += VersionKey(it->first, it->second.first) + " ";
        }
        if (not_converged > 0) pending += std::to_string(not_converged) + " objects not Converged";
        return pending.empty();
      },
      std::chrono::seconds(40));
  EXPECT_TRUE(converged) << "pending: " << pending;

  int stop_calls = 0;
  for (const json& v : sim.Versions()) {
    if (v.value("project_id", "") != kProject) continue;
    const std::int64_t job = v.value("job_id", std::int64_t{0});
    const std::int64_t version = v.value("version_id", std::int64_t{0});
    const std::string key = VersionKey(job, version);
    stop_calls += v.value("stop_calls", 0);
    EXPECT_LE(v.value("stops_accepted", -1), 1) << key << " " << v.dump();
    for (const json& seen : v["stop_received_while"]) {
      EXPECT_TRUE(IsActiveStatus(seen.get<int>()))
          << key << " received a stop while " << seen << ": " << v.dump();
    }
    const auto it = latest.find(job);
    if (it != latest.end() && it->second.first == version && IsActiveStatus(it->second.second)) {
      EXPECT_EQ(v.value("status", -1), kStatusKilled) << key << " " << v.dump();
      EXPECT_EQ(v.value("stops_accepted", -1), 1) << key << " " << v.dump();
    }
  }
  // The kills really landed mid-convergence: some restart found versions KILLING.
  int max_killing = 0;
  for (int n : killing_seen_at_restart) max_killing = std::max(max_killing, n);
  EXPECT_GT(max_killing, 0);
  std::string summary = "killed after ms:";
  for (int ms : killed_after_ms) summary += " " + std::to_string(ms);
  summary += "; KILLING at each restart:";
  for (int n : killing_seen_at_restart) summary += " " + std::to_string(n);
  summary += "; " + std::to_string(initially_active) + " active latest versions, " +
             std::to_string(stop_calls) + " stop calls";
  std::printf("[ restart soak ] %s\n", summary.c_str());
  RecordProperty("restart_soak_summary", summary);
  EXPECT_EQ(stop_calls, initially_active) << summary;

  last.process().Signal(SIGTERM);
  EXPECT_EQ(last.process().Wait(), 0) << last.process().Stdout();
}

}  // namespace
}  // namespace mactl::integration
