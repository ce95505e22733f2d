#pragma once
// `thanos fit-predictor`: fit a latency or memory predictor on a dataset (HAT's published format
// or THANOS' own), report its test-split metrics and save it with its provenance
// (docs/PREDICTORS.md).
#include <nlohmann/json.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "thanos/predict/predictor.h"

namespace thanos {

struct FitPredictorOptions {
  std::string data_path;
  std::string format = "auto";     // auto | hat | thanos
  std::string target = "latency";  // latency | memory
  std::string model;               // empty: the project's default (thanos-linear)
  std::optional<double> lat_norm;  // hat-mlp's lat-norm (default by device, docs/PREDICTORS.md)
  std::string out_path;            // predictor file; empty: not saved
  std::uint64_t seed = 1;
  int mlp_steps = 5000;            // hat-mlp's steps (HAT: 5000)
  std::optional<double> ridge;     // thanos-linear's ridge (default: cross-validated on small datasets)
};

struct FitPredictorReport {
  FitResult fit;
  std::string format;  // the format read
  int rows = 0;
  nlohmann::ordered_json json;  // what --json prints: test metrics at the top level, then details
};

// Throws std::invalid_argument for bad options or a bad dataset (file, line and column named).
FitPredictorReport run_fit_predictor(const FitPredictorOptions& options);
std::string render_fit_predictor_text(const FitPredictorReport& report, const FitPredictorOptions& options);

}  // namespace thanos
