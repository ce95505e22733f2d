#include "thanos/hw/drift_reference.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace thanos {

ReferenceCheck settle_reference(const std::function<double()>& read_reference, double baseline_ms, double tolerance,
                                double cooldown_s, int max_cooldowns, const std::function<void(double)>& sleep,
                                const std::function<void(const std::string&)>& log) {
  if (!(baseline_ms > 0)) throw std::invalid_argument("reference baseline must be > 0 ms, got " + std::to_string(baseline_ms));
  ReferenceCheck c;
  c.reference_ms = read_reference();
  c.drift = (c.reference_ms - baseline_ms) / baseline_ms;
  while (c.drift > tolerance && c.cooldowns < max_cooldowns) {
    if (log) {
      log("reference " + std::to_string(c.reference_ms) + " ms reads " + std::to_string(static_cast<int>(std::lround(100 * c.drift))) +
          "% slower than while the dataset was measured (" + std::to_string(baseline_ms) + " ms); cooling down " +
          std::to_string(static_cast<int>(std::lround(cooldown_s))) + " s");
    }
    sleep(cooldown_s);
    ++c.cooldowns;
    const double before = c.reference_ms;
    c.reference_ms = read_reference();
    c.drift = (c.reference_ms - baseline_ms) / baseline_ms;
    if (c.drift > tolerance && cooldown_changed_nothing(before, c.reference_ms)) {
      if (log) log("reference " + std::to_string(c.reference_ms) + " ms: the cool-down changed nothing (a lasting slowdown); measuring as it is");
      break;
    }
  }
  return c;
}

bool cooldown_changed_nothing(double before_ms, double after_ms, double still) {
  return before_ms > 0 && std::abs(after_ms - before_ms) <= still * before_ms;
}

}  // namespace thanos
