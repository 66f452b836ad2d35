#include "controller/cloud/api_errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

// Sun, 06 Nov 1994 08:49:37 GMT
const WallTime kNow = WallTime(std::chrono::duration_cast<WallTime::duration>(seconds(784111777)));

struct Row {
  int status;
  const char* code;  // "" = no body code
  ErrorClass expected;
};

std::string Describe(const Row& row) {
  return std::to_string(row.status) + " " + (row.code[0] ? row.code : "<no code>");
}

// Every row of the error-code table in docs/modelarts-api.md, keyed on status AND code.
const Row kTable[] = {
    // retryable: 429 with any code, 5xx, throttling, 409 2878, 400 4991
    {429, "", ErrorClass::kRetryable},
    {429, "ModelArts.2799", ErrorClass::kRetryable},
    {429, "ModelArts.4206", ErrorClass::kRetryable},
    {429, "ModelArts.6101", ErrorClass::kRetryable},
    {429, "APIGW.0308", ErrorClass::kRetryable},
    {429, "ModelArts.2775", ErrorClass::kRetryable},
    {500, "", ErrorClass::kRetryable},
    {500, "ModelArts.0010", ErrorClass::kRetryable},
    {500, "ModelArts.2950", ErrorClass::kRetryable},
    {500, "ModelArts.2952", ErrorClass::kRetryable},
    {500, "ModelArts.2953", ErrorClass::kRetryable},
    {502, "", ErrorClass::kRetryable},
    {503, "", ErrorClass::kRetryable},
    {504, "", ErrorClass::kRetryable},
    {503, "ModelArts.2796", ErrorClass::kRetryable},
    {408, "", ErrorClass::kRetryable},
    {409, "ModelArts.2878", ErrorClass::kRetryable},
    {400, "ModelArts.4991", ErrorClass::kRetryable},
    // reauthenticate: 401 with any code or none
    {401, "", ErrorClass::kReauthenticate},
    {401, "ModelArts.0201", ErrorClass::kReauthenticate},
    {401, "ModelArts.0202", ErrorClass::kReauthenticate},
    {401, "ModelArts.0203", ErrorClass::kReauthenticate},
    {401, "ModelArts.0204", ErrorClass::kReauthenticate},
    {401, "ModelArts.0205", ErrorClass::kReauthenticate},
    {401, "ModelArts.0206", ErrorClass::kReauthenticate},
    {401, "ModelArts.0207", ErrorClass::kReauthenticate},
    {401, "ModelArts.0208", ErrorClass::kReauthenticate},
    {401, "ModelArts.0212", ErrorClass::kReauthenticate},
    {401, "ModelArts.4127", ErrorClass::kReauthenticate},
    {401, "ModelArts.5001", ErrorClass::kReauthenticate},
    {401, "ModelArts.5002", ErrorClass::kReauthenticate},
    {401, "ModelArts.6620", ErrorClass::kReauthenticate},
    // not_allowed
    {409, "ModelArts.2796", ErrorClass::kNotAllowed},
    // terminal: other 4xx
    {400, "ModelArts.2775", ErrorClass::kTerminal},
    {400, "ModelArts.0101", ErrorClass::kTerminal},
    {400, "ModelArts.0104", ErrorClass::kTerminal},
    {400, "ModelArts.0107", ErrorClass::kTerminal},
    {400, "ModelArts.0102", ErrorClass::kTerminal},
    {400, "ModelArts.0210", ErrorClass::kTerminal},
    {400, "ModelArts.0204", ErrorClass::kTerminal},
    {400, "ModelArts.2764", ErrorClass::kTerminal},
    {400, "ModelArts.2788", ErrorClass::kTerminal},
    {400, "ModelArts.2790", ErrorClass::kTerminal},
    {400, "", ErrorClass::kTerminal},
    {403, "", ErrorClass::kTerminal},
    {403, "ModelArts.0108", ErrorClass::kTerminal},
    {403, "ModelArts.0112", ErrorClass::kTerminal},
    {403, "ModelArts.0203", ErrorClass::kReauthenticate},  // invalid token: renewing cures it
    {403, "ModelArts.0206", ErrorClass::kTerminal},
    {403, "ModelArts.0210", ErrorClass::kTerminal},
    {403, "ModelArts.2784", ErrorClass::kReauthenticate},  // InvalidToken
    {403, "APIGW.0301", ErrorClass::kReauthenticate},      // incorrect IAM authentication
    {403, "APIG.0301", ErrorClass::kReauthenticate},
    {403, "APIGW.0307", ErrorClass::kReauthenticate},  // the token must be updated
    {403, "ModelArts.2785", ErrorClass::kTerminal},
    {404, "", ErrorClass::kTerminal},
    {404, "ModelArts.2786", ErrorClass::kTerminal},
    {409, "", ErrorClass::kTerminal},
    {409, "ModelArts.0105", ErrorClass::kTerminal},
    // 2xx with is_success:false: the code decides; unknown → terminal
    {200, "ModelArts.0105", ErrorClass::kTerminal},
    {200, "", ErrorClass::kTerminal},
    {200, "ModelArts.2775", ErrorClass::kTerminal},
    {200, "ModelArts.2796", ErrorClass::kNotAllowed},
    {200, "ModelArts.2878", ErrorClass::kRetryable},
    {200, "ModelArts.4991", ErrorClass::kRetryable},
    {200, "ModelArts.2799", ErrorClass::kRetryable},
    {200, "APIGW.0308", ErrorClass::kRetryable},
    {200, "ModelArts.0202", ErrorClass::kReauthenticate},
    {200, "ModelArts.0206", ErrorClass::kTerminal},
    {200, "ModelArts.0203", ErrorClass::kReauthenticate},
    {200, "ModelArts.2784", ErrorClass::kReauthenticate},
    {200, "APIGW.0307", ErrorClass::kReauthenticate},
    {400, "ModelArts.0203", ErrorClass::kTerminal},  // the table lists 0203 under 401/403 only
    // 3xx is never followed and cannot succeed unchanged
    {302, "", ErrorClass::kTerminal},
};

