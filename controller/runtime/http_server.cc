#include "controller/runtime/http_server.h"

#include <httplib.h>

#include <charconv>
#include <chrono>

namespace mactl {

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
  // A small pool: scrapes and probes are light, and idle keep-alive connections must
  // not hold shutdown up for long.
  server->new_task_queue = [] { return new httplib::ThreadPool(4); };
  server->set_keep_alive_timeout(2);
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);

  server->Get("/metrics", [h = handlers.metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(h(), "text/plain; version=0.0.4; charset=utf-8");
  });
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
  server->Get("/status", [h = handlers.status](const httplib::Request&, httplib::Response& res) {
    res.set_content(h(), "application/json");
  });

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
