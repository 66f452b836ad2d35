#include "controller/election/http_etcd_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

namespace mactl {
namespace {

// A stand-in for an etcd member's JSON gateway on loopback.
class FakeGateway {
 public:
  FakeGateway() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeGateway() {
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A loopback port nothing listens on.
std::string DeadEndpoint() {
  httplib::Server probe;
  const int port = probe.bind_to_any_port("127.0.0.1");
  return "http://127.0.0.1:" + std::to_string(port);  // closed when probe goes
}

constexpr char kRange[] =
    R"({"header":{"revision":"4"},"kvs":[{"key":"L3AveA==","create_revision":"2",)"
    R"("mod_revision":"2","version":"1","value":"bWU=","lease":"7"}],"count":"1"})";

HttpEtcdClientOptions Options(std::vector<std::string> endpoints) {
  HttpEtcdClientOptions o;
  o.endpoints = std::move(endpoints);
  o.request_timeout = std::chrono::milliseconds(1000);
  return o;
}

TEST(ParseEtcdEndpointTest, AcceptsHostPortOnly) {
  const auto ok = ParseEtcdEndpoint("https://etcd-0.example:2379");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->host, "etcd-0.example");
  EXPECT_EQ(ok->port, 2379);
  EXPECT_EQ(ParseEtcdEndpoint("http://10.0.0.1")->port, 2379);
  EXPECT_EQ(ParseEtcdEndpoint("https://[::1]:12379/")->host, "[::1]");
  for (const char* bad : {"etcd:2379", "ftp://x:1", "https://user:pw@x:1", "https://x:1/v3",
                          "https://x:0", "https://x:", "https://:1", "https://x:1?q"}) {
    EXPECT_FALSE(ParseEtcdEndpoint(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseEtcdEndpoint("https://user:secret@x:1").error().message.find("secret"),
            std::string::npos);
}

TEST(HttpEtcdClientTest, CreateRefusesInconsistentSettings) {
  const SystemClock clock;
  EXPECT_FALSE(HttpEtcdClient::Create(Options({}), clock).ok());
  HttpEtcdClientOptions o = Options({"http://127.0.0.1:2379"});
  o.ca_file = "/etc/hostname";
  EXPECT_FALSE(HttpEtcdClient::Create(o, clock).ok());  // TLS files need https
  o = Options({"https://127.0.0.1:2379"});
  o.cert_file = "/etc/hostname";
  EXPECT_FALSE(HttpEtcdClient::Create(o, clock).ok());  // no key
  o = Options({"https://127.0.0.1:2379"});
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(HttpEtcdClient::Create(o, clock).ok());
  o = Options({"https://127.0.0.1:2379"});
  o.username = "root";
  EXPECT_FALSE(HttpEtcdClient::Create(o, clock).ok());  // no password
}

TEST(HttpEtcdClientTest, FailsOverToTheNextEndpointAndSticksToIt) {
  const SystemClock clock;
  FakeGateway live;
  std::atomic<int> ranges{0};
  live.server().Post("/v3/kv/range", [&](const httplib::Request& req, httplib::Response& res) {
    ++ranges;
    const auto body = nlohmann::json::parse(req.body);
    EXPECT_EQ(body.value("key", ""), "L3Av");        // "/p/"
    EXPECT_EQ(body.value("range_end", ""), "L3Aw");  // "/p0"
    res.set_content(kRange, "application/json");
  });
  auto client = HttpEtcdClient::Create(Options({DeadEndpoint(), live.url()}), clock);
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  for (int i = 0; i < 2; ++i) {
    const auto range = client.value()->RangePrefix("/p/");
    ASSERT_TRUE(range.ok()) << range.error().ToString();
    ASSERT_EQ(range->kvs.size(), 1u);
    EXPECT_EQ(range->kvs[0].value, "me");
  }
  EXPECT_EQ(ranges.load(), 2);
}

TEST(HttpEtcdClientTest, AllEndpointsDownIsOneRetryableError) {
  const SystemClock clock;
  auto client = HttpEtcdClient::Create(Options({DeadEndpoint(), DeadEndpoint()}), clock);
  ASSERT_TRUE(client.ok());
  const auto lease = client.value()->GrantLease(5);
  ASSERT_FALSE(lease.ok());
  EXPECT_TRUE(lease.error().retryable());
  EXPECT_NE(lease.error().message.find("every etcd endpoint"), std::string::npos);
}

TEST(HttpEtcdClientTest, AnswerOnlyOneMemberCanGiveIsNotAskedOfTheOthers) {
  const SystemClock clock;
  FakeGateway first;
  FakeGateway second;
  std::atomic<int> second_calls{0};
  first.server().Post("/v3/lease/revoke", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"error":"etcdserver: requested lease not found","code":5})",
                    "application/json");
  });
  second.server().Post("/v3/lease/revoke",
                       [&](const httplib::Request&, httplib::Response&) { ++second_calls; });
  auto client = HttpEtcdClient::Create(Options({first.url(), second.url()}), clock);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client.value()->RevokeLease(7).ok());  // already gone: fine
  EXPECT_EQ(second_calls.load(), 0);
}

