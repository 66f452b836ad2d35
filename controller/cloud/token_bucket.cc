#include "controller/cloud/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace mactl {
namespace {

constexpr double kNanosPerSecond = 1e9;

}  // namespace

TokenBucket::TokenBucket(double qps, int burst, const Clock& clock)
    : clock_(clock),
      unlimited_(!(qps > 0.0)),  // also catches NaN
      interval_ns_(unlimited_ ? 0.0 : kNanosPerSecond / std::max(qps, kMinQps)),
      window_ns_(interval_ns_ * std::max(burst, 1)),
      tat_(clock.Now()) {}

Duration TokenBucket::Reserve() {
  if (unlimited_) {
    return Duration::zero();
  }
  std::lock_guard lock(mu_);
  const SteadyTime now = clock_.Now();
  if (tat_ < now) {
    // Idle long enough to be full: tokens never accumulate beyond the burst.
    tat_ = now;
    carry_ = 0.0;
  }
  // Whole nanoseconds go into tat_, the fraction is carried so a non-integral interval
  // (qps = 3) does not drift however many reservations are made.
  const double advanced = carry_ + interval_ns_;
  const double whole = std::floor(advanced);
  carry_ = advanced - whole;
  tat_ += Duration(static_cast<Duration::rep>(whole));
  const double wait_ns = static_cast<double>((tat_ - now).count()) + carry_ - window_ns_;
  if (wait_ns <= 0.0) {
    return Duration::zero();
  }
  return Duration(static_cast<Duration::rep>(std::llround(wait_ns)));
}

}  // namespace mactl
