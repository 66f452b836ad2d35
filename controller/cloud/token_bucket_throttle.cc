#include "controller/cloud/token_bucket_throttle.h"

#include <utility>

namespace mactl {

TokenBucketThrottle::TokenBucketThrottle(TokenBucket& bucket, std::stop_token stop,
                                         std::function<void(Duration)> on_wait)
    : bucket_(bucket), stop_(std::move(stop)), on_wait_(std::move(on_wait)) {}

bool TokenBucketThrottle::Acquire() {
  if (stop_.stop_requested()) {
    return false;
  }
  const Duration wait = bucket_.Reserve();
  if (on_wait_) {
    on_wait_(wait);
  }
  if (wait > Duration::zero()) {
    // On the bucket's clock, whose "now" the wait was measured from; read after reserving,
    // so the sleep never ends before the slot.
    const Clock& clock = bucket_.clock();
    return clock.SleepUntil(clock.Now() + wait, stop_);
  }
  return !stop_.stop_requested();
}

}  // namespace mactl
