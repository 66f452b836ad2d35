#include "sim/sim_duration.h"

#include <cstdint>
#include <limits>
#include <string>

namespace mactl::sim {
namespace {

Error BadDuration(std::string_view text, std::string_view why) {
  return MakeError(ErrorClass::kTerminal, "InvalidDuration",
                   "invalid duration \"" + std::string(text) + "\": " + std::string(why));
}

// Nanoseconds per unit, or 0 when the unit is unknown.
std::int64_t UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1000;
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return 1000 * 1000 * 1000;
  if (unit == "m") return std::int64_t{60} * 1000 * 1000 * 1000;
  if (unit == "h") return std::int64_t{3600} * 1000 * 1000 * 1000;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::chrono::nanoseconds> ParseSimDuration(std::string_view text) {
  if (text.empty()) return BadDuration(text, "empty");
  if (text == "0") return std::chrono::nanoseconds(0);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return BadDuration(text, "expected a number");
    std::int64_t value = 0;
    while (i < text.size() && IsDigit(text[i])) {
      const std::int64_t digit = text[i] - '0';
      if (value > (kMax - digit) / 10) return BadDuration(text, "too large");
      value = value * 10 + digit;
      ++i;
    }
    const std::size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) return BadDuration(text, "missing unit (ns, us, ms, s, m, h)");
    const std::int64_t nanos = UnitNanos(unit);
    if (nanos == 0) return BadDuration(text, "unknown unit \"" + std::string(unit) + "\"");
    if (value > kMax / nanos || value * nanos > kMax - total) return BadDuration(text, "too large");
    total += value * nanos;
  }
  return std::chrono::nanoseconds(total);
}

}  // namespace mactl::sim
