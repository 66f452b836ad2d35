#pragma once

// A small private duration parser for the simulator's flags ("3s", "250ms", "1m30s").
// Private to sim/ until api/duration.h lands; then the CLI should switch to it.

#include <chrono>
#include <string_view>

#include "api/result.h"

namespace mactl::sim {

// Accepts one or more <non-negative integer><unit> groups, unit one of ns, us, ms, s, m, h,
// and the bare "0". Rejects empty input, signs, fractions, unknown units and overflow.
Result<std::chrono::nanoseconds> ParseSimDuration(std::string_view text);

}  // namespace mactl::sim
