#pragma once

// CloudClient over HTTP(S) with cpp-httplib: a pool of kept-alive connections, the request
// throttle in front of every call, credentials from an Authenticator (one retry after the
// credential is rejected), a response size cap, a deadline on each whole exchange, and every answer
// classified into Result/Error. httplib stays inside http_transport.cc, the transport half
// of this class; http_cloud_client.cc holds the v1 calls over it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/cloud/api_call_observer.h"
#include "controller/cloud/authenticator.h"
#include "controller/cloud/cloud_client.h"
#include "controller/cloud/http_endpoint.h"
#include "controller/cloud/http_exchange.h"
#include "controller/cloud/request_throttle.h"

namespace httplib {
class Client;
struct Request;
}  // namespace httplib

namespace mactl {

struct HttpCloudClientOptions {
  std::string endpoint;  // "https://host[:port][/base/path]" or "http://..." (simulator)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};
  // Bound on one whole exchange, from borrowing a connection (so the connect counts) to the
  // last byte of the answer. The three timeouts above bound single steps only: a peer that
  // trickles its answer a byte at a time, each just inside read_timeout, would otherwise hold
  // the request, its connection and a worker for as long as it likes. Unset: see
  // EffectiveTotalTimeout. Past it the call fails with the retryable "Transport.Timeout".
  std::optional<std::chrono::milliseconds> total_timeout;
  std::string ca_file;  // empty → system CAs
  bool insecure_skip_tls_verify = false;
  std::size_t max_response_bytes = 16u << 20;
  std::size_t connections = 4;  // kept-alive connections in the pool
};

// options.total_timeout, or when unset connect_timeout + 2 × read_timeout (65 s with the
// defaults): room for the connect, for a server that thinks up to read_timeout before its
// first byte, and as long again for the rest of the answer, so no answer the per-step
// timeouts let through in the ordinary way is cut short. Saturates instead of overflowing.
std::chrono::milliseconds EffectiveTotalTimeout(const HttpCloudClientOptions& options);

// The authenticator, throttle, observer and clock must outlive the client. Thread-safe:
// up to `connections` requests run at once, more wait for a free connection.
//
// The total deadline is measured with the injected clock. The receiving thread checks it
// whenever a piece of the answer arrives; a watchdog thread aborts (httplib's stop()) a
// request still running kWatchdogGrace past its deadline, which covers the parts of an
// exchange httplib gives no callback for (status line, headers, chunk framing, compressed
// bytes that inflate to nothing). The watchdog waits on the injected clock
// (Clock::WaitUntil), so a test's FakeClock expires a request by advancing time, and one that
// does not advance never expires it.
//
// The same transport serves the v2 client (HttpTrainingJobClient) through HttpExchange, so
// both API versions share one throttle, credential, connection pool, deadline and body cap.
class HttpCloudClient final : public CloudClient, public HttpExchange {
 public:
  // Validates the endpoint (scheme http/https, host, optional port and base path) and the
  // options. Throws nothing: use the factory.
  static Result<std::unique_ptr<HttpCloudClient>> Create(HttpCloudClientOptions options,
                                                         Authenticator& auth,
                                                         RequestThrottle& throttle,
                                                         ApiCallObserver& observer,
                                                         const Clock& clock);
  ~HttpCloudClient() override;

  HttpCloudClient(const HttpCloudClient&) = delete;
  HttpCloudClient& operator=(const HttpCloudClient&) = delete;

  // CloudClient methods
  Result<JobListPage> ListJobs(const std::string& project_id, int page, int per_page) override;
  Result<VersionDetail> GetVersion(const VersionRef& ref) override;
  Result<VersionListPage> ListVersions(const std::string& project_id, std::int64_t job_id, int page,
                                       int per_page) override;
  Status StopVersion(const VersionRef& ref) override;

  // HttpExchange: request.path is below the endpoint's base path.
  Result<HttpAnswer> Exchange(const HttpRequest& request) override;

  // Aborts in-flight requests (shutdown) and returns once none is left; later calls fail
  // fast with a retryable "Shutdown" error. Idempotent.
  void Stop();

  // How long past its deadline a request may still run before the watchdog aborts it; the
  // receiving thread normally notices first.
  static constexpr std::chrono::milliseconds kWatchdogGrace{1000};

