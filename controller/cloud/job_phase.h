#pragma once

// The phases of a ModelArts v2 training job and how the controller reads them. The API
// documents the names (status.phase, and the more detailed status.secondary_phase that it
// says may change without notice) and which phases accept a terminate; the rest of the
// split is ours (docs/modelarts-v2-api.md, "Phases").

#include <array>
#include <string_view>

namespace mactl {

enum class JobPhaseClass {
  kUnknown,      // not a documented value: never acted on, polled until it is known
  kTerminable,   // Creating, Pending, Running: a terminate applies
  kTerminating,  // a terminate is under way: poll, never terminate again
  kTerminal,     // Completed, Failed, Terminated, Abnormal: nothing left to stop
};

// Every documented status.phase and its class.
inline constexpr std::array<std::string_view, 8> kDocumentedJobPhases = {
    "Creating",  "Pending", "Running",    "Terminating",
    "Completed", "Failed",  "Terminated", "Abnormal"};

// Every documented status.secondary_phase.
inline constexpr std::array<std::string_view, 11> kDocumentedSecondaryPhases = {
    "Creating",   "Queuing",      "Running",          "Failed",  "Completed", "Terminating",
    "Terminated", "CreateFailed", "TerminatedFailed", "Unknown", "Lost"};

// status.phase alone. Case-sensitive, as the API writes it.
JobPhaseClass ClassifyJobPhase(std::string_view phase);

// status.secondary_phase alone: Creating, Queuing, Running are terminable; Terminating is
// terminating; Failed, Completed, Terminated, CreateFailed, TerminatedFailed and Lost are
// terminal; Unknown and anything undocumented are unknown.
JobPhaseClass ClassifySecondaryPhase(std::string_view secondary_phase);

// The class the controller acts on. The phase decides; the secondary phase can only hold
// back a terminate: a terminable phase whose secondary phase already says the job is being
// stopped or has ended reads as terminating (poll until the phase catches up), because a
// terminate then would be refused or repeat one already sent. An undocumented or empty
// secondary phase changes nothing (the API says not to depend on it).
JobPhaseClass ClassifyJobPhases(std::string_view phase, std::string_view secondary_phase);

std::string_view JobPhaseClassName(JobPhaseClass c);  // "unknown", "terminable", ...

}  // namespace mactl
