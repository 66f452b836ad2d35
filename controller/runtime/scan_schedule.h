#pragma once

// When the manifest watcher scans (README: changes debounced by 200 ms, a full rescan every
// --rescan-interval as a safety net, and one at once on SIGHUP). Pure logic on the time points
// its caller reads from the injected clock, so tests drive it with a FakeClock.

#include <optional>
#include <string_view>

#include "controller/base/clock.h"

namespace mactl {

// Why a scan runs; the watcher's callback receives the name.
enum class ScanReason { kSignal, kInotify, kPeriodic };

// "signal", "inotify" or "periodic".
std::string_view ScanReasonName(ScanReason reason);

// Not thread-safe: the watcher guards it with its mutex.
class ScanSchedule {
 public:
  // A burst of changes is scanned `debounce` after its last change (trailing), but never
  // held back longer than this after its first: a file rewritten without pause is still
  // picked up.
  static constexpr Duration kMaxHold = std::chrono::seconds(1);

  // The first periodic rescan falls due rescan_interval after `start`.
  ScanSchedule(Duration debounce, Duration rescan_interval, SteadyTime start);

  // Something under the root changed at `at`.
  void OnChange(SteadyTime at);
  // A scan is asked for now (SIGHUP); it also covers any change still waiting.
  void Request();

  // The scan due at `now`, if any, which is then taken: a requested scan first, then a
  // burst of changes, then the periodic rescan, whose next one falls due rescan_interval
  // after `now`. Call again until nothing is due.
  std::optional<ScanReason> TakeDue(SteadyTime now);
  // When TakeDue will next have a scan: at or before now when one is due already.
  SteadyTime NextDue() const;

 private:
  const Duration debounce_;
  const Duration rescan_interval_;
  bool requested_ = false;
  std::optional<SteadyTime> burst_start_;  // first change not yet scanned
  std::optional<SteadyTime> burst_due_;    // when that burst is scanned
  SteadyTime next_rescan_;
};

}  // namespace mactl
