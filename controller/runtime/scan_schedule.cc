#include "controller/runtime/scan_schedule.h"

#include <algorithm>

namespace mactl {

std::string_view ScanReasonName(ScanReason reason) {
  switch (reason) {
    case ScanReason::kSignal:
      return "signal";
    case ScanReason::kInotify:
      return "inotify";
    case ScanReason::kPeriodic:
      return "periodic";
  }
  return "periodic";
}

ScanSchedule::ScanSchedule(Duration debounce, Duration rescan_interval, SteadyTime start)
    : debounce_(debounce),
      rescan_interval_(rescan_interval),
      next_rescan_(SaturatingAdd(start, rescan_interval)) {}

void ScanSchedule::OnChange(SteadyTime at) {
  if (!burst_start_) burst_start_ = at;
  burst_due_ = std::min(at + debounce_, *burst_start_ + kMaxHold);
}

void ScanSchedule::Request() { requested_ = true; }

std::optional<ScanReason> ScanSchedule::TakeDue(SteadyTime now) {
  if (requested_) {
    requested_ = false;
    burst_start_.reset();
    burst_due_.reset();
    return ScanReason::kSignal;
  }
  if (burst_due_ && now >= *burst_due_) {
    burst_start_.reset();
    burst_due_.reset();
    return ScanReason::kInotify;
  }
  if (now >= next_rescan_) {
    next_rescan_ = SaturatingAdd(now, rescan_interval_);
    return ScanReason::kPeriodic;
  }
  return std::nullopt;
}

SteadyTime ScanSchedule::NextDue() const {
  if (requested_) return SteadyTime::min();
  return burst_due_ ? std::min(*burst_due_, next_rescan_) : next_rescan_;
}

}  // namespace mactl
