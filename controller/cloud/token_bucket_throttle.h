#pragma once

// RequestThrottle backed by the global TokenBucket: what every ModelArts call waits on.

#include <functional>
#include <stop_token>

#include "controller/base/clock.h"
#include "controller/cloud/request_throttle.h"
#include "controller/cloud/token_bucket.h"

namespace mactl {

// Waits on the bucket's clock (Clock::SleepUntil), so a test's FakeClock releases a waiting
// request by advancing time. Thread-safe: all workers share one instance.
class TokenBucketThrottle final : public RequestThrottle {
 public:
  // `bucket` must outlive this object. `stop` is the process shutdown signal. on_wait (may be
  // empty) is called with every wait, including 0, for the rate-limiter wait metric.
  TokenBucketThrottle(TokenBucket& bucket, std::stop_token stop,
                      std::function<void(Duration)> on_wait);

  // RequestThrottle: reserves a token, then waits on the bucket's clock until its slot. Returns
  // false at once, without taking a token, when a stop was already requested, and wakes early and
  // returns false when a stop arrives during the wait.
  bool Acquire() override;

 private:
  TokenBucket& bucket_;
  const std::stop_token stop_;
  const std::function<void(Duration)> on_wait_;
};

}  // namespace mactl
