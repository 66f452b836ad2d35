#pragma once

// EtcdClient over etcd's v3 JSON gateway with cpp-httplib: several endpoints tried in turn
// (the one that last answered first), TLS with a CA and a client certificate, password auth
// (a token from /v3/auth/authenticate, renewed once when refused), a bound on each request's
// time and on each answer's size. httplib stays inside http_etcd_client.cc.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/election/etcd_client.h"
#include "controller/election/etcd_endpoint.h"

namespace mactl {

struct HttpEtcdClientOptions {
  std::vector<std::string> endpoints;  // "https://host:2379" or "http://host:2379"
  std::string ca_file;                 // empty: system CAs
  std::string cert_file;               // client certificate (with key_file), optional
  std::string key_file;
  std::string username;  // password auth when set (ETCD_USERNAME / ETCD_PASSWORD)
  std::string password;
  // Bound on one request to one endpoint: the connect, each read and write, and the whole
  // answer's arrival (checked on the injected clock as the answer arrives).
  std::chrono::milliseconds request_timeout{2000};
  std::size_t max_response_bytes = 4u << 20;
};

// Thread-safe: each request uses its own connection, so a slow keepalive never holds up a
// CheckBeforeAct transaction on another thread. Over TLS, OpenSSL may write to a socket the
// peer closed: the process must ignore SIGPIPE (the daemon's main does).
class HttpEtcdClient final : public EtcdClient {
 public:
  // Validates endpoints, files and bounds. The clock must outlive the client.
  static Result<std::unique_ptr<HttpEtcdClient>> Create(HttpEtcdClientOptions options,
                                                        const Clock& clock);

  Result<EtcdLease> GrantLease(std::int64_t ttl_seconds) override;
  Result<std::int64_t> KeepAlive(std::int64_t lease_id) override;
  Status RevokeLease(std::int64_t lease_id) override;
  Result<EtcdCreateResult> CreateWithLease(const std::string& key, const std::string& value,
                                           std::int64_t lease_id) override;
  Result<EtcdRangeResult> RangePrefix(const std::string& prefix) override;
  Result<bool> CreateRevisionIs(const std::string& key, std::int64_t create_revision) override;
  Status DeleteKey(const std::string& key) override;

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };

  HttpEtcdClient(HttpEtcdClientOptions options, std::vector<EtcdEndpoint> endpoints,
                 const Clock& clock);

  // POSTs `body` to `path`, trying each endpoint at most once (and once more on the same
  // endpoint after renewing a refused token). Returns the first 200 answer; an error answer
  // that another endpoint cannot fix (say, NotFound) is returned as an Error at once.
  Result<std::string> Call(std::string_view operation, const std::string& path,
                           const std::string& body);
  // One exchange with one endpoint; transport failures, timeouts and oversize answers are
  // retryable errors.
  Result<Answer> Send(const EtcdEndpoint& endpoint, const std::string& path,
                      const std::string& body, const std::string& token);
  // A fresh token from `endpoint`, or the error that prevented it.
  Result<std::string> Authenticate(const EtcdEndpoint& endpoint);

  const HttpEtcdClientOptions options_;
  const std::vector<EtcdEndpoint> endpoints_;
  const Clock& clock_;
  std::atomic<std::size_t> preferred_{0};  // the endpoint that answered last
  std::mutex token_mu_;
  std::string token_;  // guarded by token_mu_; empty until authenticated
};

}  // namespace mactl
