#pragma once

// Maps ModelArts answers and transport failures onto mactl::Error, keyed on both the HTTP
// status and the API's error code (the ModelArts table re-uses codes across statuses;
// see docs/modelarts-api.md, "HTTP status and error codes").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/cloud/modelarts_types.h"

namespace mactl {

// Longest Retry-After honoured: a larger value is clamped (a misbehaving gateway must not
// park an object for days, and the arithmetic must not overflow).
inline constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(1);

// Longest piece of the API's error text copied into Error::message.
inline constexpr std::size_t kMaxErrorTextBytes = 256;

// The class for an (HTTP status, API error code) pair; code may be empty.
//   retryable:      429 (any code), 5xx, 408, 409 ModelArts.2878, 400 ModelArts.4991
//   reauthenticate: 401 (any code); 403 with an invalid-token code (ModelArts.0203,
//                   ModelArts.2784, APIGW.0301/0307 or APIG.0301/0307)
//   not_allowed:    409 ModelArts.2796
//   terminal:       every other 4xx (400 ModelArts.2775, 403, 404, ...), 1xx and 3xx
// A 2xx status only reaches this with is_success:false; the code alone decides then:
// throttling/busy/internal codes and 2878/4991 are retryable, 2796 is not_allowed, the
// codes that appear only under 401 and the invalid-token codes are reauthenticate, anything
// else is terminal.
ErrorClass ClassifyStatusAndCode(int http_status, std::string_view code);

// True when an answer says the credential was rejected, so it is worth renewing: HTTP 401,
// or a 403 or 2xx whose error code classifies as reauthenticate (see above).
bool RejectsCredential(int http_status, std::string_view body);

// Maps an HTTP answer (status, optional decoded error body, Retry-After header value) to an Error.
// secrets (e.g. the credential header values that were sent) are redacted from the message.
Error ClassifyHttpError(std::string_view operation, int http_status,
                        const std::optional<ApiErrorBody>& body,
                        std::string_view retry_after_header, WallTime now,
                        const std::vector<std::string>& secrets = {});

// what is httplib::to_string(err): "Connection", "Read", "ConnectionTimeout", ...
// Always retryable; code "Transport.<What>".
Error ClassifyTransportError(std::string_view operation, std::string_view what);

// delta-seconds ("120") or HTTP-date (IMF-fixdate, RFC 850 or asctime form). A date in the
// past yields 0; values above kMaxRetryAfter are clamped; anything else is nullopt.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, WallTime now);

}  // namespace mactl
