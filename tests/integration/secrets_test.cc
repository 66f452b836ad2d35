// No credential ever leaves the daemon: with each method (static token, AK/SK, IAM
// password), working and failing, at --log-level trace, the secret values appear nowhere in
// stdout, stderr, /status, /metrics or the command line. Credentials come from files.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kKilled = 12;
// Every secret contains "s3cr3t", so a truncated or partial leak is caught as well.
constexpr const char* kStaticToken = "tok-s3cr3t-5d1e8a2c9b7f4e3a";
constexpr const char* kWrongToken = "tok-WRONG-s3cr3t-a8c3d2e1f0";
constexpr const char* kAccessKey = "AK-s3cr3t-CHECK-7731";
constexpr const char* kSecretKey = "sk-s3cr3t-9f8e7d6c5b4a3f2e";
constexpr const char* kWrongSecretKey = "sk-WRONG-s3cr3t-1a2b3c4d5e";
constexpr const char* kPassword = "pw-s3cr3t-7e6d5c4b3a";
constexpr const char* kWrongPassword = "pw-WRONG-s3cr3t-0f9e8d";
// The simulator's issued IAM tokens all start with this.
constexpr const char* kIssuedTokenPrefix = "MIIsim";

std::string Seed() { return std::string(MACTL_SOURCE_DIR) + "/deploy/examples/sim-seed.json"; }

std::string ProcCmdline(pid_t pid) {
  std::string text = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  return text;
}

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.path() / "sim-token", std::string(kStaticToken) + "\n");
    WriteFile(dir_.path() / "sim-aksk", std::string(kAccessKey) + ":" + kSecretKey + "\n");
    WriteFile(dir_.path() / "sim-users", std::string("alice:") + kPassword + ":acme\n");
    sim_ = std::make_unique<Simulator>(
        dir_, ExactArgs{},
        std::vector<std::string>{"--seed", Seed(), "--kill-delay", "1s", "--token-file",
                                 (dir_.path() / "sim-token").string(), "--aksk-file",
                                 (dir_.path() / "sim-aksk").string(), "--iam-users-file",
                                 (dir_.path() / "sim-users").string(), "--iam-token-ttl", "3s"});
    ASSERT_GT(sim_->port(), 0) << sim_->process().Stderr();
    WriteFile(manifests_ / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
    WriteFile(manifests_ / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  }

  // Writes `value` to a file named `name` and returns "VAR_FILE=path".
  std::string FileVar(const std::string& var, const std::string& name, const std::string& value) {
    const fs::path path = dir_.path() / "cred" / name;
    WriteFile(path, value + "\n");
    return var + "_FILE=" + path.string();
  }

  // Runs the daemon until `works` says whether it converged or keeps failing, then checks
  // every output for every secret.
  void RunAndCheck(const std::string& name, std::vector<std::string> env, bool works,
                   std::chrono::seconds linger = std::chrono::seconds(1)) {
    SCOPED_TRACE(name);
    Controller controller(dir_, manifests_, sim_->endpoint(),
                          {"--log-level", "trace", "--resync", "500ms"}, std::move(env), name);
    ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
    const std::string cmdline = ProcCmdline(controller.process().pid());
    if (works) {
      ASSERT_TRUE(WaitFor([&] { return controller.Phase("resnet-sweep-v1") == "Converged"; }))
          << controller.Status().dump(1);
      EXPECT_EQ(sim_->StatusOf(10, 10), kKilled);
    } else {
      ASSERT_TRUE(WaitFor([&] {
        const json o = controller.Object("bert-finetune-v10");
        return o.is_object() && o["lastError"].is_string();
      })) << controller.Status().dump(1);
      EXPECT_EQ(sim_->StopCalls(10, 10), 0);
    }
    std::this_thread::sleep_for(linger);  // more resyncs, retries, renewals
    const std::string status = controller.Status().dump();
    const std::string metrics = controller.Metrics();
    controller.process().Signal(SIGTERM);
    EXPECT_EQ(controller.process().Wait(), 0);
    const std::string out = controller.process().Stdout();
    const std::string err = controller.process().Stderr();
    // The most verbose level is really on (the daemon writes nothing at trace itself; debug
    // is its most talkative output), so the check covers everything it can say.
    EXPECT_NE(out.find("\"level\":\"debug\""), std::string::npos) << out.substr(0, 2000);
    EXPECT_FALSE(status.empty());
    EXPECT_NE(metrics.find("modelarts_controller_"), std::string::npos);
    EXPECT_NE(cmdline.find("--manifests"), std::string::npos) << cmdline;

    const std::vector<std::pair<std::string, const std::string*>> outputs = {
        {"stdout", &out},
        {"stderr", &err},
        {"/status", &status},
        {"/metrics", &metrics},
        {"/proc/pid/cmdline", &cmdline}};
    for (const std::string& secret :
         {std::string(kStaticToken), std::string(kWrongToken), std::string(kAccessKey),
          std::string(kSecretKey), std::string(kWrongSecretKey), std::string(kPassword),
          std::string(kWrongPassword), std::string(kIssuedTokenPrefix), std::string("s3cr3t")}) {
      for (const auto& [where, text] : outputs) {
        const std::size_t at = text->find(secret);
        EXPECT_EQ(at, std::string::npos)
            << "\"" << secret << "\" in " << where << ": ..."
            << text->substr(at == std::string::npos ? 0 : (at > 200 ? at - 200 : 0), 400);
      }
    }
  }

  TempDir dir_;
  const fs::path manifests_ = dir_.path() / "manifests";
  std::unique_ptr<Simulator> sim_;
};

