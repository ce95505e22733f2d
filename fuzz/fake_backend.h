#pragma once
// A Backend that measures nothing: the agent harnesses need the agent's wire, not a board.
#include "thanos/hw/backend.h"

namespace thanos::fuzz {

class FakeBackend : public Backend {
 public:
  Measurement measure(const MeasureRequest& request) override {
    Measurement m;
    m.encoder_mean_ms = 1.5;
    m.decoder_mean_ms = 2.5;
    m.threads = request.run.threads;
    m.interop_threads = request.run.interop_threads;
    m.backend = name();
    return m;
  }
  std::string name() const override { return "fuzz-fake"; }
};

}  // namespace thanos::fuzz
