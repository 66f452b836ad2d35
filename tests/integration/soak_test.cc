// Fault soak: the real daemon against the simulator while the simulator injects random
// faults (5xx, 429 with Retry-After, dropped connections, latency, malformed bodies, stops
// whose answer is lost, jobs finishing just before their stop, IAM tokens that expire every
// 3 s) and the manifest tree is
// edited at random (flips, additions, deletions, rewrites by rename and in place). Then the
// faults stop and the invariants are checked:
//  - every version desired Stopped at the end ends terminal, KILLED unless it completed
//    by itself, and its object is Converged;
//  - stop_received_while (the status the sim saw at each stop) holds only active statuses,
//    except COMPLETED entries, of which there are at most as many as stops that hit the
//    complete_before_stop fault (the sim forces COMPLETED and then records it);
//  - at most one accepted stop per version; no stop ever for a version no manifest ever
//    desired Stopped;
//  - the daemon never exited, and its RSS stayed flat;
//  - tokens were renewed across expiries, not fetched per request.
// SOAK_SECONDS (default 20) sets the length of the fault phase, SOAK_SEED (default 1) the
// seed of the edit sequence and of the simulator's fault draws.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "integration/harness.h"
#include "integration/soak_support.h"
#include "integration/stop_lag_support.h"

namespace mactl::integration {
namespace {

// Resident set size of a process in KiB, from /proc/<pid>/status; -1 if unreadable.
long VmRssKib(pid_t pid) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

bool ClearFaults(const Simulator& sim) {
  httplib::Client client("127.0.0.1", sim.port());
  auto res = client.Delete("/_sim/faults");
  return res && res->status == 200;
}

struct Managed {
  std::int64_t job = 0;
  std::int64_t version = 0;
  std::string desired;
  fs::path file;
};

// The manifest tree as the test wants it, and the edits that move it at random.
class ManifestModel {
 public:
  ManifestModel(fs::path root, std::vector<std::pair<std::int64_t, std::int64_t>> pool,
                std::uint64_t seed)
      : root_(std::move(root)), pool_(std::move(pool)), rng_(seed) {}

  void Put(std::int64_t job, std::int64_t version, const std::string& desired, bool by_rename) {
    const std::string name = "soak-" + std::to_string(job) + "-" + std::to_string(version);
    Managed& m = managed_[name];
    if (m.file.empty()) {
      const char* dirs[] = {"", "team-a", "team-b/nested"};
      m.file = root_ / dirs[Uniform(3)] / (name + (Uniform(2) == 0 ? ".yaml" : ".yml"));
    }
    m.job = job;
    m.version = version;
    m.desired = desired;
    if (desired == "Stopped") ever_stopped_.insert(VersionKey(job, version));
    const std::string text = Manifest(name, job, version, desired);
    if (by_rename) {
      // Written next to it under a hidden name, then renamed over it: an atomic replace.
      const fs::path tmp = m.file.parent_path() / ("." + name + ".tmp");
      WriteFile(tmp, text);
      fs::rename(tmp, m.file);
    } else {
      WriteFile(m.file, text);  // truncate and rewrite: the watcher may see it half-written
    }
  }

