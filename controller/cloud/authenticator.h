#pragma once

// Adds credentials to an outgoing request: a static token (X-Auth-Token), an IAM
// token, or an AK/SK signature. Implementations never log or return secrets. Credentials
// are per project (README, "Credentials"): every request names the ModelArts project it is
// for, and an IAM token or an X-Project-Id header is chosen for that project.

#include <string>
#include <utility>
#include <vector>

#include "api/result.h"

namespace mactl {

// The parts of a request an authenticator may need to sign.
struct OutgoingRequest {
  std::string project_id;  // the ModelArts project in the path; "" for none
  std::string method;      // "GET", "POST"
  std::string host;        // host[:port] as sent in the Host header
  std::string path;        // absolute path, already percent-encoded, no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded key/value pairs, in sent order
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // added to by Apply
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Adds the credential headers. An error here (e.g. the IAM endpoint is down) is
  // returned to the caller like any other request error.
  virtual Status Apply(OutgoingRequest& request) = 0;
  // The API rejected `rejected` (as Apply left it) with a 401 or an invalid-token code: drop
  // the cached credential it carried, if still cached, so the next Apply for its project
  // renews it.
  virtual void OnUnauthorized(const OutgoingRequest& rejected) = 0;
  // Shutdown: aborts credential requests in flight (an IAM token request) and makes later
  // Apply calls fail fast with the retryable "Shutdown" error. Idempotent. Nothing to do
  // for credentials that need no request.
  virtual void Cancel() {}
  // "token", "token-file", "iam-password", "aksk": for the start-up log line.
  virtual std::string Describe() const = 0;
};

}  // namespace mactl
