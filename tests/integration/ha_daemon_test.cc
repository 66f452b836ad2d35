// Two daemons with --leader-elect against the simulator and a real three-member etcd
// cluster. The replicas use different credentials (a token, AK/SK) so the simulator's request
// log tells whose calls it received.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "integration/etcd_cluster.h"
#include "integration/harness.h"

namespace mactl::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kRunning = 8;
constexpr int kKilled = 12;
constexpr char kAccessKey[] = "AKHATEST00000001";
constexpr char kSecretKey[] = "ha-test-secret-key-0123456789";
constexpr seconds kLease{3};
constexpr milliseconds kRenew{1000};  // a third of the lease

struct Calls {
  int by_token = 0;  // replica A
  int by_aksk = 0;   // replica B
  int stops_by_token = 0;
  int stops_by_aksk = 0;
};

Calls CountCalls(const json& requests) {
  Calls c;
  for (const json& r : requests) {
    if (r.value("operation", "") == "other") continue;  // not a ModelArts call
    const bool stop = r.value("operation", "") == "stop";
    if (r.value("has_auth_token", false)) {
      ++c.by_token;
      c.stops_by_token += stop ? 1 : 0;
    } else if (r.value("has_authorization", false)) {
      ++c.by_aksk;
      c.stops_by_aksk += stop ? 1 : 0;
    }
  }
  return c;
}

class HaDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Available()) GTEST_FAIL() << "etcd-server is not installed";
    cluster_ = std::make_unique<EtcdCluster>(dir_);
    ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->Logs();
    sim_ = std::make_unique<Simulator>(
        dir_, std::vector<std::string>{"--aksk", std::string(kAccessKey) + ":" + kSecretKey});
    ASSERT_GT(sim_->port(), 0) << sim_->process().Stderr();
    WriteFile(secret_, std::string(kSecretKey) + "\n");
  }

  std::unique_ptr<Controller> Replica(const std::string& name, bool aksk) {
    std::vector<std::string> env;
    if (aksk) {
      env = {std::string("OS_ACCESS_KEY=") + kAccessKey, "OS_SECRET_KEY_FILE=" + secret_.string()};
    }
    return std::make_unique<Controller>(
        dir_, manifests_, sim_->endpoint(),
        std::vector<std::string>{"--leader-elect", "--etcd-endpoints", cluster_->Endpoints(),
                                 "--leader-elect-lease", "3s", "--resync", "1s"},
        env, name);
  }

  static json Election(const Controller& c) { return c.Status().value("leaderElection", json()); }
  static std::string Role(const Controller& c) {
    const json e = Election(c);
    return e.is_object() ? e.value("role", "") : "";
  }

  TempDir dir_;
  fs::path manifests_ = dir_.path() / "manifests";
  fs::path secret_ = dir_.path() / "secret-key";
  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<Simulator> sim_;
};

TEST_F(HaDaemonTest, OneActsTheFollowerMakesNoCallsAndTakesOverAfterKill9) {
  WriteFile(manifests_ / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  auto a = Replica("replica-a", false);
  ASSERT_GT(a->port(), 0) << a->process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return Role(*a) == "leader"; })) << a->process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return sim_->StatusOf(10, 10) == kKilled; }));
  auto b = Replica("replica-b", true);
  ASSERT_GT(b->port(), 0) << b->process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "follower"; })) << b->process().Stdout();
  EXPECT_EQ(Election(*b).value("leader", ""), Election(*a).value("identity", "x"));
  EXPECT_EQ(GetStatusCode(b->port(), "/readyz"), 200);  // ready to take over
  EXPECT_NE(b->Metrics().find("modelarts_controller_leader 0"), std::string::npos);
  EXPECT_NE(a->Metrics().find("modelarts_controller_leader 1"), std::string::npos);

  // The leader keeps resyncing; the follower makes no ModelArts call at all.
  std::this_thread::sleep_for(seconds(3));
  Calls calls = CountCalls(sim_->Requests());
  EXPECT_GT(calls.by_token, 0);
  EXPECT_EQ(calls.by_aksk, 0);

  // kill -9 the leader, and edit a manifest while nobody leads.
  a->process().Signal(SIGKILL);
  a->process().Wait();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(sim_->StatusOf(12, 1), kRunning);
  WriteFile(manifests_ / "b.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Stopped"));
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "leader"; }, seconds(15)));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed);
  std::printf("daemon failover after kill -9: %lld ms (bound %lld ms)\n",
              static_cast<long long>(took.count()),
              static_cast<long long>((kLease + kRenew).count()));
  EXPECT_LE(took, kLease + kRenew + milliseconds(500));  // + /status polling and scheduling
  ASSERT_TRUE(WaitFor([&] { return sim_->StatusOf(12, 1) == kKilled; })) << b->process().Stdout();
  calls = CountCalls(sim_->Requests());
  EXPECT_EQ(calls.stops_by_aksk, 1);      // the edit, enforced by the new leader
  EXPECT_EQ(sim_->StopCalls(10, 10), 1);  // not stopped again by the new leader
  EXPECT_EQ(sim_->StopCalls(12, 1), 1);
}

