#pragma once
// A measurement backend: takes a SubTransformer and the measurement settings, returns its latency
// and peak memory and what it ran on. Adding a device = one class + one line in make_backend().
#include <memory>
#include <string>

#include "thanos/hw/measurement.h"

namespace thanos {

class Backend {
 public:
  virtual ~Backend() = default;
  // A candidate that cannot run (out of memory, crashed, killed by the cap) comes back with
  // feasible = false and the reason; the caller carries on. Throws only when the backend itself
  // is unusable (device missing, agent unreachable, wrong token).
  virtual Measurement measure(const MeasureRequest& request) = 0;
  // "cpu", "cuda", "remote://host:port"
  virtual std::string name() const = 0;
};

}  // namespace thanos
