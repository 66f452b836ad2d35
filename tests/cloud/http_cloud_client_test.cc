#include "controller/cloud/http_cloud_client.h"

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

void PrintTo(const RecordingObserver::Call& c, std::ostream* os) {
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

// ---- paths, queries, headers, decoding ----

TEST_F(HttpCloudClientTest, ListJobsSendsPathQueryAndHeadersAndDecodes) {
  Serve("/base/v1/proj-1/training-jobs", 200,
        R"({"is_success": true, "job_total_count": 1, "quotas": 5,
            "jobs": [{"job_id": 10, "job_name": "bert", "version_id": 11, "status": 8,
                      "unknown": true}]})");
  HttpCloudClientOptions options;
  options.endpoint = Endpoint("/base/");
  auto result = MakeClient(options).ListJobs("proj-1", 2, 50);
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  ASSERT_EQ(result->jobs.size(), 1u);
  EXPECT_EQ(result->jobs[0].job_id, 10);
  EXPECT_EQ(result->jobs[0].version_id, 11);
  EXPECT_EQ(result->jobs[0].status, 8);

  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/base/v1/proj-1/training-jobs?per_page=50&page=2");
  EXPECT_EQ(seen[0].token, kToken);
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].accept, "application/json");
  EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(port_));
  // What the authenticator was shown matches what was sent.
  EXPECT_EQ(auth_.seen_host_, seen[0].host);
  EXPECT_EQ(auth_.seen_path_, "/base/v1/proj-1/training-jobs");
  EXPECT_EQ(auth_.seen_method_, "GET");
  EXPECT_EQ(auth_.seen_query_,
            (std::vector<std::pair<std::string, std::string>>{{"per_page", "50"}, {"page", "2"}}));
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"list", 200}}));
  EXPECT_EQ(throttle_.acquired.load(), 1);
}

TEST_F(HttpCloudClientTest, PathSegmentsArePercentEncoded) {
  Serve(R"(/v1/.*)", 200, R"({"is_success": true, "jobs": []})");
  auto result = MakeClient().ListJobs("a b/c?d%e", 1, 10);
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/a%20b%2Fc%3Fd%25e/training-jobs?per_page=10&page=1");
}

TEST_F(HttpCloudClientTest, GetVersionPathAndDecoding) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  auto result = MakeClient().GetVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  EXPECT_EQ(result->job_id, 10);
  EXPECT_EQ(result->version_id, 11);
  EXPECT_EQ(result->version_name, "V0011");
  EXPECT_EQ(result->status, 8);
  EXPECT_EQ(SeenRequests().at(0).target, "/v1/p/training-jobs/10/versions/11");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"get_version", 200}}));
}

TEST_F(HttpCloudClientTest, ListVersionsPathQueryAndDecoding) {
  Serve("/v1/p/training-jobs/10/versions", 200,
        R"({"is_success": true, "job_id": 10, "job_name": "bert", "version_count": 2,
            "versions": [{"job_id": 10, "version_id": 2, "status": 9},
                         {"version_id": 1, "status": 12}]})");
  auto result = MakeClient().ListVersions("p", 10, 1, 1000);
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  ASSERT_EQ(result->versions.size(), 2u);
  EXPECT_EQ(result->versions[1].job_id, 10);
  EXPECT_EQ(result->versions[1].status, 12);
  EXPECT_EQ(SeenRequests().at(0).target, "/v1/p/training-jobs/10/versions?per_page=1000&page=1");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"list_versions", 200}}));
}

TEST_F(HttpCloudClientTest, StopVersionPostsToTheStopPath) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 200, R"({"is_success": true})");
  const Status status = MakeClient().StopVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(status.ok()) << Keep(status.error()).ToString();
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/p/training-jobs/10/versions/11/stop");
  EXPECT_EQ(seen[0].token, kToken);
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"stop", 200}}));
}

