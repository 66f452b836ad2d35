// The real daemon against the simulator over HTTPS with a test CA: a trusted certificate
// converges; an untrusted CA or a certificate for another host name is refused and said
// so; --insecure-skip-tls-verify connects anyway and warns at start.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kRunning = 8;
constexpr int kKilled = 12;

// Reads the simulator's control endpoints over TLS without verifying (the test's own
// view, not the daemon's).
json TlsGetJson(int port, const std::string& path) {
  httplib::SSLClient client("127.0.0.1", port);
  client.enable_server_certificate_verification(false);
  client.set_read_timeout(10, 0);
  auto res = client.Get(path.c_str());
  if (!res || res->status != 200) return json();
  return json::parse(res->body, nullptr, false);
}

json TlsVersion(int port, int job, int version) {
  for (const json& v : TlsGetJson(port, "/_sim/versions")) {
    if (v.value("job_id", 0) == job && v.value("version_id", 0) == version) return v;
  }
  return json();
}

int TlsStatusOf(int port, int job, int version) {
  const json v = TlsVersion(port, job, version);
  return v.is_object() ? v.value("status", -1) : -1;
}

int TlsStopCalls(int port, int job, int version) {
  const json v = TlsVersion(port, job, version);
  return v.is_object() ? v.value("stop_calls", -1) : -1;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(token_file_, kToken + "\n");
    WriteFile(manifests_ / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
    WriteFile(manifests_ / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  }

  void StartSim(const TestPki& pki) {
    sim_ = std::make_unique<Simulator>(
        dir_, ExactArgs{},
        std::vector<std::string>{
            "--seed", std::string(MACTL_SOURCE_DIR) + "/deploy/examples/sim-seed.json",
            "--kill-delay", "1s", "--token-file", token_file_.string(), "--tls-cert",
            pki.server_cert.string(), "--tls-key", pki.server_key.string()});
    ASSERT_GT(sim_->port(), 0) << sim_->process().Stderr();
    EXPECT_NE(sim_->process().Stdout().find("(https)"), std::string::npos);
  }

  std::unique_ptr<Controller> StartController(std::vector<std::string> extra) {
    const std::string endpoint = "https://127.0.0.1:" + std::to_string(sim_->port());
    auto c = std::make_unique<Controller>(dir_, manifests_, endpoint, std::move(extra),
                                          std::vector<std::string>{"OS_TOKEN=" + kToken});
    EXPECT_GT(c->port(), 0) << c->process().Stdout();
    return c;
  }

  // The daemon must refuse the connection: no stop, an error in /status that names
  // certificate verification, and a log line saying so.
  void ExpectRefused(Controller& controller, const std::string& expected_text) {
    ASSERT_TRUE(WaitFor([&] {
      const json o = controller.Object("bert-finetune-v10");
      return o.is_object() && o["lastError"].is_string();
    })) << controller.Status().dump(1);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_TRUE(controller.process().Running());
    EXPECT_EQ(TlsStopCalls(sim_->port(), 10, 10), 0);
    EXPECT_EQ(TlsStopCalls(sim_->port(), 11, 1), 0);
    EXPECT_EQ(TlsStatusOf(sim_->port(), 10, 10), kRunning);
    // The handshake fails before any HTTP request reaches the simulator.
    EXPECT_EQ(TlsGetJson(sim_->port(), "/_sim/requests").size(), 0u);
    const std::string error = controller.Object("bert-finetune-v10")["lastError"];
    EXPECT_NE(error.find(expected_text), std::string::npos) << error;
    bool logged = false;
    for (const json& line : controller.LogLines()) {
      logged = logged || line.dump().find(expected_text) != std::string::npos;
    }
    EXPECT_TRUE(logged) << controller.process().Stdout();
  }

  TempDir dir_;
  const fs::path token_file_ = dir_.path() / "sim-token";
  const fs::path manifests_ = dir_.path() / "manifests";
  std::unique_ptr<Simulator> sim_;
};

constexpr const char* kVerificationText = "certificate verification";

TEST_F(TlsTest, TrustedCertificateConverges) {
  const TestPki pki = MakeTestPki(dir_.path() / "pki");
  ASSERT_TRUE(pki.ok) << pki.log;
  StartSim(pki);
  auto controller = StartController({"--ca-file", pki.ca_cert.string()});
  ASSERT_TRUE(WaitFor([&] {
    return TlsStatusOf(sim_->port(), 10, 10) == kKilled &&
           TlsStatusOf(sim_->port(), 11, 1) == kKilled;
  })) << controller->Status().dump(1);
  ASSERT_TRUE(WaitFor([&] { return controller->Phase("bert-finetune-v10") == "Converged"; }));
  EXPECT_EQ(TlsStopCalls(sim_->port(), 10, 10), 1);
  EXPECT_EQ(TlsStopCalls(sim_->port(), 11, 1), 1);
  for (const json& line : controller->LogLines()) {
    EXPECT_NE(line.value("level", ""), "warning") << line.dump();
  }
}

TEST_F(TlsTest, CertificateFromAnotherCaIsRefused) {
  const TestPki pki = MakeTestPki(dir_.path() / "pki");
  const TestPki other = MakeTestPki(dir_.path() / "other-pki");
  ASSERT_TRUE(pki.ok && other.ok) << pki.log << other.log;
  StartSim(pki);
  auto controller = StartController({"--ca-file", other.ca_cert.string()});
  ExpectRefused(*controller, kVerificationText);
}

TEST_F(TlsTest, CertificateForAnotherHostIsRefused) {
  const TestPki pki = MakeTestPki(dir_.path() / "pki", "DNS:modelarts.example.invalid");
  ASSERT_TRUE(pki.ok) << pki.log;
  StartSim(pki);
  auto controller = StartController({"--ca-file", pki.ca_cert.string()});
  ExpectRefused(*controller, kVerificationText);
}

TEST_F(TlsTest, InsecureSkipVerifyConnectsAndWarnsAtStart) {
  const TestPki pki = MakeTestPki(dir_.path() / "pki", "DNS:modelarts.example.invalid");
  ASSERT_TRUE(pki.ok) << pki.log;
  StartSim(pki);
  auto controller = StartController({"--insecure-skip-tls-verify"});
  ASSERT_TRUE(WaitFor([&] {
    return TlsStatusOf(sim_->port(), 10, 10) == kKilled &&
           TlsStatusOf(sim_->port(), 11, 1) == kKilled;
  })) << controller->Status().dump(1);
  bool warned = false;
  for (const json& line : controller->LogLines()) {
    warned =
        warned || (line.value("level", "").rfind("warn", 0) == 0 &&
                   line.value("msg", "").find("--insecure-skip-tls-verify") != std::string::npos);
  }
  EXPECT_TRUE(warned) << controller->process().Stdout();
  EXPECT_EQ(TlsStopCalls(sim_->port(), 10, 10), 1);
}

}  // namespace
}  // namespace mactl::integration
