#include "api/printable.h"

#include <gtest/gtest.h>

#include <string>

namespace mactl {
namespace {

TEST(PrintableExcerpt, ControlBytesBecomeQuestionMarksAndUtf8IsKeptByDefault) {
  EXPECT_EQ(PrintableExcerpt("a\nb\x1b[31m\x7f\tc"), "a?b?[31m??c");
  EXPECT_EQ(PrintableExcerpt("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(PrintableExcerpt("caf\xc3\xa9", 100, NonAscii::kReplace), "caf??");
}

TEST(PrintableExcerpt, CutsAtTheBoundAndSaysSo) {
  EXPECT_EQ(PrintableExcerpt("abcdef", 6), "abcdef");
  EXPECT_EQ(PrintableExcerpt("abcdefg", 6), "abcdef...");
  EXPECT_EQ(PrintableExcerpt(std::string(100000, 'x')).size(), 100000u);  // no bound by default
  EXPECT_EQ(PrintableExcerpt(""), "");
}

}  // namespace
}  // namespace mactl