TEST_F(HttpCloudClientTest, InvalidArgumentsAreRefusedWithoutSending) {
  HttpCloudClient& client = MakeClient();
  EXPECT_EQ(ErrorOf(client.ListJobs("p", 0, 10)).code, "InvalidArgument");
  EXPECT_EQ(ErrorOf(client.ListJobs("p", 1, 1001)).code, "InvalidArgument");
  EXPECT_EQ(ErrorOf(client.ListVersions("p", 1, 0, 10)).code, "InvalidArgument");
  EXPECT_EQ(ErrorOf(client.GetVersion(VersionRef{"", 1, 1})).code, "InvalidArgument");
  EXPECT_TRUE(SeenRequests().empty());
  EXPECT_EQ(throttle_.acquired.load(), 0);
}

// ---- error answers ----

TEST_F(HttpCloudClientTest, IsSuccessFalseOn200IsClassifiedByItsCode) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 200,
        R"({"is_success": false, "error_msg": "cannot stop", "error_code": "ModelArts.2796"})");
  Serve(
      "/v1/p/training-jobs/1/versions/2", 200,
      R"({"is_success": false, "error_message": "Error string", "error_code": "ModelArts.0105"})");
  HttpCloudClient& client = MakeClient();
  const Status stop = client.StopVersion(VersionRef{"p", 10, 11});
  ASSERT_FALSE(stop.ok());
  const Error& e = Keep(stop.error());
  EXPECT_EQ(e.error_class, ErrorClass::kNotAllowed);
  EXPECT_EQ(e.code, "ModelArts.2796");
  EXPECT_EQ(e.http_status, 200);
  EXPECT_THAT(e.message, HasSubstr("cannot stop"));

  const Error unknown = ErrorOf(client.GetVersion(VersionRef{"p", 1, 2}));
  EXPECT_EQ(unknown.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(unknown.code, "ModelArts.0105");
  EXPECT_THAT(unknown.message, HasSubstr("Error string"));
}

TEST_F(HttpCloudClientTest, ErrorStatusesAreClassifiedByStatusAndCode) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 409,
        R"({"is_success": false, "error_message": "no", "error_code": "ModelArts.2796"})");
  Serve("/v1/p/training-jobs/1/versions/2/stop", 409,
        R"({"is_success": false, "error_message": "later", "error_code": "ModelArts.2878"})");
  Serve("/v1/p/training-jobs/1/versions/3", 400,
        R"({"is_success": false, "error_msg": "Training job not found.",
            "error_code": "ModelArts.2775"})");
  Serve("/v1/p/training-jobs/1/versions/4", 500, "<html>Internal error</html>");
  Serve("/v1/p/training-jobs/1/versions/5", 403,
        R"({"error_code": "ModelArts.0210", "error_message": "project mismatch"})");
  HttpCloudClient& client = MakeClient();

  EXPECT_EQ(Keep(client.StopVersion(VersionRef{"p", 10, 11}).error()).error_class,
            ErrorClass::kNotAllowed);
  EXPECT_EQ(Keep(client.StopVersion(VersionRef{"p", 1, 2}).error()).error_class,
            ErrorClass::kRetryable);
  const Error not_found = ErrorOf(client.GetVersion(VersionRef{"p", 1, 3}));
  EXPECT_EQ(not_found.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(not_found.message,
            "get_version request failed with HTTP 400 ModelArts.2775: Training job not found.");
  const Error internal = ErrorOf(client.GetVersion(VersionRef{"p", 1, 4}));
  EXPECT_EQ(internal.error_class, ErrorClass::kRetryable);
  EXPECT_EQ(internal.code, "HTTP.500");
  const Error forbidden = ErrorOf(client.GetVersion(VersionRef{"p", 1, 5}));
  EXPECT_EQ(forbidden.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(forbidden.code, "ModelArts.0210");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"stop", 409},
                                                                     {"stop", 409},
                                                                     {"get_version", 400},
                                                                     {"get_version", 500},
                                                                     {"get_version", 403}}));
}

TEST_F(HttpCloudClientTest, RetryAfterAsSecondsAndAsHttpDate) {
  Serve("/v1/p/training-jobs", 429,
        R"({"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"})",
        {{"Retry-After", "3"}});
  Serve("/v1/p/training-jobs/10/versions/11", 503, "",
        {{"Retry-After", "Sun, 06 Nov 1994 08:50:37 GMT"}});
  HttpCloudClient& client = MakeClient();
  const Error throttled = ErrorOf(client.ListJobs("p", 1, 10));
  EXPECT_TRUE(throttled.retryable());
  EXPECT_EQ(throttled.code, "APIGW.0308");
  EXPECT_EQ(throttled.http_status, 429);
  EXPECT_EQ(throttled.retry_after, std::chrono::milliseconds(3000));
  const Error unavailable = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(unavailable.retryable());
  EXPECT_EQ(unavailable.code, "HTTP.503");
  EXPECT_EQ(unavailable.retry_after, std::chrono::milliseconds(60000));
}

