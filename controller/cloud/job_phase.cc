#include "controller/cloud/job_phase.h"

namespace mactl {

JobPhaseClass ClassifyJobPhase(std::string_view phase) {
  if (phase == "Creating" || phase == "Pending" || phase == "Running") {
    return JobPhaseClass::kTerminable;
  }
  if (phase == "Terminating") return JobPhaseClass::kTerminating;
  if (phase == "Completed" || phase == "Failed" || phase == "Terminated" || phase == "Abnormal") {
    return JobPhaseClass::kTerminal;
  }
  return JobPhaseClass::kUnknown;
}

JobPhaseClass ClassifySecondaryPhase(std::string_view secondary_phase) {
  const std::string_view s = secondary_phase;
  if (s == "Creating" || s == "Queuing" || s == "Running") return JobPhaseClass::kTerminable;
  if (s == "Terminating") return JobPhaseClass::kTerminating;
  if (s == "Failed" || s == "Completed" || s == "Terminated" || s == "CreateFailed" ||
      s == "TerminatedFailed" || s == "Lost") {
    return JobPhaseClass::kTerminal;
  }
  return JobPhaseClass::kUnknown;
}

JobPhaseClass ClassifyJobPhases(std::string_view phase, std::string_view secondary_phase) {
  const JobPhaseClass primary = ClassifyJobPhase(phase);
  if (primary != JobPhaseClass::kTerminable) return primary;
  switch (ClassifySecondaryPhase(secondary_phase)) {
    case JobPhaseClass::kTerminating:
    case JobPhaseClass::kTerminal:
      return JobPhaseClass::kTerminating;
    case JobPhaseClass::kTerminable:
    case JobPhaseClass::kUnknown:
      break;
  }
  return primary;
}

std::string_view JobPhaseClassName(JobPhaseClass c) {
  switch (c) {
    case JobPhaseClass::kUnknown:
      return "unknown";
    case JobPhaseClass::kTerminable:
      return "terminable";
    case JobPhaseClass::kTerminating:
      return "terminating";
    case JobPhaseClass::kTerminal:
      return "terminal";
  }
  return "unknown";
}

}  // namespace mactl
