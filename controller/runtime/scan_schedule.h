#pragma once

// When the manifest watcher scans, and what (README "How it behaves"): a change that means a
// file is complete (close-after-write, a rename into the tree, a delete, the ConfigMap
// `..data` swap) is loaded after a short coalescing window; a file still being written
// (modified or created, not yet closed) holds the scan until it has been quiet for the
// debounce, so a half-written file is not read early; a full rescan runs every
// --rescan-interval as a safety net, and at once on SIGHUP. Pure logic on the time points its
// caller reads from the injected clock, so tests drive it with a FakeClock.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controller/base/clock.h"

namespace mactl {

// Why a scan runs; the watcher's callback receives the name.
enum class ScanReason { kSignal, kInotify, kPeriodic };

// "signal", "inotify" or "periodic".
std::string_view ScanReasonName(ScanReason reason);

// What one inotify event says about one path.
enum class ChangeKind {
  kWriting,   // modified or created: its writer may still be writing it
  kComplete,  // closed after writing, renamed, deleted: what is there now is whole
};

// A scan that is due: either a full rescan of the tree or a re-read of the named files.
struct ScanRequest {
  ScanReason reason = ScanReason::kPeriodic;
  bool full = true;
  std::vector<std::string> files;  // paths relative to the root, sorted; only when !full
};

// Not thread-safe: the watcher guards it with its mutex.
class ScanSchedule {
 public:
  // How long a burst of completed changes is coalesced into one scan.
  static constexpr Duration kCoalesceWindow = std::chrono::milliseconds(5);
  // A burst is never held back longer than this after its first change: a file rewritten
  // without pause is still picked up.
  static constexpr Duration kMaxHold = std::chrono::seconds(1);

  struct Timing {
    Duration coalesce = kCoalesceWindow;  // after the last completed change
    Duration debounce;                    // quiet period of a file still being written
    Duration rescan_interval;
  };

  // The first periodic rescan falls due rescan_interval after `start`.
  ScanSchedule(Timing timing, SteadyTime start);

  // `file` (relative to the root) changed at `at`; nullopt when the event cannot be pinned
  // on one manifest file (a directory, a symlink swap, lost events): then a full rescan.
  void OnChange(SteadyTime at, ChangeKind kind, std::optional<std::string> file);
  // A scan is asked for now (SIGHUP); it also covers any change still waiting.
  void Request();

  // The scan due at `now`, if any, which is then taken: a requested scan first, then a
  // burst of changes, then the periodic rescan, whose next one falls due rescan_interval
  // after `now`. Call again until nothing is due.
  std::optional<ScanRequest> TakeDue(SteadyTime now);
  // When TakeDue will next have a scan: at or before now when one is due already.
  SteadyTime NextDue() const;

 private:
  std::optional<SteadyTime> BurstDue() const;
  void ClearBurst();

  const Timing timing_;
  bool requested_ = false;
  std::optional<SteadyTime> burst_start_;      // first change not yet scanned
  std::optional<SteadyTime> last_complete_;    // last completed change not yet scanned
  std::map<std::string, SteadyTime> writing_;  // files being written: their last event
  std::set<std::string> files_;                // files changed since the last scan
  bool full_ = false;                          // a change needs a full rescan
  SteadyTime next_rescan_;
};

}  // namespace mactl
