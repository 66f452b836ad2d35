#include "controller/runtime/manifest_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "api/manifest_loader.h"
#include "controller/base/log.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM |
                                IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB |
                                IN_ONLYDIR;
// The scanning thread wakes at least this often so LastActivity shows it is alive.
constexpr milliseconds kHeartbeat{1000};

bool Hidden(const std::string& name) { return name.empty() || name.front() == '.'; }

}  // namespace

ManifestWatcher::ManifestWatcher(Options options, const Clock& clock,
                                 std::function<void(const ScanRequest& scan)> on_change)
    : options_(std::move(options)),
      clock_(clock),
      on_change_(std::move(on_change)),
      schedule_({options_.coalesce, options_.debounce, options_.rescan_interval}, clock.Now()) {
  last_activity_ = clock.Now().time_since_epoch().count();
}

ManifestWatcher::ManifestWatcher(Options options, const Clock& clock,
                                 std::function<void(std::string_view reason)> on_change)
    : ManifestWatcher(std::move(options), clock,
                      [on_change = std::move(on_change)](const ScanRequest& scan) {
                        on_change(ScanReasonName(scan.reason));
                      }) {}

ManifestWatcher::~ManifestWatcher() {
  Stop();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status ManifestWatcher::Start() {
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec)) {
    return MakeError(ErrorClass::kTerminal, "WatchFailed",
                     "manifest directory " + options_.root.string() + " is not a directory");
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (inotify_fd_ < 0 || wake_fd_ < 0) {
    return MakeError(ErrorClass::kTerminal, "WatchFailed",
                     std::string("cannot set up inotify: ") + std::strerror(errno));
  }
  {
    std::lock_guard lock(watch_mu_);
    AddWatchesBelow(options_.root, true);
    if (!root_watched_) {
      return MakeError(ErrorClass::kTerminal, "WatchFailed",
                       "cannot watch " + options_.root.string() + ": " + std::strerror(errno));
    }
  }
  reader_ = std::thread([this] { ReadEvents(); });
  scanner_ = std::thread([this] { RunScans(); });
  return OkStatus();
}

void ManifestWatcher::AddWatch(const fs::path& dir) {
  const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd < 0) {
    log::Warn("cannot watch directory; relying on the periodic rescan",
              {{"directory", dir.string()}, {"error", std::strerror(errno)}});
    return;
  }
  watches_[wd] = dir;
  if (dir == options_.root) root_watched_ = true;
}

// Watches dir and every non-hidden directory below it. Below the top level symlinks are
// not followed (as the loader does); at the top level a non-hidden symlink to a
// directory is watched too.
void ManifestWatcher::AddWatchesBelow(const fs::path& dir, bool top_level) {
  AddWatch(dir);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (Hidden(name)) continue;
    std::error_code type_ec;
    const bool link = it->is_symlink(type_ec);
    if (link && !top_level) continue;
    if (fs::is_directory(it->path(), type_ec)) AddWatchesBelow(it->path(), false);
  }
}

void ManifestWatcher::Trigger() {
  {
    std::lock_guard lock(mu_);
    schedule_.Request();
    ++notes_;
  }
  cv_.notify_all();
}

void ManifestWatcher::Stop() {
  stop_.request_stop();  // wakes the scanning thread's wait on the clock
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  }
  if (reader_.joinable()) reader_.join();
  if (scanner_.joinable()) scanner_.join();
}

SteadyTime ManifestWatcher::LastActivity() const {
  return SteadyTime(SteadyTime::duration(last_activity_.load()));
}

void ManifestWatcher::ReadEvents() {
  std::vector<char> buffer(64 * 1024);
  while (!stop_.stop_requested()) {
    // No timeout: every timer runs on the scanning thread, on the injected clock.
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 || stop_.stop_requested()) continue;
    if (!(fds[0].revents & POLLIN)) continue;
    std::vector<Change> changes = DrainEvents(buffer);
    if (changes.empty()) continue;
    {
      std::lock_guard lock(mu_);
      const SteadyTime now = clock_.Now();
      for (Change& change : changes) schedule_.OnChange(now, change.kind, std::move(change.file));
      ++notes_;
    }
    cv_.notify_all();
  }
}

