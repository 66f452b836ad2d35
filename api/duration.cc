#include "api/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include "api/printable.h"

namespace mactl {
namespace {

using std::chrono::nanoseconds;

struct Unit {
  std::string_view name;
  std::int64_t ns;
};

constexpr std::array<Unit, 6> kUnits = {{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

constexpr std::int64_t kMaxNs = std::numeric_limits<std::int64_t>::max();

// The input is quoted bounded and with control bytes replaced: it may come from a file.
std::string Quoted(std::string_view text) {
  return "\"" + PrintableExcerpt(text, 64, NonAscii::kReplace) + "\"";
}

Error DurationError(std::string_view text, std::string_view why) {
  return MakeError(ErrorClass::kTerminal, "InvalidDuration",
                   "invalid duration " + Quoted(text) + ": " + std::string(why));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUnitChar(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::optional<std::int64_t> UnitNs(std::string_view name) {
  for (const Unit& u : kUnits) {
    if (u.name == name) return u.ns;
  }
  return std::nullopt;
}

// Appends `value` (0 <= value < 10^digits) as a fraction with `digits` places, trailing
// zeros removed; nothing when value is 0.
void AppendFraction(std::string& out, std::uint64_t value, std::size_t digits) {
  if (value == 0) return;
  std::string frac(digits, '0');
  for (std::size_t i = digits; i > 0; --i) {
    frac[i - 1] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  out += '.';
  out += frac;
}

}  // namespace

Result<nanoseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return DurationError(text, "empty; write e.g. 5s, 250ms or 1m30s");
  if (text.front() == '-') return DurationError(text, "negative durations are not allowed");
  if (text.front() == '+') return DurationError(text, "a sign is not allowed");
  // A bare zero is unambiguous whatever the unit, and is how users write "off".
  if (text == "0") return nanoseconds(0);

  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // Integer part.
    const std::size_t int_start = i;
    std::int64_t whole = 0;
    bool whole_overflow = false;
    while (i < text.size() && IsDigit(text[i])) {
      const int digit = text[i] - '0';
      if (whole > (kMaxNs - digit) / 10) {
        whole_overflow = true;
      } else {
        whole = whole * 10 + digit;
      }
      ++i;
    }
    const bool has_int = i > int_start;
    // Fraction: keep up to 18 digits, which is finer than 1ns for every unit.
    std::int64_t frac = 0;
    std::int64_t frac_scale = 1;
    bool has_frac = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const std::size_t frac_start = i;
      while (i < text.size() && IsDigit(text[i])) {
        if (frac_scale < 1'000'000'000'000'000'000) {
          frac = frac * 10 + (text[i] - '0');
          frac_scale *= 10;
        }
        ++i;
      }
      has_frac = i > frac_start;
    }
    if (!has_int && !has_frac) {
      if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        return DurationError(text, "a sign is not allowed");
      }
      return DurationError(text, "expected a number at " + Quoted(text.substr(int_start)));
    }
    // Unit.
    const std::size_t unit_start = i;
    while (i < text.size() && IsUnitChar(text[i])) ++i;
    const std::string_view unit_name = text.substr(unit_start, i - unit_start);
    if (unit_name.empty()) {
      if (i == text.size()) {
        return DurationError(text, "missing unit; append one of ns, us, ms, s, m, h (e.g. " +
                                       Quoted(std::string(text) + "s") + ")");
      }
      return DurationError(text, "unexpected character at " + Quoted(text.substr(i, 1)));
    }
    const std::optional<std::int64_t> unit_ns = UnitNs(unit_name);
    if (!unit_ns) {
      return DurationError(
          text, "unknown unit " + Quoted(unit_name) + "; use one of ns, us, ms, s, m, h");
    }
    if (whole_overflow || whole > kMaxNs / *unit_ns) {
      return DurationError(text, "out of range (at most about 292 years)");
    }
    std::int64_t part = whole * *unit_ns;
    if (frac != 0) {
      // Exact floor(frac / frac_scale * unit) so "0.3s" is 300ms, not 299.999999ms.
      __extension__ using Wide = __int128;
      const auto frac_ns =
          static_cast<std::int64_t>(static_cast<Wide>(frac) * *unit_ns / frac_scale);
      if (part > kMaxNs - frac_ns) {
        return DurationError(text, "out of range (at most about 292 years)");
      }
      part += frac_ns;
    }
    if (total > kMaxNs - part) return DurationError(text, "out of range (at most about 292 years)");
    total += part;
  }
  return nanoseconds(total);
}

std::string FormatDuration(nanoseconds d) {
  const std::int64_t count = d.count();
  std::string out = count < 0 ? "-" : "";
  // Unsigned magnitude so that the most negative value needs no special case.
  const std::uint64_t ns =
      count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  if (ns == 0) return "0s";
  constexpr std::uint64_t kUs = 1'000;
  constexpr std::uint64_t kMs = 1'000'000;
  constexpr std::uint64_t kS = 1'000'000'000;
  if (ns < kS) {
    // Below a second pick the largest unit that keeps the number >= 1.
    if (ns >= kMs) {
      out += std::to_string(ns / kMs);
      AppendFraction(out, ns % kMs, 6);
      return out + "ms";
    }
    if (ns >= kUs) {
      out += std::to_string(ns / kUs);
      AppendFraction(out, ns % kUs, 3);
      return out + "us";
    }
    return out + std::to_string(ns) + "ns";
  }
  const std::uint64_t hours = ns / (3600 * kS);
  const std::uint64_t minutes = ns / (60 * kS) % 60;
  const std::uint64_t seconds = ns / kS % 60;
  const std::uint64_t sub = ns % kS;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (seconds > 0 || sub > 0) {
    out += std::to_string(seconds);
    AppendFraction(out, sub, 9);
    out += "s";
  }
  return out;
}

}  // namespace mactl
