#pragma once

// Adds credentials to an outgoing request: a static token (X-Auth-Token), an IAM
// token, or an AK/SK signature. Implementations never log or return secrets.

#include <string>
#include <utility>
#include <vector>

#include "api/result.h"

namespace mactl {

// The parts of a request an authenticator may need to sign.
struct OutgoingRequest {
  std::string method;  // "GET", "POST"
  std::string host;    // host[:port] as sent in the Host header
  std::string path;    // absolute path, already percent-encoded, no query
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
  // The API answered 401: drop any cached credential so the next Apply renews it.
  virtual void OnUnauthorized() = 0;
  // "token", "token-file", "iam-password", "aksk": for the start-up log line.
  virtual std::string Describe() const = 0;
};

}  // namespace mactl
