#include "controller/auth/iam_token_authenticator.h"

#include <httplib.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <thread>
#include <utility>

#include "controller/base/log.h"
#include "controller/base/sanitize.h"
#include "controller/cloud/api_errors.h"

namespace mactl {
namespace {

constexpr char kAuthHeader[] = "X-Auth-Token";
constexpr char kSubjectTokenHeader[] = "X-Subject-Token";

bool ParseFixed(std::string_view s, std::size_t pos, std::size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

Error DecodeError(std::string message) {
  return MakeError(ErrorClass::kRetryable, "Decode", std::move(message), 201);
}

// Splits "https://host[:port]/prefix" into "https://host[:port]" and "/prefix".
bool SplitUrl(std::string_view url, std::string* scheme_host_port, std::string* path) {
  std::size_t scheme_end = 0;
  if (url.starts_with("https://")) {
    scheme_end = 8;
  } else if (url.starts_with("http://")) {
    scheme_end = 7;
  } else {
    return false;
  }
  const std::size_t slash = url.find('/', scheme_end);
  const std::string_view authority = url.substr(
      scheme_end, slash == std::string_view::npos ? std::string_view::npos : slash - scheme_end);
  if (authority.empty() || authority.find_first_of("?#@ ") != std::string_view::npos) return false;
  *scheme_host_port = std::string(url.substr(0, scheme_end)) + std::string(authority);
  std::string rest =
      slash == std::string_view::npos ? std::string() : std::string(url.substr(slash));
  if (rest.find_first_of("?#") != std::string::npos) return false;
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  *path = rest;
  return true;
}

}  // namespace

std::chrono::milliseconds EffectiveIamTotalTimeout(const IamPasswordOptions& options) {
  if (options.total_timeout.has_value()) return *options.total_timeout;
  const auto max = std::chrono::milliseconds::max();
  std::chrono::milliseconds total = options.connect_timeout;
  for (int i = 0; i < 2; ++i) {
    total = options.read_timeout > max - total ? max : total + options.read_timeout;
  }
  return total;
}

std::string BuildIamPasswordRequestBody(const IamPasswordOptions& options,
                                        const std::string& project_id) {
  nlohmann::json project;
  if (!project_id.empty()) {
    project["id"] = project_id;
  } else if (!options.project_id.empty()) {
    project["id"] = options.project_id;
  } else {
    project["name"] = options.project_name;
  }
  const nlohmann::json body = {{"auth",
                                {{"identity",
                                  {{"methods", {"password"}},
                                   {"password",
                                    {{"user",
                                      {{"name", options.user_name},
                                       {"password", options.password},
                                       {"domain", {{"name", options.domain_name}}}}}}}}},
                                 {"scope", {{"project", project}}}}}};
  return body.dump();
}

Result<WallTime> ParseIamExpiresAt(std::string_view text) {
  const auto bad = [&text] {
    return MakeError(
        ErrorClass::kRetryable, "Decode",
        "token.expires_at is not an ISO 8601 time: \"" + SanitizeForLog(text, 64) + "\"");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      !ParseFixed(text, 0, 4, &y) || !ParseFixed(text, 5, 2, &mo) || !ParseFixed(text, 8, 2, &d) ||
      !ParseFixed(text, 11, 2, &h) || !ParseFixed(text, 14, 2, &mi) ||
      !ParseFixed(text, 17, 2, &s)) {
    return bad();
  }
  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::int64_t scale = 100'000'000;
    const std::size_t digits_start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == digits_start) return bad();
  }
  std::chrono::minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    int oh = 0, om = 0;
    if (!ParseFixed(text, pos + 1, 2, &oh)) return bad();
    std::size_t minutes_at = pos + 3;
    if (minutes_at < text.size() && text[minutes_at] == ':') ++minutes_at;
    if (!ParseFixed(text, minutes_at, 2, &om) || oh > 23 || om > 59) return bad();
    offset = std::chrono::minutes(sign * (oh * 60 + om));
    pos = minutes_at + 2;
  } else {
    return bad();  // without a zone the instant is ambiguous
  }
  if (pos != text.size()) return bad();
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return bad();
  const auto local = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                     std::chrono::seconds(s) + fraction;
  return std::chrono::time_point_cast<WallTime::duration>(local - offset);
}

