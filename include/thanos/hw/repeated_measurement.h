#pragma once
// A budget claim ("fits when measured") from measurements on a noisy machine.
//
// On a shared machine latency noise is one-sided and comes in bursts: for minutes at a time every
// measurement reads 20-50% slow (docs/MEASUREMENT.md, "Noise"). The search pushes candidates to the
// budget's edge, so one measurement of a model 7% under the budget read it 13% over it (demo, 13.3
// then 16.2 ms against 14.3 ms). A measurement near the budget is therefore repeated and the claim
// made on the median, which one burst cannot move; a measurement far from the budget decides alone.
#include <functional>
#include <vector>

#include "thanos/hw/measurement.h"

namespace thanos {

struct RepeatPolicy {
  int repeats = 3;       // measurements at most (1 = one, the claim as it reads)
  double near = 0.25;    // repeat when the first latency is within this fraction of the budget
  bool always = false;   // repeat whatever the first reads (figures that are reported side by side)
};

struct RepeatedMeasurement {
  Measurement median;                // the measurement with the median latency (its memory with it)
  std::vector<double> latencies_ms;  // every latency taken, in order
};

// Calls measure_once until policy.repeats were taken or the first one decides: it is infeasible,
// there is no latency budget (infinite or <= 0) and policy.always is false, or its latency is more
// than policy.near x budget away from the budget. With an even count the lower median is returned
// (slow bursts are the noise, never fast ones). An infeasible repeat (killed by the memory cap,
// say) is returned at once: the model does not run there. Throws std::invalid_argument for
// repeats < 1 or near < 0.
RepeatedMeasurement measure_repeatedly(const std::function<Measurement()>& measure_once, double latency_budget_ms,
                                       const RepeatPolicy& policy);

}  // namespace thanos
