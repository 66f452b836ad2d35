#pragma once

// IAM password authentication: project-scoped tokens from POST {auth_url}/auth/tokens, one
// per ModelArts project, each cached and renewed before it expires and after the API
// rejects it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/cloud/api_call_observer.h"
#include "controller/cloud/authenticator.h"

namespace httplib {
class Client;
struct Request;
}  // namespace httplib

namespace mactl {

struct IssuedToken {
  std::string token;
  WallTime expires_at;
};

// Obtains a fresh token scoped to project_id ("" = the configured project). The HTTP
// exchange sits behind this interface so the cache logic is tested with a fake. Called by
// one thread at a time per project.
class IamTokenIssuer {
 public:
  virtual ~IamTokenIssuer() = default;
  virtual Result<IssuedToken> Issue(const std::string& project_id) = 0;
  // Shutdown: aborts the requests in flight and makes later ones fail fast. Idempotent.
  virtual void Cancel() {}
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
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  // Bound on the whole exchange, as for API calls (HttpCloudClientOptions::total_timeout):
  // a peer trickling its answer must not hold the renewal, and every worker waiting for it,
  // for as long as it likes. Unset: connect_timeout + 2 × read_timeout. Past it the request
  // fails with the retryable "Transport.Timeout".
  std::optional<std::chrono::milliseconds> total_timeout;
  // Largest answer read, as for API calls; a bigger one is the retryable "ResponseTooLarge".
  std::size_t max_response_bytes = std::size_t{16} << 20;
};

// options.total_timeout, or connect_timeout + 2 × read_timeout (saturating).
std::chrono::milliseconds EffectiveIamTotalTimeout(const IamPasswordOptions& options);

// The JSON body of the password flow (exposed for tests). Contains the password. Scoped to
// project_id when it is not empty, else to options.project_id or options.project_name.
std::string BuildIamPasswordRequestBody(const IamPasswordOptions& options,
                                        const std::string& project_id = "");

// Parses token.expires_at, ISO 8601 with optional fractional seconds and a "Z" or
// ±HH:MM / ±HHMM offset, e.g. "2026-11-29T17:00:00.000000Z".
Result<WallTime> ParseIamExpiresAt(std::string_view text);

// The real issuer (cpp-httplib). Each Issue() opens its own connection: renewals are
// rare, and a fresh client keeps no state between threads. Errors: transport failures,
// 429 and 5xx are retryable; 400/401/403/404 are terminal with a message naming the
// user and domain (never the password); a 201 without X-Subject-Token or with an
// unreadable expires_at is a retryable "Decode" error; an answer past the total deadline
// or over the size cap is a retryable error too. The deadline is checked with `clock`
// whenever part of the answer arrives, and a watchdog waiting on `clock` stops a request
// still running a second past it (the status line and headers give no callback). Reports
// every attempt to `observer` (may be null) as operation "auth". `clock` and `observer`
// must outlive it.
class HttpIamTokenIssuer final : public IamTokenIssuer {
 public:
  // Fails when auth_url is not an http(s) URL or a required option is empty.
  static Result<std::unique_ptr<HttpIamTokenIssuer>> Create(IamPasswordOptions options,
                                                            const Clock& clock,
                                                            ApiCallObserver* observer);

  // IamTokenIssuer methods
  Result<IssuedToken> Issue(const std::string& project_id) override;
  // An aborted or later request fails with the retryable "Shutdown" error.
  void Cancel() override;

 private:
  // One answer from IAM: what Issue() reads of it.
  struct Answer {
    int status = 0;
    std::string subject_token;  // X-Subject-Token
    std::string retry_after;
    std::string body;
  };
  // Sends the token request under the total deadline, the size cap and Cancel.
  Result<Answer> Send(httplib::Client& client, httplib::Request& request);
  // The watchdog of one request: stops it at abort_at (on clock_) or at once on Cancel, and
  // again while it runs, until `done` (guarded by mu_) or a stop request.
  void Watch(httplib::Client& client, SteadyTime abort_at, const bool& done, bool& expired,
             std::stop_token stop);
  // The error for an answer other than 200/201: names the user and domain, never the
  // password.
  Error Refusal(const Answer& answer) const;

