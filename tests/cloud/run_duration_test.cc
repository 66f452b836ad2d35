#include "controller/cloud/run_duration.h"

#include <gtest/gtest.h>

namespace mactl {
namespace {

TEST(RunDuration, PlausibleValuesAreKeptAndHostileOnesAreUnknownWithAReason) {
  EXPECT_EQ(CheckRunDuration(0).value, std::chrono::milliseconds(0));
  EXPECT_EQ(CheckRunDuration(3'600'000).value, std::chrono::hours(1));
  EXPECT_TRUE(CheckRunDuration(3'600'000).problem.empty());
  EXPECT_EQ(CheckRunDuration(kMaxPlausibleRunDuration.count()).value, kMaxPlausibleRunDuration);

  const RunDuration negative = CheckRunDuration(-5);
  EXPECT_FALSE(negative.value);
  EXPECT_NE(negative.problem.find("negative run duration (-5 ms)"), std::string::npos);
  const RunDuration huge = CheckRunDuration(INT64_MAX);
  EXPECT_FALSE(huge.value);
  EXPECT_NE(huge.problem.find("implausible"), std::string::npos);
  EXPECT_FALSE(CheckRunDuration(kMaxPlausibleRunDuration.count() + 1).value);
}

}  // namespace
}  // namespace mactl
