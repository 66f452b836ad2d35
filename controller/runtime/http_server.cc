#include "controller/runtime/http_server.h"

#include <httplib.h>

#include <atomic>
#include <charconv>
#include <chrono>

namespace mactl {
namespace {

// Server threads: more than kHeavyLimit per heavy endpoint times the heavy endpoints, so that
// probes always find a free thread however many scrapes and /status calls arrive at once.
constexpr int kServerThreads = 8;
constexpr int kHeavyLimit = 2;

// Admits at most kHeavyLimit concurrent calls of one endpoint; the rest are refused at once
// instead of queueing for a server thread that a liveness probe needs.
class ConcurrencyGate {
 public:
  bool TryEnter() {
    int now = inside_.load();
    while (now < kHeavyLimit) {
      if (inside_.compare_exchange_weak(now, now + 1)) return true;
    }
    return false;
  }
  void Leave() { inside_.fetch_sub(1); }

 private:
  std::atomic<int> inside_{0};
};

// Holds a place in the gate while it lives.
class GatePass {
 public:
  explicit GatePass(std::shared_ptr<ConcurrencyGate> gate) : gate_(std::move(gate)) {}
  ~GatePass() { gate_->Leave(); }
  GatePass(const GatePass&) = delete;
  GatePass& operator=(const GatePass&) = delete;

 private:
  std::shared_ptr<ConcurrencyGate> gate_;
};

void RefuseBusy(httplib::Response& res) {
  res.status = 503;
  res.set_header("Retry-After", "1");
  res.set_content("busy: too many concurrent requests to this endpoint\n",
                  "text/plain; charset=utf-8");
}

httplib::Server::Handler Heavy(std::function<std::string()> render, const char* content_type) {
  auto gate = std::make_shared<ConcurrencyGate>();
  return [render = std::move(render), content_type, gate](const httplib::Request&,
                                                          httplib::Response& res) {
    if (!gate->TryEnter()) return RefuseBusy(res);
    const GatePass pass(gate);
    res.set_content(render(), content_type);
  };
}

// Like Heavy, but the answer is written after the handler returns: the place in the gate is
// kept by the content provider until the last part is written (or the client is gone).
httplib::Server::Handler HeavyStream(std::function<StreamedAnswer(const QueryParams&)> answer,
                                     const char* content_type) {
  auto gate = std::make_shared<ConcurrencyGate>();
  return [answer = std::move(answer), content_type, gate](const httplib::Request& req,
                                                          httplib::Response& res) {
    if (!gate->TryEnter()) return RefuseBusy(res);
    auto pass = std::make_shared<GatePass>(gate);
    StreamedAnswer streamed = answer(QueryParams(req.params.begin(), req.params.end()));
    if (streamed.status != 200) {
      res.status = streamed.status;
      res.set_content(streamed.body, content_type);
      return;
    }
    res.set_chunked_content_provider(content_type, [next = std::move(streamed.next), pass](
                                                       std::size_t, httplib::DataSink& sink) {
      std::string part;
      bool more = true;
      // An empty chunk would end the chunked body early: gather until there is text.
      while (part.empty() && more) more = next(part);
      if (!part.empty() && !sink.write(part.data(), part.size())) return false;
      if (!more) sink.done();
      return true;
    });
  };
}

}  // namespace

Result<std::pair<std::string, int>> ParseListenAddress(std::string_view address) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return MakeError(ErrorClass::kTerminal, "InvalidListen",
                     "--listen must be HOST:PORT, got \"" + std::string(address) + "\"");
  }
  std::string host(address.substr(0, colon));
  const std::string_view port_text = address.substr(colon + 1);
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return MakeError(ErrorClass::kTerminal, "InvalidListen",
                     "--listen port must be 0..65535, got \"" + std::string(port_text) + "\"");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, port);
}

HttpServer::HttpServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& host, int port,
                                                      HttpHandlers handlers) {
  auto server = std::make_unique<httplib::Server>();
  // A small pool, since idle keep-alive connections must not hold shutdown up for long; the
  // heavy endpoints are gated so probes never wait behind them (docs/operations.md).
  server->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  server->set_keep_alive_timeout(2);
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);

  server->Get("/metrics", Heavy(handlers.metrics, "text/plain; version=0.0.4; charset=utf-8"));
  auto probe = [](std::function<ProbeResult()> check, int failure_status) {
    return [check = std::move(check), failure_status](const httplib::Request&,
                                                      httplib::Response& res) {
      const ProbeResult result = check();
      res.status = result.ok ? 200 : failure_status;
      res.set_content(result.body + "\n", "text/plain; charset=utf-8");
    };
  };
  server->Get("/healthz", probe(handlers.healthz, 500));
  server->Get("/readyz", probe(handlers.readyz, 503));
  server->Get("/status", HeavyStream(handlers.status, "application/json"));

  int bound = port;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
  } else if (!server->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return MakeError(ErrorClass::kTerminal, "ListenFailed",
                     "cannot listen on " + host + ":" + std::to_string(port) +
                         " (address in use or not permitted)");
  }
  std::unique_ptr<HttpServer> out(new HttpServer(std::move(server), bound));
  out->thread_ = std::thread([s = out->server_.get()] { s->listen_after_bind(); });
  return out;
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  // stop() is a no-op until the listener runs (docs/architecture.md, "Library facts"): wait
  // for it briefly.
  for (int i = 0; i < 500 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_->stop();
  thread_.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace mactl