// ---- authentication ----

TEST_F(HttpCloudClientTest, UnauthorizedRenewsAndRetriesOnceThenSucceeds) {
  server_.Get("/v1/p/training-jobs/10/versions/11",
              [](const httplib::Request& req, httplib::Response& res) {
                if (req.get_header_value("X-Auth-Token") != std::string(kToken) + "-renewed") {
                  res.status = 401;
                  res.set_content(R"({"error_code": "ModelArts.0202", "error_msg": "expired"})",
                                  "application/json");
                  return;
                }
                res.set_content(kVersionBody, "application/json");
              });
  auto result = MakeClient().GetVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  EXPECT_EQ(auth_.unauthorized(), 1);
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].token, kToken);
  EXPECT_EQ(seen[1].token, std::string(kToken) + "-renewed");
  EXPECT_EQ(throttle_.acquired.load(), 2);
  EXPECT_EQ(observer_.Calls(),
            (std::vector<RecordingObserver::Call>{{"get_version", 401}, {"get_version", 200}}));
}

TEST_F(HttpCloudClientTest, InvalidTokenCodeOn403Or200RenewsOnceLikeA401) {
  // ModelArts.0203 under 403 and an auth code inside a 200's is_success:false body: the
  // credential was rejected as surely as by a 401.
  const std::vector<std::pair<int, std::string>> rejections = {
      {403, R"({"error_code": "ModelArts.0203", "error_msg": "invalid token"})"},
      {403, R"({"error_code": "ModelArts.2784", "error_msg": "InvalidToken"})"},
      {403, R"({"error_code": "APIGW.0301", "error_msg": "decrypt token fail"})"},
      {200, R"({"is_success": false, "error_code": "ModelArts.0203", "error_msg": "x"})"},
  };
  std::atomic<std::size_t> current{0};
  server_.Get("/v1/p/training-jobs/10/versions/11",
              [&](const httplib::Request& req, httplib::Response& res) {
                if (req.get_header_value("X-Auth-Token") != std::string(kToken) + "-renewed") {
                  res.status = rejections[current].first;
                  res.set_content(rejections[current].second, "application/json");
                  return;
                }
                res.set_content(kVersionBody, "application/json");
              });
  for (const auto& [status, body] : rejections) {
    const int renewals_before = auth_.unauthorized();
    auth_.Reset();
    auto result = MakeClient().GetVersion(VersionRef{"p", 10, 11});
    ASSERT_TRUE(result.ok()) << status << " " << body << ": " << Keep(result.error()).ToString();
    EXPECT_EQ(auth_.unauthorized(), renewals_before + 1) << body;
    EXPECT_EQ(auth_.rejected_project(), "p") << body;
    ++current;
  }
}

