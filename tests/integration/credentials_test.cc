// The real daemon on real credentials against a simulator that checks them: IAM password
// tokens through several expiries, AK/SK signatures verified on every request, and a
// wrong secret key that must never lead to a stop.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kRunning = 8;
constexpr int kKilled = 12;
constexpr const char* kAccessKey = "AKINTEGRATION0001";
constexpr const char* kSecretKey = "integration-secret-key-0123456789";

std::string Seed() { return std::string(MACTL_SOURCE_DIR) + "/deploy/examples/sim-seed.json"; }

struct RequestCounts {
  int auth_issued = 0;  // POST /v3/auth/tokens answered 201
  int api = 0;          // /v1 requests answered
  int api_ok = 0;       // /v1 answered 2xx
  int api_unauthorized = 0;
  int api_unsigned = 0;  // /v1 without an Authorization header
  std::int64_t last_ok_ms = -1;
};

RequestCounts Count(const json& requests) {
  RequestCounts c;
  for (const json& r : requests) {
    const std::string path = r.value("path", "");
    const int status = r.value("status", 0);
    if (r.value("operation", "") == "auth" && status == 201) ++c.auth_issued;
    if (path.rfind("/v1/", 0) != 0) continue;
    if (status == 0) continue;  // still being answered when the log was read (nothing drops here)
    ++c.api;
    if (status >= 200 && status < 300) {
      ++c.api_ok;
      c.last_ok_ms = std::max(c.last_ok_ms, r.value("time_ms", std::int64_t{0}));
    }
    if (status == 401) ++c.api_unauthorized;
    if (!r.value("has_authorization", false)) ++c.api_unsigned;
  }
  return c;
}

TEST(Credentials, IamPasswordTokensAreRenewedAcrossExpiryWithoutLosingWork) {
  TempDir dir;
  const fs::path users = dir.path() / "iam-users";
  WriteFile(users, "alice:iam-Passw0rd-for-integration:acme\n");
  constexpr int kTtlSeconds = 4;
  Simulator sim(dir, ExactArgs{},
                {"--seed", Seed(), "--kill-delay", "1s", "--iam-users-file", users.string(),
                 "--iam-token-ttl", std::to_string(kTtlSeconds) + "s"});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  const fs::path password = dir.path() / "password";
  WriteFile(password, "iam-Passw0rd-for-integration\n");
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  WriteFile(manifests / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  WriteFile(manifests / "c.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Stopped"));
  WriteFile(manifests / "d.yaml", Manifest("whisper-asr-v1", 16, 1, "Running"));
  ASSERT_EQ(sim.StatusOf(16, 1), kRunning);
  ASSERT_EQ(sim.StatusOf(12, 2), kRunning);

  const auto started = std::chrono::steady_clock::now();
  Controller controller(dir, manifests, sim.endpoint(), {"--resync", "500ms"},
                        {"OS_AUTH_URL=" + sim.endpoint() + "/v3", "OS_USERNAME=alice",
                         "OS_PASSWORD_FILE=" + password.string(), "OS_DOMAIN_NAME=acme"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ASSERT_TRUE(WaitFor([&] {
    return sim.StatusOf(10, 10) == kKilled && sim.StatusOf(11, 1) == kKilled &&
           sim.StatusOf(12, 1) == kKilled;
  })) << sim.Requests().dump(1);

  // New work after the first token expired, and again after the second did.
  const auto at = [&](int seconds) {
    std::this_thread::sleep_until(started + std::chrono::seconds(seconds));
  };
  at(kTtlSeconds + 1);
  WriteFile(manifests / "d.yaml", Manifest("whisper-asr-v1", 16, 1, "Stopped"));
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(16, 1) == kKilled; }, std::chrono::seconds(10)))
      << controller.Status().dump(1);
  at(2 * kTtlSeconds + 1);
  WriteFile(manifests / "e.yaml", Manifest("llama-lora-v2", 12, 2, "Stopped"));
  ASSERT_TRUE(WaitFor([&] { return sim.StatusOf(12, 2) == kKilled; }, std::chrono::seconds(10)))
      << controller.Status().dump(1);
  at(3 * kTtlSeconds + 1);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  EXPECT_TRUE(controller.process().Running());
  for (const auto& [job, version] :
       std::vector<std::pair<int, int>>{{10, 10}, {11, 1}, {12, 1}, {16, 1}, {12, 2}}) {
    EXPECT_EQ(sim.StopCalls(job, version), 1) << job << "/" << version;
  }
  const RequestCounts c = Count(sim.Requests());
  // At least one renewal per half life actually happened (the tokens did expire)...
  EXPECT_GE(c.auth_issued, 3) << elapsed;
  // ...but no token per request: about one per half life.
  EXPECT_LE(c.auth_issued, 1 + static_cast<int>(elapsed / (kTtlSeconds / 2.0)) + 2) << elapsed;
  EXPECT_GT(c.api, 5 * c.auth_issued) << "api " << c.api << ", auth " << c.auth_issued;
  // Renewing ahead of expiry means no request ever went out with an expired token.
  EXPECT_EQ(c.api_unauthorized, 0);
  // Still serving requests successfully after three lifetimes.
  EXPECT_GT(c.last_ok_ms, static_cast<std::int64_t>(3 * kTtlSeconds * 1000 - 1500));
  const json status = controller.Status();
  for (const json& o : status.value("objects", json::array())) {
    EXPECT_EQ(o.value("phase", ""), "Converged") << o.dump();
  }
}

