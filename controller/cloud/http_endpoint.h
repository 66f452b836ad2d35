#pragma once

// The endpoint URL a ModelArts client is pointed at, validated and taken apart, and the
// percent-encoding its paths and queries are written with.

#include <string>
#include <string_view>

#include "api/result.h"

namespace mactl {

// The parts of a validated endpoint URL.
struct HttpEndpoint {
  std::string scheme;     // "http" or "https"
  std::string host;       // name or IPv4 address, or an IPv6 address in brackets
  int port = 0;           // explicit, or 80/443 by scheme
  std::string base_path;  // "" or "/some/base" (no trailing slash)

  // host[:port], the port omitted when it is the scheme's default (the Host header).
  std::string HostHeader() const;
};

// Accepts scheme http/https, a host, an optional port and an optional base path; rejects
// user info, query, fragment and anything unparsable, with a terminal "Config.Endpoint" error.
Result<HttpEndpoint> ParseHttpEndpoint(std::string_view url);

// Percent-encodes everything but the unreserved characters A–Z a–z 0–9 - _ . ~ (upper-case
// hex), for path segments and query keys/values.
std::string PercentEncode(std::string_view text);

}  // namespace mactl
