#pragma once

// Durations as users write them on the command line: 250ms, 5s, 2m, 1h, 1m30s, 1.5s.

#include <chrono>
#include <string>
#include <string_view>

#include "api/result.h"

namespace mactl {

// Units ns, us, ms, s, m, h; terms may be chained ("1h30m") and have decimals ("1.5s").
// Rejects empty text, a missing or unknown unit, signs and values over 100 years.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// The shortest exact form: "250ms", "5s", "1m30s", "2h".
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace mactl
