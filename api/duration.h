#pragma once

// Durations as users write them on the command line ("250ms", "5s", "1m30s", "1h").

#include <chrono>
#include <string>
#include <string_view>

#include "api/result.h"

namespace mactl {

// Parses one or more <number><unit> groups, e.g. "250ms", "1m30s", "1.5s", "0s".
// Units: ns, us, ms, s, m, h. A number is decimal digits with an optional fraction.
// Rejects empty text, signs (durations here are never negative), a number without a
// unit (even "0": the unit is what makes a value unambiguous), unknown units, stray
// characters and values beyond what std::chrono::nanoseconds can hold.
// Errors carry code "InvalidDuration" and a message quoting the input.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// Formats a duration for logs and /status in the same syntax ParseDuration reads,
// omitting zero components: "0s", "250ms", "1.5ms", "5s", "1.5s", "1m30s", "2h", "1h0m5s"
// is written "1h5s". Negative durations get a leading '-' (ParseDuration rejects them).
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace mactl
