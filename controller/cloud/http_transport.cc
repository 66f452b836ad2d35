// The transport half of HttpCloudClient (http_cloud_client.h): creating the client, the
// connection pool and its watchdog, signing, sending with one renewal after a rejected
// credential, and bounding each answer. The v1 calls over it are in http_cloud_client.cc.

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <stop_token>
#include <system_error>

#include "api/duration.h"
#include "controller/base/sanitize.h"
#include "controller/cloud/api_errors.h"
#include "controller/cloud/http_cloud_client.h"

namespace mactl {
namespace {

Error ConfigError(std::string message) {
  return MakeError(ErrorClass::kTerminal, "Config.Endpoint", std::move(message));
}

Error ShutdownError(std::string_view operation) {
  return MakeError(ErrorClass::kRetryable, "Shutdown",
                   std::string(operation) + " request not sent: the client is shutting down");
}

// Retryable like every transport failure; says which bound was hit, since read_timeout
// (per read) was not.
Error TotalTimeoutError(std::string_view operation, std::chrono::milliseconds total) {
  return MakeError(ErrorClass::kRetryable, "Transport.Timeout",
                   std::string(operation) +
                       " request failed: transport error Timeout (the whole answer took longer " +
                       "than the " + FormatDuration(total) + " request deadline)");
}

std::chrono::milliseconds SaturatingAdd(std::chrono::milliseconds a, std::chrono::milliseconds b) {
  const auto max = std::chrono::milliseconds::max();
  return b > max - a ? max : a + b;
}

// start + budget, or the end of time when that does not fit.
SteadyTime DeadlineAfter(SteadyTime start, std::chrono::milliseconds budget) {
  const auto room = SteadyTime::max() - start;
  if (room <= SteadyTime::duration::zero() ||
      budget >= std::chrono::duration_cast<std::chrono::milliseconds>(room)) {
    return SteadyTime::max();
  }
  return start + budget;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Headers whose values are not credentials (AK/SK signing adds some of them).
bool IsNonSecretHeader(std::string_view name) {
  for (const std::string_view benign :
       {"Host", "Content-Type", "Accept", "X-Sdk-Date", "X-Project-Id", "X-Sdk-Content-Sha256"}) {
    if (EqualsIgnoreCase(name, benign)) return true;
  }
  return false;
}

std::string WithQuery(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& query) {
  std::string target = path;
  char separator = '?';
  for (const auto& [key, value] : query) {
    target += separator;
    target += PercentEncode(key);
    target += '=';
    target += PercentEncode(value);
    separator = '&';
  }
  return target;
}

std::optional<std::uint64_t> ParseContentLength(const std::string& value) {
  std::uint64_t n = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
  return n;
}

}  // namespace

std::chrono::milliseconds EffectiveTotalTimeout(const HttpCloudClientOptions& options) {
  if (options.total_timeout.has_value()) return *options.total_timeout;
  return SaturatingAdd(options.connect_timeout,
                       SaturatingAdd(options.read_timeout, options.read_timeout));
}

Result<std::unique_ptr<HttpCloudClient>> HttpCloudClient::Create(HttpCloudClientOptions options,
                                                                 Authenticator& auth,
                                                                 RequestThrottle& throttle,
                                                                 ApiCallObserver& observer,
                                                                 const Clock& clock) {
  Result<HttpEndpoint> endpoint = ParseHttpEndpoint(options.endpoint);
  if (!endpoint.ok()) return endpoint.error();
  if (options.connections == 0) return ConfigError("connections must be at least 1");
  if (options.max_response_bytes == 0) return ConfigError("max_response_bytes must be positive");
  if (options.connect_timeout.count() <= 0 || options.read_timeout.count() <= 0 ||
      options.write_timeout.count() <= 0 ||
      (options.total_timeout.has_value() && options.total_timeout->count() <= 0)) {
    return ConfigError("timeouts must be positive");
  }
  if (!options.ca_file.empty()) {
    std::ifstream probe(options.ca_file);
    if (!probe) return ConfigError("CA file " + options.ca_file + " cannot be read");
  }
  const HttpEndpoint& ep = endpoint.value();
  const std::string scheme_host_port = ep.scheme + "://" + ep.host + ":" + std::to_string(ep.port);
  std::vector<std::unique_ptr<httplib::Client>> clients;
  clients.reserve(options.connections);
  for (std::size_t i = 0; i < options.connections; ++i) {
    auto client = std::make_unique<httplib::Client>(scheme_host_port);
    if (!client->is_valid()) {
      return ConfigError("endpoint " + SanitizeForLog(options.endpoint, 200) +
                         " is not usable by the HTTP library");
    }
    client->set_keep_alive(true);
    // A POST leaves in two writes (head, then body); with Nagle's algorithm the body waits for
    // the server's delayed ACK of the head, about 40 ms per search or terminate on a kept-alive
    // connection (docs/benchmarks.md, "v2 training jobs").
    client->set_tcp_nodelay(true);
    client->set_follow_location(false);
    client->set_url_encode(false);  // paths and queries are encoded here
    client->set_connection_timeout(options.connect_timeout);
    client->set_read_timeout(options.read_timeout);
    client->set_write_timeout(options.write_timeout);
    if (ep.scheme == "https") {
      // httplib loads CAs once, at the first TLS connection: configure before any request.
      if (!options.ca_file.empty()) client->set_ca_cert_path(options.ca_file);
      client->enable_server_certificate_verification(!options.insecure_skip_tls_verify);
    }
    clients.push_back(std::move(client));
  }
  try {
    return std::unique_ptr<HttpCloudClient>(new HttpCloudClient(
        std::move(options), ep, auth, throttle, observer, clock, std::move(clients)));
  } catch (const std::system_error& e) {
    // Only the watchdog thread can fail to start; without it a request is unbounded.
    return MakeError(ErrorClass::kRetryable, "Resource.Thread",
                     std::string("cannot start the HTTP client's watchdog thread: ") + e.what());
  }
}

HttpCloudClient::HttpCloudClient(HttpCloudClientOptions options, HttpEndpoint endpoint,
                                 Authenticator& auth, RequestThrottle& throttle,
                                 ApiCallObserver& observer, const Clock& clock,
                                 std::vector<std::unique_ptr<httplib::Client>> clients)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      auth_(auth),
      throttle_(throttle),
      observer_(observer),
      clock_(clock),
      clients_(std::move(clients)),
      total_timeout_(EffectiveTotalTimeout(options_)) {
  // Reversed so the first client is borrowed first (LIFO).
  for (auto it = clients_.rbegin(); it != clients_.rend(); ++it) free_.push_back(it->get());
  watchdog_ = std::thread([this] { Watch(); });
}

HttpCloudClient::~HttpCloudClient() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  watch_cv_.notify_all();
  watchdog_.join();
}

Result<HttpAnswer> HttpCloudClient::Exchange(const HttpRequest& request) {
  Result<RawAnswer> answer =
      Exchange(request.operation, request.method, request.project_id,
               endpoint_.base_path + request.path, request.query, request.body);
  if (!answer.ok()) return answer.error();
  HttpAnswer sliced = std::move(answer).value();  // what was sent stays inside this client
  return sliced;
}

Result<HttpCloudClient::RawAnswer> HttpCloudClient::Exchange(
    std::string_view operation, const std::string& method, const std::string& project_id,
    const std::string& path, const Query& query, const std::string& body) {
  Result<RawAnswer> answer = SendOnceAfterIdle(operation, method, project_id, path, query, body);
  if (answer.ok() && RejectsCredential(answer.value().status, answer.value().body)) {
    // The credential may just have expired or rotated: renew it and try exactly once more.
    // A 401, or a 403/2xx naming an invalid token (api_errors.h), all mean that.
    auth_.OnUnauthorized(answer.value().sent);
    std::vector<std::string> earlier_secrets = std::move(answer.value().secrets);
    answer = SendOnceAfterIdle(operation, method, project_id, path, query, body);
    if (answer.ok()) {
      // The server may echo the rejected credential too: redact both.
      std::vector<std::string>& secrets = answer.value().secrets;
      secrets.insert(secrets.end(), earlier_secrets.begin(), earlier_secrets.end());
      // A second rejection is returned (classified kReauthenticate); the next call renews
      // again.
      if (RejectsCredential(answer.value().status, answer.value().body)) {
        auth_.OnUnauthorized(answer.value().sent);
      }
    }
  }
  return answer;
}

// What the receive callbacks of one request share with SendOnce: the deadline Borrow sets,
// and why the callbacks cancelled the request, if they did.
struct HttpCloudClient::Receiving {
  std::size_t limit = 0;
  SteadyTime deadline = SteadyTime::max();
  bool past_deadline = false;
  bool too_large = false;
};

Result<httplib::Request> HttpCloudClient::SignedRequest(OutgoingRequest& request,
                                                        std::vector<std::string>& secrets) {
  request.host = endpoint_.HostHeader();
  // Present before Apply so a signing authenticator can sign them.
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  const std::size_t preset_headers = request.headers.size();
  const Status applied = auth_.Apply(request);
  if (!applied.ok()) return applied.error();

  httplib::Request http_request;
  http_request.method = request.method;
  http_request.path = WithQuery(request.path, request.query);
  http_request.body = request.body;
  bool has_host = false;
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const auto& [name, value] = request.headers[i];
    if (EqualsIgnoreCase(name, "Host")) has_host = true;
    if (i >= preset_headers && !IsNonSecretHeader(name)) secrets.push_back(value);
    http_request.headers.emplace(name, value);
  }
  // The same Host the authenticator saw (a signature may cover it).
  if (!has_host) http_request.headers.emplace("Host", request.host);
  return http_request;
}

