#pragma once
// Reading latency/memory datasets for predictors: HAT's published format (14 columns) and
// THANOS' (`thanos measure`, docs/MEASUREMENT.md), and the fixed split every comparison uses.
// Torch-free.
#include <string>
#include <vector>

#include "thanos/predict/arch_features.h"
#include "thanos/predict/provenance.h"

namespace thanos {

enum class DataFormat { kAuto, kHat, kThanos };
DataFormat data_format_from_string(const std::string& s);  // auto | hat | thanos; throws listing them
std::string to_string(DataFormat f);

enum class PredictTarget { kLatency, kMemory };
PredictTarget predict_target_from_string(const std::string& s);  // latency | memory
std::string to_string(PredictTarget t);

struct PredictorRow {
  ArchSums arch;
  double encoder_ms = 0, decoder_ms = 0;  // latency = encoder + decoder (HAT's target)
  double memory_mib = 0;                  // THANOS format only
  double analytic_memory_mib = 0;         // THANOS format only
  int line = 0;                           // 1-based line in the file
  double latency_ms() const { return encoder_ms + decoder_ms; }
  double target(PredictTarget t) const { return t == PredictTarget::kLatency ? latency_ms() : memory_mib; }
};

struct PredictorData {
  std::string path;
  DataFormat format = DataFormat::kHat;  // the format actually read
  std::vector<PredictorRow> rows;         // in file order (THANOS: last row per config_hash, at its place)
  Provenance provenance;                  // data hash and rows filled in
};

// The fewest usable rows a fit accepts (each split keeps at least two rows).
inline constexpr int kMinPredictorRows = 20;

// Reads `path`. THANOS format: rows with feasible = 0 are skipped, and when a config_hash occurs
// several times the last row wins (re-measured after drift); per-layer columns give exact sums
// (QKV included). Memory needs THANOS format. Throws std::invalid_argument naming the file, line
// and column: a missing column, a non-numeric value, a wrong field count, too few usable rows.
PredictorData load_predictor_data(const std::string& path, DataFormat format, PredictTarget target);

// Rows in file order: first 80% train, next 10% valid, last 10% test (HAT shuffled without a seed;
// this is the reproducible equivalent). train = floor(0.8 n), valid = floor(0.9 n) - train.
struct DataSplit {
  int train_end = 0, valid_end = 0, size = 0;  // [0, train_end), [train_end, valid_end), [valid_end, size)
  int train() const { return train_end; }
  int valid() const { return valid_end - train_end; }
  int test() const { return size - valid_end; }
};
DataSplit fixed_split(int rows);

}  // namespace thanos
