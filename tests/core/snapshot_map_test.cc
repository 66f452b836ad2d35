#include "controller/core/snapshot_map.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace mactl {
namespace {

using Map = SnapshotMap<int>;

std::vector<std::pair<std::string, int>> Items(const Map& map) {
  std::vector<std::pair<std::string, int>> items;
  for (const auto& [key, value] : map) items.emplace_back(key, value);
  return items;
}

std::vector<std::pair<std::string, int>> Items(const std::map<std::string, int>& map) {
  return {map.begin(), map.end()};
}

std::string Key(std::size_t i) { return "k" + std::to_string(i); }

TEST(SnapshotMapTest, AnEmptyMapHasNothing) {
  Map map;
  EXPECT_EQ(map.size(), 0u);
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
  EXPECT_EQ(map.find("a"), map.end());
  map.Update({{"a", std::nullopt}});
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.begin(), map.end());
}

// Random batches of sets and erasures, against a std::map: the same items in key order, the
// same finds; chunks split as they grow; a copy keeps its items while the original changes.
TEST(SnapshotMapTest, UpdatesBehaveLikeAStdMap) {
  std::mt19937 rng(7);
  std::map<std::string, int> want;
  for (std::size_t i = 0; i < 3000; i += 2) want[Key(i)] = static_cast<int>(i);
  Map map = Map::FromMap(want);
  ASSERT_EQ(Items(map), Items(want));
  const std::size_t chunks_at_first = map.chunks().size();
  for (int round = 0; round < 200; ++round) {
    const Map before = map;
    const auto before_items = Items(before);
    std::vector<std::pair<std::string, std::optional<int>>> changes;
    const std::size_t n = 1 + rng() % (round % 10 == 0 ? 800 : 5);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string key = Key(rng() % 6000);
      if (rng() % 3 == 0) {
        changes.emplace_back(key, std::nullopt);
        want.erase(key);
      } else {
        const int value = static_cast<int>(rng() % 1000);
        changes.emplace_back(key, value);
        want[key] = value;
      }
    }
    map.Update(std::move(changes));
    ASSERT_EQ(map.size(), want.size()) << "round " << round;
    ASSERT_EQ(Items(map), Items(want)) << "round " << round;
    ASSERT_EQ(Items(before), before_items) << "round " << round;
    for (std::size_t i = 0; i < 6000; i += 37) {
      const auto it = map.find(Key(i));
      const auto expected = want.find(Key(i));
      ASSERT_EQ(it == map.end(), expected == want.end()) << Key(i);
      if (it != map.end()) {
        EXPECT_EQ(it->second, expected->second);
      }
    }
  }
  EXPECT_GT(map.chunks().size(), chunks_at_first);  // some chunk grew and was split
}

TEST(SnapshotMapTest, AnUpdateCopiesOnlyTheChunksItTouches) {
  std::map<std::string, int> all;
  for (std::size_t i = 0; i < 5000; ++i) all[Key(i)] = 0;
  const Map before = Map::FromMap(all);
  Map after = before;
  after.Update({{Key(42), 1}});
  ASSERT_TRUE(Map::SameChunking(before, after));
  std::size_t copied = 0;
  for (std::size_t i = 0; i < before.chunks().size(); ++i) {
    if (before.chunks()[i] != after.chunks()[i]) ++copied;
  }
  EXPECT_EQ(copied, 1u);
  EXPECT_EQ(before.find(Key(42))->second, 0);
  EXPECT_EQ(after.find(Key(42))->second, 1);
}

}  // namespace
}  // namespace mactl
