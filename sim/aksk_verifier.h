#pragma once

// The simulator's check of AK/SK ("SDK-HMAC-SHA256") signatures, as the API gateway in
// front of ModelArts makes it. Written from the published signing rules, not from the
// controller's signer, and tested against requests signed by the vendor's own SDK
// (tests/oracle/, docs/testing.md):
//
//   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n
//                      CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//   StringToSign     = "SDK-HMAC-SHA256" \n <X-Sdk-Date> \n hex(sha256(CanonicalRequest))
//   Signature        = hex(HMAC-SHA256(key = secret key, StringToSign))
//   Authorization    = "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>"
//
// CanonicalURI: each '/'-separated segment of the path decoded, then escaped (everything but
// A-Z a-z 0-9 - _ . ~ as %XX, upper-case hex), with a '/' appended when missing.
// CanonicalQueryString: the decoded pairs sorted by key, then value (bytes, case kept), then
// escaped the same way and joined as k=v with '&'. CanonicalHeaders: one
// "lower-case-name:trimmed-value\n" line for each name in SignedHeaders, in its order.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/base/clock.h"

namespace mactl::sim {

inline constexpr std::string_view kSdkHmacSha256 = "SDK-HMAC-SHA256";

// A request as the server received it.
struct ReceivedRequest {
  std::string method;
  std::string raw_path;  // as on the wire, still percent-encoded, without the query
  std::vector<std::pair<std::string, std::string>> query;    // decoded pairs, any order
  std::vector<std::pair<std::string, std::string>> headers;  // names in any case
  std::string body;
};

// The parts of an Authorization header. Holds no secret.
struct AkSkAuthorization {
  std::string access_key;
  std::vector<std::string> signed_headers;  // as listed, lower-cased
  std::string signature;
};

// nullopt unless `header` is "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...".
std::optional<AkSkAuthorization> ParseAkSkAuthorization(std::string_view header);

// "YYYYMMDDTHHMMSSZ" (UTC) as a time; nullopt for anything else.
std::optional<WallTime> ParseSdkDate(std::string_view text);

// The canonical request for `signed_headers` (lower-case names); nullopt when the request
// lacks one of them.
std::optional<std::string> CanonicalRequestOf(const ReceivedRequest& req,
                                              const std::vector<std::string>& signed_headers);

enum class AkSkVerdict {
  kValid,
  kMalformed,           // no parsable Authorization or X-Sdk-Date
  kHostOrDateUnsigned,  // SignedHeaders lacks host or x-sdk-date
  kSignedHeaderMissing,
  kUnknownAccessKey,
  kWrongSignature,
};

// Returns the secret key of an access key, or nullopt when it is unknown.
using SecretKeyFinder = std::function<std::optional<std::string>(std::string_view access_key)>;

// Checks the request's Authorization header against the request itself, using its
// X-Sdk-Date header as the date signed. Compares signatures in constant time. Does not
// check clock skew (the caller compares ParseSdkDate of X-Sdk-Date with its own clock).
AkSkVerdict VerifyAkSk(const ReceivedRequest& req, const SecretKeyFinder& secret_for);

// The header's value (names compare case-insensitively); nullopt when absent.
std::optional<std::string> HeaderValue(const ReceivedRequest& req, std::string_view name);

}  // namespace mactl::sim
