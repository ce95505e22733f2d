#include "thanos/commands/fit_predictor.h"

#include <cstdio>
#include <sstream>

#include "thanos/predict/predictor_file.h"

namespace thanos {

FitPredictorReport run_fit_predictor(const FitPredictorOptions& o) {
  FitOptions fo;
  fo.kind = o.model.empty() ? kDefaultPredictor : predictor_kind_from_string(o.model);
  fo.target = predict_target_from_string(o.target);
  fo.lat_norm = o.lat_norm;
  fo.seed = o.seed;
  fo.mlp_steps = o.mlp_steps;
  if (o.lat_norm && fo.kind != PredictorKind::kHatMlp) {
    throw std::invalid_argument("--lat-norm applies to hat-mlp only (thanos-linear predicts in ms directly)");
  }
  fo.ridge = o.ridge;
  if (o.ridge && fo.kind != PredictorKind::kThanosLinear) throw std::invalid_argument("--ridge applies to thanos-linear only");
  const PredictorData data = load_predictor_data(o.data_path, data_format_from_string(o.format), fo.target);
  FitPredictorReport r;
  r.fit = fit_predictor(data, fo);
  r.format = to_string(data.format);
  r.rows = static_cast<int>(data.rows.size());
  if (!o.out_path.empty()) save_predictor(o.out_path, r.fit.predictor, &r.fit);

  nlohmann::ordered_json j = metrics_json(r.fit.test, fo.target);
  j["model"] = to_string(fo.kind);
  j["target"] = to_string(fo.target);
  j["data"] = o.data_path;
  j["format"] = r.format;
  j["rows"] = r.rows;
  j["split"] = {{"train", r.fit.split.train()}, {"valid", r.fit.split.valid()}, {"test", r.fit.split.test()}};
  j["valid"] = metrics_json(r.fit.valid, fo.target);
  j["relative_sigma"] = r.fit.predictor.relative_sigma;
  j["fit_seconds"] = r.fit.fit_seconds;
  j["predict_us_per_row"] = r.fit.predict_us_per_row;
  if (fo.kind == PredictorKind::kHatMlp) j["lat_norm"] = r.fit.lat_norm;
  if (fo.kind == PredictorKind::kThanosLinear) j["ridge"] = r.fit.ridge;
  j["seed"] = o.seed;
  j["out"] = o.out_path;
  r.json = std::move(j);
  return r;
}

std::string render_fit_predictor_text(const FitPredictorReport& r, const FitPredictorOptions& o) {
  const bool lat = r.fit.predictor.target == PredictTarget::kLatency;
  const char* unit = lat ? "ms" : "MiB";
  std::ostringstream s;
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%s %s predictor on %s (%s format, %d rows: %d train / %d valid / %d test)\n",
                to_string(r.fit.predictor.kind).c_str(), to_string(r.fit.predictor.target).c_str(), o.data_path.c_str(),
                r.format.c_str(), r.rows, r.fit.split.train(), r.fit.split.valid(), r.fit.split.test());
  s << buf;
  for (const auto& [name, m] : {std::pair<const char*, const PredictionMetrics&>{"valid", r.fit.valid}, {"test", r.fit.test}}) {
    std::snprintf(buf, sizeof(buf),
                  "  %-5s RMSE %.3f %s, MAPE %.2f%%, R2 %.4f, Kendall tau %.4f, within 5%% %.1f%%, within 10%% %.1f%%\n",
                  name, m.rmse, unit, m.mape, m.r2, m.kendall_tau, 100 * m.within_5pct, 100 * m.within_10pct);
    s << buf;
  }
  std::snprintf(buf, sizeof(buf), "  fit %.2f s, one prediction %.2f us, error estimate ~%.1f%% of the value (validation)\n",
                r.fit.fit_seconds, r.fit.predict_us_per_row, 100 * r.fit.predictor.relative_sigma);
  s << buf;
  if (r.fit.predictor.kind == PredictorKind::kHatMlp) s << "  lat-norm " << r.fit.lat_norm << "\n";
  if (r.fit.predictor.kind == PredictorKind::kThanosLinear) s << "  ridge " << r.fit.ridge << "\n";
  s << (o.out_path.empty() ? std::string("  not saved (--out FILE to save)\n") : "  saved to " + o.out_path + "\n");
  return s.str();
}

}  // namespace thanos