// The callbacks run on the sending thread whenever part of the answer arrives; returning
// false makes httplib cancel the request and close the connection.
void HttpCloudClient::BoundReceiving(httplib::Request& http_request, Receiving& receiving,
                                     std::string& body) const {
  const auto within_deadline = [this, &receiving] {
    if (clock_.Now() < receiving.deadline) return true;
    receiving.past_deadline = true;
    return false;
  };
  http_request.progress = [within_deadline](std::uint64_t, std::uint64_t) {
    return within_deadline();
  };
  http_request.response_handler = [within_deadline, &receiving](const httplib::Response& response) {
    if (!within_deadline()) return false;
    if (response.has_header("Content-Length")) {
      const auto length = ParseContentLength(response.get_header_value("Content-Length"));
      if (length.has_value() && *length > receiving.limit) {
        receiving.too_large = true;
        return false;
      }
    }
    return true;
  };
  http_request.content_receiver = [within_deadline, &receiving, &body](
                                      const char* data, std::size_t length, std::uint64_t,
                                      std::uint64_t) {
    if (!within_deadline()) return false;
    if (body.size() + length > receiving.limit) {
      receiving.too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  };
}

// A server closes a kept-alive connection that sat idle past its own limit (the simulator's
// is 5 s); the next request on it fails at once, before any answer. A GET is safe to send
// again, on a new connection; a POST is not (the server may have acted on it), so its error
// stands and is retried after a fresh observation (README, "How it behaves").
Result<HttpCloudClient::RawAnswer> HttpCloudClient::SendOnceAfterIdle(
    std::string_view operation, const std::string& method, const std::string& project_id,
    const std::string& path, const Query& query, const std::string& body) {
  bool closed_idle = false;
  Result<RawAnswer> answer =
      SendOnce(operation, method, project_id, path, query, body, closed_idle);
  if (!answer.ok() && closed_idle && method == "GET") {
    answer = SendOnce(operation, method, project_id, path, query, body, closed_idle);
  }
  return answer;
}

Result<HttpCloudClient::RawAnswer> HttpCloudClient::SendOnce(
    std::string_view operation, const std::string& method, const std::string& project_id,
    const std::string& path, const Query& query, const std::string& body, bool& closed_idle) {
  closed_idle = false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return ShutdownError(operation);
  }
  if (!throttle_.Acquire()) return ShutdownError(operation);

  RawAnswer answer;
  answer.sent.project_id = project_id;
  answer.sent.method = method;
  answer.sent.path = path;
  answer.sent.query = query;
  answer.sent.body = body;  // a signature covers the exact bytes sent
  Result<httplib::Request> signed_request = SignedRequest(answer.sent, answer.secrets);
  if (!signed_request) return signed_request.error();
  httplib::Request http_request = std::move(signed_request).value();
  Receiving receiving;
  receiving.limit = options_.max_response_bytes;
  BoundReceiving(http_request, receiving, answer.body);

  bool warm = false;
  httplib::Client* client = Borrow(receiving.deadline, warm);
  if (client == nullptr) return ShutdownError(operation);
  struct ReleaseOnExit {
    HttpCloudClient& owner;
    httplib::Client* client;
    const bool& sent;
    bool& expired;
    ~ReleaseOnExit() { expired = owner.Release(client, sent); }
  };
  httplib::Response http_response;
  httplib::Error http_error = httplib::Error::Success;
  const SteadyTime start = clock_.Now();
  bool sent = false;
  bool expired = false;  // the watchdog aborted the request
  {
    const ReleaseOnExit release{*this, client, sent, expired};
    sent = client->send(http_request, http_response, http_error);
    // A connection whose answer was cut off mid-way is never reused: close it here rather
    // than rely on how httplib tidies up after a cancelled request.
    if (!sent && receiving.past_deadline) client->stop();
  }
  const std::chrono::duration<double> latency = clock_.Now() - start;
  const bool answered = sent || receiving.too_large;
  observer_.OnApiCall(operation, answered ? http_response.status : 0, latency);
  if (receiving.too_large) {
    return MakeError(ErrorClass::kRetryable, "ResponseTooLarge",
                     std::string(operation) + " answer (HTTP " +
                         std::to_string(http_response.status) + ") was discarded: response too " +
                         "large (over " + std::to_string(receiving.limit) + " bytes)",
                     http_response.status);
  }
  if (!sent) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return ShutdownError(operation);
    }
    // A complete answer that raced the watchdog is still an answer.
    if (receiving.past_deadline || expired) return TotalTimeoutError(operation, total_timeout_);
    closed_idle = warm && answer.body.empty() &&
                  (http_error == httplib::Error::Write ||
                   (http_error == httplib::Error::Read && latency < options_.read_timeout));
    return ClassifyTransportError(operation, httplib::to_string(http_error));
  }
  answer.status = http_response.status;
  answer.retry_after = http_response.get_header_value("Retry-After");
  return answer;
}

