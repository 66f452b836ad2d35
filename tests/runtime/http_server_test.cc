#include "controller/runtime/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mactl {
namespace {

// A /status handler that holds every caller until the test releases them.
class HeldStatus {
 public:
  std::string Render() {
    std::unique_lock lock(mu_);
    ++inside_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    return "{}";
  }
  void WaitInside(int n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return inside_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int inside_ = 0;  // guarded by mu_
  bool released_ = false;
};

HttpHandlers Handlers(HeldStatus& held) {
  HttpHandlers handlers;
  handlers.metrics = [] { return std::string("# metrics\n"); };
  handlers.healthz = [] { return ProbeResult{true, "ok"}; };
  handlers.readyz = [] { return ProbeResult{false, "not yet"}; };
  handlers.status = [&held](const QueryParams&) {
    // Held while streaming, after the handler returned: the gate must still count the call.
    return StreamedAnswer{200, "", [&held, done = false](std::string& out) mutable {
                            if (done) return false;
                            out += held.Render();
                            done = true;
                            return true;
                          }};
  };
  return handlers;
}

int Get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  const auto res = client.Get(path);
  return res ? res->status : -1;
}

TEST(HttpServer, ProbesAnswerWhileStatusCallsHoldEveryAdmittedSlot) {
  HeldStatus held;
  auto server = HttpServer::Start("127.0.0.1", 0, Handlers(held));
  ASSERT_TRUE(server) << server.error().ToString();
  const int port = (*server)->port();

  // Two /status renderings are admitted and held; more callers than the server has threads.
  std::vector<int> status_codes(12, 0);
  std::vector<std::thread> callers;
  for (std::size_t i = 0; i < 2; ++i) {
    callers.emplace_back([&, i] { status_codes[i] = Get(port, "/status"); });
  }
  held.WaitInside(2);
  for (std::size_t i = 2; i < status_codes.size(); ++i) {
    callers.emplace_back([&, i] { status_codes[i] = Get(port, "/status"); });
  }
  // Every extra /status is refused at once rather than queued for a thread.
  for (std::size_t i = 2; i < callers.size(); ++i) callers[i].join();
  for (std::size_t i = 2; i < status_codes.size(); ++i) EXPECT_EQ(status_codes[i], 503) << i;

  // The probes and a scrape are served while both admitted /status calls are still held.
  EXPECT_EQ(Get(port, "/healthz"), 200);
  EXPECT_EQ(Get(port, "/readyz"), 503);
  EXPECT_EQ(Get(port, "/metrics"), 200);

  held.Release();
  callers[0].join();
  callers[1].join();
  EXPECT_EQ(status_codes[0], 200);
  EXPECT_EQ(status_codes[1], 200);
  EXPECT_EQ(Get(port, "/status"), 200);
}

TEST(HttpServer, ParseListenAddressAcceptsTheDocumentedForms) {
  EXPECT_EQ(*ParseListenAddress("127.0.0.1:8080"), std::make_pair(std::string("127.0.0.1"), 8080));
  EXPECT_EQ(*ParseListenAddress("[::1]:0"), std::make_pair(std::string("::1"), 0));
  EXPECT_EQ(*ParseListenAddress(":9"), std::make_pair(std::string("0.0.0.0"), 9));
  EXPECT_FALSE(ParseListenAddress("8080"));
  EXPECT_FALSE(ParseListenAddress("host:99999"));
  EXPECT_FALSE(ParseListenAddress("host:8o"));
}

}  // namespace
}  // namespace mactl
