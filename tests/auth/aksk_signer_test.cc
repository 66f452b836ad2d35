#include "controller/auth/aksk_signer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "oracle/aksk_vectors.h"

namespace mactl {
namespace {

// Our client signer against requests signed by the vendor's own signer (tests/oracle/,
// docs/testing.md): for every vector it must produce exactly the vendor's Authorization and
// X-Sdk-Date.

constexpr char kDate[] = "20261128T174800Z";
constexpr char kSecret[] = "sk-test-secret";

SigningInput FromVector(const testing::AkSkVector& v) {
  SigningInput in;
  in.method = v.method;
  in.host = v.host;
  in.path = v.path;
  in.query = v.query;
  in.headers = v.headers;
  in.body = v.body;
  in.sdk_date = FormatSdkDate(v.signed_at);
  return in;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(AkSkSignerTest, SignsEveryVectorExactlyAsTheVendor) {
  const std::vector<testing::AkSkVector> vectors = testing::LoadAkSkVectors();
  ASSERT_GE(vectors.size(), 10u);
  for (const testing::AkSkVector& v : vectors) {
    const SigningInput in = FromVector(v);
    EXPECT_EQ(in.sdk_date, v.sdk_date) << v.name;
    // The vendor signs every header it is given: sign the same set.
    std::vector<std::string> names;
    for (const auto& [name, value] : v.headers) names.push_back(Lower(name));
    std::sort(names.begin(), names.end());
    std::string joined;
    for (const std::string& name : names) joined += (joined.empty() ? "" : ";") + name;
    const std::optional<std::string> canonical = CanonicalRequestFor(in, names);
    ASSERT_TRUE(canonical) << v.name;
    const std::string signature = Sign(StringToSign(*canonical, in.sdk_date), v.secret_key);
    EXPECT_EQ(AuthorizationHeader(v.access_key, joined, signature), v.authorization) << v.name;
  }
}

TEST(AkSkSignerTest, SignsTheControllersHeaderSetExactlyAsTheVendor) {
  int checked = 0;
  for (const testing::AkSkVector& v : testing::LoadAkSkVectors()) {
    if (!v.client_header_set) continue;
    ++checked;
    const SigningInput in = FromVector(v);
    std::string signed_headers;
    const std::string canonical = CanonicalRequest(in, &signed_headers);
    const std::string signature = Sign(StringToSign(canonical, in.sdk_date), v.secret_key);
    EXPECT_EQ(AuthorizationHeader(v.access_key, signed_headers, signature), v.authorization)
        << v.name;
  }
  EXPECT_GE(checked, 3);
}

TEST(AkSkSignerTest, SortsQueryPairsBeforeEscapingThem) {
  // As the vendor's signer does ("query keys and values needing escapes" vector): sorting the
  // escaped text instead puts "a%2Fb" before "a.b", and the gateway refuses the signature.
  EXPECT_EQ(CanonicalQueryString({{"a/b", "x"}, {"a.b", "y"}}), "a.b=y&a%2Fb=x");
  EXPECT_EQ(CanonicalQueryString({{"k", "a/"}, {"k", "a."}}), "k=a.&k=a%2F");
  EXPECT_EQ(CanonicalQueryString({{"zeta", "2"}, {"Beta", "x"}, {"alpha", "b"}, {"alpha", "A"}}),
            "Beta=x&alpha=A&alpha=b&zeta=2");
}

SigningInput PostStop() {
  SigningInput in;
  in.method = "POST";
  in.host = "127.0.0.1:8443";
  in.path = "/v1/0f1e2d3c/training-jobs/10/versions/10/stop";
  in.headers = {{"Content-Type", "application/json"},
                {"Host", "127.0.0.1:8443"},
                {"X-Sdk-Date", kDate},
                // Not in the signed set: must be left out of the canonical request.
                {"User-Agent", "modelarts-controller/0.1.0"}};
  in.sdk_date = kDate;
  return in;
}

TEST(AkSkSignerTest, SignsOnlyTheControllersHeaders) {
  std::string signed_headers;
  const std::string canonical = CanonicalRequest(PostStop(), &signed_headers);
  EXPECT_EQ(signed_headers, "content-type;host;x-sdk-date");
  EXPECT_EQ(canonical.find("user-agent"), std::string::npos);
}

TEST(AkSkSignerTest, CanonicalUriPieces) {
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/"), "/");
  EXPECT_EQ(CanonicalUri("/a/b/"), "/a/b/");
  EXPECT_EQ(CanonicalUri("/a b"), "/a%20b/");
  EXPECT_EQ(CanonicalUri("/a%zz"), "/a%25zz/");  // a malformed escape is kept literally
  EXPECT_EQ(CanonicalQueryString({}), "");
  EXPECT_EQ(SigningEscape("AZaz09-_.~ +*/"), "AZaz09-_.~%20%2B%2A%2F");
}

TEST(AkSkSignerTest, BodyChangesTheSignature) {
  SigningInput in = PostStop();
  const std::string empty_body_sig =
      Sign(StringToSign(CanonicalRequest(in, nullptr), kDate), kSecret);
  in.body = "{}";
  const std::string canonical = CanonicalRequest(in, nullptr);
  EXPECT_NE(canonical.find(HexSha256("{}")), std::string::npos);
  EXPECT_NE(Sign(StringToSign(canonical, kDate), kSecret), empty_body_sig);
}

TEST(AkSkSignerTest, AuthorizationHeaderFormat) {
  EXPECT_EQ(
      AuthorizationHeader("AK1", "content-type;host;x-sdk-date", "abc"),
      "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, Signature=abc");
}

TEST(AkSkSignerTest, FormatsTheSdkDate) {
  const WallTime t{std::chrono::seconds(1795888080)};
  EXPECT_EQ(FormatSdkDate(t), "20261128T174800Z");
  EXPECT_EQ(FormatSdkDate(t + std::chrono::milliseconds(999)), "20261128T174800Z");
  EXPECT_EQ(FormatSdkDate(WallTime{std::chrono::seconds(951868799)}), "20000229T235959Z");
}

}  // namespace
}  // namespace mactl
