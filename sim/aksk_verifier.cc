#include "sim/aksk_verifier.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace mactl::sim {
namespace {

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), LowerAscii);
  return out;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return LowerAscii(x) == LowerAscii(y);
         });
}

std::string_view TrimSpace(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string ToHex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha256(), nullptr);
  return ToHex(md.data(), n);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &n);
  return ToHex(mac.data(), n);
}

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c)) {
      out.push_back(ch);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX becomes the byte; a '%' not followed by two hex digits stays as it is.
std::string Unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view raw_path) {
  std::string out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t slash = raw_path.find('/', from);
    out += Escape(Unescape(raw_path.substr(from, slash - from)));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    from = slash + 1;
  }
  if (out.empty() || out.back() != '/') out.push_back('/');
  return out;
}

// Sorted before escaping, as the vendor's signers sort the keys and values they were given.
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> pairs) {
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += Escape(key) + "=" + Escape(value);
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Number(std::string_view digits) {
  int v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  return v;
}

// Splits "a;b;c" into lower-cased names; nullopt when one is empty.
std::optional<std::vector<std::string>> SplitHeaderNames(std::string_view list) {
  std::vector<std::string> names;
  std::size_t from = 0;
  for (;;) {
    const std::size_t semi = list.find(';', from);
    const std::string_view name = list.substr(from, semi - from);
    if (name.empty()) return std::nullopt;
    names.push_back(Lower(name));
    if (semi == std::string_view::npos) return names;
    from = semi + 1;
  }
}

}  // namespace

std::optional<std::string> HeaderValue(const ReceivedRequest& req, std::string_view name) {
  for (const auto& [key, value] : req.headers) {
    if (EqualsIgnoringCase(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<AkSkAuthorization> ParseAkSkAuthorization(std::string_view header) {
  header = TrimSpace(header);
  if (header.substr(0, kSdkHmacSha256.size()) != kSdkHmacSha256) return std::nullopt;
  header.remove_prefix(kSdkHmacSha256.size());
  if (header.empty() || header.front() != ' ') return std::nullopt;
  AkSkAuthorization out;
  bool access = false, headers = false, signature = false;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view part = TrimSpace(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    if (key == "Access") {
      out.access_key = std::string(value);
      access = !value.empty();
    } else if (key == "SignedHeaders") {
      auto names = SplitHeaderNames(value);
      if (!names) return std::nullopt;
      out.signed_headers = std::move(*names);
      headers = true;
    } else if (key == "Signature") {
      out.signature = std::string(value);
      signature = !value.empty();
    }
  }
  if (!access || !headers || !signature) return std::nullopt;
  return out;
}

std::optional<WallTime> ParseSdkDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z' || !AllDigits(text.substr(0, 8)) ||
      !AllDigits(text.substr(9, 6))) {
    return std::nullopt;
  }
  const std::chrono::year_month_day day{
      std::chrono::year(Number(text.substr(0, 4))),
      std::chrono::month(static_cast<unsigned>(Number(text.substr(4, 2)))),
      std::chrono::day(static_cast<unsigned>(Number(text.substr(6, 2))))};
  const int hours = Number(text.substr(9, 2));
  const int minutes = Number(text.substr(11, 2));
  const int seconds = Number(text.substr(13, 2));
  if (!day.ok() || hours > 23 || minutes > 59 || seconds > 59) return std::nullopt;
  return std::chrono::time_point_cast<WallTime::duration>(
      std::chrono::sys_days(day) + std::chrono::hours(hours) + std::chrono::minutes(minutes) +
      std::chrono::seconds(seconds));
}

std::optional<std::string> CanonicalRequestOf(const ReceivedRequest& req,
                                              const std::vector<std::string>& signed_headers) {
  std::string headers_block;
  std::string names;
  for (const std::string& name : signed_headers) {
    const std::optional<std::string> value = HeaderValue(req, name);
    if (!value) return std::nullopt;
    headers_block += name + ":" + std::string(TrimSpace(*value)) + "\n";
    names += (names.empty() ? "" : ";") + name;
  }
  return req.method + "\n" + CanonicalUri(req.raw_path) + "\n" + CanonicalQuery(req.query) + "\n" +
         headers_block + "\n" + names + "\n" + Sha256Hex(req.body);
}

AkSkVerdict VerifyAkSk(const ReceivedRequest& req, const SecretKeyFinder& secret_for) {
  const std::optional<std::string> authorization = HeaderValue(req, "Authorization");
  const std::optional<std::string> date = HeaderValue(req, "X-Sdk-Date");
  if (!authorization || !date) return AkSkVerdict::kMalformed;
  const std::optional<AkSkAuthorization> auth = ParseAkSkAuthorization(*authorization);
  if (!auth) return AkSkVerdict::kMalformed;
  // The gateway wants the host and the date covered, so that a captured signature cannot be
  // replayed against another host or at another time.
  const auto& names = auth->signed_headers;
  if (std::find(names.begin(), names.end(), "host") == names.end() ||
      std::find(names.begin(), names.end(), "x-sdk-date") == names.end()) {
    return AkSkVerdict::kHostOrDateUnsigned;
  }
  const std::optional<std::string> canonical = CanonicalRequestOf(req, names);
  if (!canonical) return AkSkVerdict::kSignedHeaderMissing;
  const std::optional<std::string> secret = secret_for(auth->access_key);
  if (!secret) return AkSkVerdict::kUnknownAccessKey;
  const std::string string_to_sign = std::string(kSdkHmacSha256) + "\n" +
                                     std::string(TrimSpace(*date)) + "\n" + Sha256Hex(*canonical);
  const std::string expected = HmacSha256Hex(*secret, string_to_sign);
  const bool same = expected.size() == auth->signature.size() &&
                    CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) == 0;
  return same ? AkSkVerdict::kValid : AkSkVerdict::kWrongSignature;
}

}  // namespace mactl::sim
