#pragma once
// Seeded randomness that gives the same draws on every platform and standard library.
// std::uniform_int_distribution is implementation-defined, so a sampled SubTransformer would
// differ between libstdc++ and libc++; we draw bounded integers ourselves from mt19937_64,
// whose output sequence the standard does fix.
#include <cstdint>
#include <random>

namespace thanos {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Uniform integer in [0, n), unbiased (rejection sampling). n must be > 0.
  std::uint64_t uniform_index(std::uint64_t n);
  // Uniform double in [0, 1) with 53 random bits.
  double uniform01();
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace thanos
