#include "controller/election/etcd_endpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "controller/base/sanitize.h"

namespace mactl {
namespace {

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
}

Error ConfigError(std::string message) { return EtcdConfigError(std::move(message)); }

}  // namespace

Error EtcdConfigError(std::string message) {
  return MakeError(ErrorClass::kTerminal, "Config.Etcd", std::move(message));
}

Result<EtcdEndpoint> ParseEtcdEndpoint(std::string_view url) {
  // User info may hold a password: never quote it.
  std::string shown(url);
  const std::size_t at = shown.find('@');
  const std::size_t start = shown.find("://");
  if (at != std::string::npos && start != std::string::npos && at > start) {
    shown.replace(start + 3, at - start - 3, kRedacted);
  }
  const std::string quoted = "\"" + SanitizeForLog(shown, 200) + "\"";
  EtcdEndpoint endpoint;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return ConfigError("etcd endpoint " + quoted + " must start with https:// or http://");
  }
  endpoint.scheme = std::string(url.substr(0, scheme_end));
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    return ConfigError("etcd endpoint " + quoted + ": scheme must be https or http");
  }
  std::string_view authority = url.substr(scheme_end + 3);
  if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  if (authority.find_first_of("/?#@") != std::string_view::npos) {
    return ConfigError("etcd endpoint " + quoted + " must be scheme://host[:port] only");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) {
      return ConfigError("etcd endpoint " + quoted + ": bad IPv6 address");
    }
    endpoint.host = std::string(authority.substr(0, close + 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return ConfigError("etcd endpoint " + quoted + ": bad host");
    }
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const std::size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) {
      return ConfigError("etcd endpoint " + quoted + ": missing or invalid host");
    }
    endpoint.host = std::string(host);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (colon != std::string_view::npos && port_text.empty()) {
      return ConfigError("etcd endpoint " + quoted + ": empty port");
    }
  }
  endpoint.port = 2379;
  if (!port_text.empty()) {
    int port = 0;
    const auto [ptr, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return ConfigError("etcd endpoint " + quoted + ": port must be 1-65535");
    }
    endpoint.port = port;
  }
  return endpoint;
}

}  // namespace mactl
