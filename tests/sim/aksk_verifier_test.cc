// The simulator's AK/SK verifier against requests signed by the vendor's own signer
// (tests/oracle/): it accepts each one as signed and refuses it once any signed part changes.

#include "sim/aksk_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "oracle/aksk_vectors.h"

namespace mactl::sim {
namespace {

using testing::AkSkVector;

ReceivedRequest AsReceived(const AkSkVector& v) {
  ReceivedRequest req;
  req.method = v.method;
  req.raw_path = v.path;
  req.query = v.query;
  req.headers = v.headers;
  req.headers.emplace_back("Authorization", v.authorization);
  req.body = v.body;
  return req;
}

SecretKeyFinder SecretsOf(const AkSkVector& v) {
  return [v](std::string_view access_key) -> std::optional<std::string> {
    if (access_key == v.access_key) return v.secret_key;
    return std::nullopt;
  };
}

void SetHeader(ReceivedRequest& req, const std::string& name, const std::string& value) {
  for (auto& [key, old] : req.headers) {
    if (key == name) old = value;
  }
}

TEST(SimAkSkVerifier, AcceptsEveryVendorSignedRequest) {
  const std::vector<AkSkVector> vectors = testing::LoadAkSkVectors();
  ASSERT_GE(vectors.size(), 10u);
  for (const AkSkVector& v : vectors) {
    EXPECT_EQ(VerifyAkSk(AsReceived(v), SecretsOf(v)), AkSkVerdict::kValid) << v.name;
    // Headers added on the way (by proxies, or the client's own) are not signed.
    ReceivedRequest extra = AsReceived(v);
    extra.headers.emplace_back("User-Agent", "something/1.0");
    EXPECT_EQ(VerifyAkSk(extra, SecretsOf(v)), AkSkVerdict::kValid) << v.name;
    // Header names compare case-insensitively; the order of query pairs does not matter.
    ReceivedRequest shuffled = AsReceived(v);
    for (auto& [key, value] : shuffled.headers) {
      for (char& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::reverse(shuffled.query.begin(), shuffled.query.end());
    EXPECT_EQ(VerifyAkSk(shuffled, SecretsOf(v)), AkSkVerdict::kValid) << v.name;
  }
}

TEST(SimAkSkVerifier, RefusesEveryTamperedPart) {
  struct Tamper {
    const char* what;
    std::function<void(ReceivedRequest&, const AkSkVector&)> apply;
  };
  const std::vector<Tamper> tampers = {
      {"body", [](ReceivedRequest& r, const AkSkVector&) { r.body += " "; }},
      {"path", [](ReceivedRequest& r, const AkSkVector&) { r.raw_path += "x"; }},
      {"query added",
       [](ReceivedRequest& r, const AkSkVector&) { r.query.emplace_back("a", "1"); }},
      {"method", [](ReceivedRequest& r,
                    const AkSkVector&) { r.method = r.method == "GET" ? "POST" : "GET"; }},
      {"host header", [](ReceivedRequest& r,
                         const AkSkVector& v) { SetHeader(r, "host", v.host + ".evil.example"); }},
      {"date header", [](ReceivedRequest& r,
                         const AkSkVector&) { SetHeader(r, "X-Sdk-Date", "20261128T174801Z"); }},
  };
  for (const AkSkVector& v : testing::LoadAkSkVectors()) {
    for (const Tamper& t : tampers) {
      ReceivedRequest req = AsReceived(v);
      t.apply(req, v);
      EXPECT_EQ(VerifyAkSk(req, SecretsOf(v)), AkSkVerdict::kWrongSignature)
          << v.name << ": " << t.what;
    }
    if (!v.query.empty()) {
      ReceivedRequest req = AsReceived(v);
      req.query.back().second += "0";
      EXPECT_EQ(VerifyAkSk(req, SecretsOf(v)), AkSkVerdict::kWrongSignature) << v.name;
    }
    if (!v.Header("Content-Type").empty()) {
      ReceivedRequest req = AsReceived(v);
      SetHeader(req, "Content-Type", "text/plain");
      EXPECT_EQ(VerifyAkSk(req, SecretsOf(v)), AkSkVerdict::kWrongSignature) << v.name;
    }
  }
}

TEST(SimAkSkVerifier, RefusesWrongKeysAndBrokenHeaders) {
  const AkSkVector v = testing::FindAkSkVector("list with paging");
  const auto wrong_secret = [](std::string_view) -> std::optional<std::string> {
    return "not-the-secret";
  };
  EXPECT_EQ(VerifyAkSk(AsReceived(v), wrong_secret), AkSkVerdict::kWrongSignature);
  const auto nobody = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_EQ(VerifyAkSk(AsReceived(v), nobody), AkSkVerdict::kUnknownAccessKey);

  ReceivedRequest missing = AsReceived(v);
  std::erase_if(missing.headers, [](const auto& h) { return h.first == "X-Project-Id"; });
  EXPECT_EQ(VerifyAkSk(missing, SecretsOf(v)), AkSkVerdict::kSignedHeaderMissing);

  ReceivedRequest no_date = AsReceived(v);
  std::erase_if(no_date.headers, [](const auto& h) { return h.first == "X-Sdk-Date"; });
  EXPECT_EQ(VerifyAkSk(no_date, SecretsOf(v)), AkSkVerdict::kMalformed);

  ReceivedRequest garbled = AsReceived(v);
  SetHeader(garbled, "Authorization", "SDK-HMAC-SHA256 nonsense");
  EXPECT_EQ(VerifyAkSk(garbled, SecretsOf(v)), AkSkVerdict::kMalformed);

  // A signature that leaves out host or x-sdk-date is refused whatever it is.
  ReceivedRequest unsigned_host = AsReceived(v);
  std::string auth = v.authorization;
  auth.replace(auth.find("content-type;host;"), 18, "content-type;");
  SetHeader(unsigned_host, "Authorization", auth);
  EXPECT_EQ(VerifyAkSk(unsigned_host, SecretsOf(v)), AkSkVerdict::kHostOrDateUnsigned);
}

TEST(SimAkSkVerifier, ParsesTheAuthorizationHeaderAndTheDate) {
  const auto parsed = ParseAkSkAuthorization(
      "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Content-Type;host;x-sdk-date, Signature=ab12");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->access_key, "AK1");
  EXPECT_EQ(parsed->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-sdk-date"}));
  EXPECT_EQ(parsed->signature, "ab12");
  EXPECT_FALSE(ParseAkSkAuthorization("Bearer xyz"));
  EXPECT_FALSE(ParseAkSkAuthorization("SDK-HMAC-SHA256 Access=AK1, Signature=ab12"));
  EXPECT_FALSE(
      ParseAkSkAuthorization("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=a;;b, "
                             "Signature=ab12"));

  const AkSkVector v = testing::FindAkSkVector("list with paging");
  EXPECT_EQ(ParseSdkDate(v.sdk_date), v.signed_at);
  EXPECT_FALSE(ParseSdkDate("20261128T174800"));
  EXPECT_FALSE(ParseSdkDate("20260230T000000Z"));
  EXPECT_FALSE(ParseSdkDate("20261128T246000Z"));
  EXPECT_FALSE(ParseSdkDate("2026-11-28T17:48Z"));
}

}  // namespace
}  // namespace mactl::sim
