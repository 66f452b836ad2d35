#include "controller/core/gated_cloud_client.h"

#include <gtest/gtest.h>

#include "fakes/fake_cloud_client.h"

namespace mactl {
namespace {

class ScriptedGate final : public StopGate {
 public:
  Status CheckBeforeStop() override {
    ++checks;
    if (allow) return OkStatus();
    return MakeError(ErrorClass::kTerminal, "Election.NotLeader", "this replica is not the leader");
  }
  bool allow = true;
  int checks = 0;
};

TEST(GatedCloudClientTest, StopGoesOnlyWhenTheGateAllowsItAtThatMoment) {
  testing::FakeCloudClient inner;
  ScriptedGate gate;
  GatedCloudClient client(inner, gate);
  const VersionRef ref{"p", 1, 2};
  inner.SetStatus(ref, 8);  // running

  gate.allow = false;
  const Status refused = client.StopVersion(ref);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "Election.NotLeader");
  EXPECT_TRUE(refused.error().retryable());  // a requeue, never a terminal state
  EXPECT_NE(refused.error().message.find("stop not sent"), std::string::npos);
  EXPECT_TRUE(inner.Stops().empty());

  gate.allow = true;
  EXPECT_TRUE(client.StopVersion(ref).ok());
  EXPECT_EQ(inner.Stops().size(), 1u);
  EXPECT_EQ(gate.checks, 2);
}

TEST(GatedCloudClientTest, ReadsAreNotGated) {
  testing::FakeCloudClient inner;
  ScriptedGate gate;
  gate.allow = false;
  GatedCloudClient client(inner, gate);
  const VersionRef ref{"p", 1, 2};
  inner.SetStatus(ref, 8);
  EXPECT_TRUE(client.GetVersion(ref).ok());
  EXPECT_TRUE(client.ListJobs("p", 1, 10).ok());
  EXPECT_EQ(gate.checks, 0);
}

}  // namespace
}  // namespace mactl
