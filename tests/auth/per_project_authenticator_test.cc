#include "controller/auth/per_project_authenticator.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mactl {
namespace {

// Adds "X-Who: <name>" and records the projects it was asked to renew.
class NamedAuth final : public Authenticator {
 public:
  NamedAuth(std::string name, std::vector<std::string>& renewed)
      : name_(std::move(name)), renewed_(renewed) {}
  Status Apply(OutgoingRequest& request) override {
    request.headers.emplace_back("X-Who", name_);
    return OkStatus();
  }
  void OnUnauthorized(const OutgoingRequest& rejected) override {
    renewed_.push_back(name_ + ":" + rejected.project_id);
  }
  void Cancel() override { renewed_.push_back(name_ + ":cancel"); }
  std::string Describe() const override { return name_; }

 private:
  const std::string name_;
  std::vector<std::string>& renewed_;
};

std::string Who(Authenticator& auth, const std::string& project) {
  OutgoingRequest r;
  r.project_id = project;
  EXPECT_TRUE(auth.Apply(r).ok());
  return r.headers.size() == 1 ? r.headers[0].second : "?";
}

TEST(PerProjectAuthenticatorTest, RoutesApplyAndRenewalByTheRequestsProject) {
  std::vector<std::string> renewed;
  std::map<std::string, std::unique_ptr<Authenticator>> by_project;
  by_project.emplace("proj-b", std::make_unique<NamedAuth>("b-creds", renewed));
  PerProjectAuthenticator auth(std::make_unique<NamedAuth>("default", renewed),
                               std::move(by_project));
  EXPECT_EQ(auth.Describe(), "default");
  EXPECT_EQ(Who(auth, "proj-a"), "default");
  EXPECT_EQ(Who(auth, "proj-b"), "b-creds");
  EXPECT_EQ(Who(auth, ""), "default");
  OutgoingRequest rejected;
  rejected.project_id = "proj-b";
  auth.OnUnauthorized(rejected);
  rejected.project_id = "proj-a";
  auth.OnUnauthorized(rejected);
  EXPECT_EQ(renewed, (std::vector<std::string>{"b-creds:proj-b", "default:proj-a"}));
  renewed.clear();
  auth.Cancel();  // shutdown reaches every project's credentials
  EXPECT_EQ(renewed, (std::vector<std::string>{"default:cancel", "b-creds:cancel"}));
}

}  // namespace
}  // namespace mactl