  HttpIamTokenIssuer(IamPasswordOptions options, std::string scheme_host_port,
                     std::string tokens_path, const Clock& clock, ApiCallObserver* observer);

  const IamPasswordOptions options_;
  const std::string scheme_host_port_;  // "https://iam.example:443"
  const std::string tokens_path_;       // "/v3/auth/tokens"
  const Clock& clock_;
  ApiCallObserver* const observer_;

  std::mutex mu_;
  // Signalled when a request ends and on Cancel; each request's watchdog waits on it.
  std::condition_variable_any changed_;
  bool cancelled_ = false;  // guarded by mu_
};

// Adds X-Auth-Token from the cached token of the request's project (request.project_id;
// "" is the configured project), each project's token cached and renewed on its own.
// Renews a project's token when there is none, when it is within `renew_before` of expiry
// (or past half its lifetime, for short-lived tokens), or after OnUnauthorized. Only one
// renewal per project runs at a time: callers without a usable token wait for it, at most
// `max_wait` (measured with `clock`; then a retryable "Auth.RenewalWait" error), and share
// its result; callers holding a still-valid token keep using it meanwhile. When a renewal
// fails while the token is still valid, the old token stays in use, the failure is logged
// once, and renewal is retried after `retry_interval`. Thread-safe. `issuer` and `clock`
// must outlive this object. Projects are never forgotten: they are the few named by the
// manifests.
class IamTokenAuthenticator final : public Authenticator {
 public:
  IamTokenAuthenticator(IamTokenIssuer& issuer, const Clock& clock,
                        Duration renew_before = std::chrono::hours(1),
                        Duration retry_interval = std::chrono::minutes(1),
                        Duration max_wait = std::chrono::seconds(70));

  // Authenticator methods
  Status Apply(OutgoingRequest& request) override;
  // Marks the project's cached token stale, but only when it is the token `rejected`
  // carried: a rejection of a token that has since been replaced must not throw away the
  // fresh one.
  void OnUnauthorized(const OutgoingRequest& rejected) override;
  // Releases the callers waiting for a renewal, aborts the issuer's requests; later calls
  // fail with the retryable "Shutdown" error.
  void Cancel() override;
  std::string Describe() const override { return "iam-password"; }

  // Number of callers blocked waiting for a renewal; lets tests synchronise without sleeping.
  int WaitingForRenewalForTest() const;

 private:
  struct Cached {
    std::string token;
    SteadyTime expires;
    SteadyTime renew_at;
  };
  // One project's token and renewal state.
  struct Scope {
    std::optional<Cached> cached;
    bool stale = false;               // set by OnUnauthorized
    bool renewing = false;            // a caller is talking to IAM for this project
    std::uint64_t attempts = 0;       // completed renewal attempts
    std::optional<Error> last_error;  // result of the latest attempt
    SteadyTime retry_after{};         // no background renewal before this
    bool failure_logged = false;
  };

  static bool Usable(const Scope& scope, SteadyTime now);
  // Talks to IAM with mu_ released; records the outcome in `scope`.
  void RenewLocked(std::unique_lock<std::mutex>& lock, const std::string& project, Scope& scope);

  IamTokenIssuer& issuer_;
  const Clock& clock_;
  const Duration renew_before_;
  const Duration retry_interval_;
  const Duration max_wait_;

  mutable std::mutex mu_;
  std::condition_variable_any renewed_;  // signalled after every renewal attempt
  // By project id; std::map so a Scope stays put while mu_ is released.
  std::map<std::string, Scope> scopes_;  // guarded by mu_
  int waiting_ = 0;                      // guarded by mu_
  bool cancelled_ = false;               // guarded by mu_
};

}  // namespace mactl
