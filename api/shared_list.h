#pragma once

// A read-only list of objects that live in blocks owned elsewhere: each element is a pointer
// into a block that the list keeps alive by a shared owner. The manifest loader's per-file
// results are shared this way with the desired snapshot instead of being copied, so each
// decoded object is held once (docs/benchmarks.md, "Per-object state cuts"). The blocks are
// const: a file read again gets a new block, and a list made before keeps the old one.

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

namespace mactl {

template <typename T>
class SharedList {
 public:
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    const_iterator() = default;
    explicit const_iterator(typename std::vector<const T*>::const_iterator at) : at_(at) {}
    reference operator*() const { return **at_; }
    pointer operator->() const { return *at_; }
    const_iterator& operator++() {
      ++at_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++at_;
      return before;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    typename std::vector<const T*>::const_iterator at_;
  };
  using value_type = T;
  using iterator = const_iterator;
  using size_type = std::size_t;

  SharedList() = default;
  // Owns `objects` (tests, `plan` and `validate` build lists from values).
  SharedList(std::vector<T> objects) {  // NOLINT(google-explicit-constructor): a value list
    auto block = std::make_shared<const std::vector<T>>(std::move(objects));
    items_.reserve(block->size());
    for (const T& object : *block) items_.push_back(&object);
    if (!items_.empty()) owners_.push_back(std::move(block));
  }
  SharedList(std::initializer_list<T> objects) : SharedList(std::vector<T>(objects)) {}

  // Adds `object`, which lives as long as `owner` does.
  void Append(const std::shared_ptr<const void>& owner, const T& object) {
    if (owners_.empty() || owners_.back() != owner) owners_.push_back(owner);
    items_.push_back(&object);
  }
  void reserve(std::size_t n) { items_.reserve(n); }

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const T& operator[](std::size_t i) const { return *items_[i]; }
  const T& at(std::size_t i) const { return *items_.at(i); }
  const T& front() const { return *items_.front(); }
  const T& back() const { return *items_.back(); }
  const_iterator begin() const { return const_iterator(items_.begin()); }
  const_iterator end() const { return const_iterator(items_.end()); }

 private:
  std::vector<const T*> items_;
  std::vector<std::shared_ptr<const void>> owners_;  // each block once, in order of first use
};

}  // namespace mactl
