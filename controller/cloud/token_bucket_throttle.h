#pragma once

// RequestThrottle backed by the global TokenBucket: what every ModelArts call waits on.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>

#include "controller/base/clock.h"
#include "controller/cloud/request_throttle.h"
#include "controller/cloud/token_bucket.h"

namespace mactl {

// Sleeps in real time (the bucket's clock must be the system clock in production). Thread-safe:
// all workers share one instance.
class TokenBucketThrottle final : public RequestThrottle {
 public:
  // `bucket` must outlive this object. `stop` is the process shutdown signal. on_wait (may be
  // empty) is called with every wait, including 0, for the rate-limiter wait metric.
  TokenBucketThrottle(TokenBucket& bucket, std::stop_token stop,
                      std::function<void(Duration)> on_wait);

  // RequestThrottle: reserves a token, then sleeps until its slot. Returns false at once, without
  // taking a token, when a stop was already requested, and wakes early and returns false when a
  // stop arrives during the wait.
  bool Acquire() override;

 private:
  TokenBucket& bucket_;
  const std::stop_token stop_;
  const std::function<void(Duration)> on_wait_;

  std::mutex mu_;  // only pairs with cv_; guards no data
  std::condition_variable_any cv_;
};

}  // namespace mactl
