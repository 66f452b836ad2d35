#include "api/name_glob.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace mactl {
namespace {

using ::testing::HasSubstr;

struct MatchRow {
  std::string glob;
  std::string name;
  bool matches;
};

TEST(NameGlobTest, MatchTable) {
  const std::vector<MatchRow> rows = {
      // The empty glob matches every name, the empty one too.
      {"", "anything", true},
      {"", "", true},
      // Literals: whole name, case-sensitive.
      {"exp-1", "exp-1", true},
      {"exp-1", "exp-12", false},
      {"exp-1", "xexp-1", false},
      {"exp", "EXP", false},
      // '*': any run, also empty.
      {"*", "", true},
      {"*", "exp-1", true},
      {"exp-*", "exp-", true},
      {"exp-*", "exp-llama", true},
      {"exp-*", "prod-exp-1", false},
      {"*-sft", "llama-sft", true},
      {"*-sft", "llama-sft-2", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"a**b", "ab", true},
      {"*a*", "bab", true},
      {"*a", "aab", false},
      // '?': exactly one character.
      {"exp-?", "exp-1", true},
      {"exp-?", "exp-", false},
      {"exp-?", "exp-12", false},
      {"??", "ab", true},
      {"?*", "", false},
      // Sets and ranges.
      {"exp-[12]", "exp-1", true},
      {"exp-[12]", "exp-3", false},
      {"v[0-9]", "v7", true},
      {"v[0-9]", "va", false},
      {"[a-cx-z]", "y", true},
      {"[a-cx-z]", "d", false},
      {"[-a]", "-", true},  // '-' first stands for itself
      {"[a-]", "-", true},  // '-' last too
      {"[a-]", "b", false},
      // Negation.
      {"[!a-z]", "A", true},
      {"[!a-z]", "q", false},
      {"[^0-9]x", "ax", true},
      {"[^0-9]x", "1x", false},
      {"[!!]", "!", false},
      // '\' quotes the next character, also inside a set.
      {"exp\\*", "exp*", true},
      {"exp\\*", "exp-1", false},
      {"\\?", "?", true},
      {"\\?", "a", false},
      {"\\[x]", "[x]", true},
      {"\\\\", "\\", true},
      {"[\\]]", "]", true},
      {"[\\!a]", "!", true},
      // Characters special elsewhere are literal here.
      {"a.b", "a.b", true},
      {"a.b", "aXb", false},
      {"]", "]", true},
      {"a+", "aa", false},
  };
  for (const MatchRow& row : rows) {
    EXPECT_EQ(NameGlobProblem(row.glob), "") << row.glob;
    EXPECT_EQ(MatchesNameGlob(row.glob, row.name), row.matches)
        << "glob \"" << row.glob << "\" name \"" << row.name << "\"";
  }
}

struct ProblemRow {
  std::string glob;
  std::string reason;
};

TEST(NameGlobTest, InvalidGlobsSayWhy) {
  const std::vector<ProblemRow> rows = {
      {"exp-[12", "unclosed '[' at byte 5"},
      {"[", "unclosed '[' at byte 1"},
      {"[!", "unclosed '['"},
      {"[a\\", "unclosed '['"},
      {"exp\\", "ends with a lone '\\' at byte 4"},
      {"[]", "empty set '[]' at byte 1"},
      {"[!]", "empty set"},
      {"[z-a]", "range z-a is reversed"},
      {"[[:alpha:]]", "character classes like [:alpha:] are not supported"},
      {"exp\t*", "control character at byte 4"},
      {std::string("a\0b", 3), "control character at byte 2"},
      {"a\x7f", "control character"},
      {std::string(kMaxNameGlobBytes + 1, 'a'), "longer than 256 bytes (257)"},
  };
  for (const ProblemRow& row : rows) {
    EXPECT_THAT(NameGlobProblem(row.glob), HasSubstr(row.reason)) << row.glob;
    EXPECT_FALSE(MatchesNameGlob(row.glob, row.glob)) << "an invalid glob matches nothing";
  }
  EXPECT_EQ(NameGlobProblem(std::string(kMaxNameGlobBytes, '*')), "");
}

TEST(NameGlobTest, ProblemsQuoteNoControlCharacters) {
  const std::string problem = NameGlobProblem("[\x1b-\x01]");
  EXPECT_THAT(problem, HasSubstr("control character"));
  EXPECT_EQ(problem.find('\x1b'), std::string::npos);
}

// A backtracking matcher needs exponential time on these; the iterative one is linear in
// the glob times the name.
TEST(NameGlobTest, HostileGlobsAreFast) {
  const std::string as(64, 'a');
  const std::string long_as(100000, 'a');
  std::string many_stars;
  for (int i = 0; i < 120; ++i) many_stars += "*a";
  many_stars += "*b";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(MatchesNameGlob("*a*a*a*a*a*b", as));
  EXPECT_FALSE(MatchesNameGlob("*a*a*a*a*a*b", long_as));
  EXPECT_FALSE(MatchesNameGlob(many_stars, as));
  EXPECT_FALSE(MatchesNameGlob(many_stars, long_as));
  EXPECT_TRUE(MatchesNameGlob("*a*a*a*a*a*a", long_as));
  EXPECT_FALSE(MatchesNameGlob(std::string(200, '?') + "b", long_as));
  EXPECT_FALSE(MatchesNameGlob(std::string(250, '*') + "b", long_as));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace mactl
