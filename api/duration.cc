#include "api/duration.h"

#include <cmath>
#include <cstdint>
#include <utility>

namespace mactl {
namespace {

Error Invalid(std::string_view text, const std::string& why) {
  return MakeError(ErrorClass::kTerminal, "InvalidDuration",
                   "invalid duration \"" + std::string(text.substr(0, 64)) + "\": " + why +
                       " (write e.g. 250ms, 5s, 2m, 1h, 1m30s)");
}

constexpr std::pair<std::string_view, double> kUnits[] = {{"ns", 1.0}, {"us", 1e3}, {"ms", 1e6},
                                                          {"s", 1e9},  {"m", 60e9}, {"h", 3600e9}};

constexpr double kMaxNanos = 100.0 * 365 * 24 * 3600e9;

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  if (text == "0") return std::chrono::nanoseconds(0);
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t number_start = i;
    bool seen_dot = false, seen_digit = false;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      if (text[i] == '.') {
        if (seen_dot) return Invalid(text, "two decimal points");
        seen_dot = true;
      } else {
        seen_digit = true;
      }
      ++i;
    }
    if (!seen_digit) {
      return Invalid(
          text, number_start == 0 && (text[0] == '-' || text[0] == '+')
                    ? "no sign allowed"
                    : "expected a number at \"" + std::string(text.substr(number_start, 8)) + "\"");
    }
    const double number = std::stod(std::string(text.substr(number_start, i - number_start)));
    const std::size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || text[i] == 'u')) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty())
      return Invalid(
          text, "missing unit after " + std::string(text.substr(number_start, i - number_start)));
    double scale = 0;
    for (const auto& [name, factor] : kUnits) {
      if (name == unit) scale = factor;
    }
    if (scale == 0) return Invalid(text, "unknown unit \"" + std::string(unit) + "\"");
    total += number * scale;
    if (total > kMaxNanos) return Invalid(text, "longer than 100 years");
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total)));
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d.count() == 0) return "0s";
  std::string out;
  if (d < 0ns) {
    out = "-";
    d = -d;
  }
  if (d < 1s) {
    if (d % 1ms == 0ns) return out + std::to_string(d / 1ms) + "ms";
    if (d % 1us == 0ns) return out + std::to_string(d / 1us) + "us";
    return out + std::to_string(d.count()) + "ns";
  }
  const auto h = duration_cast<hours>(d);
  d -= h;
  const auto m = duration_cast<minutes>(d);
  d -= m;
  if (h.count() > 0) out += std::to_string(h.count()) + "h";
  if (m.count() > 0) out += std::to_string(m.count()) + "m";
  if (d > 0ns) {
    if (d % 1s == 0ns) {
      out += std::to_string(d / 1s) + "s";
    } else {
      out += std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
    }
  }
  return out;
}

}  // namespace mactl