Result<std::unique_ptr<HttpIamTokenIssuer>> HttpIamTokenIssuer::Create(IamPasswordOptions options,
                                                                       const Clock& clock,
                                                                       ApiCallObserver* observer) {
  std::string scheme_host_port, prefix;
  if (!SplitUrl(options.auth_url, &scheme_host_port, &prefix)) {
    return MakeError(ErrorClass::kTerminal, "Config",
                     "IAM auth URL \"" + SanitizeForLog(options.auth_url, 200) +
                         "\" is not an http(s) URL such as https://iam.eu-de.otc.t-systems.com/v3");
  }
  std::vector<std::string> missing;
  if (options.user_name.empty()) missing.emplace_back("user name");
  if (options.password.empty()) missing.emplace_back("password");
  if (options.domain_name.empty()) missing.emplace_back("domain name");
  if (options.project_id.empty() && options.project_name.empty()) {
    missing.emplace_back("project id or name");
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return MakeError(ErrorClass::kTerminal, "Config", "IAM password authentication needs: " + list);
  }
  return std::unique_ptr<HttpIamTokenIssuer>(new HttpIamTokenIssuer(
      std::move(options), std::move(scheme_host_port), prefix + "/auth/tokens", clock, observer));
}

HttpIamTokenIssuer::HttpIamTokenIssuer(IamPasswordOptions options, std::string scheme_host_port,
                                       std::string tokens_path, const Clock& clock,
                                       ApiCallObserver* observer)
    : options_(std::move(options)),
      scheme_host_port_(std::move(scheme_host_port)),
      tokens_path_(std::move(tokens_path)),
      clock_(clock),
      observer_(observer) {}

namespace {

// A 200/201 answer: the token is in X-Subject-Token, its expiry in the body.
template <typename Answer>
Result<IssuedToken> ReadIssuedToken(const Answer& answer) {
  const std::string& token = answer.subject_token;
  if (token.empty()) return DecodeError("IAM answered without an X-Subject-Token header");
  const nlohmann::json parsed =
      nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return DecodeError("IAM token response body is not JSON");
  }
  const auto tok = parsed.find("token");
  if (tok == parsed.end() || !tok->is_object()) {
    return DecodeError("IAM token response has no \"token\" object");
  }
  const auto expires = tok->find("expires_at");
  if (expires == tok->end() || !expires->is_string()) {
    return DecodeError("IAM token response has no token.expires_at");
  }
  Result<WallTime> expires_at = ParseIamExpiresAt(expires->get<std::string>());
  if (!expires_at.ok()) return expires_at.error();
  return IssuedToken{token, *expires_at};
}

Error IamShutdownError() {
  return MakeError(ErrorClass::kRetryable, "Shutdown",
                   "IAM token request not completed: shutting down");
}

}  // namespace

