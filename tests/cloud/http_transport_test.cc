#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "controller/cloud/http_cloud_client.h"
#include "tests/cloud/http_cloud_client_fixture.h"

namespace mactl {
namespace {

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

// A peer that answers each accepted connection's first request with a kept-alive 200 and
// closes the connection when the next request arrives, unanswered: what a client meets when a
// server's idle limit runs out just as it sends (httplib notices a connection closed earlier
// and reconnects by itself). It serves up to `connections` connections and counts them.
class ClosingPeer {
 public:
  ClosingPeer(int connections, std::string body) : bound_(BindLoopback()) {
    if (bound_.fd < 0 || ::listen(bound_.fd, 4) != 0) return;
    thread_ = std::thread([this, connections, body = std::move(body)] {
      for (int i = 0; i < connections; ++i) {
        const int fd = ::accept(bound_.fd, nullptr, nullptr);
        if (fd < 0) return;
        open_fd_ = fd;
        ++accepted_;
        char request[4096];
        (void)::recv(fd, request, sizeof(request), 0);
        const std::string answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Connection: keep-alive\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        (void)::recv(fd, request, sizeof(request), 0);  // the next request, or the client's close
        open_fd_ = -1;
        ::close(fd);
      }
    });
  }
  ~ClosingPeer() {
    ::shutdown(bound_.fd, SHUT_RDWR);                                        // wakes accept()
    if (const int fd = open_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // wakes recv()
    if (thread_.joinable()) thread_.join();
    ::close(bound_.fd);
  }
  int port() const { return bound_.port; }
  int accepted() const { return accepted_.load(); }

 private:
  BoundSocket bound_;
  std::atomic<int> accepted_{0};
  std::atomic<int> open_fd_{-1};  // the connection being served
  std::thread thread_;
};

// One pooled connection to `peer`, so the second request meets the connection it closed.
HttpCloudClientOptions OneConnectionTo(const ClosingPeer& peer) {
  HttpCloudClientOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(peer.port());
  options.connections = 1;
  return options;
}

TEST_F(HttpCloudClientTest, AReadOnAConnectionTheServerClosedWhileIdleIsSentAgainOnANewOne) {
  ClosingPeer peer(3, kVersionBody);
  HttpCloudClient& client = MakeClient(OneConnectionTo(peer));
  ASSERT_TRUE(client.GetVersion(VersionRef{"p", 10, 11}).ok());  // leaves the connection warm
  const auto again = client.GetVersion(VersionRef{"p", 10, 11});
  ASSERT_TRUE(again.ok()) << Keep(again.error()).ToString();
  EXPECT_EQ(peer.accepted(), 2);
  EXPECT_EQ(observer_.Calls(),
            (std::vector<RecordingObserver::Call>{
                {"get_version", 200}, {"get_version", 0}, {"get_version", 200}}));
}

TEST_F(HttpCloudClientTest, AStopOnAConnectionTheServerClosedWhileIdleIsNotSentAgain) {
  ClosingPeer peer(3, kVersionBody);
  HttpCloudClient& client = MakeClient(OneConnectionTo(peer));
  ASSERT_TRUE(client.GetVersion(VersionRef{"p", 10, 11}).ok());  // leaves the connection warm
  const Error e = ErrorOf(client.StopVersion(VersionRef{"p", 10, 11}));
  EXPECT_TRUE(e.retryable()) << e.ToString();
  EXPECT_EQ(peer.accepted(), 1);
  EXPECT_EQ(observer_.Calls(),
            (std::vector<RecordingObserver::Call>{{"get_version", 200}, {"stop", 0}}));
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

}  // namespace
}  // namespace mactl
