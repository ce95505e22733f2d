#include "thanos/predict/predictor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "thanos/common/random.h"
#include "thanos/common/stats.h"

#ifndef THANOS_VERSION_STRING
#define THANOS_VERSION_STRING "unknown"
#endif

namespace thanos {
namespace {

std::vector<double> features_for(PredictTarget t, const ArchSums& a) {
  return t == PredictTarget::kLatency ? latency_features(a) : memory_features(a);
}

// HAT's feature-norm [640, 6, 2048, 6, 640, 6, 2048, 6, 6, 2] applied to the averaged features.
std::vector<double> hat_mlp_input(const ArchSums& a, const std::vector<double>& norm) {
  std::vector<double> x(kHatFeatureCount);
  for (int k = 0; k < kHatFeatureCount; ++k) x[k] = a.hat[k] / norm[k];
  return x;
}

// The robust spread of relative errors, bias included: sqrt(median^2 + (1.4826 MAD)^2). Robust
// because validation rows may hold a drifted stretch that says nothing about the model.
double robust_relative_sigma(const std::vector<double>& predicted, const std::vector<double>& truth) {
  std::vector<double> rel(truth.size()), dev(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) rel[i] = (truth[i] - predicted[i]) / std::abs(predicted[i]);
  const double med = median_of(rel);
  for (std::size_t i = 0; i < rel.size(); ++i) dev[i] = std::abs(rel[i] - med);
  const double mad = 1.4826 * median_of(dev);
  return std::sqrt(med * med + mad * mad);
}

}  // namespace

PredictorKind predictor_kind_from_string(const std::string& s) {
  if (s == "hat-mlp") return PredictorKind::kHatMlp;
  if (s == "thanos-linear") return PredictorKind::kThanosLinear;
  throw std::invalid_argument("unknown predictor model '" + s + "' (choose thanos-linear or hat-mlp)");
}

std::string to_string(PredictorKind k) { return k == PredictorKind::kHatMlp ? "hat-mlp" : "thanos-linear"; }

double Predictor::predict_value(const ArchSums& arch) const {
  if (kind == PredictorKind::kHatMlp) {
    const std::vector<double> x = hat_mlp_input(arch, feature_norm);
    return mlp.forward(x.data()) * output_scale;
  }
  const std::vector<double> f = features_for(target, arch);
  return std::max(floor, linear.predict(f.data()));
}

Prediction Predictor::predict(const ArchSums& arch) const {
  Prediction p;
  if (kind == PredictorKind::kHatMlp) {
    p.value = predict_value(arch);
    p.error_estimate = relative_sigma * std::abs(p.value);
    return p;
  }
  const std::vector<double> f = features_for(target, arch);
  p.value = std::max(floor, linear.predict(f.data()));
  double spread = 0;
  if (members.size() > 1) {
    double s = 0, s2 = 0;
    for (const auto& m : members) {
      const double v = m.predict(f.data());
      s += v;
      s2 += v * v;
    }
    const double n = static_cast<double>(members.size());
    spread = std::sqrt(std::max(0.0, s2 / n - (s / n) * (s / n)));
  }
  const double noise = relative_sigma * std::abs(p.value);
  p.error_estimate = std::sqrt(spread * spread + noise * noise);
  return p;
}

Prediction Predictor::predict(const SubConfig& config) const { return predict(arch_sums(config)); }

std::vector<Prediction> Predictor::predict(const std::vector<SubConfig>& configs) const {
  std::vector<Prediction> out;
  out.reserve(configs.size());
  for (const auto& c : configs) out.push_back(predict(c));
  return out;
}

MlpFitOptions hat_mlp_recipe(std::uint64_t seed, int steps) {
  MlpFitOptions mo;
  mo.sizes = {kHatFeatureCount, 400, 400, 400, 400, 1};
  mo.loss = MlpLoss::kMse;
  mo.lr = 1e-5;
  mo.steps = steps;
  mo.batch = 128;
  mo.seed = seed;
  return mo;
}

double default_lat_norm(const std::string& path, const std::vector<double>& train_latencies_ms) {
  const std::string name = std::filesystem::path(path).filename().string();
  if (name.find("raspberrypi") != std::string::npos) return 5000;
  if (name.find("xeon") != std::string::npos) return 300;
  if (name.find("titanxp") != std::string::npos) return 200;
  double mean = 0;
  for (double v : train_latencies_ms) mean += v;
  mean /= std::max<std::size_t>(1, train_latencies_ms.size());
  if (!(mean > 0)) return 1;
  // Round up to one significant digit: 172 -> 200, 6930 -> 7000.
  const double unit = std::pow(10.0, std::floor(std::log10(mean)));
  return std::ceil(mean / unit) * unit;
}

FitResult fit_predictor(const PredictorData& data, const FitOptions& o) {
  if (o.kind == PredictorKind::kHatMlp && o.target != PredictTarget::kLatency) {
    throw std::invalid_argument("hat-mlp predicts latency only (HAT's recipe); use thanos-linear for memory");
  }
  if (o.target == PredictTarget::kMemory && data.format != DataFormat::kThanos) {
    throw std::invalid_argument(data.path + ": a memory predictor needs a THANOS-format dataset");
  }
  FitResult r;
  r.split = fixed_split(static_cast<int>(data.rows.size()));
  const auto t0 = std::chrono::steady_clock::now();
  Predictor& p = r.predictor;
  p.kind = o.kind;
  p.target = o.target;
  p.provenance = data.provenance;
  p.provenance.fitted_by = THANOS_VERSION_STRING;

  std::vector<double> y_train;
  for (int i = 0; i < r.split.train_end; ++i) y_train.push_back(data.rows[i].target(o.target));

  if (o.kind == PredictorKind::kHatMlp) {
    r.lat_norm = o.lat_norm ? *o.lat_norm : default_lat_norm(data.path, y_train);
    if (!(r.lat_norm > 0)) throw std::invalid_argument("--lat-norm must be positive");
    p.feature_norm.assign(hat_feature_norm().begin(), hat_feature_norm().end());
    p.output_scale = r.lat_norm;
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (int i = 0; i < r.split.train_end; ++i) {
      x.push_back(hat_mlp_input(data.rows[i].arch, p.feature_norm));
      y.push_back(y_train[i] / r.lat_norm);
    }
    p.mlp = fit_mlp(x, y, hat_mlp_recipe(o.seed, o.mlp_steps));
  } else {
    std::vector<std::vector<double>> x;
    for (int i = 0; i < r.split.train_end; ++i) x.push_back(features_for(o.target, data.rows[i].arch));
    RobustLinearOptions lo;
    // Few rows per feature (a pipeline's short measurement: 24-80 noisy rows, 17 features): the
    // ridge is chosen by cross-validation on the training rows. With many (HAT's 2000-row
    // datasets) the near-zero default is kept: the data pins every coefficient.
    if (o.ridge) {
      if (!(*o.ridge >= 0)) throw std::invalid_argument("--ridge must be >= 0, got " + std::to_string(*o.ridge));
      lo.ridge = *o.ridge;
    } else if (!x.empty() && x.size() < 20 * x[0].size()) {
      lo.ridge = choose_ridge_by_cross_validation(x, y_train, lo, {1e-6, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0});
    }
    r.ridge = lo.ridge;
    p.linear = fit_robust_linear(x, y_train, lo);
    if (!y_train.empty()) p.floor = *std::min_element(y_train.begin(), y_train.end());
    // Bootstrap members (resampled training rows as counts) only measure how much the fit moves.
    Rng rng(o.seed);
    const std::size_t n = x.size();
    for (int b = 0; b < o.bootstrap_members; ++b) {
      std::vector<double> counts(n, 0.0);
      for (std::size_t k = 0; k < n; ++k) counts[rng.uniform_index(n)] += 1;
      p.members.push_back(fit_robust_linear(x, y_train, lo, counts));
    }
  }
  r.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto eval = [&](int begin, int end, std::vector<double>* pred, std::vector<double>* truth) {
    for (int i = begin; i < end; ++i) {
      pred->push_back(p.predict_value(data.rows[i].arch));
      truth->push_back(data.rows[i].target(o.target));
    }
  };
  std::vector<double> pv, yv, pt, yt;
  eval(r.split.train_end, r.split.valid_end, &pv, &yv);
  eval(r.split.valid_end, r.split.size, &pt, &yt);
  p.relative_sigma = robust_relative_sigma(pv, yv);
  r.valid = prediction_metrics(pv, yv);
  r.test = prediction_metrics(pt, yt);

  // Single-row prediction time (value and error estimate), over the test rows until 20 ms pass.
  double sink = 0;
  long long calls = 0;
  const auto s0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    for (int i = r.split.valid_end; i < r.split.size; ++i) {
      const Prediction q = p.predict(data.rows[i].arch);
      sink += q.value + q.error_estimate;
      ++calls;
    }
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  } while (elapsed < 0.02);
  r.predict_us_per_row = elapsed * 1e6 / static_cast<double>(calls) + (sink == 42.4242 ? 1e-9 : 0.0);
  return r;
}

}  // namespace thanos
