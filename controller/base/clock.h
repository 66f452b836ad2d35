#pragma once

// Time is injected so backoff, jitter, resync, debounce and rate limits are tested exactly.
// Every wait in the controller goes through a Clock, so a test's FakeClock
// (tests/fakes/fake_clock.h) releases timers by advancing time instead of sleeping.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>

namespace mactl {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

// A wait with no deadline.
inline constexpr SteadyTime kNoDeadline = SteadyTime::max();

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time: for intervals, deadlines and timers.
  virtual SteadyTime Now() const = 0;
  // Wall-clock time: only for logs, /status and timestamps shown to people.
  virtual WallTime WallNow() const = 0;

  // Blocks on `cv` (with `lock` held on entry and on return) until `done()` holds, `stop` is
  // requested, or Now() reaches `deadline` (kNoDeadline: never). Whoever makes `done()` true
  // must notify `cv` while holding, or after releasing, `lock`'s mutex. Returns done().
  virtual bool WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                         std::stop_token stop, SteadyTime deadline,
                         const std::function<bool()>& done) const = 0;

  // Sleeps until `deadline` or a stop request. Returns false when stopped first.
  bool SleepUntil(SteadyTime deadline, std::stop_token stop) const {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    WaitUntil(cv, lock, stop, deadline, [] { return false; });
    return !stop.stop_requested();
  }
};

class SystemClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  bool WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                 std::stop_token stop, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    // A time_point::max() deadline overflows the conversion inside wait_until.
    if (deadline == kNoDeadline) return cv.wait(lock, stop, done);
    return cv.wait_until(lock, stop, deadline, done);
  }
};

// t + d (d >= 0), or the end of time when that does not fit: durations come from the command
// line and may be close to the largest Duration ("--resync 2562047h").
inline SteadyTime SaturatingAdd(SteadyTime t, Duration d) {
  if (d > SteadyTime::max() - t) return SteadyTime::max();
  return t + d;
}

// Converts a steady deadline to the wall time a person would read for it (the end of wall time
// for a deadline further off than it can show).
inline WallTime ToWall(const Clock& clock, SteadyTime t) {
  const WallTime wall = clock.WallNow();
  const auto ahead = std::chrono::duration_cast<WallTime::duration>(t - clock.Now());
  if (ahead > WallTime::duration::zero() && ahead > WallTime::max() - wall) return WallTime::max();
  return wall + ahead;
}

}  // namespace mactl
