#include "controller/cloud/run_duration.h"

namespace mactl {

RunDuration CheckRunDuration(std::int64_t duration_ms) {
  if (duration_ms < 0) {
    return {std::nullopt,
            "the API reported a negative run duration (" + std::to_string(duration_ms) + " ms)"};
  }
  if (duration_ms > kMaxPlausibleRunDuration.count()) {
    return {std::nullopt, "the API reported an implausible run duration (" +
                              std::to_string(duration_ms) + " ms, over ten years)"};
  }
  return {std::chrono::milliseconds(duration_ms), ""};
}

}  // namespace mactl