// The receiving thread checks the deadline whenever part of the answer arrives; a watchdog
// thread waiting on the clock stops a request still running kWatchdogGrace past it (a
// trickled status line or headers give no callback), or at once on Cancel, and again every
// kWatchdogRetry while it runs (a stop() that lands before httplib marks the request in
// flight only closes an idle socket).
Result<HttpIamTokenIssuer::Answer> HttpIamTokenIssuer::Send(httplib::Client& client,
                                                            httplib::Request& request) {
  constexpr std::chrono::milliseconds kWatchdogGrace{1000};
  const std::chrono::milliseconds total = EffectiveIamTotalTimeout(options_);
  const std::size_t max_bytes = options_.max_response_bytes;
  const SteadyTime start = clock_.Now();
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(kNoDeadline - start);
  const SteadyTime deadline = total >= room - kWatchdogGrace ? kNoDeadline : start + total;
  Answer answer;
  bool past_deadline = false;
  bool too_large = false;
  const auto within_deadline = [&] {
    if (clock_.Now() < deadline) return true;
    past_deadline = true;
    return false;
  };
  request.progress = [&](std::uint64_t, std::uint64_t) { return within_deadline(); };
  request.response_handler = [&](const httplib::Response&) { return within_deadline(); };
  request.content_receiver = [&](const char* data, std::size_t length, std::uint64_t,
                                 std::uint64_t) {
    if (!within_deadline()) return false;
    if (answer.body.size() + length > max_bytes) {
      too_large = true;
      return false;
    }
    answer.body.append(data, length);
    return true;
  };

  bool done = false;     // guarded by mu_
  bool expired = false;  // guarded by mu_
  const SteadyTime abort_at = deadline == kNoDeadline ? kNoDeadline : deadline + kWatchdogGrace;
  std::jthread watchdog(
      [&](std::stop_token stop) { Watch(client, abort_at, done, expired, std::move(stop)); });
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client.send(request, response, error);
  bool cancelled = false;
  {
    std::lock_guard lock(mu_);
    done = true;
    cancelled = cancelled_;
  }
  changed_.notify_all();
  watchdog.request_stop();
  watchdog.join();

  if (cancelled && !sent) return IamShutdownError();
  if (too_large) {
    return MakeError(ErrorClass::kRetryable, "ResponseTooLarge",
                     std::string("IAM token answer was discarded: response too large (over ") +
                         std::to_string(max_bytes) + " bytes)",
                     response.status);
  }
  if (!sent) {
    if (past_deadline || expired) {
      return MakeError(ErrorClass::kRetryable, "Transport.Timeout",
                       "IAM token request failed: transport error Timeout (the whole answer took "
                       "longer than the " +
                           std::to_string(total.count()) + " ms request deadline)");
    }
    return ClassifyTransportError(api_operation::kAuth, httplib::to_string(error));
  }
  answer.status = response.status;
  answer.subject_token = response.get_header_value(kSubjectTokenHeader);
  answer.retry_after = response.get_header_value("Retry-After");
  return answer;
}

void HttpIamTokenIssuer::Watch(httplib::Client& client, SteadyTime abort_at, const bool& done,
                               bool& expired, std::stop_token stop) {
  constexpr std::chrono::milliseconds kWatchdogRetry{50};
  std::unique_lock lock(mu_);
  SteadyTime next = abort_at;
  while (!done && !stop.stop_requested()) {
    if (cancelled_) {
      lock.unlock();
      client.stop();
      lock.lock();
      // Retried in real time: after Cancel (shutdown) nothing may wait for the clock.
      changed_.wait_for(lock, kWatchdogRetry, [&] { return done; });
      continue;
    }
    if (clock_.WaitUntil(changed_, lock, stop, next, [&] { return done || cancelled_; })) continue;
    if (stop.stop_requested()) break;
    expired = true;
    lock.unlock();
    client.stop();
    lock.lock();
    next = clock_.Now() + kWatchdogRetry;
  }
}

void HttpIamTokenIssuer::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  changed_.notify_all();
}

Result<IssuedToken> HttpIamTokenIssuer::Issue(const std::string& project_id) {
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return IamShutdownError();
  }
  httplib::Client client(scheme_host_port_);
  if (!client.is_valid()) {
    return MakeError(ErrorClass::kTerminal, "Config",
                     "cannot create an HTTP client for " + SanitizeForLog(scheme_host_port_, 200));
  }
  const auto ms = [](std::chrono::milliseconds d, time_t* sec, time_t* usec) {
    *sec = static_cast<time_t>(d.count() / 1000);
    *usec = static_cast<time_t>((d.count() % 1000) * 1000);
  };
  time_t sec = 0, usec = 0;
  ms(options_.connect_timeout, &sec, &usec);
  client.set_connection_timeout(sec, usec);
  ms(options_.read_timeout, &sec, &usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  if (!options_.ca_file.empty()) client.set_ca_cert_path(options_.ca_file);
  if (options_.insecure_skip_tls_verify) client.enable_server_certificate_verification(false);

  httplib::Request request;
  try {
    request.body = BuildIamPasswordRequestBody(options_, project_id);
  } catch (const nlohmann::json::exception&) {
    // dump() refuses invalid UTF-8; the text would reveal part of the password.
    return MakeError(ErrorClass::kTerminal, "Config",
                     "the IAM user name, password, domain or project is not valid UTF-8");
  }
  request.method = "POST";
  // nocatalog: the service catalog is large and unused here.
  request.path = tokens_path_ + "?nocatalog=true";
  request.set_header("Content-Type", "application/json;charset=utf8");
  const SteadyTime start = clock_.Now();
  Result<Answer> res = Send(client, request);
  const auto latency = std::chrono::duration<double>(clock_.Now() - start);
  if (observer_ != nullptr) {
    observer_->OnApiCall(api_operation::kAuth, res.ok() ? res->status : 0, latency);
  }
  if (!res.ok()) {
    Error e = res.error();
    e.message =
        "IAM token request to " + SanitizeForLog(options_.auth_url, 200) + " failed: " + e.message;
    return e;
  }
  if (res->status == 201 || res->status == 200) return ReadIssuedToken(*res);
  return Refusal(*res);
}

