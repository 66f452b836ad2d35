#pragma once

// How long a caller that may defer should stay away while another caller's list refresh (v1)
// or search (v2) of the same project is in flight: about until it should be done, judged by
// its pages so far (README, "Batched observation"). Coming back a little late costs nothing,
// the status is as fresh; coming back early costs another deferral.

#include <chrono>
#include <cstddef>

#include "controller/base/clock.h"

namespace mactl {

inline constexpr Duration kMinDeferral = std::chrono::milliseconds(100);
inline constexpr Duration kMaxDeferral = std::chrono::seconds(5);

struct RefreshProgress {
  SteadyTime started;
  std::size_t pages_done = 0;
  std::size_t pages_total = 0;  // 0 until its first page tells the job count
  Duration last_took{0};        // of the project's last successful refresh; 0 if none
};

// The remaining pages plus one at the pace so far, or before the first page as long as the
// last refresh took; within [kMinDeferral, kMaxDeferral].
Duration DeferFor(const RefreshProgress& progress, SteadyTime now);

}  // namespace mactl
