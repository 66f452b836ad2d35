#pragma once

// Whole numbers as the simulator reads them from paths and query parameters.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace mactl::sim {

// A whole-string decimal integer, or nullopt.
inline std::optional<std::int64_t> ParseInt(std::string_view s) {
  std::int64_t value = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// A v1 job or version id: a positive whole number, or nullopt.
inline std::optional<std::int64_t> ParseId(std::string_view s) {
  const auto v = ParseInt(s);
  if (!v || *v < 1) return std::nullopt;
  return v;
}

}  // namespace mactl::sim
