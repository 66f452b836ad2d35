#include "api/duration.h"

#include <gtest/gtest.h>

namespace mactl {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesTheFormsUsersWrite) {
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("5s"), 5s);
  EXPECT_EQ(*ParseDuration("2m"), 2min);
  EXPECT_EQ(*ParseDuration("1h"), 1h);
  EXPECT_EQ(*ParseDuration("1m30s"), 90s);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("0"), 0s);
  EXPECT_EQ(*ParseDuration("10us"), 10us);
}

TEST(Duration, RejectsWhatIsAmbiguousOrWrong) {
  for (const char* bad :
       {"", "10", "-5s", "+5s", "5x", "s", "1..5s", "5 s", "1e3s", "200y", "999999999h"}) {
    Result<std::chrono::nanoseconds> r = ParseDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "InvalidDuration");
    }
  }
  EXPECT_NE(ParseDuration("10").error().message.find("missing unit"), std::string::npos);
  EXPECT_NE(ParseDuration("5x").error().message.find("unknown unit"), std::string::npos);
}

TEST(Duration, FormatsTidily) {
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(5s), "5s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(2h), "2h");
  EXPECT_EQ(FormatDuration(0s), "0s");
}

}  // namespace
}  // namespace mactl