TEST_F(HttpCloudClientTest, OtherRefusalsAreNotRenewed) {
  Serve("/v1/p/training-jobs/10/versions/11", 403,
        R"({"error_code": "ModelArts.0108", "error_msg": "not authorised"})");
  const Error e = ErrorOf(MakeClient().GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_EQ(e.error_class, ErrorClass::kTerminal);
  EXPECT_EQ(auth_.unauthorized(), 0);
  EXPECT_EQ(SeenRequests().size(), 1u);
}

TEST_F(HttpCloudClientTest, UnauthorizedTwiceIsReturnedAsReauthenticate) {
  Serve("/v1/p/training-jobs/10/versions/11/stop", 401,
        std::string(R"({"error_code": "ModelArts.0203", "error_msg": "invalid token )") + kToken +
            "\"}");
  const Status status = MakeClient().StopVersion(VersionRef{"p", 10, 11});
  ASSERT_FALSE(status.ok());
  const Error& e = Keep(status.error());
  EXPECT_EQ(e.error_class, ErrorClass::kReauthenticate);
  EXPECT_EQ(e.code, "ModelArts.0203");
  EXPECT_EQ(e.http_status, 401);
  EXPECT_EQ(SeenRequests().size(), 2u);  // one retry, never more
  EXPECT_EQ(auth_.unauthorized(), 2);    // each 401 drops the credential
  EXPECT_EQ(observer_.Calls(),
            (std::vector<RecordingObserver::Call>{{"stop", 401}, {"stop", 401}}));
}

TEST_F(HttpCloudClientTest, AuthenticatorErrorIsReturnedAndNothingIsSent) {
  auth_.set_fail(true);
  const Error e = ErrorOf(MakeClient().GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_EQ(e.code, "Auth.Iam");
  EXPECT_TRUE(SeenRequests().empty());
  EXPECT_TRUE(observer_.Calls().empty());
}

TEST_F(HttpCloudClientTest, WorksWithTheStaticTokenAuthenticator) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  StaticTokenAuthenticator token = StaticTokenAuthenticator::FromToken(kToken);
  HttpCloudClientOptions options;
  options.endpoint = Endpoint();
  auto client = HttpCloudClient::Create(options, token, throttle_, observer_, clock_);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.value()->GetVersion(VersionRef{"p", 10, 11}).ok());
  EXPECT_EQ(SeenRequests().at(0).token, kToken);
}

// ---- secrets ----

TEST_F(HttpCloudClientTest, EchoedCredentialsNeverReachErrorMessages) {
  Serve("/v1/p/training-jobs/10/versions/11", 403,
        std::string(R"({"error_code": "ModelArts.0206", "error_message": "token )") + kToken +
            " is not valid here\"}");
  Serve("/v1/p/training-jobs/1/versions/2", 200, std::string("garbage echoing ") + kToken);
  HttpCloudClient& client = MakeClient();
  const Error forbidden = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_THAT(forbidden.message, HasSubstr("[REDACTED]"));
  const Error malformed = ErrorOf(client.GetVersion(VersionRef{"p", 1, 2}));
  EXPECT_EQ(malformed.code, "MalformedResponse");
  EXPECT_THAT(malformed.message, HasSubstr("garbage echoing [REDACTED]"));
  // TearDown greps every kept message for the token.
}

// ---- transport failures ----

// A TCP socket bound to a free port on 127.0.0.1, not yet listening, and that port; fd is -1
// when the system refused.
struct BoundSocket {
  int fd = -1;
  int port = 0;
};
BoundSocket BindLoopback() {
  BoundSocket bound;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return bound;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return bound;
  }
  bound.fd = fd;
  bound.port = ntohs(addr.sin_port);
  return bound;
}

TEST_F(HttpCloudClientTest, ConnectionRefusedIsARetryableTransportError) {
  // A bound socket that never listens: connecting to it is refused, and no one else can
  // take the port meanwhile.
  const BoundSocket bound = BindLoopback();
  ASSERT_GE(bound.fd, 0);
  const int fd = bound.fd;
  HttpCloudClientOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(bound.port);
  const Error e = ErrorOf(MakeClient(options).ListJobs("p", 1, 10));
  ::close(fd);
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(e.code, "Transport.Connection");
  EXPECT_EQ(e.http_status, 0);
  EXPECT_THAT(e.message, HasSubstr("list request failed"));
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"list", 0}}));
}

TEST_F(HttpCloudClientTest, ReadTimeoutIsARetryableTransportError) {
  server_.Get("/v1/p/training-jobs/10/versions/11",
              [this](const httplib::Request&, httplib::Response& res) {
                gate_.Enter();
                res.set_content(kVersionBody, "application/json");
              });
  HttpCloudClientOptions options;
  options.read_timeout = 200ms;
  const Error e = ErrorOf(MakeClient(options).GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(e.code, "Transport.Read");
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"get_version", 0}}));
  std::lock_guard lock(observer_.mu);
  EXPECT_GE(observer_.latencies.at(0), 0.15);
}

// ---- the total deadline ----

// The answer's latency as the observer saw it, on the client's clock.
double FirstLatency(RecordingObserver& observer) {
  std::lock_guard lock(observer.mu);
  return observer.latencies.at(0);
}

