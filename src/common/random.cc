#include "thanos/common/random.h"

#include <stdexcept>

namespace thanos {

std::uint64_t Rng::uniform_index(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Rng::uniform_index: n must be positive");
  // Largest multiple of n that fits; draws above it are rejected to avoid modulo bias.
  const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
  std::uint64_t draw;
  do {
    draw = engine_();
  } while (draw > limit);
  return draw % n;
}

double Rng::uniform01() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace thanos
