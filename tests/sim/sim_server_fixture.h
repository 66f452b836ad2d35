#pragma once
// The in-process simulator (127.0.0.1:0, a FakeClock) and its v1 seed, shared by
// sim_server_test.cc (the server's front: credentials, projects, faults, request log, /_sim)
// and v1_server_test.cc (the v1 calls over HTTP).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "sim/sim_server.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr const char* kProject = "proj0000000000000000000000000001";

// Records each requested latency and moves the fake clock instead of sleeping.
class RecordingSleeper final : public Sleeper {
 public:
  explicit RecordingSleeper(mactl::testing::FakeClock& clock) : clock_(clock) {}
  void SleepFor(Duration d) override {
    std::lock_guard lock(mu_);
    slept_.push_back(d);
    clock_.Advance(d);
  }
  std::vector<Duration> slept() {
    std::lock_guard lock(mu_);
    return slept_;
  }

 private:
  mactl::testing::FakeClock& clock_;
  std::mutex mu_;
  std::vector<Duration> slept_;  // guarded by mu_
};

class SimServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        state_.AddJob(kProject, {10, "bert-finetune", "nlp", "0", {{9, 10, ""}, {10, 8, ""}}}));
    ASSERT_TRUE(state_.AddJob(kProject, {11, "resnet-sweep", "cv", "0", {{1, 7, ""}}}));
    ASSERT_TRUE(state_.AddJob(kProject, {13, "yolo-eval", "cv", "0", {{1, 10, ""}}}));
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start(std::optional<std::string> token = std::nullopt) {
    auth_ = std::make_unique<SimAuth>(std::move(token));
    server_ = std::make_unique<SimServer>(state_, faults_, log_, *auth_, clock_, sleeper_);
    auto port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().ToString();
    port_ = *port;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_read_timeout(5, 0);
  }

  // Adds jobs 200.. with names "job-a-000"... for paging tests.
  void AddManyJobs(int n) {
    for (int i = 0; i < n; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "many-%03d", i);
      ASSERT_TRUE(state_.AddJob(kProject, {200 + i, name, "", "0", {{1, 8, ""}}}));
    }
  }

  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) {
    return client_->Get(path.c_str(), headers);
  }
  httplib::Result Stop(std::int64_t job, std::int64_t version) {
    return client_->Post(VersionPath(job, version) + "/stop");
  }
  static std::string JobsPath() { return std::string("/v1/") + kProject + "/training-jobs"; }
  static std::string VersionPath(std::int64_t job, std::int64_t version) {
    return JobsPath() + "/" + std::to_string(job) + "/versions/" + std::to_string(version);
  }
  static json Body(const httplib::Result& res) { return json::parse(res->body); }
  int StatusOf(std::int64_t job, std::int64_t version) {
    return state_.GetVersion(kProject, job, version)->status;
  }
  void AddFaults(const std::string& rules_json) {
    auto res = client_->Post("/_sim/faults", rules_json, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  static std::vector<std::int64_t> JobIds(const json& body) {
    std::vector<std::int64_t> ids;
    for (const json& j : body["jobs"]) ids.push_back(j["job_id"].get<std::int64_t>());
    return ids;
  }
  void ExpectApiError(const httplib::Result& res, int status, const std::string& code) {
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const json body = Body(res);
    EXPECT_EQ(body["is_success"], false);
    EXPECT_EQ(body["error_code"], code) << res->body;
    EXPECT_TRUE(body["error_message"].is_string());
  }

  mactl::testing::FakeClock clock_;
  mactl::testing::FakeRandom random_{{0.5}};
  SimState state_{clock_, 3s};
  FaultInjector faults_{random_};
  RequestLog log_;
  RecordingSleeper sleeper_{clock_};
  std::unique_ptr<SimAuth> auth_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

}  // namespace
}  // namespace mactl::sim
