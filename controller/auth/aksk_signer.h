#pragma once

// AK/SK request signing, "SDK-HMAC-SHA256" (API Gateway style), as pure functions: the
// client half only. The simulator checks signatures with its own verifier, and both are
// tested against requests signed by the vendor's SDK (tests/oracle/, docs/testing.md).
//
//   CanonicalRequest = METHOD \n CanonicalUri \n CanonicalQueryString \n
//                      CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//   Signature        = hex(HMAC-SHA256(key = secret key, StringToSign))
//   Authorization    = "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>"
//
// CanonicalHeaders is one "name:trimmed-value\n" line per signed header, so the
// canonical request has an empty line before SignedHeaders (as the official signers).
//
// Query: pairs are sorted by key, then value, before they are escaped, as the vendor's
// signers do. Query-key case: the Go signer lower-cases query keys before sorting, the
// Python and Node signers keep their case. This signer keeps the case and sorts by byte
// order. They agree whenever no key has upper-case letters, and the controller only ever
// sends `per_page` and `page` when signing, so the ambiguity never reaches the wire. Do not
// send mixed-case query keys (e.g. `sortBy`) with AK/SK until the gateway's choice is known.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/base/clock.h"

namespace mactl {

inline constexpr std::string_view kSdkHmacAlgorithm = "SDK-HMAC-SHA256";

struct SigningInput {
  std::string method;  // "GET", "POST"
  std::string host;    // only informative: the signed Host is the "Host" entry in headers
  std::string path;    // as sent, percent-encoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded key/value pairs
  // Request headers; names compare case-insensitively. Only content-type, host,
  // x-sdk-date and x-project-id are signed by CanonicalRequest.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string sdk_date;  // YYYYMMDDTHHMMSSZ, the X-Sdk-Date value
};

// Percent-encodes everything except A-Z a-z 0-9 - _ . ~ (upper-case hex).
std::string SigningEscape(std::string_view s);

// Decodes each segment of `path`, re-encodes it with SigningEscape and appends a '/'
// when the result does not already end in one. "" becomes "/".
std::string CanonicalUri(std::string_view path);

// "k=v" pairs sorted by key then value (byte order of the unescaped text, case kept), then
// both escaped, joined by '&'; "" for no query.
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);

// The canonical request signing content-type, host, x-sdk-date and x-project-id (those
// present in in.headers). Sets *signed_headers (when not null) to their sorted,
// lower-cased, ';'-joined names.
std::string CanonicalRequest(const SigningInput& in, std::string* signed_headers);

// As above but signs exactly `signed_header_names` (lower-case, sorted). Returns nullopt
// when one of them is missing from in.headers.
std::optional<std::string> CanonicalRequestFor(const SigningInput& in,
                                               const std::vector<std::string>& signed_header_names);

std::string StringToSign(std::string_view canonical_request, std::string_view sdk_date);

// hex(HMAC-SHA256(secret_key, string_to_sign)), lower-case.
std::string Sign(std::string_view string_to_sign, std::string_view secret_key);

std::string AuthorizationHeader(std::string_view access_key, std::string_view signed_headers,
                                std::string_view signature);

// hex(SHA-256(data)), lower-case.
std::string HexSha256(std::string_view data);

// UTC "YYYYMMDDTHHMMSSZ".
std::string FormatSdkDate(WallTime t);

}  // namespace mactl
