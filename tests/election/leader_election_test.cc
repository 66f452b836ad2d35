#include "controller/election/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_etcd_client.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeEtcdClient;

class RecordingObserver final : public ElectionObserver {
 public:
  void OnRoleChanged(ElectionRole role) override {
    std::lock_guard lock(mu);
    roles.push_back(role);
  }
  void OnLeaderChanged(const std::string& identity) override {
    std::lock_guard lock(mu);
    leaders.push_back(identity);
  }
  void OnRenewal(bool ok) override { (ok ? renewed : failed)++; }

  std::mutex mu;
  std::vector<ElectionRole> roles;
  std::vector<std::string> leaders;
  std::atomic<int> renewed{0};
  std::atomic<int> failed{0};
};

LeaderElectionOptions Options(const std::string& identity) {
  LeaderElectionOptions o;
  o.prefix = "/test/leader";
  o.identity = identity;
  o.lease_ttl = seconds(15);
  o.request_timeout = milliseconds(2000);
  return o;
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeEtcdClient etcd{clock};
  RecordingObserver observer_a;
  RecordingObserver observer_b;
  LeaderElection a{Options("host-a:1"), etcd, clock, observer_a};
  LeaderElection b{Options("host-b:2"), etcd, clock, observer_b};

  // Runs each candidate's rounds that fall due while time moves forward by `total`, in steps
  // of 100 ms (the candidates run their rounds as a real loop would).
  void RunFor(Duration total, std::vector<LeaderElection*> running) {
    std::vector<std::optional<SteadyTime>> due(running.size(), clock.Now());
    const SteadyTime end = clock.Now() + total;
    while (clock.Now() < end) {
      for (std::size_t i = 0; i < running.size(); ++i) {
        if (due[i].has_value() && clock.Now() >= *due[i]) due[i] = running[i]->RunOnce();
      }
      clock.Advance(milliseconds(100));
    }
  }
};

TEST_F(LeaderElectionTest, SingleCandidateLeadsWithItsKeyAndIdentity) {
  ASSERT_TRUE(a.RunOnce().has_value());
  const ElectionStatus status = a.Snapshot();
  EXPECT_EQ(status.role, ElectionRole::kLeader);
  EXPECT_EQ(status.leader_identity, "host-a:1");
  const auto keys = etcd.Keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.begin()->first, status.key);
  EXPECT_EQ(status.key.rfind("/test/leader/", 0), 0u);
  EXPECT_EQ(keys.begin()->second.value, "host-a:1");
  EXPECT_TRUE(a.CheckBeforeAct().ok());
  EXPECT_EQ(observer_a.roles,
            (std::vector<ElectionRole>{ElectionRole::kFollower, ElectionRole::kLeader}));
}

TEST_F(LeaderElectionTest, SecondCandidateFollowsKnowsTheLeaderAndMayNotAct) {
  ASSERT_TRUE(a.RunOnce().has_value());
  ASSERT_TRUE(b.RunOnce().has_value());
  EXPECT_EQ(b.Snapshot().role, ElectionRole::kFollower);
  EXPECT_EQ(b.Snapshot().leader_identity, "host-a:1");
  const Status check = b.CheckBeforeAct();
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error().code, "Election.NotLeader");
  EXPECT_EQ(etcd.checks(), 0);  // refused without asking etcd
  RunFor(seconds(60), {&a, &b});
  EXPECT_TRUE(a.IsLeader());
  EXPECT_FALSE(b.IsLeader());
}

TEST_F(LeaderElectionTest, LeaderRenewsEveryThirdOfTheTtl) {
  ASSERT_TRUE(a.RunOnce().has_value());
  EXPECT_EQ(a.RenewInterval(), milliseconds(5000));
  RunFor(seconds(30) + milliseconds(50), {&a});
  EXPECT_EQ(etcd.keepalives(), 6);
  EXPECT_EQ(observer_a.renewed.load(), 6);
  EXPECT_TRUE(a.CheckBeforeAct().ok());
}

