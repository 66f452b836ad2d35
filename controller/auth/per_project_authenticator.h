#pragma once

// Routes each request to the credentials of its project: clouds.yaml entries that name a
// project (auth.project_id) serve requests for that project, the chosen entry (OS_CLOUD)
// every other one (README, "Credentials").

#include <map>
#include <memory>
#include <string>

#include "controller/cloud/authenticator.h"

namespace mactl {

// Thread-safe when the authenticators it holds are: it never changes after construction.
class PerProjectAuthenticator final : public Authenticator {
 public:
  // `fallback` serves every project without an entry in `by_project`; neither may be null.
  PerProjectAuthenticator(std::unique_ptr<Authenticator> fallback,
                          std::map<std::string, std::unique_ptr<Authenticator>> by_project);

  // Authenticator methods
  Status Apply(OutgoingRequest& request) override;
  void OnUnauthorized(const OutgoingRequest& rejected) override;
  void Cancel() override;
  // The fallback's method, e.g. "iam-password".
  std::string Describe() const override;

 private:
  Authenticator& For(const std::string& project_id) const;

  const std::unique_ptr<Authenticator> fallback_;
  const std::map<std::string, std::unique_ptr<Authenticator>> by_project_;
};

}  // namespace mactl