  // One random edit; returns what it did, for the failure message.
  std::string Step() {
    const std::size_t op = Uniform(10);
    if (op <= 2) {  // flip Running → Stopped
      if (auto* m = Pick("Running")) {
        Put(m->job, m->version, "Stopped", Uniform(2) == 0);
        return "flip-to-stopped";
      }
    }
    if (op == 3) {  // flip Stopped → Running
      if (auto* m = Pick("Stopped")) {
        Put(m->job, m->version, "Running", Uniform(2) == 0);
        return "flip-to-running";
      }
    }
    if (op == 4 || op == 5) {  // add a manifest for a version nobody manages
      std::vector<std::pair<std::int64_t, std::int64_t>> free;
      for (const auto& [job, version] : pool_) {
        if (managed_.count("soak-" + std::to_string(job) + "-" + std::to_string(version)) == 0) {
          free.emplace_back(job, version);
        }
      }
      if (!free.empty()) {
        const auto [job, version] = free[Uniform(free.size())];
        Put(job, version, Uniform(3) == 0 ? "Running" : "Stopped", true);
        return "add";
      }
    }
    if (op == 6) {  // delete a manifest
      if (!managed_.empty()) {
        auto it = managed_.begin();
        std::advance(it, static_cast<long>(Uniform(managed_.size())));
        fs::remove(it->second.file);
        managed_.erase(it);
        return "delete";
      }
    }
    if (!managed_.empty()) {  // rewrite unchanged, by rename or in place
      auto it = managed_.begin();
      std::advance(it, static_cast<long>(Uniform(managed_.size())));
      const bool by_rename = op % 2 == 0;
      Put(it->second.job, it->second.version, it->second.desired, by_rename);
      return by_rename ? "rewrite-rename" : "rewrite-in-place";
    }
    return "none";
  }

