#pragma once

// Watches a manifest tree with inotify and calls on_change (from its own thread) when
// something under it changed: a few milliseconds after an event that means a file is
// complete (close-after-write, rename, delete), after a quiet `debounce` while a file is
// still being written (ScanSchedule); also every rescan_interval as a safety net, and at
// once when Trigger() is called (SIGHUP). on_change receives a ScanRequest: its reason
// ("inotify", "periodic" or "signal") and either the manifest files that changed or "full".
//
// An event that cannot be pinned on one manifest file asks for a full rescan: a directory,
// lost events, and the ConfigMap `..data` swap, which never names the manifest file
// (docs/architecture.md, "Library facts"). Events on names the loader skips are ignored.
//
// Two threads: one blocks in poll() on the inotify descriptor and notes each change in a
// ScanSchedule; the other waits on the injected clock until a scan is due and runs it. Every
// timer (debounce, periodic rescan, heartbeat) is on that clock, so a test's FakeClock
// releases them by advancing time.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/runtime/scan_schedule.h"

struct inotify_event;  // <sys/inotify.h>

namespace mactl {

class ManifestWatcher {
 public:
  struct Options {
    std::filesystem::path root;
    std::chrono::milliseconds debounce{200};  // quiet period of a file still being written
    std::chrono::milliseconds rescan_interval{30000};
    Duration coalesce = ScanSchedule::kCoalesceWindow;  // after a completed change
  };

  // `clock` must outlive this object.
  ManifestWatcher(Options options, const Clock& clock,
                  std::function<void(const ScanRequest& scan)> on_change);
  // For a caller that rescans everything whatever changed.
  ManifestWatcher(Options options, const Clock& clock,
                  std::function<void(std::string_view reason)> on_change);
  ~ManifestWatcher();
  ManifestWatcher(const ManifestWatcher&) = delete;
  ManifestWatcher& operator=(const ManifestWatcher&) = delete;

  // Sets up inotify (an error if root is not a directory) and starts the threads.
  Status Start();
  // Requests a rescan now.
  void Trigger();
  // Joins the threads; also called by the destructor.
  void Stop();
  // The clock's time at the scanning thread's last look at the schedule (for /healthz);
  // advances at least once a second of the clock's time.
  SteadyTime LastActivity() const;

 private:
  // The inotify thread: notes changes until Stop.
  void ReadEvents();
  struct Change {
    ChangeKind kind;
    std::optional<std::string> file;  // relative to the root; nullopt: rescan everything
  };
  // Reads every queued inotify event, watching new directories; returns the changes.
  std::vector<Change> DrainEvents(std::vector<char>& buffer);
  // What one event means; nullopt for names the loader skips. With watch_mu_ held.
  std::optional<Change> Classify(const ::inotify_event& event);
  // The scanning thread: runs each scan as it falls due until Stop.
  void RunScans();
  void Scan(const ScanRequest& scan);
  // Both with watch_mu_ held.
  void AddWatchesBelow(const std::filesystem::path& dir, bool top_level);
  void AddWatch(const std::filesystem::path& dir);

  const Options options_;
  const Clock& clock_;
  const std::function<void(const ScanRequest&)> on_change_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // wakes the inotify thread's poll() for Stop
  std::stop_source stop_;
  std::atomic<SteadyTime::rep> last_activity_{0};

  std::mutex watch_mu_;                           // both threads add watches
  std::map<int, std::filesystem::path> watches_;  // guarded by watch_mu_
  bool root_watched_ = false;                     // guarded by watch_mu_

  std::mutex mu_;
  std::condition_variable_any cv_;  // wakes the scanning thread: a change or a request
  ScanSchedule schedule_;           // guarded by mu_
  std::uint64_t notes_ = 0;         // guarded by mu_; changes and requests noted so far

  std::thread reader_;
  std::thread scanner_;
};

}  // namespace mactl
