#pragma once
// Latency and memory predictors (docs/PREDICTORS.md): fitted on a dataset with the fixed
// 80/10/10 split, evaluated on its test rows, saved with their provenance, and queried by the
// search through predict(). Torch is used only while fitting an MLP; predictions are plain C++.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "thanos/predict/arch_features.h"
#include "thanos/predict/metrics.h"
#include "thanos/predict/mlp.h"
#include "thanos/predict/predictor_data.h"
#include "thanos/predict/provenance.h"
#include "thanos/predict/robust_linear.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// hat-mlp: HAT's recipe exactly (latency only). thanos-linear: robust (Huber IRLS) linear model
// over per-layer work features with a bootstrap ensemble for the error estimate: the project's
// default, the most accurate on every dataset measured (bench/README.md Table 9).
enum class PredictorKind { kHatMlp, kThanosLinear };
PredictorKind predictor_kind_from_string(const std::string& s);  // throws listing the choices
std::string to_string(PredictorKind k);
inline constexpr PredictorKind kDefaultPredictor = PredictorKind::kThanosLinear;

struct Prediction {
  double value = 0;           // ms (latency) or MiB (memory)
  // About one standard deviation of the error (ensemble spread and the validation rows' robust
  // relative error, combined): value + 2 x error_estimate is a safety margin the search can use.
  double error_estimate = 0;
};

class Predictor {
 public:
  PredictorKind kind = kDefaultPredictor;
  PredictTarget target = PredictTarget::kLatency;
  Provenance provenance;

  // thanos-linear: the model on all training rows, and the bootstrap members (spread only).
  LinearModel linear;
  std::vector<LinearModel> members;
  // hat-mlp: features / feature_norm -> MLP -> x output_scale (HAT's lat-norm).
  MlpWeights mlp;
  std::vector<double> feature_norm;
  double output_scale = 1;

  // Error model: the robust standard deviation of relative errors on the validation rows.
  double relative_sigma = 0;
  // thanos-linear: predictions never go below this, the cheapest training row. A linear model
  // extrapolated below the cheapest member it saw can go negative (seen on the demo's 24 rows);
  // clamping there errs on the safe side of a budget (never predicts a member cheaper than any
  // measured). 0 in files written before it existed.
  double floor = 0;

  Prediction predict(const SubConfig& config) const;
  std::vector<Prediction> predict(const std::vector<SubConfig>& configs) const;
  // From the sums directly (HAT's averaged rows, where no SubConfig exists).
  Prediction predict(const ArchSums& arch) const;
  double predict_value(const ArchSums& arch) const;
};

struct FitOptions {
  PredictorKind kind = kDefaultPredictor;
  PredictTarget target = PredictTarget::kLatency;
  std::optional<double> lat_norm;  // hat-mlp; default: by device name, else default_lat_norm()
  std::uint64_t seed = 1;
  int mlp_steps = 5000;            // HAT's 5000 (tests shorten it)
  int bootstrap_members = 8;       // thanos-linear's ensemble for the spread
  // thanos-linear's ridge. Default: chosen by cross-validation on the training rows when they are
  // fewer than 20 per feature, else 1e-6 (RobustLinearOptions).
  std::optional<double> ridge;
};

struct FitResult {
  Predictor predictor;
  DataSplit split;
  PredictionMetrics valid, test;
  double lat_norm = 0;        // hat-mlp: the lat-norm used
  double ridge = 0;           // thanos-linear: the ridge used (chosen by cross-validation on small datasets)
  double fit_seconds = 0;
  double predict_us_per_row = 0;  // single-row predict(ArchSums), averaged over the test rows
};

// HAT's training recipe (latency_predictor.py): 10 -> 400 -> 400 -> 400 -> 400 -> 1 with ReLU
// (hidden-dim 400; HAT's hidden-layer-num 3 counts the 400x400 layers after the first), MSE,
// Adam lr 1e-5 with default betas, `steps` steps of 128 rows drawn without replacement.
MlpFitOptions hat_mlp_recipe(std::uint64_t seed, int steps = 5000);

// HAT's lat-norm for a device named in `path` (raspberrypi 5000, xeon 300, titanxp 200), else
// the training rows' mean latency rounded up to one significant digit (HAT's values are of that
// size: TITAN Xp rows average ~170 ms -> 200).
double default_lat_norm(const std::string& path, const std::vector<double>& train_latencies_ms);

// Fits on the training rows, picks nothing on the test rows (the error model uses the validation
// rows), reports validation and test metrics. Throws std::invalid_argument for a memory target on
// HAT data or hat-mlp on memory.
FitResult fit_predictor(const PredictorData& data, const FitOptions& options);

}  // namespace thanos