httplib::Client* HttpCloudClient::Borrow(SteadyTime& deadline, bool& warm) {
  httplib::Client* client = nullptr;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stopped_ || !free_.empty(); });
    if (stopped_) return nullptr;
    client = free_.back();
    free_.pop_back();
    const auto was_warm = std::find(warm_.begin(), warm_.end(), client);
    warm = was_warm != warm_.end();
    if (warm) warm_.erase(was_warm);
    // The wait for a free connection is not the server's doing: the deadline starts now.
    deadline = DeadlineAfter(clock_.Now(), total_timeout_);
    busy_.push_back(InFlight{client, DeadlineAfter(deadline, kWatchdogGrace)});
    ++borrowed_;
  }
  watch_cv_.notify_all();
  return client;
}

bool HttpCloudClient::Release(httplib::Client* client, bool answered) {
  bool expired = false;
  {
    std::unique_lock lock(mu_);
    const auto in_flight = [&] {
      return std::find_if(busy_.begin(), busy_.end(),
                          [&](const InFlight& f) { return f.client == client; });
    };
    // Never hand out a connection the watchdog is still stopping: the stop meant for this
    // request would hit the next one.
    cv_.wait(lock, [&] { return !in_flight()->aborting; });
    const auto it = in_flight();
    expired = it->expired;
    busy_.erase(it);
    free_.push_back(client);
    if (answered && !expired) warm_.push_back(client);
  }
  cv_.notify_all();
  return expired;
}

