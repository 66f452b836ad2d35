#pragma once

// Credential checking for the simulator's /v1 API and its IAM token endpoint. The one
// place requests are authenticated. Three methods, each optional, any of which may accept
// a request: a fixed token (--token), tokens issued by POST /v3/auth/tokens for configured
// IAM users, and AK/SK signatures ("SDK-HMAC-SHA256", checked by sim/aksk_verifier.h).
// With none configured every request is allowed.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/base/random.h"

namespace httplib {
struct Request;
}  // namespace httplib

namespace mactl::sim {

// The gateway's tolerance for X-Sdk-Date against its own clock.
inline constexpr std::chrono::minutes kMaxSdkDateSkew{15};

struct IamUser {
  std::string name;
  std::string password;  // secret
  std::string domain;
};

struct AccessKeyPair {
  std::string access_key;
  std::string secret_key;  // secret
};

struct SimAuthConfig {
  std::optional<std::string> token;  // --token / --token-file
  std::vector<IamUser> iam_users;    // --iam-user / --iam-users-file
  Duration iam_token_ttl = std::chrono::hours(24);
  std::vector<AccessKeyPair> access_keys;  // --aksk / --aksk-file
};

struct AuthDecision {
  bool allowed = true;
  int http_status = 200;   // 401 when refused, 403 for a token of another project
  std::string error_code;  // ModelArts.0201 (missing), 0202 (expired), 0203 (invalid), APIGW.0301
  std::string message;     // never contains a token, signature, access key or secret
};

// A project a token can be scoped to.
struct ProjectRef {
  std::string id;
  std::string name;
};

// Finds a project by id (when `id` is non-empty) or else by name; nullopt when unknown.
using ProjectResolver =
    std::function<std::optional<ProjectRef>(std::string_view id, std::string_view name)>;

// The answer to POST /v3/auth/tokens.
struct IamAnswer {
  int http_status = 201;
  std::string subject_token;  // X-Subject-Token; empty unless 201
  std::string body;           // JSON
};

// Thread-safe.
class SimAuth {
 public:
  // Only the fixed token (nullopt: nothing configured, every request is allowed).
  explicit SimAuth(std::optional<std::string> token);
  // `clock` and `random` must outlive this object; `random` makes the issued tokens.
  SimAuth(SimAuthConfig config, const Clock& clock, RandomSource& random);

  SimAuth(const SimAuth&) = delete;
  SimAuth& operator=(const SimAuth&) = delete;

  bool enabled() const;
  bool iam_enabled() const { return !config_.iam_users.empty(); }
  bool aksk_enabled() const { return !config_.access_keys.empty(); }
  // Secret-free, e.g. "token, iam (2 users), aksk (1 key)" or "none".
  std::string Describe() const;

  // Checks a /v1 request. `project_id` is the project in the URL: an IAM token scoped to
  // another project is refused with 403 ModelArts.0210. Empty skips that check.
  AuthDecision Authenticate(const httplib::Request& req, std::string_view project_id = {}) const;

  // Serves POST /v3/auth/tokens (password identity, project scope).
  IamAnswer IssueIamToken(const httplib::Request& req, const ProjectResolver& projects);

  // Tokens issued so far.
  int IssuedTokenCount() const;

 private:
  struct IssuedToken {
    std::string project_id;
    WallTime expires_at;
  };

  AuthDecision CheckSignature(const httplib::Request& req) const;
  std::string NewToken();

  const SimAuthConfig config_;
  const Clock* const clock_;    // null only with the token-only constructor
  RandomSource* const random_;  // likewise
  mutable std::mutex mu_;
  std::map<std::string, IssuedToken> issued_;  // guarded by mu_; by token
  int issued_count_ = 0;                       // guarded by mu_
};

// "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", IAM's expires_at / issued_at format.
std::string FormatIamTime(WallTime t);

// Parses one "NAME:PASSWORD:DOMAIN": name up to the first ':', domain after the last, so
// the password may contain ':'. None may be empty. The error never contains the password.
Result<IamUser> ParseIamUser(std::string_view text);
// Parses one "AK:SK". The error never contains the secret key.
Result<AccessKeyPair> ParseAccessKeyPair(std::string_view text);

}  // namespace mactl::sim
