#include "controller/runtime/scan_schedule.h"

#include <algorithm>
#include <utility>

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

ScanSchedule::ScanSchedule(Timing timing, SteadyTime start)
    : timing_(timing), next_rescan_(SaturatingAdd(start, timing.rescan_interval)) {}

void ScanSchedule::OnChange(SteadyTime at, ChangeKind kind, std::optional<std::string> file) {
  if (!burst_start_) burst_start_ = at;
  if (kind == ChangeKind::kWriting && file) {
    writing_[*file] = at;
  } else {
    // A completed file no longer holds the burst back; other files being written still do.
    if (file) writing_.erase(*file);
    last_complete_ = at;
  }
  if (file) {
    files_.insert(std::move(*file));
  } else {
    full_ = true;
  }
}

void ScanSchedule::Request() { requested_ = true; }

std::optional<SteadyTime> ScanSchedule::BurstDue() const {
  if (!burst_start_) return std::nullopt;
  SteadyTime due = SteadyTime::min();
  if (last_complete_) due = *last_complete_ + timing_.coalesce;
  for (const auto& [file, at] : writing_) due = std::max(due, at + timing_.debounce);
  return std::min(due, *burst_start_ + kMaxHold);
}

void ScanSchedule::ClearBurst() {
  burst_start_.reset();
  last_complete_.reset();
  writing_.clear();
  files_.clear();
  full_ = false;
}

std::optional<ScanRequest> ScanSchedule::TakeDue(SteadyTime now) {
  if (requested_) {
    requested_ = false;
    ClearBurst();
    return ScanRequest{ScanReason::kSignal, true, {}};
  }
  if (const std::optional<SteadyTime> due = BurstDue(); due && now >= *due) {
    ScanRequest request{ScanReason::kInotify, full_, {}};
    if (!full_) request.files.assign(files_.begin(), files_.end());
    ClearBurst();
    return request;
  }
  if (now >= next_rescan_) {
    next_rescan_ = SaturatingAdd(now, timing_.rescan_interval);
    return ScanRequest{ScanReason::kPeriodic, true, {}};
  }
  return std::nullopt;
}

SteadyTime ScanSchedule::NextDue() const {
  if (requested_) return SteadyTime::min();
  const std::optional<SteadyTime> due = BurstDue();
  return due ? std::min(*due, next_rescan_) : next_rescan_;
}

}  // namespace mactl
