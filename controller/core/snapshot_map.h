#pragma once

// A sorted, immutable map from key to value that a new desired snapshot can share with the one
// before it: the keys are split into chunks of consecutive keys, each held by a shared pointer
// to a const std::map. Publishing an edit copies only the chunks it touched, a diff skips the
// chunks two snapshots share, and freeing the old snapshot frees only the chunks it replaced
// (docs/benchmarks.md, "Edits that touch only their objects"). Iteration is in key order, as a
// std::map's; readers see the subset of the std::map API they use (find, iteration, size).

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mactl {

template <typename V>
class SnapshotMap {
 public:
  using Chunk = std::map<std::string, V>;
  using value_type = typename Chunk::value_type;
  // A chunk of at most this many keys is built by FromMap; Update splits a chunk that grew to
  // twice as many.
  static constexpr std::size_t kChunkKeys = 512;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = typename Chunk::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    const_iterator() = default;
    reference operator*() const { return *at_; }
    pointer operator->() const { return &*at_; }
    const_iterator& operator++() {
      ++at_;
      SkipChunkEnds();
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const const_iterator& other) const {
      return chunk_ == other.chunk_ && (chunk_ == end_ || at_ == other.at_);
    }

   private:
    friend class SnapshotMap;
    using ChunkIt = typename std::vector<std::shared_ptr<const Chunk>>::const_iterator;
    const_iterator(ChunkIt chunk, ChunkIt end, typename Chunk::const_iterator at)
        : chunk_(chunk), end_(end), at_(at) {
      SkipChunkEnds();
    }
    void SkipChunkEnds() {
      while (chunk_ != end_ && at_ == (*chunk_)->end()) {
        ++chunk_;
        if (chunk_ != end_) at_ = (*chunk_)->begin();
      }
    }
    ChunkIt chunk_;
    ChunkIt end_;
    typename Chunk::const_iterator at_;
  };
  using iterator = const_iterator;

  SnapshotMap() = default;

  // Chunks `all` into runs of kChunkKeys consecutive keys.
  static SnapshotMap FromMap(Chunk all) {
    SnapshotMap map;
    map.size_ = all.size();
    while (!all.empty()) {
      auto chunk = std::make_shared<Chunk>();
      for (std::size_t i = 0; i < kChunkKeys && !all.empty(); ++i) {
        chunk->insert(all.extract(all.begin()));
      }
      map.lows_.push_back(map.lows_.empty() ? std::string() : chunk->begin()->first);
      map.chunks_.push_back(std::move(chunk));
    }
    return map;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const_iterator begin() const {
    if (chunks_.empty()) return end();
    return const_iterator(chunks_.begin(), chunks_.end(), chunks_.front()->begin());
  }
  const_iterator end() const { return const_iterator(chunks_.end(), chunks_.end(), {}); }
  const_iterator find(const std::string& key) const {
    if (chunks_.empty()) return end();
    const std::size_t i = ChunkOf(key);
    const auto at = chunks_[i]->find(key);
    if (at == chunks_[i]->end()) return end();
    return const_iterator(chunks_.begin() + static_cast<std::ptrdiff_t>(i), chunks_.end(), at);
  }
  bool contains(const std::string& key) const { return find(key) != end(); }

  // Sets (a value) or erases (nullopt) each key, copying each chunk touched once; the chunks
  // not touched stay shared with the maps this one was copied from.
  void Update(std::vector<std::pair<std::string, std::optional<V>>> changes) {
    if (changes.empty()) return;
    if (chunks_.empty()) {
      chunks_.push_back(std::make_shared<const Chunk>());
      lows_.emplace_back();
    }
    std::map<std::size_t, std::shared_ptr<Chunk>> copies;
    for (auto& [key, value] : changes) {
      const std::size_t i = ChunkOf(key);
      std::shared_ptr<Chunk>& copy = copies[i];
      if (copy == nullptr) copy = std::make_shared<Chunk>(*chunks_[i]);
      const auto at = copy->find(key);
      if (value) {
        if (at == copy->end()) ++size_;
        copy->insert_or_assign(at, key, std::move(*value));
      } else if (at != copy->end()) {
        --size_;
        copy->erase(at);
      }
    }
    // From the last chunk back, so that a split does not move the chunks still to store.
    for (auto it = copies.rbegin(); it != copies.rend(); ++it) Store(it->first, it->second);
  }

  // Whether the two maps split their keys at the same places, so that chunk i of one holds
  // the keys chunk i of the other may hold (a diff then skips the chunks they share).
  static bool SameChunking(const SnapshotMap& a, const SnapshotMap& b) {
    return a.lows_ == b.lows_;
  }
  const std::vector<std::shared_ptr<const Chunk>>& chunks() const { return chunks_; }

 private:
  std::size_t ChunkOf(const std::string& key) const {
    const auto after = std::upper_bound(lows_.begin(), lows_.end(), key);
    return after == lows_.begin() ? 0 : static_cast<std::size_t>(after - lows_.begin() - 1);
  }
  void Store(std::size_t i, const std::shared_ptr<Chunk>& chunk) {
    if (chunk->size() < 2 * kChunkKeys) {
      chunks_[i] = chunk;
      return;
    }
    auto upper = std::make_shared<Chunk>();
    while (upper->size() < chunk->size()) upper->insert(chunk->extract(std::prev(chunk->end())));
    chunks_[i] = chunk;
    chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(i) + 1, upper);
    lows_.insert(lows_.begin() + static_cast<std::ptrdiff_t>(i) + 1, upper->begin()->first);
  }

  std::vector<std::shared_ptr<const Chunk>> chunks_;
  // The lowest key each chunk may hold; the first is "" (every key), the rest each chunk's
  // first key when it was made. A key belongs to the last chunk whose low is not above it.
  std::vector<std::string> lows_;
  std::size_t size_ = 0;
};

}  // namespace mactl
