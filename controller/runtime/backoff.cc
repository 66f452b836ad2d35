#include "controller/runtime/backoff.h"

#include <algorithm>
#include <limits>

#include "controller/base/jitter.h"

namespace mactl {
namespace {

// base × 2^(failures−1), capped at max, without overflowing for any failure count.
Duration Exponential(Duration base, Duration max, int failures) {
  if (base <= Duration::zero() || max <= Duration::zero()) {
    return Duration::zero();
  }
  // 2^62 already exceeds any cap expressible in int64 nanoseconds: stop doubling there.
  const int exponent = std::clamp(failures - 1, 0, 62);
  const Duration::rep factor = Duration::rep{1} << exponent;
  if (base.count() > max.count() / factor) {
    return max;
  }
  return std::min(base * factor, max);
}

}  // namespace

ItemBackoff::ItemBackoff(BackoffPolicy policy, RandomSource& rng) : policy_(policy), rng_(rng) {}

Duration ItemBackoff::NextDelay(const std::string& key, std::optional<Duration> retry_after) {
  int failures = 0;
  {
    std::lock_guard lock(mu_);
    int& count = failures_[key];
    if (count < std::numeric_limits<int>::max()) {
      ++count;
    }
    failures = count;
  }
  Duration delay = Jittered(Exponential(policy_.base, policy_.max, failures), policy_.jitter, rng_);
  if (retry_after) {
    delay = std::max(delay, std::clamp(*retry_after, Duration::zero(), kMaxRetryAfter));
  }
  return delay;
}

void ItemBackoff::Reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int ItemBackoff::Failures(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace mactl
