#include "controller/cloud/http_cloud_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stop_token>
#include <system_error>

#include "api/duration.h"
#include "controller/base/sanitize.h"
#include "controller/cloud/api_errors.h"

namespace mactl {
namespace {

constexpr std::size_t kMaxBodyExcerptBytes = 200;

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

Error InvalidArgument(std::string_view operation, const std::string& why) {
  return MakeError(ErrorClass::kTerminal, "InvalidArgument",
                   std::string(operation) + " request not sent: " + why);
}

bool IsUnreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
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

// Turns a raw answer into the typed value or the classified Error.
template <typename T>
Result<T> Interpret(std::string_view operation, int status, const std::string& body,
                    const std::string& retry_after, const std::vector<std::string>& secrets,
                    WallTime now, Decoded<T> (*decode)(std::string_view)) {
  if (status < 200 || status > 299) {
    return ClassifyHttpError(operation, status, DecodeErrorBody(body), retry_after, now, secrets);
  }
  Decoded<T> decoded = decode(body);
  if (decoded.value.has_value()) return std::move(*decoded.value);
  if (decoded.api_error.has_value()) {
    // is_success:false on a 2xx: the code decides.
    return ClassifyHttpError(operation, status, decoded.api_error, retry_after, now, secrets);
  }
  Error error = MakeError(
      ErrorClass::kRetryable, "MalformedResponse",
      std::string(operation) + " answer (HTTP " + std::to_string(status) +
          ") could not be decoded: " + SanitizeForLog(decoded.decode_error, 256, secrets) +
          "; body: " + SanitizeForLog(body, kMaxBodyExcerptBytes, secrets),
      status);
  return error;
}

}  // namespace

std::chrono::milliseconds EffectiveTotalTimeout(const HttpCloudClientOptions& options) {
  if (options.total_timeout.has_value()) return *options.total_timeout;
  return SaturatingAdd(options.connect_timeout,
                       SaturatingAdd(options.read_timeout, options.read_timeout));
}

std::string HttpEndpoint::HostHeader() const {
  const int default_port = scheme == "https" ? 443 : 80;
  return port == default_port ? host : host + ":" + std::to_string(port);
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

namespace {

// The endpoint as error messages may show it: the URL is configuration, but user info in it
// may hold a password, so that part is never quoted.
std::string QuotedEndpoint(std::string_view url) {
  std::string shown(url);
  const std::size_t authority_start = shown.find("://");
  if (authority_start != std::string::npos) {
    const std::size_t authority_end = shown.find_first_of("/?#", authority_start + 3);
    const std::size_t at = shown.rfind('@', authority_end);
    if (at != std::string::npos && at > authority_start) {
      shown.replace(authority_start + 3, at - authority_start - 3, kRedacted);
    }
  }
  return "\"" + SanitizeForLog(shown, 200) + "\"";
}

// "[v6]" or "[v6]:port" into endpoint.host and port_text.
Status ParseIpv6Authority(std::string_view authority, const std::string& quoted,
                          HttpEndpoint& endpoint, std::string_view& port_text) {
  const std::size_t close = authority.find(']');
  if (close == std::string_view::npos || close == 1) {
    return ConfigError("endpoint " + quoted + ": bad IPv6 address");
  }
  const std::string_view address = authority.substr(1, close - 1);
  if (!std::all_of(address.begin(), address.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
      })) {
    return ConfigError("endpoint " + quoted + ": bad IPv6 address");
  }
  endpoint.host = std::string(authority.substr(0, close + 1));
  std::string_view after = authority.substr(close + 1);
  if (!after.empty()) {
    if (after.front() != ':') return ConfigError("endpoint " + quoted + ": bad host");
    port_text = after.substr(1);
    if (port_text.empty()) return ConfigError("endpoint " + quoted + ": empty port");
  }
  return OkStatus();
}

// "host" or "host:port" (or an IPv6 form) into endpoint.host and endpoint.port.
Status ParseAuthority(std::string_view authority, const std::string& quoted,
                      HttpEndpoint& endpoint) {
  if (authority.find('@') != std::string_view::npos) {
    return ConfigError("endpoint " + quoted + " must not contain user information");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    if (Status ok = ParseIpv6Authority(authority, quoted, endpoint, port_text); !ok) return ok;
  } else {
    const std::size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar) || host.front() == '.' ||
        host.front() == '-') {
      return ConfigError("endpoint " + quoted + ": missing or invalid host");
    }
    endpoint.host = std::string(host);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return ConfigError("endpoint " + quoted + ": empty port");
    }
  }
  if (port_text.empty()) {
    endpoint.port = endpoint.scheme == "https" ? 443 : 80;
    return OkStatus();
  }
  int port = 0;
  const auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return ConfigError("endpoint " + quoted + ": port must be 1-65535");
  }
  endpoint.port = port;
  return OkStatus();
}

}  // namespace

