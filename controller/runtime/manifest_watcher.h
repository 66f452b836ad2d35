#pragma once

// Watches a manifest tree with inotify and calls on_change (from its own thread) after a
// debounce whenever anything under it may have changed; also every rescan_interval as a
// safety net, and at once when Trigger() is called (SIGHUP). on_change receives the
// reason: "inotify", "periodic" or "signal".
//
// Any event is treated as "rescan": the ConfigMap `..data` swap never names the
// manifest file (docs/architecture.md, "Library facts"), and a full rescan is cheap because
// the loader only re-parses files whose stamp changed.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "api/result.h"
#include "controller/base/clock.h"

namespace mactl {

class ManifestWatcher {
 public:
  struct Options {
    std::filesystem::path root;
    std::chrono::milliseconds debounce{200};
    std::chrono::milliseconds rescan_interval{30000};
  };

  ManifestWatcher(Options options, std::function<void(std::string_view reason)> on_change);
  ~ManifestWatcher();
  ManifestWatcher(const ManifestWatcher&) = delete;
  ManifestWatcher& operator=(const ManifestWatcher&) = delete;

  // Sets up inotify (an error if root is not a directory) and starts the thread.
  Status Start();
  // Requests a rescan now.
  void Trigger();
  // Joins the thread; also called by the destructor.
  void Stop();
  // Steady time of the last loop iteration (for /healthz); advances at least once a second.
  SteadyTime LastActivity() const;

 private:
  void Loop();
  void AddWatchesBelow(const std::filesystem::path& dir, bool top_level);
  void AddWatch(const std::filesystem::path& dir);
  void Wake(std::uint64_t what);

  const Options options_;
  const std::function<void(std::string_view)> on_change_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::map<int, std::filesystem::path> watches_;  // owned by the loop thread after Start
  bool root_watched_ = false;
  std::atomic<bool> trigger_{false};
  std::atomic<bool> stop_{false};
  std::atomic<SteadyTime::rep> last_activity_{0};
  std::thread thread_;
};

}  // namespace mactl
