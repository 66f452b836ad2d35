#pragma once
// The scripted loopback server, fakes and fixture shared by http_cloud_client_test.cc (the v1
// calls over HttpCloudClient) and http_transport_test.cc (its transport half), split as
// controller/cloud/http_cloud_client.cc and http_transport.cc are.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/auth/static_token_authenticator.h"
#include "controller/cloud/http_cloud_client.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kToken[] = "tok-S3CRET-abcdef";

// Real monotonic time (the network is real here), a fixed wall time for Retry-After dates:
// Sun, 06 Nov 1994 08:49:37 GMT.
class TestClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(784111777s));
  }
  bool WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                 std::stop_token stop, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    return SystemClock().WaitUntil(cv, lock, std::move(stop), deadline, done);
  }
};

class RecordingThrottle final : public RequestThrottle {
 public:
  bool Acquire() override {
    ++acquired;
    return allow.load();
  }
  std::atomic<int> acquired{0};
  std::atomic<bool> allow{true};
};

class RecordingObserver final : public ApiCallObserver {
 public:
  struct Call {
    std::string operation;
    int status;
    bool operator==(const Call&) const = default;
  };
  void OnApiCall(std::string_view operation, int http_status,
                 std::chrono::duration<double> latency) override {
    std::lock_guard lock(mu);
    calls.push_back({std::string(operation), http_status});
    latencies.push_back(latency.count());
  }
  std::vector<Call> Calls() {
    std::lock_guard lock(mu);
    return calls;
  }
  std::mutex mu;
  std::vector<Call> calls;        // guarded by mu
  std::vector<double> latencies;  // guarded by mu
};

inline void PrintTo(const RecordingObserver::Call& c, std::ostream* os) {
  *os << "{" << c.operation << ", " << c.status << "}";
}

// Sends kToken until told it was rejected, then kToken + "-renewed".
class RotatingAuth final : public Authenticator {
 public:
  Status Apply(OutgoingRequest& request) override {
    std::lock_guard lock(mu_);
    if (fail_) return MakeError(ErrorClass::kRetryable, "Auth.Iam", "IAM endpoint unreachable");
    request.headers.emplace_back("X-Auth-Token", token_);
    seen_host_ = request.host;
    seen_path_ = request.path;
    seen_method_ = request.method;
    seen_query_ = request.query;
    return OkStatus();
  }
  void OnUnauthorized(const OutgoingRequest& rejected) override {
    std::lock_guard lock(mu_);
    ++unauthorized_;
    rejected_project_ = rejected.project_id;
    token_ = std::string(kToken) + "-renewed";
  }
  // Back to the first token, as if the renewed one had expired too.
  void Reset() {
    std::lock_guard lock(mu_);
    token_ = kToken;
  }
  std::string rejected_project() {
    std::lock_guard lock(mu_);
    return rejected_project_;
  }
  std::string Describe() const override { return "test"; }

  int unauthorized() {
    std::lock_guard lock(mu_);
    return unauthorized_;
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  std::mutex mu_;
  std::string token_ = kToken;                                   // guarded by mu_
  int unauthorized_ = 0;                                         // guarded by mu_
  std::string rejected_project_;                                 // guarded by mu_
  bool fail_ = false;                                            // guarded by mu_
  std::string seen_host_;                                        // guarded by mu_
  std::string seen_path_;                                        // guarded by mu_
  std::string seen_method_;                                      // guarded by mu_
  std::vector<std::pair<std::string, std::string>> seen_query_;  // guarded by mu_
};

// What the scripted server saw of one request.
struct Seen {
  std::string method;
  std::string target;  // raw path and query as sent
  std::string token;
  std::string content_type;
  std::string accept;
  std::string host;
  int remote_port = 0;
};

// A gate a handler blocks on until the test opens it.
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void WaitEntered(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;    // guarded by mu_
  bool open_ = false;  // guarded by mu_
};

class HttpCloudClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Recorded before routing, so it is visible before the client gets its answer.
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard lock(mu_);
      seen_.push_back(Seen{req.method, req.target, req.get_header_value("X-Auth-Token"),
                           req.get_header_value("Content-Type"), req.get_header_value("Accept"),
                           req.get_header_value("Host"), req.remote_port});
      return httplib::Server::HandlerResponse::Unhandled;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    server_thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }

  void TearDown() override {
    gate_.Open();
    if (client_ != nullptr) client_->Stop();
    server_.stop();
    server_thread_.join();
    // No error message produced by any test may carry the credential.
    for (const std::string& message : messages_) {
      EXPECT_THAT(message, Not(HasSubstr(kToken))) << message;
      EXPECT_THAT(message, Not(HasSubstr("S3CRET"))) << message;
    }
  }

  std::string Endpoint(const std::string& base = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + base;
  }

  HttpCloudClient& MakeClient(HttpCloudClientOptions options = {}) {
    return MakeClient(std::move(options), clock_);
  }
  HttpCloudClient& MakeClient(HttpCloudClientOptions options, const Clock& clock) {
    if (options.endpoint.empty()) options.endpoint = Endpoint();
    auto created = HttpCloudClient::Create(options, auth_, throttle_, observer_, clock);
    EXPECT_TRUE(created.ok()) << created.error().ToString();
    client_ = std::move(created).value();
    return *client_;
  }

  // Keeps every Error for the secrets check in TearDown.
  const Error& Keep(const Error& e) {
    messages_.push_back(e.ToString());
    return e;
  }
  template <typename T>
  Error ErrorOf(const Result<T>& r) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return MakeError(ErrorClass::kTerminal, "UNEXPECTED_OK", "");
    return Keep(r.error());
  }

  void Serve(const std::string& pattern, int status, std::string body,
             httplib::Headers headers = {}) {
    auto handler = [status, body, headers](const httplib::Request&, httplib::Response& res) {
      res.status = status;
      for (const auto& [k, v] : headers) res.set_header(k, v);
      res.set_content(body, "application/json");
    };
    server_.Get(pattern, handler);
    server_.Post(pattern, handler);
  }

  std::vector<Seen> SeenRequests() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread server_thread_;
  std::mutex mu_;
  std::vector<Seen> seen_;  // guarded by mu_
  Gate gate_;

  TestClock clock_;
  // For the total deadline: the slow peers below advance it instead of sleeping.
  testing::FakeClock fake_clock_;
  RotatingAuth auth_;
  RecordingThrottle throttle_;
  RecordingObserver observer_;
  std::unique_ptr<HttpCloudClient> client_;
  std::vector<std::string> messages_;
};

constexpr char kVersionBody[] =
    R"({"is_success": true, "job_id": 10, "job_name": "bert", "version_id": 11,
        "version_name": "V0011", "status": 8, "create_time": 1, "duration": 2,
        "not_in_the_docs": {"a": 1}})";

}  // namespace
}  // namespace mactl
