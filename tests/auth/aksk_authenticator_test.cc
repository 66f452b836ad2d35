#include "controller/auth/aksk_authenticator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "fakes/fake_clock.h"
#include "oracle/aksk_vectors.h"

namespace mactl {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kSecret[] = "sk-test-secret";

std::optional<std::string> FindHeader(const OutgoingRequest& r, std::string_view name) {
  std::optional<std::string> found;
  for (const auto& [n, v] : r.headers) {
    if (n == name) {
      if (found) return std::string("<duplicate>");
      found = v;
    }
  }
  return found;
}

class AkSkAuthenticatorTest : public ::testing::Test {
 protected:
  AkSkAuthenticatorTest() {
    // FakeClock's wall time starts at 480000 h after the epoch; move it to
    // 2026-11-28T17:48:00Z (1795888080 s), the date of the vendor-signed vectors.
    clock_.Advance(std::chrono::seconds(1795888080 - 480000LL * 3600));
  }
  static OutgoingRequest ListRequest() {
    OutgoingRequest r;
    r.method = "GET";
    r.host = "modelarts.eu-de.otc.t-systems.com";
    r.path = "/v1/0f1e2d3c/training-jobs";
    r.query = {{"per_page", "10"}, {"page", "1"}};
    return r;
  }
  testing::FakeClock clock_;
};

TEST_F(AkSkAuthenticatorTest, SignsExactlyAsTheVendorsSigner) {
  // The vectors whose headers are the ones this authenticator sets (tests/oracle/).
  int checked = 0;
  for (const testing::AkSkVector& v : testing::LoadAkSkVectors()) {
    if (!v.client_header_set) continue;
    ++checked;
    ASSERT_EQ(clock_.WallNow(), v.signed_at) << v.name;
    AkSkAuthenticator auth(v.access_key, v.secret_key, v.Header("X-Project-Id"), clock_);
    OutgoingRequest r;
    r.method = v.method;
    r.host = v.host;
    r.path = v.path;
    r.query = v.query;
    r.body = v.body;
    ASSERT_TRUE(auth.Apply(r).ok()) << v.name;
    EXPECT_EQ(FindHeader(r, "Authorization"), v.authorization) << v.name;
    EXPECT_EQ(FindHeader(r, "X-Sdk-Date"), v.sdk_date) << v.name;
    EXPECT_EQ(FindHeader(r, "Host"), v.host) << v.name;
    EXPECT_EQ(FindHeader(r, "Content-Type"), "application/json") << v.name;
  }
  EXPECT_GE(checked, 3);
}

TEST_F(AkSkAuthenticatorTest, DateFollowsTheClock) {
  AkSkAuthenticator auth("AK1", kSecret, "", clock_);
  OutgoingRequest r;
  r.method = "POST";
  r.host = "127.0.0.1:8443";
  r.path = "/v1/p/training-jobs/10/versions/10/stop";
  ASSERT_TRUE(auth.Apply(r).ok());
  const std::string first = *FindHeader(r, "Authorization");
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(auth.Apply(r).ok());
  EXPECT_EQ(FindHeader(r, "X-Sdk-Date"), "20261128T174901Z");
  EXPECT_EQ(FindHeader(r, "X-Project-Id"), std::nullopt);
  EXPECT_NE(FindHeader(r, "Authorization"), first);
}

TEST_F(AkSkAuthenticatorTest, ReplacesStaleHeadersOnRetry) {
  AkSkAuthenticator auth("AK1", kSecret, "0f1e2d3c", clock_);
  OutgoingRequest r = ListRequest();
  r.headers.emplace_back("host", "stale.example");
  r.headers.emplace_back("Accept", "application/json");
  ASSERT_TRUE(auth.Apply(r).ok());
  const std::string first = *FindHeader(r, "Authorization");
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_TRUE(auth.Apply(r).ok());  // the client re-applies before a retry
  EXPECT_EQ(FindHeader(r, "Host"), "modelarts.eu-de.otc.t-systems.com");
  EXPECT_EQ(FindHeader(r, "host"), std::nullopt);
  EXPECT_EQ(FindHeader(r, "X-Sdk-Date"), "20261128T174805Z");
  EXPECT_NE(FindHeader(r, "Authorization"), first);
  EXPECT_THAT(r.headers, Contains(Pair("Accept", "application/json")));
  EXPECT_EQ(r.headers.size(), 6u);
}

TEST_F(AkSkAuthenticatorTest, SecretNeverLeavesAndNothingIsCached) {
  AkSkAuthenticator auth("AK1", kSecret, "p", clock_);
  EXPECT_EQ(auth.Describe(), "aksk");
  OutgoingRequest r = ListRequest();
  ASSERT_TRUE(auth.Apply(r).ok());
  const std::string before = *FindHeader(r, "Authorization");
  auth.OnUnauthorized(OutgoingRequest{});
  OutgoingRequest again = ListRequest();
  ASSERT_TRUE(auth.Apply(again).ok());
  EXPECT_EQ(*FindHeader(again, "Authorization"), before);
  for (const auto& [name, value] : again.headers) {
    EXPECT_EQ(value.find(kSecret), std::string::npos) << name;
  }
}

TEST_F(AkSkAuthenticatorTest, XProjectIdIsTheRequestsProjectNotTheConfiguredOne) {
  // --project-id is 0f1e2d3c; a manifest's spec.projectId names another project.
  AkSkAuthenticator auth("AK1", kSecret, "0f1e2d3c", clock_);
  OutgoingRequest other = ListRequest();
  other.project_id = "9a8b7c6d";
  other.path = "/v1/9a8b7c6d/training-jobs";
  ASSERT_TRUE(auth.Apply(other).ok());
  EXPECT_EQ(FindHeader(other, "X-Project-Id"), "9a8b7c6d");
  // The header is signed as sent.
  EXPECT_THAT(*FindHeader(other, "Authorization"), HasSubstr("x-project-id"));

  OutgoingRequest own = ListRequest();
  own.project_id = "0f1e2d3c";
  ASSERT_TRUE(auth.Apply(own).ok());
  EXPECT_EQ(FindHeader(own, "X-Project-Id"), "0f1e2d3c");

  // Without a configured project the request's project is still sent.
  AkSkAuthenticator unset("AK1", kSecret, "", clock_);
  OutgoingRequest third = ListRequest();
  third.project_id = "5e4d3c2b";
  ASSERT_TRUE(unset.Apply(third).ok());
  EXPECT_EQ(FindHeader(third, "X-Project-Id"), "5e4d3c2b");
}

TEST_F(AkSkAuthenticatorTest, MissingHostIsAnError) {
  AkSkAuthenticator auth("AK1", kSecret, "p", clock_);
  OutgoingRequest r = ListRequest();
  r.host.clear();
  const Status s = auth.Apply(r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().error_class, ErrorClass::kTerminal);
}

}  // namespace
}  // namespace mactl
