#pragma once

// The HTTP transport a ModelArts client sends its requests through, as an interface: the
// request throttle, credentials (one retry after a 401), TLS, timeouts, the body cap and the
// per-request metrics all live behind it, once, for the v1 and the v2 client alike.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/result.h"

namespace mactl {

struct HttpRequest {
  std::string_view operation;  // the api_requests_total operation label
  std::string method;          // "GET", "POST"
  // Below the endpoint's base path, each segment percent-encoded: "/v2/p/training-jobs/…".
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in sent order
  std::string body;  // sent as application/json when not empty
  // The project the request acts on: credentials are per project (IAM token scope, AK/SK
  // X-Project-Id; README, "Several projects").
  std::string project_id;
};

// An exchange that produced an answer (any HTTP status).
struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string retry_after;           // the Retry-After header, if any
  std::vector<std::string> secrets;  // credential header values sent, to redact from errors
};

class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  // Errors are transport, size, shutdown or credential failures; HTTP error statuses come back
  // as answers. Thread-safe.
  virtual Result<HttpAnswer> Exchange(const HttpRequest& request) = 0;
};

}  // namespace mactl
