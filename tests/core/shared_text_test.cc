#include "controller/core/shared_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mactl {
namespace {

TEST(SharedTextTest, ReadsAsItsText) {
  const SharedText text("version is KILLED (12)");
  EXPECT_EQ(text, "version is KILLED (12)");
  EXPECT_EQ(text.str(), std::string("version is KILLED (12)"));
  EXPECT_EQ(std::string_view(text), "version is KILLED (12)");
  EXPECT_FALSE(text.empty());
  EXPECT_TRUE(SharedText().empty());
  EXPECT_EQ(SharedText(), "");
  EXPECT_EQ(SharedText(""), SharedText());
}

TEST(TextPoolTest, EqualTextsShareOneString) {
  TextPool pool;
  const SharedText a = pool.Intern("nothing to stop");
  const SharedText b = pool.Intern(std::string("nothing ") + "to stop");
  EXPECT_EQ(&a.str(), &b.str());
  EXPECT_NE(&a.str(), &pool.Intern("another").str());
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_TRUE(pool.Intern("").empty());
  EXPECT_EQ(pool.size(), 2u);
}

TEST(TextPoolTest, TextsNoOneHoldsAreSweptOnceThePoolHasDoubled) {
  TextPool pool;
  const SharedText kept = pool.Intern("kept");
  for (int i = 0; i < 1000; ++i) pool.Intern("ran for " + std::to_string(i) + " ms");
  // Sweeps ran whenever the pool reached its bound: what is left is the held text and the
  // unheld ones added since the last sweep, never more than the bound.
  EXPECT_LE(pool.size(), 256u);
  EXPECT_EQ(kept, "kept");
  EXPECT_EQ(&pool.Intern("kept").str(), &kept.str());
}

TEST(TextPoolTest, HeldTextsSurviveSweeps) {
  TextPool pool;
  std::vector<SharedText> held;
  for (int i = 0; i < 600; ++i) held.push_back(pool.Intern("held " + std::to_string(i)));
  for (int i = 0; i < 600; ++i) {
    EXPECT_EQ(held[static_cast<std::size_t>(i)], "held " + std::to_string(i));
    EXPECT_EQ(&pool.Intern("held " + std::to_string(i)).str(),
              &held[static_cast<std::size_t>(i)].str());
  }
  EXPECT_EQ(pool.size(), 600u);
}

}  // namespace
}  // namespace mactl