TEST(ClassifyHttpErrorTest, EveryRowOfTheTable) {
  for (const Row& row : kTable) {
    std::optional<ApiErrorBody> body;
    if (row.code[0] != '\0') body = ApiErrorBody{row.code, "some text"};
    const Error e = ClassifyHttpError("stop", row.status, body, "", kNow);
    EXPECT_EQ(ErrorClassName(e.error_class), std::string(ErrorClassName(row.expected)))
        << Describe(row);
    EXPECT_EQ(e.http_status, row.status) << Describe(row);
    EXPECT_EQ(e.code, row.code[0] ? std::string(row.code) : "HTTP." + std::to_string(row.status))
        << Describe(row);
    EXPECT_EQ(ClassifyStatusAndCode(row.status, row.code), row.expected) << Describe(row);
  }
}

TEST(RejectsCredentialTest, RenewsOn401AndOnInvalidTokenCodesUnder403And2xx) {
  EXPECT_TRUE(RejectsCredential(401, ""));
  EXPECT_TRUE(RejectsCredential(401, R"({"error_code":"ModelArts.0108"})"));
  EXPECT_TRUE(RejectsCredential(403, R"({"error_code":"ModelArts.0203","error_msg":"bad"})"));
  EXPECT_TRUE(RejectsCredential(403, R"({"error_code":"ModelArts.2784"})"));
  EXPECT_TRUE(RejectsCredential(403, R"({"error_code":"APIGW.0301","error_msg":"decrypt"})"));
  EXPECT_TRUE(RejectsCredential(200, R"({"is_success":false,"error_code":"ModelArts.0203"})"));
  EXPECT_TRUE(RejectsCredential(200, R"({"is_success":false,"error_code":"ModelArts.0202"})"));
  // Not a rejected credential: other refusals, successes, unreadable bodies.
  EXPECT_FALSE(RejectsCredential(403, R"({"error_code":"ModelArts.0108"})"));
  EXPECT_FALSE(RejectsCredential(403, R"({"error_code":"ModelArts.0206"})"));  // AK/SK
  EXPECT_FALSE(RejectsCredential(403, ""));
  EXPECT_FALSE(RejectsCredential(403, "<html>error_code</html>"));
  EXPECT_FALSE(RejectsCredential(400, R"({"error_code":"ModelArts.0203"})"));
  EXPECT_FALSE(RejectsCredential(500, R"({"error_code":"ModelArts.0203"})"));
  EXPECT_FALSE(RejectsCredential(200, R"({"is_success":true})"));
  EXPECT_FALSE(RejectsCredential(200, R"({"is_success":true,"error_code":"ModelArts.0203"})"));
  EXPECT_FALSE(RejectsCredential(200, R"({"is_success":false,"error_code":"ModelArts.2775"})"));
}

