#pragma once

// Time is injected so backoff, jitter, resync and rate limits are tested exactly.

#include <chrono>

namespace mactl {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time: for intervals, deadlines and timers.
  virtual SteadyTime Now() const = 0;
  // Wall-clock time: only for logs, /status and timestamps shown to people.
  virtual WallTime WallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
};

// Converts a steady deadline to the wall time a person would read for it.
inline WallTime ToWall(const Clock& clock, SteadyTime t) {
  return clock.WallNow() + std::chrono::duration_cast<WallTime::duration>(t - clock.Now());
}

}  // namespace mactl
