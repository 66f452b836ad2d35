// A seeded soak of two --leader-elect daemons on a real etcd cluster: rounds of leader
// kill -9, leader freezes past the lease, and etcd member restarts, each with a manifest edit
// made while it happens. At the end every version asked to stop is KILLED, stopped exactly
// once, and a frozen leader sent no stop after it resumed. HA_SOAK_ROUNDS (default 6) and
// HA_SOAK_SEED (default 14) make it longer or different by hand; it prints its counts.

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <set>

#include "integration/etcd_cluster.h"
#include "integration/harness.h"

namespace mactl::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kKilled = 12;
constexpr char kAccessKey[] = "AKHASOAK00000001";
constexpr char kSecretKey[] = "ha-soak-secret-key-0123456789";
constexpr seconds kLease{3};

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// One replica slot: restarted under a new process name each time, same credential.
struct Replica {
  std::string name;
  bool aksk = false;
  int generation = 0;
  std::unique_ptr<Controller> process;
};

class HaSoakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Available()) GTEST_FAIL() << "etcd-server is not installed";
    cluster_ = std::make_unique<EtcdCluster>(dir_);
    ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->Logs();
    sim_ = std::make_unique<Simulator>(
        dir_, std::vector<std::string>{"--aksk", std::string(kAccessKey) + ":" + kSecretKey});
    WriteFile(secret_, std::string(kSecretKey) + "\n");
    replicas_[0].name = "a";
    replicas_[1].name = "b";
    replicas_[1].aksk = true;
  }

  void Start(Replica& r) {
    std::vector<std::string> env;
    if (r.aksk) {
      env = {std::string("OS_ACCESS_KEY=") + kAccessKey, "OS_SECRET_KEY_FILE=" + secret_.string()};
    }
    r.process.reset();
    r.process = std::make_unique<Controller>(
        dir_, manifests_, sim_->endpoint(),
        std::vector<std::string>{"--leader-elect", "--etcd-endpoints", cluster_->Endpoints(),
                                 "--leader-elect-lease", "3s", "--resync", "2s"},
        env, r.name + "-" + std::to_string(++r.generation));
  }

  // The replica that leads now, or nullptr when none does (within a few seconds).
  Replica* WaitForLeader() {
    Replica* leader = nullptr;
    WaitFor(
        [&] {
          for (Replica& r : replicas_) {
            const json e = r.process->Status().value("leaderElection", json());
            if (e.is_object() && e.value("role", "") == "leader") leader = &r;
          }
          return leader != nullptr;
        },
        seconds(15));
    return leader;
  }

  // Stops sent with this replica's credential among the requests after `since`.
  int StopsBy(const Replica& r, std::int64_t since) const {
    int n = 0;
    for (const json& q : sim_->Requests()) {
      if (q.value("seq", 0) <= since || q.value("operation", "") != "stop") continue;
      n +=
          (r.aksk ? q.value("has_authorization", false) : q.value("has_auth_token", false)) ? 1 : 0;
    }
    return n;
  }
  std::int64_t LastSeq() const {
    const json requests = sim_->Requests();
    return requests.empty() ? 0 : requests.back().value("seq", std::int64_t{0});
  }

  void Edit(int job) {
    WriteFile(manifests_ / ("v" + std::to_string(job) + ".yaml"),
              Manifest("soak-" + std::to_string(job), job, 1, "Stopped"));
    stopped_.insert(job);
  }

  TempDir dir_;
  fs::path manifests_ = dir_.path() / "manifests";
  fs::path secret_ = dir_.path() / "secret-key";
  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<Simulator> sim_;
  Replica replicas_[2];
  std::set<int> stopped_;  // jobs whose version 1 must end KILLED
};

TEST_F(HaSoakTest, KillsFreezesAndEtcdRestartsWithEditsKeepEveryInvariant) {
  const int rounds = EnvInt("HA_SOAK_ROUNDS", 6);
  const int seed = EnvInt("HA_SOAK_SEED", 14);
  std::mt19937 random(static_cast<unsigned>(seed));
  WriteFile(manifests_ / "base.yaml", Manifest("whisper-asr-v1", 16, 1, "Running"));
  for (Replica& r : replicas_) Start(r);
  int next_job = 100;  // jobs 100.. run version 1 in the demo seed
  int kills = 0, freezes = 0, etcd_restarts = 0, resumed_stops = 0;
  for (int round = 0; round < rounds; ++round) {
    Replica* leader = WaitForLeader();
    ASSERT_NE(leader, nullptr) << "round " << round;
    switch (random() % 3) {
      case 0: {  // kill -9 the leader; edit while nobody leads; its supervisor restarts it
        leader->process->process().Signal(SIGKILL);
        leader->process->process().Wait();
        Edit(next_job++);
        Start(*leader);
        ++kills;
        break;
      }
      case 1: {  // freeze the leader past its lease, edit meanwhile, then resume it
        leader->process->process().Signal(SIGSTOP);
        Edit(next_job++);
        std::this_thread::sleep_for(kLease + milliseconds(1500));
        const std::int64_t resumed_at = LastSeq();
        leader->process->process().Signal(SIGCONT);
        EXPECT_EQ(leader->process->process().Wait(seconds(10)), 1) << "round " << round;
        resumed_stops += StopsBy(*leader, resumed_at);
        Start(*leader);
        ++freezes;
        break;
      }
      default: {  // restart one etcd member (kill -9), edit meanwhile
        const int member = static_cast<int>(random() % 3);
        cluster_->Kill(member);
        Edit(next_job++);
        std::this_thread::sleep_for(milliseconds(500));
        cluster_->Start(member);
        ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->Logs();
        ++etcd_restarts;
        break;
      }
    }
  }
  ASSERT_NE(WaitForLeader(), nullptr);
  const bool all_done = WaitFor(
      [&] {
        for (int job : stopped_) {
          if (sim_->StatusOf(job, 1) != kKilled) return false;
        }
        return true;
      },
      seconds(30));
  int stop_calls = 0, duplicated = 0;
  for (int job : stopped_) {
    const int calls = sim_->StopCalls(job, 1);
    stop_calls += calls;
    duplicated += calls > 1 ? 1 : 0;
    EXPECT_EQ(calls, 1) << "job " << job;
  }
  std::printf(
      "ha soak (seed %d, %d rounds): %d leader kills, %d freezes, %d etcd member restarts; "
      "%zu versions to stop, %d stop calls, %d duplicated, %d stops after a resume\n",
      seed, rounds, kills, freezes, etcd_restarts, stopped_.size(), stop_calls, duplicated,
      resumed_stops);
  EXPECT_TRUE(all_done);
  EXPECT_EQ(resumed_stops, 0);
  EXPECT_EQ(sim_->StopCalls(16, 1), 0);  // never asked to stop
}

}  // namespace
}  // namespace mactl::integration