TEST(ClassifyHttpErrorTest, MessageNamesOperationStatusCodeAndText) {
  const Error e = ClassifyHttpError(
      "get_version", 400, ApiErrorBody{"ModelArts.2775", "Training job not found."}, "", kNow);
  EXPECT_EQ(e.message,
            "get_version request failed with HTTP 400 ModelArts.2775: Training job not found.");
  EXPECT_EQ(e.ToString(), "ModelArts.2775: " + e.message);
}

TEST(ClassifyHttpErrorTest, MessageWithoutBody) {
  const Error e = ClassifyHttpError("list", 502, std::nullopt, "", kNow);
  EXPECT_EQ(e.code, "HTTP.502");
  EXPECT_EQ(e.message, "list request failed with HTTP 502 (no error details in the body)");
  EXPECT_FALSE(e.retry_after.has_value());
}

TEST(ClassifyHttpErrorTest, MessageIsSanitisedBoundedAndRedacted) {
  const std::string text = "bad token tok-SECRET-123\nline2" + std::string(5000, 'z');
  const Error e = ClassifyHttpError("stop", 401, ApiErrorBody{"ModelArts.0203", text}, "", kNow,
                                    {"tok-SECRET-123"});
  EXPECT_THAT(e.message, Not(HasSubstr("tok-SECRET-123")));
  EXPECT_THAT(e.message, HasSubstr("[REDACTED]"));
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_LT(e.message.size(), 400u);
  EXPECT_THAT(e.message, HasSubstr("more bytes)"));
}

TEST(ClassifyHttpErrorTest, RetryAfterIsTakenFromAnyStatusThatSendsIt) {
  EXPECT_EQ(ClassifyHttpError("list", 429, std::nullopt, "7", kNow).retry_after,
            milliseconds(7000));
  EXPECT_EQ(ClassifyHttpError("list", 503, std::nullopt, "Sun, 06 Nov 1994 08:49:40 GMT", kNow)
                .retry_after,
            milliseconds(3000));
  EXPECT_EQ(
      ClassifyHttpError("list", 409, ApiErrorBody{"ModelArts.2878", ""}, "2", kNow).retry_after,
      milliseconds(2000));
  EXPECT_FALSE(ClassifyHttpError("list", 429, std::nullopt, "soon", kNow).retry_after.has_value());
}

TEST(ClassifyTransportErrorTest, RetryableWithTransportCode) {
  for (const char* what : {"Connection", "Read", "Write", "ConnectionTimeout", "SSLConnection",
                           "Canceled", "Unknown"}) {
    const Error e = ClassifyTransportError("stop", what);
    EXPECT_TRUE(e.retryable()) << what;
    EXPECT_EQ(e.code, std::string("Transport.") + what);
    EXPECT_EQ(e.http_status, 0);
    EXPECT_THAT(e.message, HasSubstr("stop request failed"));
  }
}

TEST(ClassifyTransportErrorTest, UntrustedWhatIsReducedToASafeToken) {
  const Error e = ClassifyTransportError("list", "bad\nvalue <x>");
  EXPECT_EQ(e.code, "Transport.badvaluex");
  EXPECT_EQ(ClassifyTransportError("list", "").code, "Transport.Unknown");
}

TEST(ParseRetryAfterTest, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("0", kNow), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("120", kNow), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter("  5 ", kNow), milliseconds(5000));
  EXPECT_EQ(ParseRetryAfter("000000000000003", kNow), milliseconds(3000));
}

TEST(ParseRetryAfterTest, HugeValuesAreClampedNotOverflowed) {
  EXPECT_EQ(ParseRetryAfter("7200", kNow), kMaxRetryAfter);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", kNow), kMaxRetryAfter);
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 2199 23:59:59 GMT", kNow), kMaxRetryAfter);
}

TEST(ParseRetryAfterTest, HttpDateInAllThreeForms) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", kNow), milliseconds(10000));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:50:37 GMT", kNow), milliseconds(60000));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:38 1994", kNow), milliseconds(1000));
}

TEST(ParseRetryAfterTest, DateInThePastMeansNow) {
  EXPECT_EQ(ParseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", kNow), milliseconds(0));
}

TEST(ParseRetryAfterTest, SubSecondRemainderRoundsUp) {
  const WallTime now = kNow + milliseconds(250);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:38 GMT", now), milliseconds(750));
}

TEST(ParseRetryAfterTest, GarbageIsRejected) {
  for (const char* bad : {"", "  ", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 PST",
                          "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT",
                          "Sun, 06 Nov 99999 08:49:37 GMT"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, kNow).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mactl
