#pragma once

// Spreads periodic and retry delays so objects created together do not poll in lock-step.

#include "controller/base/clock.h"
#include "controller/base/random.h"

namespace mactl {

// Returns a delay drawn uniformly from [d·(1−fraction), d·(1+fraction)], using one draw u from rng:
// d·(1 + fraction·(2u−1)). fraction is clamped to [0, 1], so the result is never negative.
// fraction 0 (or a non-positive d) returns d unchanged and draws nothing. Saturates at
// Duration::max() instead of overflowing.
Duration Jittered(Duration d, double fraction, RandomSource& rng);

// Like Jittered, but from [d·(1−fraction), d·(1+fraction) − slot]: a due time that the work
// queue then rounds up to a slot (AlignedUp) still lands within d's ±fraction, as README
// "Flags" promises for --resync. One draw; a non-positive slot is Jittered itself; a slot wider
// than the whole range gives the lower bound.
Duration JitteredBeforeSlot(Duration d, double fraction, Duration slot, RandomSource& rng);

// The first multiple of `slot` (counted from the clock's epoch) at or after t: due times that
// jitter spread within one slot are gathered at its end, so that one wake-up serves them all
// (docs/benchmarks.md, "Idle CPU at 100k: batched resyncs"). A non-positive slot returns t
// unchanged; a result past the end of time is the end of time.
SteadyTime AlignedUp(SteadyTime t, Duration slot);

}  // namespace mactl