std::vector<ManifestWatcher::Change> ManifestWatcher::DrainEvents(std::vector<char>& buffer) {
  std::vector<Change> changes;
  std::lock_guard lock(watch_mu_);
  while (true) {
    const ssize_t n = read(inotify_fd_, buffer.data(), buffer.size());
    if (n <= 0) break;
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (std::optional<Change> change = Classify(*event)) changes.push_back(std::move(*change));
    }
  }
  return changes;
}

std::optional<ManifestWatcher::Change> ManifestWatcher::Classify(const inotify_event& event) {
  const Change full{ChangeKind::kComplete, std::nullopt};
  if (event.mask & IN_Q_OVERFLOW) return full;  // events lost: rescan everything
  const auto watch = watches_.find(event.wd);
  if (event.mask & IN_IGNORED) {
    if (watch != watches_.end()) {
      if (watch->second == options_.root) root_watched_ = false;
      watches_.erase(watch);
    }
    return full;
  }
  if (watch == watches_.end() || event.len == 0) return full;
  const std::string name = event.name;
  const bool top_level = watch->second == options_.root;
  // A new directory (created or moved in): watch it and what is inside it.
  if ((event.mask & IN_ISDIR) && (event.mask & (IN_CREATE | IN_MOVED_TO)) && !Hidden(name)) {
    AddWatchesBelow(watch->second / name, false);
  }
  // A new top-level symlink may point at a directory to watch (ConfigMap-style).
  if (top_level && (event.mask & (IN_CREATE | IN_MOVED_TO)) && !Hidden(name)) {
    std::error_code ec;
    const fs::path path = options_.root / name;
    if (fs::is_symlink(path, ec) && fs::is_directory(path, ec)) AddWatchesBelow(path, false);
  }
  // The ConfigMap swap renames `..data`; other hidden names, editor droppings and (below the
  // top level, where symlinks are not followed) other files are never read by the loader.
  if (top_level && name.starts_with("..")) return full;
  if (IsSkippedManifestEntry(name)) return std::nullopt;
  if (event.mask & IN_ISDIR) return full;
  if (!IsManifestFileName(name)) {
    if (top_level) return full;  // may be a symlink to a directory
    return std::nullopt;
  }
  const std::string file = (watch->second / name).lexically_relative(options_.root).string();
  if (file.empty() || file.starts_with("..")) return full;
  const bool writing = (event.mask & (IN_MODIFY | IN_CREATE)) != 0;
  return Change{writing ? ChangeKind::kWriting : ChangeKind::kComplete, file};
}

void ManifestWatcher::RunScans() {
  const std::stop_token stop = stop_.get_token();
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    const SteadyTime now = clock_.Now();
    last_activity_ = now.time_since_epoch().count();
    if (const std::optional<ScanRequest> due = schedule_.TakeDue(now)) {
      lock.unlock();
      Scan(*due);
      lock.lock();
      continue;
    }
    const std::uint64_t seen = notes_;
    clock_.WaitUntil(cv_, lock, stop, std::min(schedule_.NextDue(), now + kHeartbeat),
                     [&] { return notes_ != seen; });
  }
}

void ManifestWatcher::Scan(const ScanRequest& scan) {
  if (scan.reason == ScanReason::kPeriodic) {
    // The root may have been deleted and re-created; catch up on watches.
    std::lock_guard lock(watch_mu_);
    std::error_code ec;
    if (!root_watched_ && fs::is_directory(options_.root, ec)) {
      AddWatchesBelow(options_.root, true);
    }
  }
  on_change_(scan);
}

}  // namespace mactl