// A handler answering kVersionBody one byte per `gap` of `clock`'s time: it advances the
// clock by `gap` before each byte, so on the client's clock every byte is `gap` after the last
// (the whole answer takes kVersionBodyBytes × gap) while no real time passes.
constexpr std::size_t kVersionBodyBytes = sizeof(kVersionBody) - 1;
httplib::Server::Handler TrickleVersionBody(testing::FakeClock& clock,
                                            std::chrono::milliseconds gap) {
  return [&clock, gap](const httplib::Request&, httplib::Response& res) {
    const std::string body = kVersionBody;
    res.set_content_provider(
        body.size(), "application/json",
        [&clock, body, gap](std::size_t offset, std::size_t, httplib::DataSink& sink) {
          clock.Advance(gap);
          return sink.write(body.data() + offset, 1);
        });
  };
}

TEST_F(HttpCloudClientTest, TrickledAnswerIsCutAtTheTotalDeadlineAndItsConnectionNotReused) {
  static_assert(kVersionBodyBytes * 50 > 300);  // the whole answer takes far longer
  server_.Get("/v1/p/training-jobs/10/versions/11", TrickleVersionBody(fake_clock_, 50ms));
  Serve("/v1/p/training-jobs/1/versions/2", 200,
        R"({"is_success": true, "job_id": 1, "version_id": 2, "status": 8})");
  HttpCloudClientOptions options;
  options.read_timeout = 1s;
  options.total_timeout = 300ms;
  options.connections = 1;  // the next call gets the same pool slot
  HttpCloudClient& client = MakeClient(options, fake_clock_);
  const Error e = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_EQ(e.code, "Transport.Timeout");
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(e.http_status, 0);
  EXPECT_EQ(e.message,
            "get_version request failed: transport error Timeout (the whole answer took longer "
            "than the 300ms request deadline)");
  EXPECT_GE(FirstLatency(observer_), 0.3);

  // The connection that carried the cut-off answer is closed, not handed to the next call.
  auto next = client.GetVersion(VersionRef{"p", 1, 2});
  ASSERT_TRUE(next.ok()) << Keep(next.error()).ToString();
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1].remote_port, seen[0].remote_port);
  EXPECT_EQ(observer_.Calls(),
            (std::vector<RecordingObserver::Call>{{"get_version", 0}, {"get_version", 200}}));
}

TEST_F(HttpCloudClientTest, SlowAnswerThatEndsWithinTheTotalDeadlineIsAccepted) {
  static_assert(kVersionBodyBytes * 5 < 1000);  // the whole answer ends inside the deadline
  server_.Get("/v1/p/training-jobs/10/versions/11", TrickleVersionBody(fake_clock_, 5ms));
  HttpCloudClientOptions options;
  options.total_timeout = 1s;
  auto result = MakeClient(options, fake_clock_).GetVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  EXPECT_EQ(result->version_id, 11);
  // The client returned once the last byte, and so the last advance, was in.
  EXPECT_NEAR(FirstLatency(observer_), 0.005 * kVersionBodyBytes, 1e-6);
}

TEST_F(HttpCloudClientTest, TotalTimeoutTooLargeForTheClockMeansNoDeadline) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  HttpCloudClientOptions options;
  options.total_timeout = std::chrono::milliseconds::max();
  HttpCloudClient& client = MakeClient(options);
  for (int i = 0; i < 3; ++i) {
    auto result = client.GetVersion(VersionRef{"p", 10, 11});
    ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  }
}