TEST(HttpEtcdClientTest, PasswordAuthSendsTheTokenAndRenewsItOnceWhenRefused) {
  const SystemClock clock;
  FakeGateway gateway;
  std::atomic<int> tokens{0};
  std::string valid = "token-1";
  std::mutex mu;
  gateway.server().Post(
      "/v3/auth/authenticate", [&](const httplib::Request& req, httplib::Response& res) {
        const auto body = nlohmann::json::parse(req.body);
        EXPECT_EQ(body.value("name", ""), "root");
        EXPECT_EQ(body.value("password", ""), "s3cret");
        std::lock_guard lock(mu);
        valid = "token-" + std::to_string(++tokens);
        res.set_content(R"({"header":{"revision":"1"},"token":")" + valid + R"("})",
                        "application/json");
      });
  gateway.server().Post("/v3/kv/txn", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    if (req.get_header_value("Authorization") != valid) {
      res.status = 401;
      res.set_content(R"({"error":"etcdserver: invalid auth token","code":16})",
                      "application/json");
      return;
    }
    res.set_content(R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_range":)"
                    R"({"kvs":[{"key":"L3AveA==","create_revision":"2","mod_revision":"2",)"
                    R"("version":"1"}]}}]})",
                    "application/json");
  });
  HttpEtcdClientOptions o = Options({gateway.url()});
  o.username = "root";
  o.password = "s3cret";
  auto client = HttpEtcdClient::Create(o, clock);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client.value()->CreateRevisionIs("/p/x", 2).value());
  EXPECT_EQ(tokens.load(), 1);
  {
    std::lock_guard lock(mu);
    valid = "rotated-by-the-server";
  }
  EXPECT_TRUE(client.value()->CreateRevisionIs("/p/x", 2).value());
  EXPECT_EQ(tokens.load(), 2);
}

TEST(HttpEtcdClientTest, WrongPasswordIsTerminalAndNotLeaked) {
  const SystemClock clock;
  FakeGateway gateway;
  gateway.server().Post("/v3/auth/authenticate", [](const httplib::Request&,
                                                    httplib::Response& res) {
    res.status = 400;
    res.set_content(
        R"({"error":"etcdserver: authentication failed, invalid user ID or password","code":3})",
        "application/json");
  });
  HttpEtcdClientOptions o = Options({gateway.url()});
  o.username = "root";
  o.password = "wrong-password-value";
  auto client = HttpEtcdClient::Create(o, clock);
  ASSERT_TRUE(client.ok());
  const auto lease = client.value()->GrantLease(5);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().error_class, ErrorClass::kTerminal);
  EXPECT_EQ(lease.error().message.find("wrong-password-value"), std::string::npos);
}

TEST(HttpEtcdClientTest, OversizeAnswerIsDiscarded) {
  const SystemClock clock;
  FakeGateway gateway;
  gateway.server().Post("/v3/kv/range", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(64 * 1024, ' ') + kRange, "application/json");
  });
  HttpEtcdClientOptions o = Options({gateway.url()});
  o.max_response_bytes = 4096;
  auto client = HttpEtcdClient::Create(o, clock);
  ASSERT_TRUE(client.ok());
  const auto range = client.value()->RangePrefix("/p/");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("over 4096 bytes"), std::string::npos);
}

TEST(HttpEtcdClientTest, SlowMemberIsCutOffAtTheRequestTimeout) {
  const SystemClock clock;
  FakeGateway slow;
  FakeGateway fast;
  slow.server().Post("/v3/kv/range", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content(kRange, "application/json");
  });
  fast.server().Post("/v3/kv/range", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kRange, "application/json");
  });
  HttpEtcdClientOptions o = Options({slow.url(), fast.url()});
  o.request_timeout = std::chrono::milliseconds(300);
  auto client = HttpEtcdClient::Create(o, clock);
  ASSERT_TRUE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.value()->RangePrefix("/p/").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
}

TEST(HttpEtcdClientTest, RangeWithAKeyOutsideThePrefixIsRefused) {
  const SystemClock clock;
  FakeGateway gateway;
  gateway.server().Post("/v3/kv/range", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kRange, "application/json");  // holds "/p/x"
  });
  auto client = HttpEtcdClient::Create(Options({gateway.url()}), clock);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(client.value()->RangePrefix("/q/").ok());
}

}  // namespace
}  // namespace mactl
