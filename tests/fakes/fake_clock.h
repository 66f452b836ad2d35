#pragma once

// A clock that moves only when the test says so. Waits through it (Clock::WaitUntil,
// SleepUntil) are released by Advance, not by real time, so tests of timers never sleep: a
// test starts the code that waits, calls BlockUntilWaiters(n) to know it is waiting, then
// advances time (the pattern of client-go's fake clock and Envoy's simulated time).

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <stop_token>
#include <vector>

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

  bool WaitUntil(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                 std::stop_token stop, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    const Waiter self{lock.mutex(), &cv, deadline};
    Register(self);
    cv.wait(lock, stop, [&] { return done() || (deadline != kNoDeadline && Now() >= deadline); });
    // The caller's mutex and cv may die as soon as this returns (Clock::SleepUntil keeps
    // them on its stack): leave only once no Advance still holds them to notify, and with
    // the mutex released meanwhile so that Advance can finish.
    lock.unlock();
    Unregister(self);
    lock.lock();
    return done();
  }

  // Moves time forward and wakes every waiter, whose deadlines are then re-checked.
  void Advance(Duration d) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mu_);
      now_ += d;
      wall_ += std::chrono::duration_cast<WallTime::duration>(d);
      waiters = waiters_;
      ++advancing_;
    }
    // Taking each waiter's mutex before notifying closes the gap between its check of the
    // time and its wait, so no wake-up is lost.
    for (const Waiter& w : waiters) {
      { std::lock_guard hold(*w.mutex); }
      w.cv->notify_all();
    }
    {
      std::lock_guard lock(mu_);
      --advancing_;
    }
    changed_.notify_all();
  }

  // Blocks (in real time, without sleeping) until at least n threads wait on this clock.
  void BlockUntilWaiters(std::size_t n) const {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return waiters_.size() >= n; });
  }
  // Blocks (in real time, without sleeping) until some thread waits on this clock for exactly
  // `deadline`, or until `patience` of real time has passed: then false. For a thread woken by
  // real events (inotify): the deadline it waits for shows what it has seen.
  bool BlockUntilWaitingFor(SteadyTime deadline, std::chrono::milliseconds patience) const {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, patience, [&] {
      return std::any_of(waiters_.begin(), waiters_.end(),
                         [&](const Waiter& w) { return w.deadline == deadline; });
    });
  }
  std::size_t Waiters() const {
    std::lock_guard lock(mu_);
    return waiters_.size();
  }
  // The earliest deadline any waiter waits for (kNoDeadline when none has one).
  SteadyTime NextDeadline() const {
    std::lock_guard lock(mu_);
    SteadyTime next = kNoDeadline;
    for (const Waiter& w : waiters_) next = std::min(next, w.deadline);
    return next;
  }

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable_any* cv;
    SteadyTime deadline;
    bool operator==(const Waiter& o) const = default;
  };

  void Register(const Waiter& w) const {
    std::lock_guard lock(mu_);
    waiters_.push_back(w);
    changed_.notify_all();
  }
  void Unregister(const Waiter& w) const {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return advancing_ == 0; });
    const auto it = std::find(waiters_.begin(), waiters_.end(), w);
    if (it != waiters_.end()) waiters_.erase(it);
    changed_.notify_all();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  SteadyTime now_;                       // guarded by mu_
  WallTime wall_;                        // guarded by mu_
  mutable std::vector<Waiter> waiters_;  // guarded by mu_
  std::size_t advancing_ = 0;            // guarded by mu_; Advance calls notifying waiters
};

}  // namespace mactl::testing