TEST_F(LeaderElectionTest, FollowerTakesOverWithinTtlPlusOneRenewalOfTheLeadersEnd) {
  ASSERT_TRUE(a.RunOnce().has_value());
  RunFor(seconds(4), {&a, &b});  // a renews at 5 s; it dies just before, at its worst
  ASSERT_TRUE(a.IsLeader());
  ASSERT_FALSE(b.IsLeader());
  const SteadyTime died = clock.Now();
  while (!b.IsLeader() && clock.Now() < died + seconds(60)) RunFor(milliseconds(100), {&b});
  ASSERT_TRUE(b.IsLeader());
  EXPECT_LE(clock.Now() - died, seconds(15) + a.RenewInterval());
  EXPECT_EQ(b.Snapshot().leader_identity, "host-b:2");
  EXPECT_TRUE(b.CheckBeforeAct().ok());
}

TEST_F(LeaderElectionTest, CheckBeforeActRefusesOnceTheLeaseIsNotSurelyValidWithoutAskingEtcd) {
  ASSERT_TRUE(a.RunOnce().has_value());
  // No renewal (the loop is stuck): valid until the grant + 15 s − (2 s + 0.5 s).
  clock.Advance(milliseconds(12400));
  EXPECT_TRUE(a.CheckBeforeAct().ok());
  const int asked = etcd.checks();
  clock.Advance(milliseconds(200));
  const Status check = a.CheckBeforeAct();
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.error().message.find("not surely valid"), std::string::npos);
  EXPECT_EQ(etcd.checks(), asked);
}

TEST_F(LeaderElectionTest, CheckBeforeActRefusesWhenEtcdCannotConfirm) {
  ASSERT_TRUE(a.RunOnce().has_value());
  etcd.SetReachable(false);
  const Status check = a.CheckBeforeAct();
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.error().message.find("did not confirm"), std::string::npos);
  EXPECT_TRUE(a.IsLeader());  // not yet lost: the lease may be fine
}

TEST_F(LeaderElectionTest, KeyReplacedInEtcdMeansLostAndNoAction) {
  ASSERT_TRUE(a.RunOnce().has_value());
  etcd.ExpireAllLeases();
  const Status check = a.CheckBeforeAct();
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(a.Snapshot().role, ElectionRole::kLost);
  EXPECT_FALSE(a.RunOnce().has_value());  // the campaign is over: the daemon exits
  EXPECT_EQ(observer_a.roles.back(), ElectionRole::kLost);
}

TEST_F(LeaderElectionTest, RenewalFailingForTheWholeTtlLosesLeadership) {
  ASSERT_TRUE(a.RunOnce().has_value());
  etcd.SetReachable(false);
  RunFor(seconds(14), {&a});
  EXPECT_TRUE(a.IsLeader());              // still within the TTL
  EXPECT_FALSE(a.CheckBeforeAct().ok());  // but no longer acting
  EXPECT_GT(observer_a.failed.load(), 0);
  RunFor(seconds(2), {&a});
  EXPECT_EQ(a.Snapshot().role, ElectionRole::kLost);
}

TEST_F(LeaderElectionTest, LeaseGoneAtRenewalLosesLeadership) {
  ASSERT_TRUE(a.RunOnce().has_value());
  etcd.ExpireAllLeases();
  RunFor(seconds(6), {&a});
  EXPECT_EQ(a.Snapshot().role, ElectionRole::kLost);
}

TEST_F(LeaderElectionTest, FrozenLeaderResumedAfterTakeoverSendsNoStop) {
  ASSERT_TRUE(a.RunOnce().has_value());
  ASSERT_TRUE(b.RunOnce().has_value());
  // a is frozen (SIGSTOP): only b runs, well past a's lease.
  RunFor(seconds(25), {&b});
  ASSERT_TRUE(b.IsLeader());
  // a resumes: a worker about to stop something checks first.
  EXPECT_FALSE(a.CheckBeforeAct().ok());
  EXPECT_FALSE(a.RunOnce().has_value());
  EXPECT_EQ(a.Snapshot().role, ElectionRole::kLost);
  EXPECT_TRUE(b.CheckBeforeAct().ok());
}