Error HttpIamTokenIssuer::Refusal(const Answer& answer) const {
  const std::vector<std::string> secrets = {options_.password};
  const int status = answer.status;
  // IAM's error bodies are {"error": {"code": ..., "message": ...}} or {"error_msg": ...}.
  std::string detail;
  const nlohmann::json parsed = nlohmann::json::parse(answer.body, nullptr, false);
  if (parsed.is_object()) {
    if (const auto err = parsed.find("error"); err != parsed.end() && err->is_object() &&
                                               err->contains("message") &&
                                               (*err)["message"].is_string()) {
      detail = (*err)["message"].get<std::string>();
    } else if (const auto msg = parsed.find("error_msg"); msg != parsed.end() && msg->is_string()) {
      detail = msg->get<std::string>();
    }
  }
  detail = detail.empty() ? std::string() : ": " + SanitizeForLog(detail, 200, secrets);
  const std::string who = "user \"" + SanitizeForLog(options_.user_name, 100) + "\" in domain \"" +
                          SanitizeForLog(options_.domain_name, 100) + "\"";
  const std::string code = "IAM." + std::to_string(status);
  if (status == 401 || status == 403) {
    return MakeError(ErrorClass::kTerminal, code,
                     "IAM rejected the password credentials of " + who + " (HTTP " +
                         std::to_string(status) + ")" + detail +
                         "; check OS_USERNAME, OS_PASSWORD, OS_DOMAIN_NAME and the project",
                     status);
  }
  const bool retryable = status == 429 || status == 408 || status >= 500;
  Error e = MakeError(
      retryable ? ErrorClass::kRetryable : ErrorClass::kTerminal, code,
      "IAM token request for " + who + " failed with HTTP " + std::to_string(status) + detail,
      status);
  if (status == 429 || status == 503) {
    e.retry_after = ParseRetryAfter(answer.retry_after, clock_.WallNow());
  }
  return e;
}

IamTokenAuthenticator::IamTokenAuthenticator(IamTokenIssuer& issuer, const Clock& clock,
                                             Duration renew_before, Duration retry_interval,
                                             Duration max_wait)
    : issuer_(issuer),
      clock_(clock),
      renew_before_(renew_before),
      retry_interval_(retry_interval),
      max_wait_(max_wait) {}

bool IamTokenAuthenticator::Usable(const Scope& scope, SteadyTime now) {
  return scope.cached.has_value() && !scope.stale && now < scope.cached->expires;
}