Result<HttpEndpoint> ParseHttpEndpoint(std::string_view url) {
  const std::string quoted = QuotedEndpoint(url);
  HttpEndpoint endpoint;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return ConfigError("endpoint " + quoted + " must start with https:// or http://");
  }
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return ConfigError("endpoint " + quoted + ": scheme must be https or http");
  }
  endpoint.scheme = scheme;
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return ConfigError("endpoint " + quoted + " must not have a query or fragment");
  }
  const std::size_t slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (Status ok = ParseAuthority(rest.substr(0, slash), quoted, endpoint); !ok) return ok.error();
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (const char c : path) {
    // Already-encoded paths are accepted as written; anything else must be unreserved.
    if (!IsUnreserved(c) && c != '/' && c != '%') {
      return ConfigError("endpoint " + quoted + ": base path has a character that needs encoding");
    }
  }
  endpoint.base_path = std::string(path);
  return endpoint;
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

std::string HttpCloudClient::ProjectPath(const std::string& project_id) const {
  return endpoint_.base_path + "/v1/" + PercentEncode(project_id) + "/training-jobs";
}

Result<JobListPage> HttpCloudClient::ListJobs(const std::string& project_id, int page,
                                              int per_page) {
  const std::string_view op = api_operation::kList;
  if (project_id.empty()) return InvalidArgument(op, "empty project id");
  if (page < 1 || per_page < 1 || per_page > kMaxPerPage) {
    return InvalidArgument(op, "page must be >= 1 and per_page in [1, 1000]");
  }
  Result<RawAnswer> answer =
      Exchange(op, "GET", project_id, ProjectPath(project_id),
               {{"per_page", std::to_string(per_page)}, {"page", std::to_string(page)}});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  return Interpret<JobListPage>(op, a.status, a.body, a.retry_after, a.secrets, clock_.WallNow(),
                                DecodeJobListPage);
}

Result<VersionDetail> HttpCloudClient::GetVersion(const VersionRef& ref) {
  const std::string_view op = api_operation::kGetVersion;
  if (ref.project_id.empty()) return InvalidArgument(op, "empty project id");
  Result<RawAnswer> answer =
      Exchange(op, "GET", ref.project_id,
               ProjectPath(ref.project_id) + "/" + std::to_string(ref.job_id) + "/versions/" +
                   std::to_string(ref.version_id),
               {});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  Result<VersionDetail> detail = Interpret<VersionDetail>(
      op, a.status, a.body, a.retry_after, a.secrets, clock_.WallNow(), DecodeVersionDetail);
  // A proxy or cache answering for another object must not have that object's status taken
  // for this one (a stop decided on it would hit the wrong version).
  if (detail.ok() && (detail->job_id != ref.job_id || detail->version_id != ref.version_id)) {
    return MakeError(ErrorClass::kRetryable, "MalformedResponse",
                     std::string(op) + " answer is for job " + std::to_string(detail->job_id) +
                         " version " + std::to_string(detail->version_id) + ", not job " +
                         std::to_string(ref.job_id) + " version " + std::to_string(ref.version_id),
                     a.status);
  }
  return detail;
}

