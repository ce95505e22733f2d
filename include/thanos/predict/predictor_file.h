#pragma once
// The predictor file (JSON, docs/PREDICTORS.md "Predictor file"): the model's numbers, its error
// model, the provenance of its training data and the metrics it reached. Tools layer (JSON).
#include <nlohmann/json.hpp>
#include <string>

#include "thanos/predict/predictor.h"

namespace thanos {

inline constexpr int kPredictorFormatVersion = 1;

// The whole file: {"format": "thanos.predictor", "version": 1, "model", "target", "unit",
// "provenance", "error_model", the model block, and "fit" (split, metrics, timings) when `fit`
// is given}. Doubles are written in their shortest exact form, so a loaded predictor predicts
// exactly what the saved one did.
nlohmann::ordered_json predictor_to_json(const Predictor& predictor, const FitResult* fit);
// Throws std::invalid_argument naming `path` and the field that is missing or malformed; refuses
// a newer format version with a message.
Predictor predictor_from_json(const nlohmann::json& j, const std::string& path);

// Written atomically (temporary file + rename).
void save_predictor(const std::string& path, const Predictor& predictor, const FitResult* fit = nullptr);
Predictor load_predictor(const std::string& path);

// Metrics as `fit-predictor --json` prints them: rmse_ms (rmse_mb for memory), mape (percent),
// r2, kendall_tau, within_5pct, within_10pct (fractions), n, max_abs_error.
nlohmann::ordered_json metrics_json(const PredictionMetrics& m, PredictTarget target);

}  // namespace thanos
