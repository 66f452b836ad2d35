#include "controller/base/sanitize.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace mactl {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

void AppendHexEscape(std::string& out, unsigned char byte) {
  out += "\\x";
  out += kHexDigits[byte >> 4];
  out += kHexDigits[byte & 0x0F];
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i, std::uint32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  std::uint32_t min_code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1Fu;
    min_code_point = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0Fu;
    min_code_point = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07u;
    min_code_point = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char c = byte(i + k);
    if ((c & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (c & 0x3Fu);
  }
  if (code_point < min_code_point || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

// The escaped form of the unit (one byte or one UTF-8 sequence) at text[i]; sets consumed.
std::string EscapeUnit(std::string_view text, std::size_t i, std::size_t& consumed) {
  const auto c = static_cast<unsigned char>(text[i]);
  consumed = 1;
  switch (c) {
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\\':
      return "\\\\";
    default:
      break;
  }
  std::string out;
  if (c < 0x20 || c == 0x7F) {
    AppendHexEscape(out, c);
    return out;
  }
  if (c < 0x80) return std::string(1, static_cast<char>(c));
  std::uint32_t code_point = 0;
  const std::size_t length = Utf8SequenceLength(text, i, code_point);
  if (length == 0) {
    AppendHexEscape(out, c);
    return out;
  }
  consumed = length;
  // C1 controls and the Unicode line/paragraph separators would break the single line.
  const bool unprintable =
      (code_point >= 0x80 && code_point <= 0x9F) || code_point == 0x2028 || code_point == 0x2029;
  if (unprintable) {
    for (std::size_t k = 0; k < length; ++k) {
      AppendHexEscape(out, static_cast<unsigned char>(text[i + k]));
    }
    return out;
  }
  return std::string(text.substr(i, length));
}

}  // namespace

std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets) {
  std::vector<std::string_view> ordered;
  for (const std::string& s : secrets) {
    if (!s.empty()) ordered.emplace_back(s);
  }
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(ordered.begin(), ordered.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  std::string out(text);
  for (const std::string_view secret : ordered) {
    std::size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kRedacted);
      pos += kRedacted.size();
    }
  }
  return out;
}

std::string SanitizeForLog(std::string_view text, std::size_t max_bytes,
                           const std::vector<std::string>& secrets) {
  const std::string redacted = RedactSecrets(text, secrets);
  std::string out;
  out.reserve(std::min(redacted.size(), max_bytes) + 32);
  std::size_t i = 0;
  while (i < redacted.size()) {
    std::size_t consumed = 0;
    const std::string unit = EscapeUnit(redacted, i, consumed);
    if (out.size() + unit.size() > max_bytes) break;
    out += unit;
    i += consumed;
  }
  if (i < redacted.size()) {
    out += "…(" + std::to_string(redacted.size() - i) + " more bytes)";
  }
  return out;
}

}  // namespace mactl
