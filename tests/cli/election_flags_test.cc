#include <gtest/gtest.h>

#include "controller/cli/commands.h"
#include "controller/cli/flags.h"

namespace mactl {
namespace {

std::vector<std::string> RunArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = {"modelarts-controller", "run", "--manifests", "/m", "--endpoint",
                                   "http://127.0.0.1:1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(ElectionFlagsTest, DefaultsAreOff) {
  const Result<Flags> flags = ParseFlags(RunArgs({}));
  ASSERT_TRUE(flags.ok());
  EXPECT_FALSE(flags->leader_elect);
  EXPECT_TRUE(flags->etcd_endpoints.empty());
  EXPECT_EQ(flags->leader_elect_prefix, "/modelarts-controller/leader");
  EXPECT_EQ(flags->leader_elect_lease, std::chrono::seconds(15));
}

TEST(ElectionFlagsTest, ParsesEveryElectionFlag) {
  const Result<Flags> flags = ParseFlags(RunArgs(
      {"--leader-elect", "--etcd-endpoints", "https://e0:2379,https://e1:2379,http://[::1]:1",
       "--etcd-ca-file", "/ca.pem", "--etcd-cert-file", "/c.pem", "--etcd-key-file", "/k.pem",
       "--leader-elect-prefix", "/team-a/leader", "--leader-elect-lease", "1m"}));
  ASSERT_TRUE(flags.ok()) << flags.error().message;
  EXPECT_TRUE(flags->leader_elect);
  EXPECT_EQ(flags->etcd_endpoints,
            (std::vector<std::string>{"https://e0:2379", "https://e1:2379", "http://[::1]:1"}));
  EXPECT_EQ(flags->etcd_ca_file, "/ca.pem");
  EXPECT_EQ(flags->etcd_cert_file, "/c.pem");
  EXPECT_EQ(flags->etcd_key_file, "/k.pem");
  EXPECT_EQ(flags->leader_elect_prefix, "/team-a/leader");
  EXPECT_EQ(flags->leader_elect_lease, std::chrono::seconds(60));
}

TEST(ElectionFlagsTest, RefusesBadOrInconsistentValuesInOneLine) {
  const std::vector<std::vector<std::string>> bad = {
      {"--leader-elect"},                                              // no endpoints
      {"--etcd-endpoints", "https://e0:2379"},                         // no --leader-elect
      {"--leader-elect", "--etcd-endpoints", "e0:2379"},               // no scheme
      {"--leader-elect", "--etcd-endpoints", "https://e0:2379,"},      // empty entry
      {"--leader-elect", "--etcd-endpoints", "https://u:pw@e0:2379"},  // user info
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--etcd-cert-file", "/c.pem"},
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--leader-elect-lease", "1s"},
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--leader-elect-lease", "2500ms"},
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--leader-elect-lease", "2h"},
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--leader-elect-prefix", "leader"},
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--leader-elect-prefix", "/a/"},
      {"--leader-elect", "--etcd-endpoints", "https://e0", "--leader-elect-prefix", "/a\nb"},
  };
  for (const auto& extra : bad) {
    const Result<Flags> flags = ParseFlags(RunArgs(extra));
    ASSERT_FALSE(flags.ok()) << extra.back();
    EXPECT_EQ(flags.error().message.find('\n'), std::string::npos) << flags.error().message;
    EXPECT_EQ(flags.error().message.find("pw@"), std::string::npos) << flags.error().message;
  }
  // Not for plan: a one-shot command never campaigns.
  EXPECT_FALSE(ParseFlags({"modelarts-controller", "plan", "--manifests", "/m", "--endpoint",
                           "http://127.0.0.1:1", "--leader-elect"})
                   .ok());
}

TEST(ElectionFlagsTest, HelpNamesEveryElectionFlag) {
  const std::string usage = UsageText();
  for (const char* flag : {"--leader-elect ", "--etcd-endpoints", "--etcd-ca-file",
                           "--etcd-cert-file", "--etcd-key-file", "--leader-elect-prefix",
                           "--leader-elect-lease", "ETCD_USERNAME", "ETCD_PASSWORD"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST(ElectionFlagsTest, GetNamesTheLeaderAndThisReplicasRole) {
  const nlohmann::json status = {
      {"objects", nlohmann::json::array()},
      {"leaderElection", {{"role", "follower"}, {"identity", "b:2"}, {"leader", "a:1\x1b[2J"}}}};
  const std::string line = RenderLeaderLine(status);
  EXPECT_NE(line.find("LEADER: a:1"), std::string::npos) << line;
  EXPECT_NE(line.find("THIS REPLICA: b:2 (follower)"), std::string::npos) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos);  // no terminal escapes from the wire
  EXPECT_EQ(RenderLeaderLine({{"objects", nlohmann::json::array()}}), "");
}

}  // namespace
}  // namespace mactl
