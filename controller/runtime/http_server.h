#pragma once

// The daemon's own HTTP endpoint: /metrics, /healthz, /readyz, /status (README, "HTTP
// endpoints and metrics").
// Wraps httplib so its names and threads stay in one adapter.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/result.h"
#include "controller/runtime/status_query.h"

namespace httplib {
class Server;
}

namespace mactl {

struct ProbeResult {
  bool ok = false;
  std::string body;
};

// An answer written in parts (chunked), so a large document is never held whole: refused
// when `status` is not 200 (then `body` is the whole answer), else produced by `next`.
struct StreamedAnswer {
  int status = 200;
  std::string body;
  std::function<bool(std::string& out)> next;  // appends the next part; false when complete
};

struct HttpHandlers {
  std::function<std::string()> metrics;  // Prometheus text format 0.0.4
  std::function<ProbeResult()> healthz;
  std::function<ProbeResult()> readyz;
  std::function<StreamedAnswer(const QueryParams&)> status;  // JSON
};

class HttpServer {
 public:
  // Binds host:port (port 0 picks a free one) synchronously, then serves on a thread.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& host, int port,
                                                   HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  HttpServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
};

// Splits "host:port" (also "[::1]:8080" and ":8080" → 0.0.0.0).
Result<std::pair<std::string, int>> ParseListenAddress(std::string_view address);

}  // namespace mactl
