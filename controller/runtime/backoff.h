#pragma once

// Per-object retry pacing after errors (contract: --backoff-base, --backoff-max).

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "controller/base/clock.h"
#include "controller/base/random.h"

namespace mactl {

struct BackoffPolicy {
  Duration base = std::chrono::seconds(1);
  Duration max = std::chrono::minutes(5);
  double jitter = 0.1;  // ±fraction, see Jittered()
};

// Per-key exponential backoff: base × 2^(failures−1), capped at max, then spread by ±jitter (so a
// capped delay lands in [max·(1−jitter), max·(1+jitter)] and capped objects do not retry in
// lock-step). A Retry-After is a floor: honoured even above max (it is the server's word), but
// clamped to kMaxRetryAfter against absurd values. Thread-safe.
class ItemBackoff {
 public:
  static constexpr Duration kMaxRetryAfter = std::chrono::hours(1);

  // `rng` must outlive this object.
  ItemBackoff(BackoffPolicy policy, RandomSource& rng);

  // Records one more failure for key and returns the delay before the next attempt.
  Duration NextDelay(const std::string& key, std::optional<Duration> retry_after = std::nullopt);
  // Clears key's failures: call on success (and when the object is deleted).
  void Reset(const std::string& key);
  // Consecutive failures recorded for key since the last Reset.
  int Failures(const std::string& key) const;

 private:
  const BackoffPolicy policy_;
  RandomSource& rng_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;  // guarded by mu_
};

}  // namespace mactl
