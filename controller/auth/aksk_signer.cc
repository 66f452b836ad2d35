#include "controller/auth/aksk_signer.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace mactl {
namespace {

// The only headers the controller signs.
constexpr std::array<std::string_view, 4> kSignedHeaderSet = {"content-type", "host",
                                                              "x-project-id", "x-sdk-date"};

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX; a malformed escape is kept literally (it is then re-escaped as "%25").
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

const std::string* FindHeader(const SigningInput& in, std::string_view lower_name) {
  for (const auto& [name, value] : in.headers) {
    if (ToLower(name) == lower_name) return &value;
  }
  return nullptr;
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.push_back(sep);
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string SigningEscape(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0x0f]);
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view path) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    out += SigningEscape(PercentDecode(segment));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
  if (out.empty() || out.back() != '/') out.push_back('/');
  return out;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  // Sorted before escaping: sorting the escaped text puts e.g. "a%2Fb" before "a.b", which
  // the vendor's signer (and so the gateway) orders the other way.
  std::vector<std::pair<std::string, std::string>> sorted = query;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> parts;
  parts.reserve(sorted.size());
  for (const auto& [key, value] : sorted) {
    parts.push_back(SigningEscape(key) + "=" + SigningEscape(value));
  }
  return Join(parts, '&');
}

std::optional<std::string> CanonicalRequestFor(
    const SigningInput& in, const std::vector<std::string>& signed_header_names) {
  std::string headers_block;
  for (const std::string& name : signed_header_names) {
    const std::string* value = FindHeader(in, name);
    if (value == nullptr) return std::nullopt;
    headers_block += name;
    headers_block.push_back(':');
    headers_block += Trim(*value);
    headers_block.push_back('\n');
  }
  std::string out = in.method;
  out.push_back('\n');
  out += CanonicalUri(in.path);
  out.push_back('\n');
  out += CanonicalQueryString(in.query);
  out.push_back('\n');
  out += headers_block;
  out.push_back('\n');
  out += Join(signed_header_names, ';');
  out.push_back('\n');
  out += HexSha256(in.body);
  return out;
}

std::string CanonicalRequest(const SigningInput& in, std::string* signed_headers) {
  std::vector<std::string> names;
  for (const std::string_view name : kSignedHeaderSet) {  // already sorted
    if (FindHeader(in, name) != nullptr) names.emplace_back(name);
  }
  if (signed_headers != nullptr) *signed_headers = Join(names, ';');
  // Every name was found above, so this cannot be nullopt.
  return CanonicalRequestFor(in, names).value_or(std::string());
}

std::string StringToSign(std::string_view canonical_request, std::string_view sdk_date) {
  std::string out(kSdkHmacAlgorithm);
  out.push_back('\n');
  out += sdk_date;
  out.push_back('\n');
  out += HexSha256(canonical_request);
  return out;
}

std::string Sign(std::string_view string_to_sign, std::string_view secret_key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret_key.data(), static_cast<int>(secret_key.size()),
       reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(),
       mac.data(), &mac_size);
  return Hex(mac.data(), mac_size);
}

std::string AuthorizationHeader(std::string_view access_key, std::string_view signed_headers,
                                std::string_view signature) {
  std::string out(kSdkHmacAlgorithm);
  out += " Access=";
  out += access_key;
  out += ", SignedHeaders=";
  out += signed_headers;
  out += ", Signature=";
  out += signature;
  return out;
}

std::string HexSha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &digest_size, EVP_sha256(), nullptr);
  return Hex(digest.data(), digest_size);
}

std::string FormatSdkDate(WallTime t) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(days);
  const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - days));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace mactl