 private:
  using Query = std::vector<std::pair<std::string, std::string>>;

  // A borrowed connection, and when the watchdog is to stop the request on it.
  struct InFlight {
    httplib::Client* client = nullptr;
    SteadyTime abort_at;    // deadline + kWatchdogGrace, then retries
    bool expired = false;   // the watchdog has aborted the request
    bool aborting = false;  // the watchdog is inside client->stop() for it
  };

  // One HTTP exchange that produced an answer (any status).
  struct RawAnswer : HttpAnswer {
    OutgoingRequest sent;  // as the authenticator signed it, for OnUnauthorized
  };

  HttpCloudClient(HttpCloudClientOptions options, HttpEndpoint endpoint, Authenticator& auth,
                  RequestThrottle& throttle, ApiCallObserver& observer, const Clock& clock,
                  std::vector<std::unique_ptr<httplib::Client>> clients);

  // Sends the request for project_id, and once more after an answer that rejects the
  // credential (RejectsCredential: a 401, or an invalid-token code on a 403 or 2xx). Errors
  // are transport, size, shutdown or authenticator failures; HTTP error statuses come back
  // as answers.
  Result<RawAnswer> Exchange(std::string_view operation, const std::string& method,
                             const std::string& project_id, const std::string& path,
                             const Query& query, const std::string& body = "");
  struct Receiving;
  // Fills in request's host and headers (the authenticator's included) and turns it into the
  // request to send (a signature covers its body); the credential header values go to
  // `secrets`.
  Result<httplib::Request> SignedRequest(OutgoingRequest& request,
                                         std::vector<std::string>& secrets);
  // Bounds the answer by the request's deadline and the body cap, appending it to `body`.
  void BoundReceiving(httplib::Request& http_request, Receiving& receiving,
                      std::string& body) const;
  // Sends once. `closed_idle` says whether it failed on a kept-alive connection that the
  // server had closed while it sat in the pool (nothing came back, and not for a timeout).
  Result<RawAnswer> SendOnce(std::string_view operation, const std::string& method,
                             const std::string& project_id, const std::string& path,
                             const Query& query, const std::string& body, bool& closed_idle);
  // SendOnce, and once more on a new connection after a GET met a closed idle connection.
  Result<RawAnswer> SendOnceAfterIdle(std::string_view operation, const std::string& method,
                                      const std::string& project_id, const std::string& path,
                                      const Query& query, const std::string& body);
  // Waits for a free connection; nullptr once stopped. The request's deadline is
  // total_timeout from now; `warm` says whether its last request was answered (it is kept
  // alive, so the server may have closed it since).
  httplib::Client* Borrow(SteadyTime& deadline, bool& warm);
  // Returns the connection to the pool, warm when its request was answered; true when the
  // watchdog aborted its request.
  bool Release(httplib::Client* client, bool answered);
  // The watchdog thread's loop: runs until the destructor sets closing_.
  void Watch();
  std::string ProjectPath(const std::string& project_id) const;

  const HttpCloudClientOptions options_;
  const HttpEndpoint endpoint_;
  Authenticator& auth_;
  RequestThrottle& throttle_;
  ApiCallObserver& observer_;
  const Clock& clock_;
  // Owned connections; the vector itself never changes after construction.
  const std::vector<std::unique_ptr<httplib::Client>> clients_;

  const std::chrono::milliseconds total_timeout_;

  std::mutex mu_;
  std::condition_variable cv_;                // signalled on Release, Stop and the end of an abort
  std::condition_variable_any watch_cv_;      // wakes the watchdog: a new request, or closing
  std::vector<httplib::Client*> free_;        // guarded by mu_; LIFO so warm connections are reused
  std::vector<const httplib::Client*> warm_;  // guarded by mu_; answered on their last use
  std::vector<InFlight> busy_;                // guarded by mu_
  std::uint64_t borrowed_ = 0;                // guarded by mu_; requests started, for the watchdog
  bool stopped_ = false;                      // guarded by mu_
  bool closing_ = false;                      // guarded by mu_; the destructor ends the watchdog
  std::thread watchdog_;                      // last: started once everything above is set up
};

}  // namespace mactl
