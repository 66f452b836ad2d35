#include "controller/base/jitter.h"

#include <algorithm>
#include <cmath>

namespace mactl {

Duration Jittered(Duration d, double fraction, RandomSource& rng) {
  // NaN fails every comparison, so it is treated as "no jitter" too.
  if (!(fraction > 0.0) || d <= Duration::zero()) {
    return d;
  }
  const double f = std::min(fraction, 1.0);
  const double u = std::clamp(rng.Uniform01(), 0.0, 1.0);
  const double scaled = static_cast<double>(d.count()) * (1.0 + f * (2.0 * u - 1.0));
  // The largest double below 2^63: anything at or above it would overflow the conversion.
  constexpr double kMaxRep = 0x1.fffffffffffffp+62;
  if (scaled >= kMaxRep) {
    return Duration::max();
  }
  return Duration(std::max<Duration::rep>(0, static_cast<Duration::rep>(std::llround(scaled))));
}

SteadyTime AlignedUp(SteadyTime t, Duration slot) {
  if (slot <= Duration::zero()) return t;
  const Duration since_epoch = t.time_since_epoch();
  Duration into_slot = since_epoch % slot;
  if (into_slot < Duration::zero()) into_slot += slot;  // before the epoch: % keeps the sign
  if (into_slot == Duration::zero()) return t;
  const Duration up = slot - into_slot;
  // SaturatingAdd's own check overflows for a time before the epoch, where no sum can.
  return since_epoch < Duration::zero() ? t + up : SaturatingAdd(t, up);
}

}  // namespace mactl