// httplib calls nothing back before the headers end, and 0.11 caps neither their number nor
// the wait for the blank line: only the watchdog bounds this one. The peer advances the
// client's clock 50 ms before each header byte, and sends until the client hangs up.
TEST_F(HttpCloudClientTest, EndlessTrickledHeadersAreCutByTheWatchdog) {
  const BoundSocket bound = BindLoopback();
  ASSERT_GE(bound.fd, 0);
  const int listener = bound.fd;
  ASSERT_EQ(::listen(listener, 4), 0);
  std::atomic<bool> done{false};
  std::thread peer([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;  // the test gave up first
    char request[4096];
    (void)::recv(fd, request, sizeof(request), 0);
    const std::string status_line = "HTTP/1.1 200 OK\r\n";
    bool writing = ::send(fd, status_line.data(), status_line.size(), MSG_NOSIGNAL) ==
                   static_cast<ssize_t>(status_line.size());
    const std::string header = "X-Slow: y\r\n";
    // Up to 100,000 bytes (5,000 s on the client's clock): a watchdog that never fires
    // ends with the peer hanging up, a read error rather than a timeout.
    for (std::size_t i = 0; writing && !done.load() && i < 100000; ++i) {
      fake_clock_.Advance(50ms);
      writing = ::send(fd, &header[i % header.size()], 1, MSG_NOSIGNAL) == 1;
    }
    ::close(fd);
  });
  HttpCloudClientOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(bound.port);
  options.read_timeout = 1s;
  options.total_timeout = 300ms;
  const Error e = ErrorOf(MakeClient(options, fake_clock_).GetVersion(VersionRef{"p", 10, 11}));
  done = true;
  ::shutdown(listener, SHUT_RDWR);  // wakes accept() had the client never connected
  peer.join();
  ::close(listener);
  EXPECT_EQ(e.code, "Transport.Timeout") << e.ToString();
  EXPECT_TRUE(e.retryable());
  EXPECT_THAT(e.message, HasSubstr("300ms request deadline"));
  EXPECT_EQ(observer_.Calls(), (std::vector<RecordingObserver::Call>{{"get_version", 0}}));
  // The watchdog steps in kWatchdogGrace past the deadline, on the client's clock.
  const std::chrono::duration<double> abort_after = 300ms + HttpCloudClient::kWatchdogGrace;
  EXPECT_GE(FirstLatency(observer_), abort_after.count());
}

TEST_F(HttpCloudClientTest, TruncatedTransferIsRetryable) {
  server_.Get("/v1/p/training-jobs/10/versions/11",
              [](const httplib::Request&, httplib::Response& res) {
                // Promises 1000 bytes, sends 12, then drops the connection.
                res.set_content_provider(1000, "application/json",
                                         [](std::size_t, std::size_t, httplib::DataSink& sink) {
                                           sink.write(R"({"is_success)", 12);
                                           return false;
                                         });
              });
  const Error e = ErrorOf(MakeClient().GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(e.retryable()) << e.ToString();
}

TEST_F(HttpCloudClientTest, MalformedBodiesOn2xxAreRetryableWithAnExcerpt) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, R"({"is_success": true, "job_id": 1, "vers)");
  Serve("/v1/p/training-jobs/1/versions/2", 200, R"({"is_success": true, "job_id": "one"})");
  Serve("/v1/p/training-jobs/1/versions/3", 200, "");
  Serve("/v1/p/training-jobs/1/versions/4", 200, std::string(5000, '\x01'));
  HttpCloudClient& client = MakeClient();
  const Error truncated = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(truncated.retryable());
  EXPECT_EQ(truncated.code, "MalformedResponse");
  EXPECT_THAT(truncated.message, HasSubstr("not valid JSON"));
  EXPECT_THAT(truncated.message, HasSubstr(R"(body: {"is_success": true, "job_id": 1, "vers)"));
  const Error wrong_type = ErrorOf(client.GetVersion(VersionRef{"p", 1, 2}));
  EXPECT_EQ(wrong_type.code, "MalformedResponse");
  EXPECT_THAT(wrong_type.message, HasSubstr("field job_id: expected a non-negative integer"));
  EXPECT_EQ(ErrorOf(client.GetVersion(VersionRef{"p", 1, 3})).code, "MalformedResponse");
  const Error binary = ErrorOf(client.GetVersion(VersionRef{"p", 1, 4}));
  EXPECT_EQ(binary.code, "MalformedResponse");
  EXPECT_LT(binary.message.size(), 600u);
  EXPECT_EQ(binary.message.find('\x01'), std::string::npos);
}