TEST_F(LeaderElectionTest, ResignDeletesTheKeySoTheFollowerLeadsAtItsNextRound) {
  ASSERT_TRUE(a.RunOnce().has_value());
  ASSERT_TRUE(b.RunOnce().has_value());
  ASSERT_TRUE(a.Resign().ok());
  EXPECT_EQ(a.Snapshot().role, ElectionRole::kResigned);
  EXPECT_EQ(etcd.Keys().size(), 1u);
  EXPECT_EQ(etcd.Leases(), 1u);
  ASSERT_TRUE(b.RunOnce().has_value());
  EXPECT_TRUE(b.IsLeader());
  EXPECT_FALSE(a.CheckBeforeAct().ok());
}

TEST_F(LeaderElectionTest, FollowerWhoseSessionExpiredCampaignsAgainBehindTheLeader) {
  ASSERT_TRUE(a.RunOnce().has_value());
  ASSERT_TRUE(b.RunOnce().has_value());
  const std::string old_key = b.Snapshot().key;
  // b's lease alone expires (say, b was partitioned); a keeps leading.
  const auto keys = etcd.Keys();
  etcd.ExpireLease(keys.at(old_key).lease);
  RunFor(seconds(3), {&a, &b});
  EXPECT_TRUE(a.IsLeader());
  EXPECT_EQ(b.Snapshot().role, ElectionRole::kFollower);
  EXPECT_NE(b.Snapshot().key, old_key);
  EXPECT_FALSE(b.Snapshot().key.empty());
}

TEST_F(LeaderElectionTest, UnreachableEtcdAtStartKeepsTryingWithoutLeading) {
  etcd.SetReachable(false);
  RunFor(seconds(10), {&a});
  EXPECT_EQ(a.Snapshot().role, ElectionRole::kIdle);
  etcd.SetReachable(true);
  RunFor(seconds(3), {&a});
  EXPECT_TRUE(a.IsLeader());
}

TEST_F(LeaderElectionTest, RunReturnsOnStopWhileWaitingOnTheClock) {
  std::jthread loop([this](std::stop_token stop) { a.Run(stop); });
  clock.BlockUntilWaiters(1);
  EXPECT_TRUE(a.IsLeader());
  loop.request_stop();
  loop.join();
  EXPECT_TRUE(a.Resign().ok());
  EXPECT_TRUE(etcd.Keys().empty());
}

TEST(LeaderElectionOptionsTest, Validates) {
  LeaderElectionOptions o = Options("me");
  EXPECT_TRUE(ValidateLeaderElectionOptions(o).ok());
  o.prefix = "no-slash";
  EXPECT_FALSE(ValidateLeaderElectionOptions(o).ok());
  o.prefix = "/trailing/";
  EXPECT_FALSE(ValidateLeaderElectionOptions(o).ok());
  o = Options("");
  EXPECT_FALSE(ValidateLeaderElectionOptions(o).ok());
  o = Options("bad\nidentity");
  EXPECT_FALSE(ValidateLeaderElectionOptions(o).ok());
  o = Options("me");
  o.lease_ttl = seconds(1);
  EXPECT_FALSE(ValidateLeaderElectionOptions(o).ok());
  o.lease_ttl = seconds(3);
  o.request_timeout = DefaultEtcdRequestTimeout(o.lease_ttl);
  EXPECT_EQ(o.request_timeout, milliseconds(600));
  EXPECT_TRUE(ValidateLeaderElectionOptions(o).ok());
  o.request_timeout = milliseconds(2000);  // leaves 0.5 s of a 3 s lease
  EXPECT_FALSE(ValidateLeaderElectionOptions(o).ok());
  EXPECT_EQ(DefaultEtcdRequestTimeout(seconds(15)), milliseconds(2000));
}

}  // namespace
}  // namespace mactl
