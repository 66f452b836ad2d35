#include "api/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace mactl {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

nanoseconds MustParse(std::string_view text) {
  const Result<nanoseconds> r = ParseDuration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().ToString());
  return r.ok() ? r.value() : nanoseconds(-1);
}

std::string ParseError(std::string_view text) {
  const Result<nanoseconds> r = ParseDuration(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r.value().count() : 0) << "ns";
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, "InvalidDuration");
  return r.error().message;
}

TEST(ParseDurationTest, AcceptsEveryUnit) {
  EXPECT_EQ(MustParse("7ns"), nanoseconds(7));
  EXPECT_EQ(MustParse("7us"), microseconds(7));
  EXPECT_EQ(MustParse("250ms"), milliseconds(250));
  EXPECT_EQ(MustParse("5s"), seconds(5));
  EXPECT_EQ(MustParse("2m"), minutes(2));
  EXPECT_EQ(MustParse("1h"), hours(1));
  EXPECT_EQ(MustParse("0s"), nanoseconds(0));
}

TEST(ParseDurationTest, AcceptsCompoundsAndFractions) {
  EXPECT_EQ(MustParse("1m30s"), seconds(90));
  EXPECT_EQ(MustParse("1h2m3s4ms"), hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(MustParse("1.5s"), milliseconds(1500));
  EXPECT_EQ(MustParse("0.3s"), milliseconds(300));  // exact, not 299.999999ms
  EXPECT_EQ(MustParse(".5h"), minutes(30));
  EXPECT_EQ(MustParse("1.000000001s"), nanoseconds(1'000'000'001));
  EXPECT_EQ(MustParse("2562047h"), hours(2562047));  // close to the int64 ns limit
}

TEST(ParseDurationTest, RejectsEmpty) { EXPECT_THAT(ParseError(""), HasSubstr("empty")); }

TEST(ParseDurationTest, RejectsNegativeAndSigns) {
  EXPECT_THAT(ParseError("-5s"), HasSubstr("negative"));
  EXPECT_THAT(ParseError("+5s"), HasSubstr("sign"));
  EXPECT_THAT(ParseError("1m-5s"), HasSubstr("sign"));
}

TEST(ParseDurationTest, RejectsMissingUnit) {
  EXPECT_THAT(ParseError("10"), HasSubstr("missing unit"));
  EXPECT_THAT(ParseError("1m30"), HasSubstr("missing unit"));
}

TEST(ParseDurationTest, AcceptsBareZero) {
  const auto parsed = ParseDuration("0");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), std::chrono::nanoseconds(0));
  EXPECT_THAT(ParseError("00"), HasSubstr("missing unit"));
}

TEST(ParseDurationTest, QuotesHostileInputBoundedAndPrintable) {
  const std::string message = ParseError(std::string(10000, '9') + "\x01x");
  EXPECT_LT(message.size(), 300u);
  EXPECT_THAT(message, HasSubstr("..."));
  EXPECT_THAT(ParseError("5\x1b[31m"), Not(HasSubstr("\x1b")));
}

TEST(ParseDurationTest, RejectsUnknownUnit) {
  EXPECT_THAT(ParseError("5sec"), HasSubstr("unknown unit \"sec\""));
  EXPECT_THAT(ParseError("3d"), HasSubstr("unknown unit \"d\""));
  EXPECT_THAT(ParseError("5S"), HasSubstr("unknown unit"));
}

TEST(ParseDurationTest, RejectsGarbage) {
  EXPECT_THAT(ParseError("abc"), HasSubstr("expected a number"));
  EXPECT_THAT(ParseError("5 s"), HasSubstr("unexpected character at \" \""));
  EXPECT_THAT(ParseError(" 5s"), HasSubstr("expected a number"));
  EXPECT_THAT(ParseError(".s"), HasSubstr("expected a number"));
  EXPECT_THAT(ParseError("5s!"), HasSubstr("expected a number"));
}

TEST(ParseDurationTest, RejectsOverflow) {
  EXPECT_THAT(ParseError("2562048h"), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("99999999999999999999999ns"), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("2562047h2562047h"), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("9223372036854775807ns1ns"), HasSubstr("out of range"));
}

TEST(ParseDurationTest, MessageQuotesTheInput) {
  EXPECT_THAT(ParseError("5x"), HasSubstr("\"5x\""));
}

TEST(FormatDurationTest, IsTidy) {
  EXPECT_EQ(FormatDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(nanoseconds(7)), "7ns");
  EXPECT_EQ(FormatDuration(microseconds(7)), "7us");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(microseconds(1500)), "1.5ms");
  EXPECT_EQ(FormatDuration(seconds(5)), "5s");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(minutes(2)), "2m");
  EXPECT_EQ(FormatDuration(hours(2)), "2h");
  EXPECT_EQ(FormatDuration(hours(1) + seconds(5)), "1h5s");
  EXPECT_EQ(FormatDuration(minutes(5)), "5m");
  EXPECT_EQ(FormatDuration(-seconds(3)), "-3s");
}

TEST(FormatDurationTest, HandlesExtremes) {
  EXPECT_EQ(FormatDuration(nanoseconds::max()), "2562047h47m16.854775807s");
  EXPECT_EQ(FormatDuration(nanoseconds::min()), "-2562047h47m16.854775808s");
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  const std::vector<nanoseconds> samples = {nanoseconds(1),
                                            nanoseconds(999),
                                            microseconds(1001),
                                            milliseconds(1),
                                            milliseconds(999),
                                            milliseconds(1001),
                                            seconds(59),
                                            seconds(61),
                                            minutes(59) + nanoseconds(1),
                                            hours(25),
                                            hours(1) + minutes(1) + seconds(1) + nanoseconds(1),
                                            nanoseconds::max()};
  for (const nanoseconds d : samples) {
    const std::string text = FormatDuration(d);
    const Result<nanoseconds> back = ParseDuration(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back.value(), d) << text;
  }
}

}  // namespace
}  // namespace mactl
