#include "controller/auth/iam_token_authenticator.h"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>
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

std::string BuildIamPasswordRequestBody(const IamPasswordOptions& options) {
  nlohmann::json project;
  if (!options.project_id.empty()) {
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

Result<IssuedToken> HttpIamTokenIssuer::Issue() {
  const std::vector<std::string> secrets = {options_.password};
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

  std::string body;
  try {
    body = BuildIamPasswordRequestBody(options_);
  } catch (const nlohmann::json::exception&) {
    // dump() refuses invalid UTF-8; the text would reveal part of the password.
    return MakeError(ErrorClass::kTerminal, "Config",
                     "the IAM user name, password, domain or project is not valid UTF-8");
  }
  const SteadyTime start = clock_.Now();
  // nocatalog: the service catalog is large and unused here.
  const httplib::Result res =
      client.Post(tokens_path_ + "?nocatalog=true", body, "application/json;charset=utf8");
  const auto latency = std::chrono::duration<double>(clock_.Now() - start);
  if (observer_ != nullptr) {
    observer_->OnApiCall(api_operation::kAuth, res ? res->status : 0, latency);
  }
  if (!res) {
    Error e = ClassifyTransportError(api_operation::kAuth, httplib::to_string(res.error()));
    e.message =
        "IAM token request to " + SanitizeForLog(options_.auth_url, 200) + " failed: " + e.message;
    return e;
  }
  const int status = res->status;
  if (status == 201 || status == 200) {
    const std::string token = res->get_header_value(kSubjectTokenHeader);
    if (token.empty()) return DecodeError("IAM answered without an X-Subject-Token header");
    const nlohmann::json parsed =
        nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
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

  // IAM's error bodies are {"error": {"code": ..., "message": ...}} or {"error_msg": ...}.
  std::string detail;
  const nlohmann::json parsed = nlohmann::json::parse(res->body, nullptr, false);
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
    e.retry_after = ParseRetryAfter(res->get_header_value("Retry-After"), clock_.WallNow());
  }
  return e;
}

IamTokenAuthenticator::IamTokenAuthenticator(IamTokenIssuer& issuer, const Clock& clock,
                                             Duration renew_before, Duration retry_interval)
    : issuer_(issuer),
      clock_(clock),
      renew_before_(renew_before),
      retry_interval_(retry_interval) {}

bool IamTokenAuthenticator::UsableLocked(SteadyTime now) const {
  return cached_.has_value() && !stale_ && now < cached_->expires;
}

Status IamTokenAuthenticator::Apply(OutgoingRequest& request) {
  std::unique_lock lock(mu_);
  while (true) {
    const SteadyTime now = clock_.Now();
    const bool usable = UsableLocked(now);
    if (usable && (now < cached_->renew_at || renewing_ || now < retry_after_)) {
      applied_by_thread_[std::this_thread::get_id()] = cached_->generation;
      std::erase_if(request.headers, [](const auto& h) { return h.first == kAuthHeader; });
      request.headers.emplace_back(kAuthHeader, cached_->token);
      return OkStatus();
    }
    if (!usable && renewing_) {
      // Share the running renewal instead of starting another (no thundering herd).
      const std::uint64_t attempt = attempts_;
      ++waiting_;
      renewed_.wait(lock, [&] { return attempts_ != attempt; });
      --waiting_;
      if (last_error_.has_value() && !UsableLocked(clock_.Now())) return *last_error_;
      continue;
    }

    // This caller renews; the lock is released while the issuer talks to IAM.
    renewing_ = true;
    lock.unlock();
    Result<IssuedToken> issued = MakeError(ErrorClass::kRetryable, "Auth.Renew", "not attempted");
    try {
      issued = issuer_.Issue();
    } catch (...) {
      // Never leave renewing_ set: every later caller would wait forever.
      lock.lock();
      renewing_ = false;
      ++attempts_;
      last_error_ = MakeError(ErrorClass::kRetryable, "Auth.Renew", "IAM token renewal failed");
      renewed_.notify_all();
      throw;
    }
    lock.lock();
    renewing_ = false;
    ++attempts_;
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
      fresh.generation = ++generations_;
      cached_ = std::move(fresh);
      stale_ = false;
      last_error_.reset();
      retry_after_ = SteadyTime{};
      failure_logged_ = false;
      if (lifetime <= Duration::zero()) {
        last_error_ = MakeError(ErrorClass::kRetryable, "Auth.Expired",
                                "IAM issued a token that has already expired (check the clock)");
      }
    } else {
      last_error_ = issued.error();
      if (UsableLocked(done)) {
        retry_after_ = done + retry_interval_;
        if (!failure_logged_) {
          failure_logged_ = true;
          log::Warn("IAM token renewal failed; using the current token until it expires",
                    {{"error", issued.error().ToString()}});
        }
      }
    }
    renewed_.notify_all();
    if (!UsableLocked(done)) return *last_error_;
    // Loop once more to attach the (new or still-valid) token.
  }
}

void IamTokenAuthenticator::OnUnauthorized() {
  std::lock_guard lock(mu_);
  if (!cached_.has_value()) return;
  const auto it = applied_by_thread_.find(std::this_thread::get_id());
  if (it == applied_by_thread_.end() || it->second == cached_->generation) stale_ = true;
}

int IamTokenAuthenticator::WaitingForRenewalForTest() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

}  // namespace mactl
