#include "controller/core/refresh_deferral.h"

#include <algorithm>
#include <cstdint>

namespace mactl {

Duration DeferFor(const RefreshProgress& progress, SteadyTime now) {
  // Before the first page: as long as the last refresh took, so small projects come back
  // at once and large ones do not spin.
  Duration remaining = progress.last_took;
  if (progress.pages_done > 0) {
    const Duration elapsed = now - progress.started;
    const std::size_t left =
        progress.pages_total > progress.pages_done ? progress.pages_total - progress.pages_done : 0;
    // Past the 5 s cap the product is not formed: with a hostile page count it would overflow.
    const Duration per_page = elapsed / static_cast<Duration::rep>(progress.pages_done);
    const auto pages = static_cast<std::uint64_t>(left) + 1;
    const Duration cap = kMaxDeferral;
    remaining =
        per_page.count() > 0 && pages > static_cast<std::uint64_t>(cap.count() / per_page.count())
            ? cap
            : per_page * static_cast<Duration::rep>(pages);
  }
  return std::clamp<Duration>(remaining, kMinDeferral, kMaxDeferral);
}

}  // namespace mactl
