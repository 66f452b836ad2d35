#include "controller/core/gated_cloud_client.h"

namespace mactl {

Status GatedCloudClient::StopVersion(const VersionRef& ref) {
  const Status allowed = gate_.CheckBeforeStop();
  if (!allowed) {
    Error refused = allowed.error();
    refused.error_class = ErrorClass::kRetryable;  // no stop now; the next look decides again
    refused.message = "stop not sent: " + refused.message;
    return refused;
  }
  return inner_.StopVersion(ref);
}

}  // namespace mactl