TEST_F(HttpCloudClientTest, OversizedResponsesAreDiscardedAndRetryable) {
  Serve("/v1/p/training-jobs", 200,
        R"({"is_success": true, "jobs": [], "pad": ")" + std::string(5000, 'x') + "\"}");
  server_.Get("/v1/p/training-jobs/1/versions",
              [](const httplib::Request&, httplib::Response& res) {
                // Chunked: no Content-Length to refuse up front; the cap applies while reading.
                res.set_chunked_content_provider("application/json",
                                                 [](std::size_t offset, httplib::DataSink& sink) {
                                                   const std::string chunk(1000, ' ');
                                                   sink.write(chunk.data(), chunk.size());
                                                   if (offset >= 100000) sink.done();
                                                   return true;
                                                 });
              });
  HttpCloudClientOptions options;
  options.max_response_bytes = 2048;
  HttpCloudClient& client = MakeClient(options);
  const Error sized = ErrorOf(client.ListJobs("p", 1, 10));
  EXPECT_TRUE(sized.retryable());
  EXPECT_EQ(sized.code, "ResponseTooLarge");
  EXPECT_THAT(sized.message, HasSubstr("response too large"));
  const Error chunked = ErrorOf(client.ListVersions("p", 1, 1, 10));
  EXPECT_TRUE(chunked.retryable());
  EXPECT_EQ(chunked.code, "ResponseTooLarge");
  EXPECT_EQ(observer_.Calls(),
            (std::vector<RecordingObserver::Call>{{"list", 200}, {"list_versions", 200}}));
  // The client is still usable afterwards.
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  EXPECT_TRUE(client.GetVersion(VersionRef{"p", 10, 11}).ok());
}

// ---- throttle, pool, keep-alive, shutdown ----

TEST_F(HttpCloudClientTest, ThrottleRefusalSendsNothing) {
  Serve("/v1/p/training-jobs", 200, R"({"is_success": true, "jobs": []})");
  throttle_.allow = false;
  const Error e = ErrorOf(MakeClient().ListJobs("p", 1, 10));
  EXPECT_EQ(e.code, "Shutdown");
  EXPECT_TRUE(e.retryable());
  EXPECT_EQ(throttle_.acquired.load(), 1);
  EXPECT_TRUE(SeenRequests().empty());
  EXPECT_TRUE(observer_.Calls().empty());
}

TEST_F(HttpCloudClientTest, SequentialRequestsReuseOneKeptAliveConnection) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  HttpCloudClient& client = MakeClient();
  for (int i = 0; i < 4; ++i) {
    auto result = client.GetVersion(VersionRef{"p", 10, 11});
    ASSERT_TRUE(result.ok()) << Keep(result.error()).ToString();
  }
  const auto seen = SeenRequests();
  ASSERT_EQ(seen.size(), 4u);
  for (const Seen& s : seen) EXPECT_EQ(s.remote_port, seen[0].remote_port);
}