Result<VersionListPage> HttpCloudClient::ListVersions(const std::string& project_id,
                                                      std::int64_t job_id, int page, int per_page) {
  const std::string_view op = api_operation::kListVersions;
  if (project_id.empty()) return InvalidArgument(op, "empty project id");
  // page 0 means "no paging" to the API; this client always pages.
  if (page < 1 || per_page < 1 || per_page > kMaxPerPage) {
    return InvalidArgument(op, "page must be >= 1 and per_page in [1, 1000]");
  }
  Result<RawAnswer> answer = Exchange(
      op, "GET", project_id, ProjectPath(project_id) + "/" + std::to_string(job_id) + "/versions",
      {{"per_page", std::to_string(per_page)}, {"page", std::to_string(page)}});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  return Interpret<VersionListPage>(op, a.status, a.body, a.retry_after, a.secrets,
                                    clock_.WallNow(), DecodeVersionListPage);
}

Status HttpCloudClient::StopVersion(const VersionRef& ref) {
  const std::string_view op = api_operation::kStop;
  if (ref.project_id.empty()) return InvalidArgument(op, "empty project id");
  Result<RawAnswer> answer =
      Exchange(op, "POST", ref.project_id,
               ProjectPath(ref.project_id) + "/" + std::to_string(ref.job_id) + "/versions/" +
                   std::to_string(ref.version_id) + "/stop",
               {});
  if (!answer.ok()) return answer.error();
  const RawAnswer& a = answer.value();
  Result<bool> stopped = Interpret<bool>(op, a.status, a.body, a.retry_after, a.secrets,
                                         clock_.WallNow(), DecodeStopResponse);
  if (!stopped.ok()) return stopped.error();
  return OkStatus();
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
  Result<RawAnswer> answer = SendOnce(operation, method, project_id, path, query, body);
  if (answer.ok() && RejectsCredential(answer.value().status, answer.value().body)) {
    // The credential may just have expired or rotated: renew it and try exactly once more.
    // A 401, or a 403/2xx naming an invalid token (api_errors.h), all mean that.
    auth_.OnUnauthorized(answer.value().sent);
    std::vector<std::string> earlier_secrets = std::move(answer.value().secrets);
    answer = SendOnce(operation, method, project_id, path, query, body);
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

Result<HttpCloudClient::RawAnswer> HttpCloudClient::SendOnce(
    std::string_view operation, const std::string& method, const std::string& project_id,
    const std::string& path, const Query& query, const std::string& body) {
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

  httplib::Client* client = Borrow(receiving.deadline);
  if (client == nullptr) return ShutdownError(operation);
  struct ReleaseOnExit {
    HttpCloudClient& owner;
    httplib::Client* client;
    bool& expired;
    ~ReleaseOnExit() { expired = owner.Release(client); }
  };
  httplib::Response http_response;
  httplib::Error http_error = httplib::Error::Success;
  const SteadyTime start = clock_.Now();
  bool sent = false;
  bool expired = false;  // the watchdog aborted the request
  {
    const ReleaseOnExit release{*this, client, expired};
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
    return ClassifyTransportError(operation, httplib::to_string(http_error));
  }
  answer.status = http_response.status;
  answer.retry_after = http_response.get_header_value("Retry-After");
  return answer;
}

httplib::Client* HttpCloudClient::Borrow(SteadyTime& deadline) {
  httplib::Client* client = nullptr;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stopped_ || !free_.empty(); });
    if (stopped_) return nullptr;
    client = free_.back();
    free_.pop_back();
    // The wait for a free connection is not the server's doing: the deadline starts now.
    deadline = DeadlineAfter(clock_.Now(), total_timeout_);
    busy_.push_back(InFlight{client, DeadlineAfter(deadline, kWatchdogGrace)});
    ++borrowed_;
  }
  watch_cv_.notify_all();
  return client;
}

bool HttpCloudClient::Release(httplib::Client* client) {
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
