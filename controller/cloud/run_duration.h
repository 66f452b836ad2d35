#pragma once

// A job's run duration as the API reports it (v1 `duration`, v2 `status.duration`, both
// milliseconds of running; queued time does not count), checked before the controller bases a
// stop on it (README, "Runtime limits"). A negative or implausibly long value is not clamped
// into a number that could stop a job: it makes the duration unknown, with a reason to show.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace mactl {

// Longer than any training job runs (ten years); a larger value is a wire error.
inline constexpr std::chrono::milliseconds kMaxPlausibleRunDuration = std::chrono::hours(24 * 3653);

struct RunDuration {
  std::optional<std::chrono::milliseconds> value;  // nullopt: unknown
  std::string problem;                             // why it is unknown; empty when known
};

RunDuration CheckRunDuration(std::int64_t duration_ms);

}  // namespace mactl
