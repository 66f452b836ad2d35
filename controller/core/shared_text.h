#pragma once

// A sentence many objects show at once (a condition message: nearly every object of a large
// tree says the same "version is KILLED(12) ..."), held once and pointed at. A TextPool hands
// out one SharedText per distinct text, so 100,000 states hold 100,000 pointers to a few
// dozen strings instead of 100,000 copies (docs/benchmarks.md, "The 100k peak in the issue-16
// world").

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mactl {

class SharedText {
 public:
  SharedText() = default;
  // Not pooled: for literals and tests. TextPool::Intern shares equal texts.
  SharedText(std::string_view text)  // NOLINT(google-explicit-constructor): reads as a string
      : text_(text.empty() ? nullptr : std::make_shared<const std::string>(text)) {}
  SharedText(const char* text) : SharedText(std::string_view(text)) {}  // NOLINT

  const std::string& str() const { return text_ != nullptr ? *text_ : Empty(); }
  operator std::string_view() const { return str(); }  // NOLINT: reads as a string
  bool empty() const { return text_ == nullptr; }

  friend bool operator==(const SharedText& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const SharedText& a, const char* b) { return a.str() == b; }
  friend bool operator==(const SharedText& a, const SharedText& b) {
    return a.text_ == b.text_ || a.str() == b.str();
  }

 private:
  friend class TextPool;
  explicit SharedText(std::shared_ptr<const std::string> text) : text_(std::move(text)) {}
  static const std::string& Empty() {
    static const std::string empty;
    return empty;
  }

  std::shared_ptr<const std::string> text_;
};

// Interns texts: equal texts come back as one SharedText. A text no SharedText holds any more
// is dropped at the next sweep, taken whenever the pool has doubled since the last one, so the
// pool stays within about twice the distinct texts in use (messages with a duration in them
// change with every look). Thread-safe.
class TextPool {
 public:
  SharedText Intern(std::string_view text) {
    if (text.empty()) return SharedText();
    std::lock_guard lock(mu_);
    const auto found = texts_.find(text);
    if (found != texts_.end()) return SharedText(found->second);
    if (texts_.size() >= sweep_at_) Sweep();
    auto owned = std::make_shared<const std::string>(text);
    texts_.emplace(std::string_view(*owned), owned);
    return SharedText(std::move(owned));
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return texts_.size();
  }

 private:
  static constexpr std::size_t kFirstSweep = 256;

  void Sweep() {
    std::erase_if(texts_, [](const auto& entry) { return entry.second.use_count() == 1; });
    sweep_at_ = std::max(kFirstSweep, 2 * texts_.size());
  }

  mutable std::mutex mu_;
  // Keyed by a view of the value's own string, which never moves.
  std::unordered_map<std::string_view, std::shared_ptr<const std::string>> texts_;
  std::size_t sweep_at_ = kFirstSweep;
};

}  // namespace mactl
