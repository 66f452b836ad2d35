#pragma once

// How the simulator waits for an injected latency. Injected so tests can observe the
// delay (and advance a FakeClock) instead of sleeping.

#include <condition_variable>
#include <mutex>

#include "controller/base/clock.h"

namespace mactl::sim {

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Blocks the calling request thread for d (or less, when interrupted).
  virtual void SleepFor(Duration d) = 0;
};

// Real waiting that Interrupt() cuts short, so shutdown never waits for a long latency.
class InterruptibleSleeper final : public Sleeper {
 public:
  void SleepFor(Duration d) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [this] { return interrupted_; });
  }
  // Wakes every sleeper now and makes later sleeps return at once.
  void Interrupt() {
    {
      std::lock_guard lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;  // guarded by mu_
};

}  // namespace mactl::sim
