#include "controller/auth/aksk_signer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace mactl {
namespace {

// Expected values were computed independently of this code with python3:
//
//   import hashlib, hmac
//   from urllib.parse import quote, unquote
//   def esc(s): return quote(s, safe='')
//   def curi(p):
//       u = '/'.join(esc(unquote(x)) for x in p.split('/'))
//       return u if u.endswith('/') else u + '/'
//   def cq(q): return '&'.join(f'{k}={v}' for k, v in sorted((esc(k), esc(v)) for k, v in q))
//   def canon(m, p, q, h, body):
//       names = sorted(k.lower() for k in h)
//       hv = {k.lower(): v.strip() for k, v in h.items()}
//       ch = ''.join(f'{n}:{hv[n]}\n' for n in names)
//       return '\n'.join([m, curi(p), cq(q), ch, ';'.join(names),
//                         hashlib.sha256(body).hexdigest()])
//   c = canon(...)
//   sts = 'SDK-HMAC-SHA256\n' + h['X-Sdk-Date'] + '\n' + hashlib.sha256(c.encode()).hexdigest()
//   sig = hmac.new(sk.encode(), sts.encode(), hashlib.sha256).hexdigest()

constexpr char kDate[] = "20261128T174800Z";
constexpr char kSecret[] = "sk-test-secret";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigningInput GetWithQuery() {
  SigningInput in;
  in.method = "GET";
  in.host = "modelarts.eu-de.otc.t-systems.com";
  in.path = "/v1/0f1e2d3c/training-jobs";
  in.query = {{"per_page", "10"}, {"page", "1"}};
  in.headers = {{"Content-Type", "application/json"},
                {"Host", "modelarts.eu-de.otc.t-systems.com"},
                {"X-Sdk-Date", kDate},
                {"X-Project-Id", "0f1e2d3c"}};
  in.sdk_date = kDate;
  return in;
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

SigningInput NeedsEscaping() {
  SigningInput in;
  in.method = "GET";
  in.host = "h.example";
  in.path = "/v1/my%20proj/a%2Fb/~x_y.z-%C3%BC";
  in.query = {{"name", "a b&c=d"}, {"Key", "\xC3\xA4/x"}, {"a", "2"}, {"a", "1"}};
  in.headers = {{"Content-Type", "application/json"}, {"Host", "h.example"}, {"X-Sdk-Date", kDate}};
  in.sdk_date = kDate;
  return in;
}

TEST(AkSkSignerTest, GetWithQueryIsPinned) {
  const SigningInput in = GetWithQuery();
  std::string signed_headers;
  const std::string canonical = CanonicalRequest(in, &signed_headers);
  EXPECT_EQ(canonical, std::string("GET\n/v1/0f1e2d3c/training-jobs/\npage=1&per_page=10\n"
                                   "content-type:application/json\n"
                                   "host:modelarts.eu-de.otc.t-systems.com\n"
                                   "x-project-id:0f1e2d3c\nx-sdk-date:20261128T174800Z\n\n"
                                   "content-type;host;x-project-id;x-sdk-date\n") +
                           kEmptySha);
  EXPECT_EQ(signed_headers, "content-type;host;x-project-id;x-sdk-date");
  const std::string sts = StringToSign(canonical, kDate);
  EXPECT_EQ(sts,
            "SDK-HMAC-SHA256\n20261128T174800Z\n"
            "3cca9c4e110b91df58ad412290248f68965b2c90418ce28209dae7d349b8d449");
  EXPECT_EQ(Sign(sts, kSecret), "ae86879d4f19d52b18d9069a9eaac5f43ab5459d459eff42d09fe47a3e4e65ec");
}

TEST(AkSkSignerTest, PostWithEmptyBodyIsPinned) {
  const SigningInput in = PostStop();
  std::string signed_headers;
  const std::string canonical = CanonicalRequest(in, &signed_headers);
  EXPECT_EQ(canonical,
            std::string("POST\n/v1/0f1e2d3c/training-jobs/10/versions/10/stop/\n\n"
                        "content-type:application/json\nhost:127.0.0.1:8443\n"
                        "x-sdk-date:20261128T174800Z\n\ncontent-type;host;x-sdk-date\n") +
                kEmptySha);
  EXPECT_EQ(signed_headers, "content-type;host;x-sdk-date");
  const std::string sts = StringToSign(canonical, kDate);
  EXPECT_EQ(sts,
            "SDK-HMAC-SHA256\n20261128T174800Z\n"
            "75e8e52362ca6311531c0f8d9e9aee8646b5d4bba179075497d307ffa1508bd2");
  EXPECT_EQ(Sign(sts, kSecret), "22e187e108d0844fac8d011d71ec7058cd05e20c1c27ceda428869e0a812a0f0");
}

TEST(AkSkSignerTest, EscapedPathAndQueryArePinned) {
  const SigningInput in = NeedsEscaping();
  const std::string canonical = CanonicalRequest(in, nullptr);
  EXPECT_EQ(canonical,
            std::string("GET\n/v1/my%20proj/a%2Fb/~x_y.z-%C3%BC/\n"
                        "Key=%C3%A4%2Fx&a=1&a=2&name=a%20b%26c%3Dd\n"
                        "content-type:application/json\nhost:h.example\n"
                        "x-sdk-date:20261128T174800Z\n\ncontent-type;host;x-sdk-date\n") +
                kEmptySha);
  const std::string sts = StringToSign(canonical, kDate);
  EXPECT_EQ(sts,
            "SDK-HMAC-SHA256\n20261128T174800Z\n"
            "653964caa5d07a0ef98fd38e15ad9a1ebb70230fe06b8b2dfe10ac4ba3c1ba4f");
  EXPECT_EQ(Sign(sts, kSecret), "5329d82fc8d5c77944709fa3d4baaa9a632a006f737548f325e2252e6e447855");
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
  const auto parsed = ParseAuthorizationHeader(
      "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Content-Type;host;x-sdk-date, Signature=abc");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->access_key, "AK1");
  EXPECT_EQ(parsed->signed_headers,
            (std::vector<std::string>{"content-type", "host", "x-sdk-date"}));
  EXPECT_EQ(parsed->signature, "abc");
  EXPECT_FALSE(ParseAuthorizationHeader("Bearer xyz").has_value());
  EXPECT_FALSE(ParseAuthorizationHeader("SDK-HMAC-SHA256 Access=AK1, Signature=abc").has_value());
}

TEST(AkSkSignerTest, SdkDateRoundTrip) {
  const WallTime t{std::chrono::seconds(1795888080)};
  EXPECT_EQ(FormatSdkDate(t), "20261128T174800Z");
  EXPECT_EQ(FormatSdkDate(t + std::chrono::milliseconds(999)), "20261128T174800Z");
  EXPECT_EQ(FormatSdkDate(WallTime{std::chrono::seconds(951868799)}), "20000229T235959Z");
  EXPECT_EQ(ParseSdkDate("20261128T174800Z"), t);
  EXPECT_FALSE(ParseSdkDate("20261128T174800").has_value());
  EXPECT_FALSE(ParseSdkDate("20260230T000000Z").has_value());
  EXPECT_FALSE(ParseSdkDate("2026-11-28T17:48Z").has_value());
}

class VerifySignatureTest : public ::testing::Test {
 protected:
  static std::optional<std::string> Lookup(std::string_view ak) {
    if (ak == "AK1") return std::string(kSecret);
    return std::nullopt;
  }
  static std::string SignedAuthorization(const SigningInput& in, std::string_view secret) {
    std::string signed_headers;
    const std::string canonical = CanonicalRequest(in, &signed_headers);
    return AuthorizationHeader("AK1", signed_headers,
                               Sign(StringToSign(canonical, in.sdk_date), secret));
  }
};

TEST_F(VerifySignatureTest, AcceptsWhatTheSignerProduces) {
  for (const SigningInput& in : {GetWithQuery(), PostStop(), NeedsEscaping()}) {
    EXPECT_TRUE(VerifySignature(in, SignedAuthorization(in, kSecret), Lookup));
  }
}

TEST_F(VerifySignatureTest, ServerSeesDecodedPathAndExtraHeaders) {
  SigningInput sent = GetWithQuery();
  sent.path = "/v1/my%20proj/training-jobs";
  SigningInput received = sent;
  received.path = "/v1/my proj/training-jobs";               // HTTP servers hand over decoded paths
  received.headers.emplace_back("Accept-Encoding", "gzip");  // unsigned headers are ignored
  EXPECT_TRUE(VerifySignature(received, SignedAuthorization(sent, kSecret), Lookup));
}

TEST_F(VerifySignatureTest, RejectsTampering) {
  const SigningInput in = GetWithQuery();
  const std::string auth = SignedAuthorization(in, kSecret);

  EXPECT_FALSE(VerifySignature(in, SignedAuthorization(in, "wrong-secret"), Lookup));
  EXPECT_FALSE(VerifySignature(in, auth, [](std::string_view) { return std::nullopt; }));

  SigningInput other_path = in;
  other_path.path = "/v1/other/training-jobs";
  EXPECT_FALSE(VerifySignature(other_path, auth, Lookup));

  SigningInput other_query = in;
  other_query.query = {{"per_page", "10"}, {"page", "2"}};
  EXPECT_FALSE(VerifySignature(other_query, auth, Lookup));

  SigningInput other_method = in;
  other_method.method = "POST";
  EXPECT_FALSE(VerifySignature(other_method, auth, Lookup));

  SigningInput other_body = in;
  other_body.body = "x";
  EXPECT_FALSE(VerifySignature(other_body, auth, Lookup));

  SigningInput no_project = in;
  no_project.headers.pop_back();  // X-Project-Id was signed
  EXPECT_FALSE(VerifySignature(no_project, auth, Lookup));

  EXPECT_FALSE(VerifySignature(in, "garbage", Lookup));
}

TEST_F(VerifySignatureTest, RequiresHostAndDateToBeSigned) {
  const SigningInput in = PostStop();
  std::vector<std::string> names = {"content-type", "x-sdk-date"};
  const std::string canonical = *CanonicalRequestFor(in, names);
  const std::string auth = AuthorizationHeader("AK1", "content-type;x-sdk-date",
                                               Sign(StringToSign(canonical, kDate), kSecret));
  EXPECT_FALSE(VerifySignature(in, auth, Lookup));
}

}  // namespace
}  // namespace mactl
