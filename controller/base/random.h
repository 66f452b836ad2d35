#pragma once

// Randomness is injected (and seeded) so jitter is tested exactly.

#include <cstdint>
#include <mutex>
#include <random>

namespace mactl {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Uniform in [0, 1). Thread-safe.
  virtual double Uniform01() = 0;
};

class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  double Uniform01() override {
    std::lock_guard lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;  // guarded by mu_
};

}  // namespace mactl