TEST_F(HttpCloudClientTest, PoolBoundsConcurrentConnections) {
  Serve("/v1/p/training-jobs/10/versions/11", 200, kVersionBody);
  HttpCloudClientOptions options;
  options.connections = 2;
  HttpCloudClient& client = MakeClient(options);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        if (!client.GetVersion(VersionRef{"p", 10, 11}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<int> ports;
  for (const Seen& s : SeenRequests()) ports.insert(s.remote_port);
  EXPECT_EQ(SeenRequests().size(), 16u);
  // Two pooled connections (a server-side keep-alive limit may add a reconnect or two).
  EXPECT_LE(ports.size(), 8u);
  EXPECT_GE(ports.size(), 1u);
}

TEST_F(HttpCloudClientTest, StopAbortsABlockedRequestAndLaterCallsFailFast) {
  server_.Get("/v1/p/training-jobs/10/versions/11",
              [this](const httplib::Request&, httplib::Response& res) {
                gate_.Enter();
                res.set_content(kVersionBody, "application/json");
              });
  HttpCloudClient& client = MakeClient();  // default 30 s read timeout
  std::optional<Error> blocked_error;
  std::thread requester([&] {
    auto result = client.GetVersion(VersionRef{"p", 10, 11});
    if (!result.ok()) blocked_error = result.error();
  });
  gate_.WaitEntered(1);
  const auto start = std::chrono::steady_clock::now();
  client.Stop();
  requester.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  ASSERT_TRUE(blocked_error.has_value());
  Keep(*blocked_error);
  EXPECT_EQ(blocked_error->code, "Shutdown");
  EXPECT_TRUE(blocked_error->retryable());

  const Error later = ErrorOf(client.GetVersion(VersionRef{"p", 10, 11}));
  EXPECT_EQ(later.code, "Shutdown");
  EXPECT_EQ(SeenRequests().size(), 1u);  // only the aborted one reached the server
  EXPECT_EQ(throttle_.acquired.load(), 1);
  client.Stop();  // idempotent
}

// ---- construction ----

TEST(HttpCloudClientCreateTest, RejectsBadEndpointsAndOptions) {
  TestClock clock;
  RotatingAuth auth;
  RecordingThrottle throttle;
  RecordingObserver observer;
  for (const char* endpoint :
       {"", "modelarts.example.com", "ftp://host", "https://", "https://:443", "https://host:0",
        "https://host:70000", "https://host:", "https://user:pw@host", "https://user:pw@host:bad/x",
        "https://host/path?x=1", "https://host#frag", "https://ho st", "https://[zz::1]/",
        "https://host/a b"}) {
    HttpCloudClientOptions options;
    options.endpoint = endpoint;
    auto created = HttpCloudClient::Create(options, auth, throttle, observer, clock);
    ASSERT_FALSE(created.ok()) << endpoint;
    EXPECT_EQ(created.error().code, "Config.Endpoint") << endpoint;
    EXPECT_EQ(created.error().message.find("pw"), std::string::npos) << endpoint;
  }
  HttpCloudClientOptions options;
  options.endpoint = "https://modelarts.eu-de.otc.t-systems.com";
  options.connections = 0;
  EXPECT_FALSE(HttpCloudClient::Create(options, auth, throttle, observer, clock).ok());
  options.connections = 1;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(HttpCloudClient::Create(options, auth, throttle, observer, clock).ok());
  options.ca_file = "";
  EXPECT_TRUE(HttpCloudClient::Create(options, auth, throttle, observer, clock).ok());
}

TEST(HttpCloudClientCreateTest, TotalTimeoutDefaultsToConnectPlusTwiceReadAndMustBePositive) {
  HttpCloudClientOptions options;
  EXPECT_EQ(EffectiveTotalTimeout(options), 65s);  // 5 s + 2 × 30 s
  options.connect_timeout = 2s;
  options.read_timeout = 10s;
  EXPECT_EQ(EffectiveTotalTimeout(options), 22s);
  options.read_timeout = std::chrono::milliseconds::max();
  EXPECT_EQ(EffectiveTotalTimeout(options), std::chrono::milliseconds::max());
  options.total_timeout = 300ms;
  EXPECT_EQ(EffectiveTotalTimeout(options), 300ms);

  TestClock clock;
  RotatingAuth auth;
  RecordingThrottle throttle;
  RecordingObserver observer;
  options.endpoint = "http://127.0.0.1:8080";
  options.read_timeout = 1s;
  EXPECT_TRUE(HttpCloudClient::Create(options, auth, throttle, observer, clock).ok());
  for (const std::chrono::milliseconds bad : {0ms, -1ms}) {
    options.total_timeout = bad;
    auto created = HttpCloudClient::Create(options, auth, throttle, observer, clock);
    ASSERT_FALSE(created.ok()) << bad.count();
    EXPECT_THAT(created.error().message, HasSubstr("timeouts must be positive"));
  }
}

TEST(ParseHttpEndpointTest, SplitsSchemeHostPortAndBasePath) {
  auto a = ParseHttpEndpoint("https://modelarts.eu-de.otc.t-systems.com");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "modelarts.eu-de.otc.t-systems.com");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->base_path, "");
  EXPECT_EQ(a->HostHeader(), "modelarts.eu-de.otc.t-systems.com");

  auto b = ParseHttpEndpoint("HTTP://127.0.0.1:8081/proxy/modelarts//");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->scheme, "http");
  EXPECT_EQ(b->port, 8081);
  EXPECT_EQ(b->base_path, "/proxy/modelarts");
  EXPECT_EQ(b->HostHeader(), "127.0.0.1:8081");

  auto c = ParseHttpEndpoint("http://[::1]:9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "[::1]");
  EXPECT_EQ(c->HostHeader(), "[::1]:9000");

  auto d = ParseHttpEndpoint("https://host:443/");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->HostHeader(), "host");
}

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode("a b/c?d&e=f%\xC3\xA9"), "a%20b%2Fc%3Fd%26e%3Df%25%C3%A9");
}

}  // namespace
}  // namespace mactl