void HttpCloudClient::Watch() {
  // How often an expired request that is still running is stopped again: a stop() that
  // landed before httplib marked the request in flight only closed an idle socket.
  constexpr std::chrono::milliseconds kRetry{50};
  // Longest wait, so a deadline too far off for the condition variable's arithmetic is
  // still reached.
  constexpr std::chrono::milliseconds kMaxWait{60000};
  std::unique_lock lock(mu_);
  while (!closing_) {
    const SteadyTime now = clock_.Now();
    httplib::Client* due = nullptr;
    std::optional<SteadyTime> next;
    for (InFlight& f : busy_) {
      if (f.abort_at <= now) {
        due = f.client;
        f.expired = true;
        f.aborting = true;
        f.abort_at = DeadlineAfter(now, kRetry);  // again then, if it is still running
        break;
      }
      if (!next.has_value() || f.abort_at < *next) next = f.abort_at;
    }
    if (due != nullptr) {
      // Not under mu_: stop() waits for a connect in progress on that connection.
      lock.unlock();
      due->stop();
      lock.lock();
      for (InFlight& f : busy_) {
        if (f.client == due) f.aborting = false;
      }
      cv_.notify_all();
      continue;
    }
    // On the injected clock: a test's FakeClock expires a request by advancing time.
    const SteadyTime wake_at =
        next.has_value() ? std::min(*next, DeadlineAfter(now, kMaxWait)) : kNoDeadline;
    const std::uint64_t seen = borrowed_;
    clock_.WaitUntil(watch_cv_, lock, std::stop_token(), wake_at,
                     [&] { return closing_ || borrowed_ != seen; });
  }
}

void HttpCloudClient::Stop() {
  std::unique_lock lock(mu_);
  stopped_ = true;
  cv_.notify_all();
  // httplib's stop() aborts a request only once its socket is up; a request that was still
  // connecting is caught by the next round. Calls to stop() happen without mu_ held because
  // they can wait for a connect in progress. The rounds are paced in real time, not on the
  // injected clock: they wait for the sockets, not for a deadline of the controller's.
  while (!busy_.empty()) {
    std::vector<httplib::Client*> busy;
    for (const InFlight& f : busy_) busy.push_back(f.client);
    lock.unlock();
    for (httplib::Client* client : busy) client->stop();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return busy_.empty(); });
  }
  // Close the idle kept-alive connections too.
  for (httplib::Client* client : free_) client->stop();
}

}  // namespace mactl