TEST(Credentials, AkSkSignedRequestsAreAllAccepted) {
  TempDir dir;
  const fs::path keys = dir.path() / "aksk";
  WriteFile(keys, std::string(kAccessKey) + ":" + kSecretKey + "\n");
  Simulator sim(dir, ExactArgs{},
                {"--seed", Seed(), "--kill-delay", "1s", "--aksk-file", keys.string()});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  const fs::path secret = dir.path() / "secret-key";
  WriteFile(secret, std::string(kSecretKey) + "\n");
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  WriteFile(manifests / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  WriteFile(manifests / "c.yaml", Manifest("gpt-pretrain-v1", 12, 1, "Stopped"));
  WriteFile(manifests / "d.yaml", Manifest("llama-lora-v2", 12, 2, "Running"));
  Controller controller(
      dir, manifests, sim.endpoint(), {"--resync", "500ms"},
      {std::string("OS_ACCESS_KEY=") + kAccessKey, "OS_SECRET_KEY_FILE=" + secret.string()});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ASSERT_TRUE(WaitFor([&] {
    return sim.StatusOf(10, 10) == kKilled && sim.StatusOf(11, 1) == kKilled &&
           sim.StatusOf(12, 1) == kKilled;
  })) << sim.Requests().dump(1);
  ASSERT_TRUE(WaitFor([&] { return controller.Phase("llama-lora-v2") == "Converged"; }));
  std::this_thread::sleep_for(std::chrono::seconds(1));

  EXPECT_EQ(sim.StopCalls(10, 10), 1);
  EXPECT_EQ(sim.StopCalls(11, 1), 1);
  EXPECT_EQ(sim.StopCalls(12, 1), 1);
  EXPECT_EQ(sim.StopCalls(12, 2), 0);
  const json requests = sim.Requests();
  const RequestCounts c = Count(requests);
  EXPECT_GT(c.api, 6);
  EXPECT_EQ(c.api_unsigned, 0);
  EXPECT_EQ(c.api_unauthorized, 0) << requests.dump(1);
  for (const json& r : requests) {
    if (r.value("path", "").rfind("/v1/", 0) == 0) {
      EXPECT_NE(r.value("status", 0), 401) << r.dump();
      EXPECT_FALSE(r.value("has_auth_token", true)) << r.dump();
    }
  }
}

TEST(Credentials, WrongSecretKeyKeepsRunningReportsErrorsAndNeverStops) {
  TempDir dir;
  const fs::path keys = dir.path() / "aksk";
  WriteFile(keys, std::string(kAccessKey) + ":" + kSecretKey + "\n");
  Simulator sim(dir, ExactArgs{},
                {"--seed", Seed(), "--kill-delay", "1s", "--aksk-file", keys.string()});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  const fs::path secret = dir.path() / "secret-key";
  WriteFile(secret, "not-the-right-secret-key-987654321\n");
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  WriteFile(manifests / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  Controller controller(
      dir, manifests, sim.endpoint(), {},
      {std::string("OS_ACCESS_KEY=") + kAccessKey, "OS_SECRET_KEY_FILE=" + secret.string()});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  ASSERT_TRUE(WaitFor([&] {
    const json o = controller.Object("bert-finetune-v10");
    return o.is_object() && o.contains("lastError") && o["lastError"].is_string();
  })) << controller.Status().dump(1);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // several backoff rounds

  EXPECT_TRUE(controller.process().Running());
  const json status = controller.Status();
  for (const char* name : {"bert-finetune-v10", "resnet-sweep-v1"}) {
    const json o = controller.Object(name);
    ASSERT_TRUE(o.is_object()) << status.dump(1);
    EXPECT_NE(o.value("phase", ""), "Converged") << o.dump();
    ASSERT_TRUE(o["lastError"].is_string()) << o.dump();
    EXPECT_NE(o["lastError"].get<std::string>().find("401"), std::string::npos) << o.dump();
  }
  EXPECT_EQ(sim.StopCalls(10, 10), 0);
  EXPECT_EQ(sim.StopCalls(11, 1), 0);
  EXPECT_EQ(sim.StatusOf(10, 10), kRunning);
  const RequestCounts c = Count(sim.Requests());
  EXPECT_GT(c.api, 2);  // it kept trying
  EXPECT_EQ(c.api_ok, 0);
  EXPECT_EQ(c.api_unauthorized, c.api);
  EXPECT_EQ(GetStatusCode(controller.port(), "/healthz"), 200);

  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(), 0);
}

}  // namespace
}  // namespace mactl::integration