Status IamTokenAuthenticator::Apply(OutgoingRequest& request) {
  std::unique_lock lock(mu_);
  Scope& scope = scopes_[request.project_id];
  while (true) {
    if (cancelled_) return IamShutdownError();
    const SteadyTime now = clock_.Now();
    const bool usable = Usable(scope, now);
    if (usable && (now < scope.cached->renew_at || scope.renewing || now < scope.retry_after)) {
      std::erase_if(request.headers, [](const auto& h) { return h.first == kAuthHeader; });
      request.headers.emplace_back(kAuthHeader, scope.cached->token);
      return OkStatus();
    }
    if (!usable && scope.renewing) {
      // Share the running renewal instead of starting another (no thundering herd), but
      // not for longer than a renewal may take: a renewer stuck on a trickling IAM
      // endpoint must not hold every worker, nor shutdown.
      const std::uint64_t attempt = scope.attempts;
      const SteadyTime give_up = max_wait_ >= kNoDeadline - now ? kNoDeadline : now + max_wait_;
      ++waiting_;
      const bool renewed = clock_.WaitUntil(
          renewed_, lock, {}, give_up, [&] { return scope.attempts != attempt || cancelled_; });
      --waiting_;
      if (cancelled_) return IamShutdownError();
      if (!renewed) {
        return MakeError(ErrorClass::kRetryable, "Auth.RenewalWait",
                         "gave up waiting for the IAM token renewal in progress for project \"" +
                             SanitizeForLog(request.project_id, 64) + "\"");
      }
      if (scope.last_error.has_value() && !Usable(scope, clock_.Now())) return *scope.last_error;
      continue;
    }
    RenewLocked(lock, request.project_id, scope);
    if (!Usable(scope, clock_.Now())) return *scope.last_error;
    // Loop once more to attach the (new or still-valid) token.
  }
}

void IamTokenAuthenticator::RenewLocked(std::unique_lock<std::mutex>& lock,
                                        const std::string& project, Scope& scope) {
  // This caller renews; the lock is released while the issuer talks to IAM.
  scope.renewing = true;
  lock.unlock();
  Result<IssuedToken> issued = MakeError(ErrorClass::kRetryable, "Auth.Renew", "not attempted");
  try {
    issued = issuer_.Issue(project);
  } catch (...) {
    // Never leave renewing set: every later caller would wait for nothing.
    lock.lock();
    scope.renewing = false;
    ++scope.attempts;
    scope.last_error = MakeError(ErrorClass::kRetryable, "Auth.Renew", "IAM token renewal failed");
    renewed_.notify_all();
    throw;
  }
  lock.lock();
  scope.renewing = false;
  ++scope.attempts;
  const SteadyTime done = clock_.Now();
  if (issued.ok()) {
    const auto lifetime =
        std::chrono::duration_cast<Duration>(issued->expires_at - clock_.WallNow());
    Cached fresh;
    fresh.token = std::move(issued.value().token);
    fresh.expires = done + lifetime;
    // A token that lives less than twice renew_before is renewed at half its life,
    // not on every call.
    fresh.renew_at =
        done + (lifetime > 2 * renew_before_ ? lifetime - renew_before_ : lifetime / 2);
    scope.cached = std::move(fresh);
    scope.stale = false;
    scope.last_error.reset();
    scope.retry_after = SteadyTime{};
    scope.failure_logged = false;
    if (lifetime <= Duration::zero()) {
      scope.last_error = MakeError(ErrorClass::kRetryable, "Auth.Expired",
                                   "IAM issued a token that has already expired (check the clock)");
    }
  } else {
    scope.last_error = issued.error();
    if (Usable(scope, done)) {
      scope.retry_after = done + retry_interval_;
      if (!scope.failure_logged) {
        scope.failure_logged = true;
        log::Warn("IAM token renewal failed; using the current token until it expires",
                  {{"project", SanitizeForLog(project, 64)}, {"error", issued.error().ToString()}});
      }
    }
  }
  renewed_.notify_all();
}

void IamTokenAuthenticator::OnUnauthorized(const OutgoingRequest& rejected) {
  std::lock_guard lock(mu_);
  const auto it = scopes_.find(rejected.project_id);
  if (it == scopes_.end() || !it->second.cached.has_value()) return;
  Scope& scope = it->second;
  const auto sent = std::find_if(rejected.headers.begin(), rejected.headers.end(),
                                 [](const auto& h) { return h.first == kAuthHeader; });
  if (sent == rejected.headers.end() || sent->second == scope.cached->token) scope.stale = true;
}

void IamTokenAuthenticator::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  renewed_.notify_all();
  issuer_.Cancel();
}

int IamTokenAuthenticator::WaitingForRenewalForTest() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

}  // namespace mactl
