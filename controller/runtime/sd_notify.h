#pragma once

// The systemd notify protocol (sd_notify(3)): one datagram to $NOTIFY_SOCKET. Re-implemented
// (a few lines) so the daemon needs no libsystemd. A no-op when the variable is unset.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mactl {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment.
  SystemdNotifier();
  explicit SystemdNotifier(std::string socket_path,
                           std::optional<std::chrono::microseconds> watchdog = std::nullopt);

  bool enabled() const { return !socket_path_.empty(); }
  // "READY=1", "STOPPING=1", "WATCHDOG=1", "RELOADING=1", "STATUS=...". Returns false if
  // the datagram could not be sent (it never throws).
  bool Notify(std::string_view state) const;
  // The watchdog interval systemd asked for, if any; ping at half of it.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

 private:
  std::string socket_path_;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace mactl
