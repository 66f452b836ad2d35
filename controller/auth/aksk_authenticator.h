#pragma once

// Signs every request with an access key / secret key pair ("SDK-HMAC-SHA256").

#include <string>

#include "controller/base/clock.h"
#include "controller/cloud/authenticator.h"

namespace mactl {

// Adds X-Sdk-Date (from clock.WallNow()), Host, Content-Type: application/json,
// X-Project-Id and Authorization, replacing any header of the same name already present.
// X-Project-Id is the request's project, or `project_id` for a request that names none
// (and is left out when both are empty). Holds nothing that can go stale, so
// OnUnauthorized is a no-op. Thread-safe (no mutable state). `clock` must outlive this
// object.
class AkSkAuthenticator final : public Authenticator {
 public:
  AkSkAuthenticator(std::string access_key, std::string secret_key, std::string project_id,
                    const Clock& clock);

  // Authenticator methods
  Status Apply(OutgoingRequest& request) override;
  void OnUnauthorized(const OutgoingRequest& /*rejected*/) override {}
  std::string Describe() const override { return "aksk"; }

 private:
  const std::string access_key_;
  const std::string secret_key_;
  const std::string project_id_;
  const Clock& clock_;
};

}  // namespace mactl
