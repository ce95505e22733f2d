#pragma once
// `thanos measure`: sample SubTransformers HAT's way, measure each on one or more backends (a
// pool of boards measures in parallel), guard against drift with a reference SubTransformer, and
// append rows to a dataset file that a re-run resumes (docs/MEASUREMENT.md).
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "thanos/hw/backend.h"
#include "thanos/space/search_space.h"

namespace thanos {

struct MeasureJob {
  SearchSpace space;
  LatencyProtocol protocol;
  RunSettings run;
  int samples = 100;        // random SubTransformers, after the smallest and largest members
  std::uint64_t seed = 1;   // same seed, same list (so a re-run finds the rows it already has)
  bool include_extremes = true;
  // Drift guard: the reference is re-measured every `reference_every` rows on each backend; a
  // change beyond `drift_tolerance` (relative to that backend's first reference measurement)
  // waits `cooldown_s` up to `max_cooldowns` times for it to come back (a faster reading is read
  // again without waiting: cooling cannot slow a device down), then re-measures the rows
  // taken since the last good check, checking the reference again after them (a window re-measured
  // while disturbed is measured again, within the same max_cooldowns); rows measured while it
  // stays out are flagged.
  std::optional<SubConfig> reference;  // default: the space's smallest member
  int reference_every = 25;
  double drift_tolerance = 0.10;
  double cooldown_s = 30;
  int max_cooldowns = 3;
};

// The configs a job measures, in order: smallest, largest, then `samples` draws (duplicates
// skipped, so the list may be shorter).
std::vector<SubConfig> planned_configs(const MeasureJob& job);

struct MeasureSummary {
  int planned = 0;
  int already_in_file = 0;
  int measured = 0;     // rows written by this run (re-measurements included)
  int infeasible = 0;
  int remeasured = 0;
  int flagged = 0;
  bool interrupted = false;
  double seconds = 0;
  double seconds_per_row = 0;
  // Repeatability: the reference's latency over all its measurements in this run (per backend,
  // pooled as relative deviations): std / mean.
  int reference_measurements = 0;
  double reference_mean_ms = 0;
  double reference_cv = 0;
  // Analytic memory estimate against the measured peak over this run's feasible rows.
  double memory_estimate_mape = 0;  // percent
  std::vector<std::string> warnings;
};

// Measures every planned config not yet in `csv_path` and appends its row. `backends` are used
// in parallel (one thread each); `log` gets progress lines (step, rate, ETA); `stop` (e.g. set by
// SIGINT) ends the run after the measurements in flight, whose results are dropped. Throws
// std::invalid_argument when the file was measured under another protocol.
MeasureSummary build_latency_dataset(const MeasureJob& job, const std::vector<Backend*>& backends,
                                     const std::string& csv_path, const std::function<void(const std::string&)>& log,
                                     const std::atomic<bool>* stop = nullptr);

}  // namespace thanos
