#pragma once

// What both soak tests check the simulator's records against. The status table is repeated
// here on purpose: the soaks judge the daemon by the documented table, not by its own
// classification (api/job_status.h).

#include <cstdint>
#include <cstdlib>
#include <string>

namespace mactl::integration {

inline constexpr int kStatusCompleted = 10;
inline constexpr int kStatusKilling = 9;
inline constexpr int kStatusKilled = 12;

// The stoppable statuses of the documented table.
inline bool IsActiveStatus(int status) {
  switch (status) {
    case 1:
    case 2:
    case 4:
    case 7:
    case 8:
    case 15:
    case 18:
    case 19:
      return true;
    default:
      return false;
  }
}

// Known, not active, not KILLING, not UNKNOWN (0).
inline bool IsTerminalStatus(int status) {
  return status > 0 && status <= 22 && status != kStatusKilling && !IsActiveStatus(status);
}

// A numeric knob from the environment (SOAK_SECONDS, SOAK_SEED), or the fallback.
inline long EnvOr(const char* name, long fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtol(value, nullptr, 10);
}

inline std::string VersionKey(std::int64_t job, std::int64_t version) {
  return std::to_string(job) + "/" + std::to_string(version);
}

}  // namespace mactl::integration
