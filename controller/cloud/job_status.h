#pragma once

// The ModelArts v1 training-job status codes (0–22) and how the controller reads them.
// The split into stoppable / killing / terminal is ours: the API documents only names.

#include <cstdint>
#include <string_view>

namespace mactl {

enum class JobStatus : int {
  kUnknown = 0,
  kInit = 1,
  kImageCreating = 2,
  kImageFailed = 3,
  kSubmitTrying = 4,
  kSubmitFailed = 5,
  kDeleteFailed = 6,
  kWaiting = 7,
  kRunning = 8,
  kKilling = 9,
  kCompleted = 10,
  kFailed = 11,
  kKilled = 12,
  kCanceled = 13,
  kLost = 14,
  kScaling = 15,
  kSubmitModelFailed = 16,
  kDeployServiceFailed = 17,
  kCheckInit = 18,
  kCheckRunning = 19,
  kCheckRunningCompleted = 20,
  kCheckFailed = 21,
  kMountFailed = 22,
};

inline constexpr int kMaxKnownJobStatus = 22;

enum class StatusClass {
  kUnknown,   // 0, or a code outside 0–22: never acted on, polled until it is known
  kActive,    // non-terminal and not being killed: a stop applies
  kKilling,   // 9: a stop is already under way; poll, never stop again
  kTerminal,  // finished one way or another: nothing to do
};

// The documented name ("JOBSTAT_RUNNING", "MOUNT_FAILED"), or "UNRECOGNISED" for codes outside
// 0–22.
std::string_view JobStatusName(int code);
StatusClass ClassifyJobStatus(int code);
std::string_view StatusClassName(StatusClass c);

}  // namespace mactl
