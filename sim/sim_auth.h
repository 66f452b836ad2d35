#pragma once

// Credential checking for the simulator's /v1 API. The one place requests are authenticated:
// IAM-issued tokens (/v3/auth/tokens) and AK/SK signatures plug in here later.

#include <optional>
#include <string>

#include "httplib.h"

namespace mactl::sim {

struct AuthDecision {
  bool allowed = true;
  int http_status = 200;   // 401 when refused
  std::string error_code;  // ModelArts.0201 (missing) / ModelArts.0203 (invalid)
  std::string message;     // never contains the expected or the presented token
};

class SimAuth {
 public:
  // nullopt: no credentials configured, every request is allowed.
  explicit SimAuth(std::optional<std::string> token) : token_(std::move(token)) {}

  bool enabled() const { return token_.has_value(); }
  AuthDecision Authenticate(const httplib::Request& req) const;

 private:
  const std::optional<std::string> token_;
};

}  // namespace mactl::sim
