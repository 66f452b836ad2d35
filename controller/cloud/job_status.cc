#include "controller/cloud/job_status.h"

#include <array>

namespace mactl {
namespace {

struct StatusInfo {
  std::string_view name;
  StatusClass status_class;
};

// Index = status code. Classification follows the API notes' reading of the names:
// failures, completions and cancellations are terminal; everything that may still
// be doing work (initialising, queued, running, scaling, under review) is active.
constexpr std::array<StatusInfo, kMaxKnownJobStatus + 1> kStatusTable = {{
    {"JOBSTAT_UNKNOWN", StatusClass::kUnknown},
    {"JOBSTAT_INIT", StatusClass::kActive},
    {"JOBSTAT_IMAGE_CREATING", StatusClass::kActive},
    {"JOBSTAT_IMAGE_FAILED", StatusClass::kTerminal},
    {"JOBSTAT_SUBMIT_TRYING", StatusClass::kActive},
    {"JOBSTAT_SUBMIT_FAILED", StatusClass::kTerminal},
    {"JOBSTAT_DELETE_FAILED", StatusClass::kTerminal},
    {"JOBSTAT_WAITING", StatusClass::kActive},
    {"JOBSTAT_RUNNING", StatusClass::kActive},
    {"JOBSTAT_KILLING", StatusClass::kKilling},
    {"JOBSTAT_COMPLETED", StatusClass::kTerminal},
    {"JOBSTAT_FAILED", StatusClass::kTerminal},
    {"JOBSTAT_KILLED", StatusClass::kTerminal},
    {"JOBSTAT_CANCELED", StatusClass::kTerminal},
    {"JOBSTAT_LOST", StatusClass::kTerminal},
    {"JOBSTAT_SCALING", StatusClass::kActive},
    {"JOBSTAT_SUBMIT_MODEL_FAILED", StatusClass::kTerminal},
    {"JOBSTAT_DEPLOY_SERVICE_FAILED", StatusClass::kTerminal},
    {"JOBSTAT_CHECK_INIT", StatusClass::kActive},
    {"JOBSTAT_CHECK_RUNNING", StatusClass::kActive},
    {"JOBSTAT_CHECK_RUNNING_COMPLETED", StatusClass::kTerminal},
    {"JOBSTAT_CHECK_FAILED", StatusClass::kTerminal},
    {"MOUNT_FAILED", StatusClass::kTerminal},
}};

bool Known(int code) { return code >= 0 && code <= kMaxKnownJobStatus; }

}  // namespace

std::string_view JobStatusName(int code) {
  return Known(code) ? kStatusTable[static_cast<std::size_t>(code)].name : "UNRECOGNISED";
}

StatusClass ClassifyJobStatus(int code) {
  return Known(code) ? kStatusTable[static_cast<std::size_t>(code)].status_class
                     : StatusClass::kUnknown;
}

std::string_view StatusClassName(StatusClass c) {
  switch (c) {
    case StatusClass::kUnknown:
      return "unknown";
    case StatusClass::kActive:
      return "active";
    case StatusClass::kKilling:
      return "killing";
    case StatusClass::kTerminal:
      return "terminal";
  }
  return "unknown";
}

}  // namespace mactl
