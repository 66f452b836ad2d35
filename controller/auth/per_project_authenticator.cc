#include "controller/auth/per_project_authenticator.h"

#include <utility>

namespace mactl {

PerProjectAuthenticator::PerProjectAuthenticator(
    std::unique_ptr<Authenticator> fallback,
    std::map<std::string, std::unique_ptr<Authenticator>> by_project)
    : fallback_(std::move(fallback)), by_project_(std::move(by_project)) {}

Authenticator& PerProjectAuthenticator::For(const std::string& project_id) const {
  const auto it = by_project_.find(project_id);
  return it == by_project_.end() ? *fallback_ : *it->second;
}

Status PerProjectAuthenticator::Apply(OutgoingRequest& request) {
  return For(request.project_id).Apply(request);
}

void PerProjectAuthenticator::OnUnauthorized(const OutgoingRequest& rejected) {
  For(rejected.project_id).OnUnauthorized(rejected);
}

void PerProjectAuthenticator::Cancel() {
  fallback_->Cancel();
  for (const auto& [project, auth] : by_project_) auth->Cancel();
}

std::string PerProjectAuthenticator::Describe() const { return fallback_->Describe(); }

}  // namespace mactl