  const std::map<std::string, Managed>& managed() const { return managed_; }
  bool EverStopped(std::int64_t job, std::int64_t version) const {
    return ever_stopped_.count(VersionKey(job, version)) > 0;
  }
  std::size_t Uniform(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

 private:
  Managed* Pick(const std::string& desired) {
    std::vector<Managed*> candidates;
    for (auto& [name, m] : managed_) {
      if (m.desired == desired) candidates.push_back(&m);
    }
    return candidates.empty() ? nullptr : candidates[Uniform(candidates.size())];
  }

  const fs::path root_;
  const std::vector<std::pair<std::int64_t, std::int64_t>> pool_;
  std::mt19937_64 rng_;
  std::map<std::string, Managed> managed_;  // by object name
  std::set<std::string> ever_stopped_;      // "job/version" ever written as Stopped
};

json FaultRules() {
  json status_429 = StatusFault("any", 0.04, 429);
  status_429["error_code"] = "ModelArts.2799";
  status_429["retry_after"] = 1;
  // Stop-specific rules first: the first matching rule whose draw succeeds applies.
  return json::array({
      {{"operation", "stop"},
       {"count", -1},
       {"probability", 0.08},
       {"type", "complete_before_stop"}},
      StatusFault("stop", 0.10, 503, true),
      DropFault("stop", 0.08, true),
      StatusFault("any", 0.05, 500),
      StatusFault("any", 0.03, 502),
      status_429,
      DropFault("any", 0.04),
      LatencyFault("any", 0.05, 250),
      {{"operation", "any"}, {"count", -1}, {"probability", 0.04}, {"type", "malformed"}},
  });
}

// Stop requests per "job/version" that hit a given fault type.
std::map<std::string, int> StopsWithFault(const Simulator& sim, const std::string& fault) {
  std::map<std::string, int> out;
  for (const LoggedStop& stop : LoggedStops(sim.Requests())) {
    if (stop.fault == fault) ++out[stop.version];
  }
  return out;
}

TEST(Soak, RandomFaultsAndEditsKeepEveryInvariant) {
  const long soak_seconds = EnvOr("SOAK_SECONDS", 20);
  const auto seed = static_cast<std::uint64_t>(EnvOr("SOAK_SEED", 1));
  TempDir dir;
  const fs::path users = dir.path() / "iam-users";
  WriteFile(users, "soak:soak-Passw0rd:acme\n");
  const fs::path password = dir.path() / "password";
  WriteFile(password, "soak-Passw0rd\n");
  constexpr int kTokenTtlSeconds = 3;
  Simulator sim(dir, {"--project-id", kProject, "--generate", "40", "--random-seed",
                      std::to_string(seed), "--kill-delay", "1s", "--iam-users-file",
                      users.string(), "--iam-token-ttl", std::to_string(kTokenTtlSeconds) + "s"});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();

  std::vector<std::pair<std::int64_t, std::int64_t>> pool;
  for (const json& v : sim.Versions()) {
    if (v.value("project_id", "") == kProject) {
      pool.emplace_back(v.value("job_id", std::int64_t{0}), v.value("version_id", std::int64_t{0}));
    }
  }
  ASSERT_GT(pool.size(), 50u);

  const fs::path manifests = dir.path() / "m";
  fs::create_directories(manifests);
  ManifestModel model(manifests, pool, seed);
  for (const auto& [job, version] : pool) {
    if (model.Uniform(2) == 0) {
      model.Put(job, version, model.Uniform(2) == 0 ? "Stopped" : "Running", true);
    }
  }

  ASSERT_TRUE(sim.AddFaults(FaultRules()));
  Controller controller(
      dir, manifests, sim.endpoint(),
      {"--qps", "100", "--burst", "100", "--resync", "3s", "--backoff-max", "2s", "--workers", "4"},
      {"OS_AUTH_URL=" + sim.endpoint() + "/v3", "OS_USERNAME=soak",
       "OS_PASSWORD_FILE=" + password.string(), "OS_DOMAIN_NAME=acme"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  // The fault phase, with a random edit every 50-250 ms. The steady phase starts 2 s in,
  // once the daemon has loaded and observed everything once.
  const pid_t pid = controller.process().pid();
  long rss_start_kib = -1;
  std::map<std::string, int> edits;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(soak_seconds);
  while (std::chrono::steady_clock::now() < end) {
    ASSERT_TRUE(controller.process().Running()) << controller.process().Stderr();
    ++edits[model.Step()];
    if (rss_start_kib < 0 && std::chrono::steady_clock::now() - start > std::chrono::seconds(2)) {
      rss_start_kib = VmRssKib(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + model.Uniform(200)));
  }
  ASSERT_TRUE(ClearFaults(sim));

  // Converge: every version desired Stopped now is terminal and its object Converged.
  std::string pending;
  const bool converged = WaitFor(
      [&] {
        pending.clear();
        const json status = controller.Status();
        std::map<std::string, std::string> phases;
        for (const json& o : status.value("objects", json::array())) {
          phases[o.value("name", "")] = o.value("phase", "");
        }
        std::map<std::string, int> sim_status;
        for (const json& v : sim.Versions()) {
          sim_status[VersionKey(v.value("job_id", 0), v.value("version_id", 0))] =
              v.value("status", -1);
        }
        for (const auto& [name, m] : model.managed()) {
          if (m.desired != "Stopped") continue;
          if (!IsTerminalStatus(sim_status[VersionKey(m.job, m.version)]) ||
              phases[name] != "Converged") {
            pending += name + "(" + phases[name] + "," +
                       std::to_string(sim_status[VersionKey(m.job, m.version)]) + ") ";
          }
        }
        return pending.empty();
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(converged) << "still pending: " << pending;
  ASSERT_TRUE(controller.process().Running()) << controller.process().Stderr();
  const long rss_end_kib = VmRssKib(pid);

  int tokens_issued = 0;
  int api_requests = 0;
  for (const json& r : sim.Requests()) {
    if (r.value("operation", "") == "auth" && r.value("status", 0) == 201) ++tokens_issued;
    if (r.value("path", "").rfind("/v1/", 0) == 0) ++api_requests;
  }

  const json versions = sim.Versions();
  const std::map<std::string, int> completed_first = StopsWithFault(sim, "complete_before_stop");
  std::map<std::string, const Managed*> final_by_key;
  for (const auto& [name, m] : model.managed()) final_by_key[VersionKey(m.job, m.version)] = &m;
  int total_stop_calls = 0;
  int total_accepted = 0;
  for (const json& v : versions) {
    if (v.value("project_id", "") != kProject) continue;
    const std::int64_t job = v.value("job_id", std::int64_t{0});
    const std::int64_t version = v.value("version_id", std::int64_t{0});
    const std::string key = VersionKey(job, version);
    const int status = v.value("status", -1);
    const int accepted = v.value("stops_accepted", -1);
    total_stop_calls += v.value("stop_calls", 0);
    total_accepted += accepted;
    EXPECT_LE(accepted, 1) << key << " " << v.dump();
    if (!model.EverStopped(job, version)) {
      EXPECT_EQ(v.value("stop_calls", -1), 0) << key << " was never desired Stopped: " << v.dump();
    }
    int completed_entries = 0;
    for (const json& seen : v["stop_received_while"]) {
      const int s = seen.get<int>();
      if (s == kStatusCompleted) {
        ++completed_entries;
      } else {
        EXPECT_TRUE(IsActiveStatus(s)) << key << " received a stop while " << s << ": " << v.dump();
      }
    }
    const auto cbs = completed_first.find(key);
    EXPECT_LE(completed_entries, cbs == completed_first.end() ? 0 : cbs->second)
        << key << " received a stop while COMPLETED without the race fault: " << v.dump();
    const auto managed = final_by_key.find(key);
    if (managed != final_by_key.end() && managed->second->desired == "Stopped" && accepted == 1) {
      EXPECT_EQ(status, kStatusKilled) << key << " " << v.dump();
    }
    if (managed != final_by_key.end() && managed->second->desired == "Stopped" && accepted == 0 &&
        status == kStatusCompleted && !v["stop_received_while"].empty()) {
      EXPECT_GT(completed_entries, 0) << key;
    }
  }

  std::string summary = "edits:";
  for (const auto& [what, n] : edits) summary += " " + what + "=" + std::to_string(n);
  summary += "; stop calls " + std::to_string(total_stop_calls) + ", accepted " +
             std::to_string(total_accepted) + "; VmRSS " + std::to_string(rss_start_kib) +
             " KiB at the start of the steady phase, " + std::to_string(rss_end_kib) +
             " KiB at the end; " + std::to_string(tokens_issued) + " tokens for " +
             std::to_string(api_requests) + " API requests";
  std::printf("[ soak ] %s\n", summary.c_str());
  RecordProperty("soak_summary", summary);
  EXPECT_GT(total_accepted, 5) << summary;  // the soak really stopped things
  // Renewed across expiries (at least every TTL of the fault phase, minus the early margin),
  // never per request.
  EXPECT_GE(tokens_issued, soak_seconds / kTokenTtlSeconds / 2) << summary;
  EXPECT_LT(tokens_issued * 5, api_requests) << summary;
  ASSERT_GT(rss_start_kib, 0);
  ASSERT_GT(rss_end_kib, 0);
  EXPECT_LT(rss_end_kib, 2 * rss_start_kib + 10 * 1024) << summary;
  EXPECT_EQ(GetStatusCode(controller.port(), "/healthz"), 200);

  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(), 0) << controller.process().Stdout();
}

// Hostile bytes in the manifest tree reach /status: a file name and an offending value that
// are not UTF-8. The valid manifest is still enforced, the invalid one is reported, and
// /status stays a 200 with JSON (invalid bytes become U+FFFD) instead of a bare 500.
TEST(HostileManifests, NonUtf8FileNamesAndValuesKeepStatusServing) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "caf\xe9.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  std::string bad = Manifest("resnet-sweep-v1", 11, 1, "Stopped");
  bad.replace(bad.find("Stopped"), 7, "Stop\xffped");
  WriteFile(manifests / "bad.yaml", bad);
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(10, 10) == kStatusKilled; }));
  std::string body;
  ASSERT_EQ(GetStatusCode(controller.port(), "/status", &body), 200) << body;
  const json status = json::parse(body, nullptr, false);
  ASSERT_TRUE(status.is_object()) << body;
  ASSERT_EQ(status["manifestErrors"].size(), 1u) << body;
  EXPECT_EQ(status["manifestErrors"][0]["file"], "bad.yaml");
  EXPECT_NE(status["manifestErrors"][0]["error"].get<std::string>().find("\xef\xbf\xbd"),
            std::string::npos);
  EXPECT_EQ(controller.Object("bert-finetune-v10").value("file", ""), "caf\xef\xbf\xbd.yaml");
  EXPECT_EQ(sim.StopCalls(11, 1), 0);
  EXPECT_TRUE(controller.process().Running());
}

}  // namespace
}  // namespace mactl::integration