TEST_F(SecretsTest, StaticTokenWorking) {
  RunAndCheck("token-ok", {FileVar("OS_TOKEN", "t1", kStaticToken)}, true);
}

TEST_F(SecretsTest, StaticTokenRefused) {
  RunAndCheck("token-bad", {FileVar("OS_TOKEN", "t2", kWrongToken)}, false);
}

TEST_F(SecretsTest, AkSkWorking) {
  RunAndCheck(
      "aksk-ok",
      {FileVar("OS_ACCESS_KEY", "ak1", kAccessKey), FileVar("OS_SECRET_KEY", "sk1", kSecretKey)},
      true);
}

TEST_F(SecretsTest, AkSkRefused) {
  RunAndCheck("aksk-bad",
              {FileVar("OS_ACCESS_KEY", "ak2", kAccessKey),
               FileVar("OS_SECRET_KEY", "sk2", kWrongSecretKey)},
              false);
}

TEST_F(SecretsTest, IamPasswordWorkingThroughRenewals) {
  RunAndCheck("iam-ok",
              {"OS_AUTH_URL=" + sim_->endpoint() + "/v3", "OS_USERNAME=alice",
               FileVar("OS_PASSWORD", "pw1", kPassword), "OS_DOMAIN_NAME=acme"},
              true, std::chrono::seconds(4));
  int issued = 0;
  for (const json& r : sim_->Requests()) {
    if (r.value("operation", "") == "auth" && r.value("status", 0) == 201) ++issued;
  }
  EXPECT_GE(issued, 2);  // renewed at least once (3 s tokens, renewed at half life)
}

TEST_F(SecretsTest, IamPasswordRefused) {
  RunAndCheck("iam-bad",
              {"OS_AUTH_URL=" + sim_->endpoint() + "/v3", "OS_USERNAME=alice",
               FileVar("OS_PASSWORD", "pw2", kWrongPassword), "OS_DOMAIN_NAME=acme"},
              false);
  int refused = 0;
  for (const json& r : sim_->Requests()) {
    if (r.value("operation", "") == "auth" && r.value("status", 0) == 401) ++refused;
  }
  EXPECT_GE(refused, 1);
}

}  // namespace
}  // namespace mactl::integration
