#pragma once

// Parsing an --etcd-endpoints entry: pure, so the flag parser (and its fuzzer) use it without
// the HTTP client.

#include <string>
#include <string_view>

#include "api/result.h"

namespace mactl {

// A parsed etcd endpoint.
struct EtcdEndpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // name, IPv4, or [IPv6]
  int port = 0;
};

// Accepts http(s)://host[:port][/]; no user info, path, query or fragment. Port 2379 when
// omitted. Terminal "Config.Etcd" error otherwise.
Result<EtcdEndpoint> ParseEtcdEndpoint(std::string_view url);

// The terminal "Config.Etcd" error of a bad etcd setting.
Error EtcdConfigError(std::string message);

}  // namespace mactl
