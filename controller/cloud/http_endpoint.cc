#include "controller/cloud/http_endpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <system_error>

#include "controller/base/sanitize.h"

namespace mactl {
namespace {

Error ConfigError(std::string message) {
  return MakeError(ErrorClass::kTerminal, "Config.Endpoint", std::move(message));
}

bool IsUnreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
}

}  // namespace

std::string HttpEndpoint::HostHeader() const {
  const int default_port = scheme == "https" ? 443 : 80;
  return port == default_port ? host : host + ":" + std::to_string(port);
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

namespace {

// The endpoint as error messages may show it: the URL is configuration, but user info in it
// may hold a password, so that part is never quoted.
std::string QuotedEndpoint(std::string_view url) {
  std::string shown(url);
  const std::size_t authority_start = shown.find("://");
  if (authority_start != std::string::npos) {
    const std::size_t authority_end = shown.find_first_of("/?#", authority_start + 3);
    const std::size_t at = shown.rfind('@', authority_end);
    if (at != std::string::npos && at > authority_start) {
      shown.replace(authority_start + 3, at - authority_start - 3, kRedacted);
    }
  }
  return "\"" + SanitizeForLog(shown, 200) + "\"";
}

// "[v6]" or "[v6]:port" into endpoint.host and port_text.
Status ParseIpv6Authority(std::string_view authority, const std::string& quoted,
                          HttpEndpoint& endpoint, std::string_view& port_text) {
  const std::size_t close = authority.find(']');
  if (close == std::string_view::npos || close == 1) {
    return ConfigError("endpoint " + quoted + ": bad IPv6 address");
  }
  const std::string_view address = authority.substr(1, close - 1);
  if (!std::all_of(address.begin(), address.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
      })) {
    return ConfigError("endpoint " + quoted + ": bad IPv6 address");
  }
  endpoint.host = std::string(authority.substr(0, close + 1));
  std::string_view after = authority.substr(close + 1);
  if (!after.empty()) {
    if (after.front() != ':') return ConfigError("endpoint " + quoted + ": bad host");
    port_text = after.substr(1);
    if (port_text.empty()) return ConfigError("endpoint " + quoted + ": empty port");
  }
  return OkStatus();
}

// "host" or "host:port" (or an IPv6 form) into endpoint.host and endpoint.port.
Status ParseAuthority(std::string_view authority, const std::string& quoted,
                      HttpEndpoint& endpoint) {
  if (authority.find('@') != std::string_view::npos) {
    return ConfigError("endpoint " + quoted + " must not contain user information");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    if (Status ok = ParseIpv6Authority(authority, quoted, endpoint, port_text); !ok) return ok;
  } else {
    const std::size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar) || host.front() == '.' ||
        host.front() == '-') {
      return ConfigError("endpoint " + quoted + ": missing or invalid host");
    }
    endpoint.host = std::string(host);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return ConfigError("endpoint " + quoted + ": empty port");
    }
  }
  if (port_text.empty()) {
    endpoint.port = endpoint.scheme == "https" ? 443 : 80;
    return OkStatus();
  }
  int port = 0;
  const auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return ConfigError("endpoint " + quoted + ": port must be 1-65535");
  }
  endpoint.port = port;
  return OkStatus();
}

}  // namespace

Result<HttpEndpoint> ParseHttpEndpoint(std::string_view url) {
  const std::string quoted = QuotedEndpoint(url);
  HttpEndpoint endpoint;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return ConfigError("endpoint " + quoted + " must start with https:// or http://");
  }
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return ConfigError("endpoint " + quoted + ": scheme must be https or http");
  }
  endpoint.scheme = scheme;
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return ConfigError("endpoint " + quoted + " must not have a query or fragment");
  }
  const std::size_t slash = rest.find('/');
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (Status ok = ParseAuthority(rest.substr(0, slash), quoted, endpoint); !ok) return ok.error();
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (const char c : path) {
    // Already-encoded paths are accepted as written; anything else must be unreserved.
    if (!IsUnreserved(c) && c != '/' && c != '%') {
      return ConfigError("endpoint " + quoted + ": base path has a character that needs encoding");
    }
  }
  endpoint.base_path = std::string(path);
  return endpoint;
}

}  // namespace mactl
