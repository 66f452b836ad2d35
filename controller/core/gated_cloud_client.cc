#include "controller/core/gated_cloud_client.h"

#include "controller/core/gated_training_job_client.h"

namespace mactl {
namespace {

// The gate's refusal as the error the caller sees: retryable, since the next look decides
// again.
std::optional<Error> Refusal(StopGate& gate, std::string_view what) {
  const Status allowed = gate.CheckBeforeStop();
  if (allowed) return std::nullopt;
  Error refused = allowed.error();
  refused.error_class = ErrorClass::kRetryable;
  refused.message = std::string(what) + " not sent: " + refused.message;
  return refused;
}

}  // namespace

Status GatedCloudClient::StopVersion(const VersionRef& ref) {
  if (std::optional<Error> refused = Refusal(gate_, "stop")) return *refused;
  return inner_.StopVersion(ref);
}

Result<TrainingJobInfo> GatedTrainingJobClient::TerminateTrainingJob(const std::string& project_id,
                                                                     const std::string& id) {
  if (std::optional<Error> refused = Refusal(gate_, "terminate")) return *refused;
  return inner_.TerminateTrainingJob(project_id, id);
}

}  // namespace mactl
