#pragma once

// IAM password authentication: a project-scoped token from POST {auth_url}/auth/tokens,
// cached and renewed before it expires and after the API answers 401.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/cloud/api_call_observer.h"
#include "controller/cloud/authenticator.h"

namespace mactl {

struct IssuedToken {
  std::string token;
  WallTime expires_at;
};

// Obtains a fresh token. The HTTP exchange sits behind this interface so the cache
// logic is tested with a fake. Called by one thread at a time.
class IamTokenIssuer {
 public:
  virtual ~IamTokenIssuer() = default;
  virtual Result<IssuedToken> Issue() = 0;
};

struct IamPasswordOptions {
  std::string auth_url;  // IAM endpoint ending in /v3, e.g. https://iam.eu-de.otc.t-systems.com/v3
  std::string user_name;
  std::string password;  // secret: never logged, never in an error
  std::string domain_name;
  // Token scope: project_id wins when both are set.
  std::string project_id;
  std::string project_name;
  std::string ca_file;  // empty: system CAs
  bool insecure_skip_tls_verify = false;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
};

// The JSON body of the password flow (exposed for tests). Contains the password.
std::string BuildIamPasswordRequestBody(const IamPasswordOptions& options);

// Parses token.expires_at, ISO 8601 with optional fractional seconds and a "Z" or
// ±HH:MM / ±HHMM offset, e.g. "2026-11-29T17:00:00.000000Z".
Result<WallTime> ParseIamExpiresAt(std::string_view text);

// The real issuer (cpp-httplib). Each Issue() opens its own connection: renewals are
// rare, and a fresh client keeps no state between threads. Errors: transport failures,
// 429 and 5xx are retryable; 400/401/403/404 are terminal with a message naming the
// user and domain (never the password); a 201 without X-Subject-Token or with an
// unreadable expires_at is a retryable "Decode" error. Reports every attempt to
// `observer` (may be null) as operation "auth". `clock` and `observer` must outlive it.
class HttpIamTokenIssuer final : public IamTokenIssuer {
 public:
  // Fails when auth_url is not an http(s) URL or a required option is empty.
  static Result<std::unique_ptr<HttpIamTokenIssuer>> Create(IamPasswordOptions options,
                                                            const Clock& clock,
                                                            ApiCallObserver* observer);

  // IamTokenIssuer methods
  Result<IssuedToken> Issue() override;

 private:
  HttpIamTokenIssuer(IamPasswordOptions options, std::string scheme_host_port,
                     std::string tokens_path, const Clock& clock, ApiCallObserver* observer);

  const IamPasswordOptions options_;
  const std::string scheme_host_port_;  // "https://iam.example:443"
  const std::string tokens_path_;       // "/v3/auth/tokens"
  const Clock& clock_;
  ApiCallObserver* const observer_;
};

// Adds X-Auth-Token from a cached token. Renews it when there is none, when it is
// within `renew_before` of expiry (or past half its lifetime, for short-lived tokens),
// or after OnUnauthorized. Only one renewal runs at a time: callers without a usable
// token wait for it and share its result; callers holding a still-valid token keep using
// it meanwhile. When a renewal fails while the token is still valid, the old token stays
// in use, the failure is logged once, and renewal is retried after `retry_interval`.
// Thread-safe. `issuer` and `clock` must outlive this object.
class IamTokenAuthenticator final : public Authenticator {
 public:
  IamTokenAuthenticator(IamTokenIssuer& issuer, const Clock& clock,
                        Duration renew_before = std::chrono::hours(1),
                        Duration retry_interval = std::chrono::minutes(1));

  // Authenticator methods
  Status Apply(OutgoingRequest& request) override;
  // Marks the cached token stale, but only when it is the one this thread last applied
  // (the HTTP client calls Apply, sends, and reports 401 on the same thread): a 401 for a
  // token that has since been replaced must not throw away the fresh one.
  void OnUnauthorized() override;
  std::string Describe() const override { return "iam-password"; }

  // Number of callers blocked waiting for a renewal; lets tests synchronise without sleeping.
  int WaitingForRenewalForTest() const;

 private:
  struct Cached {
    std::string token;
    SteadyTime expires;
    SteadyTime renew_at;
    std::uint64_t generation = 0;
  };

  bool UsableLocked(SteadyTime now) const;

  IamTokenIssuer& issuer_;
  const Clock& clock_;
  const Duration renew_before_;
  const Duration retry_interval_;

  mutable std::mutex mu_;
  std::condition_variable renewed_;  // signalled after every renewal attempt
  std::optional<Cached> cached_;     // guarded by mu_
  bool stale_ = false;               // guarded by mu_; set by OnUnauthorized
  bool renewing_ = false;            // guarded by mu_
  std::uint64_t attempts_ = 0;       // guarded by mu_; completed renewal attempts
  std::uint64_t generations_ = 0;    // guarded by mu_; tokens issued so far
  std::optional<Error> last_error_;  // guarded by mu_; result of the latest attempt
  SteadyTime retry_after_{};         // guarded by mu_; no background renewal before this
  bool failure_logged_ = false;      // guarded by mu_
  int waiting_ = 0;                  // guarded by mu_
  // Generation of the token each thread applied last, for OnUnauthorized. Bounded by
  // the number of threads that send requests.
  std::unordered_map<std::thread::id, std::uint64_t> applied_by_thread_;  // guarded by mu_
};

}  // namespace mactl
