#include "controller/core/batch_rule.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace mactl {
namespace {

struct PagesRow {
  std::int64_t jobs;
  std::size_t per_page;
  std::size_t counted;     // v1 list: stops at the announced job count
  std::size_t short_page;  // v2 search: stops at the first short page
};

TEST(BatchRuleTest, PagesOfAListOrSearch) {
  const PagesRow rows[] = {
      {0, 1000, 1, 1},   // an empty or unknown project still costs the first page
      {-5, 1000, 1, 1},  // a hostile count is no count
      {1, 1000, 1, 1},
      {1000, 1000, 1, 2},  // a full last page needs one more search page to end
      {1001, 1000, 2, 2},
      {100000, 1000, 100, 101},
      {49, 50, 1, 1},
      {50, 50, 1, 2},
      {60, 50, 2, 2},
      {std::numeric_limits<std::int64_t>::max(), 1000,
       static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() / 1000 + 1),
       static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() / 1000 + 1)},
  };
  for (const PagesRow& row : rows) {
    SCOPED_TRACE(row.jobs);
    EXPECT_EQ(CountedListPages(row.jobs, row.per_page), row.counted);
    EXPECT_EQ(ShortPageSearchPages(row.jobs, row.per_page), row.short_page);
  }
}

struct BatchRow {
  std::size_t due;
  std::size_t pages;
  bool batch;
  const char* why;
};

TEST(BatchRuleTest, BatchOnlyWhenThePagesCostFewerCallsThanTheDetailCalls) {
  const BatchRow rows[] = {
      {0, 1, false, "nothing due"},
      {1, 1, false, "one object, one page: a tie goes to the exact detail call"},
      {2, 1, true, "two objects of a small project: one page answers both"},
      {1, 100, false, "one version KILLING in a project of 100 000 jobs: one detail call"},
      {100, 100, false, "as many objects due as pages: detail calls, exact"},
      {101, 100, true, "one more object due than pages: the list is cheaper"},
      {10000, 100, true, "a resync of 10 000 objects: 100 pages"},
      {3, 2001, false, "three polls in a v2 project of 100 000 active jobs"},
  };
  for (const BatchRow& row : rows) {
    EXPECT_EQ(ShouldBatch(row.due, row.pages), row.batch) << row.why;
  }
}

}  // namespace
}  // namespace mactl
