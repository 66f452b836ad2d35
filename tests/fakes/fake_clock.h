#pragma once

// A clock that moves only when the test says so.

#include <mutex>

#include "controller/base/clock.h"

namespace mactl::testing {

class FakeClock final : public Clock {
 public:
  FakeClock() : now_(std::chrono::hours(1000)), wall_(std::chrono::hours(480000)) {}

  SteadyTime Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  WallTime WallNow() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  void Advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  SteadyTime now_;  // guarded by mu_
  WallTime wall_;   // guarded by mu_
};

}  // namespace mactl::testing
