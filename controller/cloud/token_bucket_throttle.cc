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
    std::unique_lock lock(mu_);
    // Nothing ever notifies cv_ except a stop request: the wait ends at the timeout or on stop.
    cv_.wait_for(lock, stop_, wait, [] { return false; });
  }
  return !stop_.stop_requested();
}

}  // namespace mactl
