// Latency/memory dataset CSVs, HAT's published 14-column format and THANOS' own: every reader of
// them on the same bytes (load_predictor_data in each format and target, as fit-predictor reads;
// scan_dataset, as `thanos measure` reads a file it resumes). scan_dataset runs last: it cuts a
// partial last line off the file, as it must.
#include "fuzz_target.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/predict/predictor_data.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(latency_csv) {
  const std::string path = write_file("fuzz-latency.csv", as_text(data, size));
  for (const DataFormat format : {DataFormat::kAuto, DataFormat::kHat, DataFormat::kThanos}) {
    for (const PredictTarget target : {PredictTarget::kLatency, PredictTarget::kMemory}) {
      PredictorData d;
      if (!expect_documented([&] { d = load_predictor_data(path, format, target); }, kInvalidArgument, path)) continue;
      const DataSplit split = fixed_split(static_cast<int>(d.rows.size()));
      if (split.train() + split.valid() + split.test() != static_cast<int>(d.rows.size())) finding("fixed_split loses rows");
    }
  }
  expect_documented([&] { (void)scan_dataset(path); }, kInvalidArgument, path);
  return 0;
}
