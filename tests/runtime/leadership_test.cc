#include "controller/runtime/leadership.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>

#include "fakes/fake_clock.h"
#include "fakes/fake_etcd_client.h"

namespace mactl {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeEtcdClient;

LeaderElectionOptions Options(const std::string& identity) {
  LeaderElectionOptions o;
  o.prefix = "/test/leader";
  o.identity = identity;
  o.lease_ttl = seconds(15);
  o.request_timeout = DefaultEtcdRequestTimeout(o.lease_ttl);
  return o;
}

std::string Metrics(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(LeadershipTest, WaitsUntilLeaderThenCountsAndGatesStops) {
  FakeClock clock;
  FakeEtcdClient etcd(clock);
  prometheus::Registry registry;
  Leadership leadership(Options("a:1"), etcd, clock, registry, [] {});
  EXPECT_FALSE(leadership.CheckBeforeStop().ok());  // not campaigning yet
  leadership.Start();
  std::stop_source stop;
  EXPECT_TRUE(leadership.WaitUntilLeader(stop.get_token()));
  EXPECT_TRUE(leadership.CheckBeforeStop().ok());
  const nlohmann::json status = leadership.StatusJson();
  EXPECT_EQ(status["role"], "leader");
  EXPECT_EQ(status["identity"], "a:1");
  EXPECT_EQ(status["leader"], "a:1");
  const std::string text = Metrics(registry);
  EXPECT_NE(text.find("modelarts_controller_leader 1"), std::string::npos) << text;
  EXPECT_NE(text.find("modelarts_controller_leader_transitions_total 1"), std::string::npos);
  EXPECT_NE(text.find("modelarts_controller_leader_renewals_total{result=\"success\"} 0"),
            std::string::npos);
  leadership.Shutdown();
  EXPECT_TRUE(etcd.Keys().empty());  // resigned: the next replica takes over at once
  EXPECT_NE(Metrics(registry).find("modelarts_controller_leader 0"), std::string::npos);
}

TEST(LeadershipTest, FollowerWaitsUntilStopped) {
  FakeClock clock;
  FakeEtcdClient etcd(clock);
  prometheus::Registry registry_a;
  prometheus::Registry registry_b;
  Leadership a(Options("a:1"), etcd, clock, registry_a, [] {});
  Leadership b(Options("b:2"), etcd, clock, registry_b, [] {});
  a.Start();
  std::stop_source stop;
  ASSERT_TRUE(a.WaitUntilLeader(stop.get_token()));
  b.Start();
  clock.BlockUntilWaiters(2);
  std::stop_source stop_b;
  std::jthread waiter([&] { EXPECT_FALSE(b.WaitUntilLeader(stop_b.get_token())); });
  clock.BlockUntilWaiters(3);
  EXPECT_EQ(b.StatusJson()["role"], "follower");
  EXPECT_EQ(b.StatusJson()["leader"], "a:1");
  EXPECT_FALSE(b.CheckBeforeStop().ok());
  stop_b.request_stop();
  waiter.join();
  EXPECT_NE(Metrics(registry_b).find("modelarts_controller_leader 0"), std::string::npos);
}

TEST(LeadershipTest, LostLeadershipIsReportedOnceAndEndsTheWait) {
  FakeClock clock;
  FakeEtcdClient etcd(clock);
  prometheus::Registry registry;
  std::atomic<int> lost{0};
  Leadership leadership(Options("a:1"), etcd, clock, registry, [&] { ++lost; });
  leadership.Start();
  std::stop_source stop;
  ASSERT_TRUE(leadership.WaitUntilLeader(stop.get_token()));
  etcd.ExpireAllLeases();
  EXPECT_FALSE(leadership.CheckBeforeStop().ok());  // finds the key gone: lost
  EXPECT_TRUE(leadership.Lost());
  EXPECT_FALSE(leadership.WaitUntilLeader(stop.get_token()));
  EXPECT_FALSE(leadership.CheckBeforeStop().ok());
  EXPECT_EQ(lost.load(), 1);
  leadership.Shutdown();  // no resign after a loss
  EXPECT_NE(Metrics(registry).find("modelarts_controller_leader_transitions_total 2"),
            std::string::npos);
}

TEST(LeadershipTest, NewLeaderActsOnlyOnceItHasObservedEverything) {
  FakeClock clock;
  FakeEtcdClient etcd(clock);
  prometheus::Registry registry;
  Leadership leadership(Options("a:1"), etcd, clock, registry, [] {});
  std::atomic<bool> observed{false};
  leadership.RequireBeforeActing([&] { return observed.load(); });
  leadership.Start();
  std::stop_source stop;
  ASSERT_TRUE(leadership.WaitUntilLeader(stop.get_token()));
  EXPECT_TRUE(leadership.Leading());
  const Status early = leadership.CheckBeforeStop();
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "Election.Observing");
  observed = true;
  EXPECT_TRUE(leadership.CheckBeforeStop().ok());
  observed = false;  // a manifest added later: other stops are not held up
  EXPECT_TRUE(leadership.CheckBeforeStop().ok());
}

TEST(LeadershipTest, CreateRefusesBadOptions) {
  const SystemClock clock;
  prometheus::Registry registry;
  HttpEtcdClientOptions etcd;
  EXPECT_FALSE(Leadership::Create(etcd, Options("a:1"), clock, registry, [] {}).ok());
  etcd.endpoints = {"http://127.0.0.1:2379"};
  LeaderElectionOptions bad = Options("a:1");
  bad.prefix = "relative";
  EXPECT_FALSE(Leadership::Create(etcd, bad, clock, registry, [] {}).ok());
  EXPECT_TRUE(Leadership::Create(etcd, Options("a:1"), clock, registry, [] {}).ok());
}

}  // namespace
}  // namespace mactl
