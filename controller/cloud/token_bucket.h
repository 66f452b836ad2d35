#pragma once

// The global rate limit in front of every ModelArts call (contract: --qps R, --burst B).

#include <mutex>

#include "controller/base/clock.h"

namespace mactl {

// Token bucket shared by all workers; starts full. Modelled as a "theoretical arrival time"
// (GCRA): each reservation moves tat one interval (1/qps) forward, and a caller waits for whatever
// part of its slot lies more than `burst` intervals ahead of now. Reservations borrow from the
// future, so concurrent callers get strictly increasing waits in call order (FIFO-fair) and
// never spin. Thread-safe.
class TokenBucket {
 public:
  // qps <= 0 → unlimited. burst < 1 is treated as 1; qps below kMinQps as kMinQps (so the
  // interval stays representable). `clock` must outlive this object.
  static constexpr double kMinQps = 1e-6;

  TokenBucket(double qps, int burst, const Clock& clock);
  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;

  // Takes one token now (possibly borrowing from the future) and returns how long the caller must
  // wait before sending; 0 when a token was available.
  Duration Reserve();

  // The clock the waits are measured on: a caller waits on this one for its slot.
  const Clock& clock() const { return clock_; }

 private:
  const Clock& clock_;
  const bool unlimited_;
  const double interval_ns_;  // 1/qps
  const double window_ns_;    // burst × interval: how far ahead tat may run without waiting

  std::mutex mu_;
  SteadyTime tat_;      // guarded by mu_; when the bucket would be full again
  double carry_ = 0.0;  // guarded by mu_; fraction of a nanosecond tat_ is ahead, in [0, 1)
};

}  // namespace mactl
