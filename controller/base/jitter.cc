#include "controller/base/jitter.h"

#include <algorithm>
#include <cmath>

namespace mactl {

namespace {

// A count of Duration ticks as a Duration, saturating instead of overflowing.
Duration FromTicks(double ticks) {
  // The largest double below 2^63: anything at or above it would overflow the conversion.
  constexpr double kMaxRep = 0x1.fffffffffffffp+62;
  if (ticks >= kMaxRep) return Duration::max();
  return Duration(std::max<Duration::rep>(0, static_cast<Duration::rep>(std::llround(ticks))));
}

}  // namespace

Duration Jittered(Duration d, double fraction, RandomSource& rng) {
  // NaN fails every comparison, so it is treated as "no jitter" too.
  if (!(fraction > 0.0) || d <= Duration::zero()) {
    return d;
  }
  const double f = std::min(fraction, 1.0);
  const double u = std::clamp(rng.Uniform01(), 0.0, 1.0);
  return FromTicks(static_cast<double>(d.count()) * (1.0 + f * (2.0 * u - 1.0)));
}

Duration JitteredBeforeSlot(Duration d, double fraction, Duration slot, RandomSource& rng) {
  if (slot <= Duration::zero()) return Jittered(d, fraction, rng);
  if (!(fraction > 0.0) || d <= Duration::zero()) return d;
  const double f = std::min(fraction, 1.0);
  const double u = std::clamp(rng.Uniform01(), 0.0, 1.0);
  const double ticks = static_cast<double>(d.count());
  const double width = std::max(0.0, 2.0 * f * ticks - static_cast<double>(slot.count()));
  return FromTicks(ticks * (1.0 - f) + u * width);
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
