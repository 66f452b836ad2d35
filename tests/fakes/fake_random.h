#pragma once

// A random source that returns the values a test lists, in order, then repeats the last.

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "controller/base/random.h"

namespace mactl::testing {

class FakeRandom final : public RandomSource {
 public:
  explicit FakeRandom(std::vector<double> values = {0.5}) : values_(std::move(values)) {}
  double Uniform01() override {
    std::lock_guard lock(mu_);
    const double v = values_[next_ < values_.size() ? next_ : values_.size() - 1];
    ++next_;
    return v;
  }
  void Set(std::vector<double> values) {
    std::lock_guard lock(mu_);
    values_ = std::move(values);
    next_ = 0;
  }

 private:
  std::mutex mu_;
  std::vector<double> values_;  // guarded by mu_
  std::size_t next_ = 0;        // guarded by mu_
};

}  // namespace mactl::testing