TEST_F(HaDaemonTest, FrozenLeaderSendsNoStopAfterResumingAndExitsNonZero) {
  WriteFile(manifests_ / "a.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Running"));
  auto a = Replica("replica-a", false);
  ASSERT_TRUE(WaitFor([&] { return Role(*a) == "leader"; })) << a->process().Stdout();
  auto b = Replica("replica-b", true);
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "follower"; })) << b->process().Stdout();
  // Every stop of job 12 fails for now, so the version stays running and the stop pending.
  ASSERT_TRUE(sim_->AddFaults(json::array({{{"operation", "stop"},
                                            {"job_id", 12},
                                            {"count", -1},
                                            {"type", "status"},
                                            {"http_status", 503}}})));

  a->process().Signal(SIGSTOP);
  WriteFile(manifests_ / "a.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Stopped"));
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "leader"; }, seconds(15)));
  ASSERT_TRUE(WaitFor([&] { return CountCalls(sim_->Requests()).stops_by_aksk > 0; }));
  ASSERT_EQ(sim_->StatusOf(12, 1), kRunning);

  // The old leader resumes with the edit pending: it must not act, and it must exit.
  a->process().Signal(SIGCONT);
  EXPECT_EQ(a->process().Wait(seconds(10)), 1) << a->process().Stdout();
  EXPECT_EQ(CountCalls(sim_->Requests()).stops_by_token, 0);
  EXPECT_NE(a->process().Stdout().find("leader election lost"), std::string::npos);

  httplib::Client(sim_->endpoint()).Delete("/_sim/faults");
  ASSERT_TRUE(WaitFor([&] { return sim_->StatusOf(12, 1) == kKilled; })) << b->process().Stdout();
  EXPECT_EQ(CountCalls(sim_->Requests()).stops_by_token, 0);
}

TEST_F(HaDaemonTest, QuorumLostNobodyActsAndActionResumesWithIt) {
  WriteFile(manifests_ / "a.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Running"));
  auto a = Replica("replica-a", false);
  ASSERT_TRUE(WaitFor([&] { return Role(*a) == "leader"; })) << a->process().Stdout();
  auto b = Replica("replica-b", true);
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "follower"; })) << b->process().Stdout();

  cluster_->Kill(1);
  cluster_->Kill(2);
  WriteFile(manifests_ / "a.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Stopped"));
  // The leader cannot confirm its leadership, cannot renew, and exits after its lease.
  EXPECT_EQ(a->process().Wait(kLease + seconds(5)), 1) << a->process().Stdout();
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(sim_->StopCalls(12, 1), 0);
  EXPECT_EQ(sim_->StatusOf(12, 1), kRunning);
  EXPECT_NE(Role(*b), "leader");

  cluster_->Start(1);
  cluster_->Start(2);
  ASSERT_TRUE(cluster_->WaitHealthy()) << cluster_->Logs();
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "leader"; }, seconds(15))) << b->process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return sim_->StatusOf(12, 1) == kKilled; })) << b->process().Stdout();
  const Calls calls = CountCalls(sim_->Requests());
  EXPECT_EQ(calls.stops_by_token, 0);
  EXPECT_EQ(calls.stops_by_aksk, 1);
}

TEST_F(HaDaemonTest, SigtermOnTheLeaderResignsSoTheOtherLeadsAtOnce) {
  WriteFile(manifests_ / "a.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Running"));
  auto a = Replica("replica-a", false);
  ASSERT_TRUE(WaitFor([&] { return Role(*a) == "leader"; })) << a->process().Stdout();
  auto b = Replica("replica-b", true);
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "follower"; })) << b->process().Stdout();
  a->process().Signal(SIGTERM);
  const auto terminated = std::chrono::steady_clock::now();
  EXPECT_EQ(a->process().Wait(seconds(20)), 0) << a->process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return Role(*b) == "leader"; }, seconds(10)));
  // Well inside the lease: the key was deleted, not left to expire.
  EXPECT_LT(std::chrono::steady_clock::now() - terminated, kLease);
  EXPECT_NE(a->process().Stdout().find("leader election resigned"), std::string::npos);
}

}  // namespace
}  // namespace mactl::integration
