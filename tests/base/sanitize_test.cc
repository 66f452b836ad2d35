#include "controller/base/sanitize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace mactl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SanitizeForLogTest, KeepsPlainText) {
  EXPECT_EQ(SanitizeForLog(R"({"is_success": false, "error_code": "ModelArts.2775"})"),
            R"({"is_success": false, "error_code": "ModelArts.2775"})");
}

TEST(SanitizeForLogTest, EscapesControlCharactersToASingleLine) {
  const std::string out = SanitizeForLog(std::string("a\nb\rc\td\\e\x01\x7f", 11) + '\0' + "z");
  EXPECT_EQ(out, "a\\nb\\rc\\td\\\\e\\x01\\x7F\\x00z");
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(SanitizeForLogTest, KeepsValidUtf8AndEscapesInvalidBytesAndSeparators) {
  EXPECT_EQ(SanitizeForLog("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(SanitizeForLog("x\xC3(y"), "x\\xC3(y");                  // truncated sequence
  EXPECT_EQ(SanitizeForLog("\xC0\xAF"), "\\xC0\\xAF");               // overlong '/'
  EXPECT_EQ(SanitizeForLog("\xED\xA0\x80"), "\\xED\\xA0\\x80");      // surrogate
  EXPECT_EQ(SanitizeForLog("a\xE2\x80\xA8z"), "a\\xE2\\x80\\xA8z");  // U+2028
  EXPECT_EQ(SanitizeForLog("\xC2\x85"), "\\xC2\\x85");               // C1 NEL
}

TEST(SanitizeForLogTest, TruncatesWithTheCountOfOmittedBytes) {
  const std::string text(1000, 'x');
  EXPECT_EQ(SanitizeForLog(text, 10), "xxxxxxxxxx…(990 more bytes)");
  EXPECT_EQ(SanitizeForLog("short", 10), "short");
  EXPECT_EQ(SanitizeForLog("exactly10!", 10), "exactly10!");
}

TEST(SanitizeForLogTest, NeverSplitsAnEscapeOrAUtf8Sequence) {
  // "ab" + newline: the two-byte escape does not fit in 3 bytes.
  EXPECT_EQ(SanitizeForLog("ab\ncd", 3), "ab…(3 more bytes)");
  EXPECT_EQ(SanitizeForLog("a\xE2\x82\xAC", 3), "a…(3 more bytes)");
  EXPECT_EQ(SanitizeForLog("anything", 0), "…(8 more bytes)");
}

TEST(SanitizeForLogTest, RedactsEverySecretOccurrence) {
  const std::string out =
      SanitizeForLog("token=s3cr3t-T0KEN and again s3cr3t-T0KEN.", 512, {"s3cr3t-T0KEN"});
  EXPECT_EQ(out, "token=[REDACTED] and again [REDACTED].");
}

TEST(SanitizeForLogTest, RedactsBeforeTruncatingSoNoPrefixLeaks) {
  const std::string secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const std::string out = SanitizeForLog("xxxxx" + secret, 12, {secret});
  EXPECT_THAT(out, Not(HasSubstr("ABCDEF")));
  // The marker itself may be cut; the secret never is.
  EXPECT_EQ(out, "xxxxx[REDACT…(3 more bytes)");
}

TEST(SanitizeForLogTest, LongerSecretWinsAndEmptySecretsAreIgnored) {
  EXPECT_EQ(SanitizeForLog("key=abcdef", 512, {"", "abc", "abcdef"}), "key=[REDACTED]");
}

TEST(SanitizeForLogTest, RedactsASecretContainingControlCharacters) {
  EXPECT_EQ(SanitizeForLog("x\nsecret\ny", 512, {"\nsecret\n"}), "x[REDACTED]y");
}

}  // namespace
}  // namespace mactl
