#include "thanos/predict/predictor_file.h"

#include <stdexcept>
#include <type_traits>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

ojson linear_json(const LinearModel& m) {
  return ojson{{"intercept", m.intercept}, {"mean", m.mean}, {"scale", m.scale}, {"coef", m.coef}};
}

ojson provenance_json(const Provenance& v) {
  return ojson{{"source", v.source},
               {"protocol_name", v.protocol_name},
               {"protocol_hash", v.protocol_hash},
               {"src_len", v.src_len},
               {"tgt_len", v.tgt_len},
               {"beam", v.beam},
               {"vocab_size", v.vocab_size},
               {"dtype", v.dtype},
               {"threads", v.threads},
               {"interop_threads", v.interop_threads},
               {"backend", v.backend},
               {"device_name", v.device_name},
               {"host", v.host},
               {"thanos_version", v.thanos_version},
               {"data_path", v.data_path},
               {"data_hash", v.data_hash},
               {"data_rows", v.data_rows},
               {"fitted_by", v.fitted_by}};
}

// Reading with messages that name the file and the field.
struct Reader {
  const std::string& path;
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw std::invalid_argument(path + ": field '" + field + "' " + what);
  }
  const json& at(const json& j, const std::string& key, const std::string& where) const {
    if (!j.is_object() || !j.contains(key)) fail(where + key, "is missing");
    return j.at(key);
  }
  template <typename T>
  T get(const json& j, const std::string& key, const std::string& where) const {
    const json& v = at(j, key, where);
    // nlohmann's get<int> wraps a value beyond 32 bits silently.
    if constexpr (std::is_same_v<T, int>) return json_to_int32(v, path + ": field '" + where + key + "'");
    try {
      return v.get<T>();
    } catch (const json::exception&) {
      fail(where + key, "has the wrong type (" + std::string(v.type_name()) + ")");
    }
  }
  LinearModel linear(const json& j, const std::string& where, std::size_t features) const {
    LinearModel m;
    m.intercept = get<double>(j, "intercept", where);
    m.mean = get<std::vector<double>>(j, "mean", where);
    m.scale = get<std::vector<double>>(j, "scale", where);
    m.coef = get<std::vector<double>>(j, "coef", where);
    for (const auto* v : {&m.mean, &m.scale, &m.coef}) {
      if (v->size() != features) {
        fail(where + "coef", "and its mean/scale must have " + std::to_string(features) + " values (one per feature), got " +
                                 std::to_string(v->size()));
      }
    }
    return m;
  }
};

}  // namespace

ojson metrics_json(const PredictionMetrics& m, PredictTarget target) {
  return ojson{{target == PredictTarget::kLatency ? "rmse_ms" : "rmse_mb", m.rmse},
               {"mape", m.mape},
               {"r2", m.r2},
               {"kendall_tau", m.kendall_tau},
               {"within_5pct", m.within_5pct},
               {"within_10pct", m.within_10pct},
               {"max_abs_error", m.max_abs_error},
               {"n", m.n}};
}

ojson predictor_to_json(const Predictor& p, const FitResult* fit) {
  ojson j{{"format", "thanos.predictor"},
          {"version", kPredictorFormatVersion},
          {"model", to_string(p.kind)},
          {"target", to_string(p.target)},
          {"unit", p.target == PredictTarget::kLatency ? "ms" : "MiB"},
          {"provenance", provenance_json(p.provenance)},
          {"error_model", {{"relative_sigma", p.relative_sigma}}}};
  if (p.kind == PredictorKind::kThanosLinear) {
    ojson members = ojson::array();
    for (const auto& m : p.members) members.push_back(linear_json(m));
    j["features"] = p.target == PredictTarget::kLatency ? latency_feature_names() : memory_feature_names();
    j["linear"] = linear_json(p.linear);
    j["members"] = members;
    j["floor"] = p.floor;
  } else {
    ojson layers = ojson::array();
    for (std::size_t l = 0; l < p.mlp.weight.size(); ++l) {
      layers.push_back({{"weight", p.mlp.weight[l]}, {"bias", p.mlp.bias[l]}});
    }
    j["mlp"] = {{"sizes", p.mlp.sizes}, {"feature_norm", p.feature_norm}, {"output_scale", p.output_scale}, {"layers", layers}};
  }
  if (fit) {
    j["fit"] = {{"split", {{"train", fit->split.train()}, {"valid", fit->split.valid()}, {"test", fit->split.test()}}},
                {"valid", metrics_json(fit->valid, p.target)},
                {"test", metrics_json(fit->test, p.target)},
                {"fit_seconds", fit->fit_seconds},
                {"predict_us_per_row", fit->predict_us_per_row}};
    if (p.kind == PredictorKind::kHatMlp) j["fit"]["lat_norm"] = fit->lat_norm;
    if (p.kind == PredictorKind::kThanosLinear) j["fit"]["ridge"] = fit->ridge;
  }
  return j;
}

Predictor predictor_from_json(const json& j, const std::string& path) {
  const Reader r{path};
  if (r.get<std::string>(j, "format", "") != "thanos.predictor") r.fail("format", "is not 'thanos.predictor'");
  const int version = r.get<int>(j, "version", "");
  if (version > kPredictorFormatVersion) {
    throw std::invalid_argument(path + ": predictor format version " + std::to_string(version) + " is newer than this THANOS reads (" +
                                std::to_string(kPredictorFormatVersion) + "); upgrade THANOS or refit the predictor");
  }
  Predictor p;
  try {
    p.kind = predictor_kind_from_string(r.get<std::string>(j, "model", ""));
    p.target = predict_target_from_string(r.get<std::string>(j, "target", ""));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  const json& v = r.at(j, "provenance", "");
  Provenance& pv = p.provenance;
  pv.source = r.get<std::string>(v, "source", "provenance.");
  pv.protocol_name = r.get<std::string>(v, "protocol_name", "provenance.");
  pv.protocol_hash = r.get<std::string>(v, "protocol_hash", "provenance.");
  pv.src_len = r.get<int>(v, "src_len", "provenance.");
  pv.tgt_len = r.get<int>(v, "tgt_len", "provenance.");
  pv.beam = r.get<int>(v, "beam", "provenance.");
  pv.vocab_size = r.get<int>(v, "vocab_size", "provenance.");
  pv.dtype = r.get<std::string>(v, "dtype", "provenance.");
  pv.threads = r.get<int>(v, "threads", "provenance.");
  pv.interop_threads = r.get<int>(v, "interop_threads", "provenance.");
  pv.backend = r.get<std::string>(v, "backend", "provenance.");
  pv.device_name = r.get<std::string>(v, "device_name", "provenance.");
  pv.host = r.get<std::string>(v, "host", "provenance.");
  pv.thanos_version = r.get<std::string>(v, "thanos_version", "provenance.");
  pv.data_path = r.get<std::string>(v, "data_path", "provenance.");
  pv.data_hash = r.get<std::string>(v, "data_hash", "provenance.");
  pv.data_rows = r.get<int>(v, "data_rows", "provenance.");
  pv.fitted_by = r.get<std::string>(v, "fitted_by", "provenance.");
  p.relative_sigma = r.get<double>(r.at(j, "error_model", ""), "relative_sigma", "error_model.");

  if (p.kind == PredictorKind::kThanosLinear) {
    const std::size_t features =
        (p.target == PredictTarget::kLatency ? latency_feature_names() : memory_feature_names()).size();
    p.linear = r.linear(r.at(j, "linear", ""), "linear.", features);
    if (j.contains("floor")) p.floor = r.get<double>(j, "floor", "");
    const json& members = r.at(j, "members", "");
    if (!members.is_array()) r.fail("members", "must be an array");
    for (std::size_t i = 0; i < members.size(); ++i) {
      p.members.push_back(r.linear(members[i], "members[" + std::to_string(i) + "].", features));
    }
  } else {
    const json& m = r.at(j, "mlp", "");
    p.mlp.sizes = r.get<std::vector<int>>(m, "sizes", "mlp.");
    p.feature_norm = r.get<std::vector<double>>(m, "feature_norm", "mlp.");
    p.output_scale = r.get<double>(m, "output_scale", "mlp.");
    if (p.mlp.sizes.size() < 2 || p.mlp.sizes.front() != kHatFeatureCount || p.mlp.sizes.back() != 1) {
      r.fail("mlp.sizes", "must run from " + std::to_string(kHatFeatureCount) + " inputs to 1 output");
    }
    if (p.feature_norm.size() != static_cast<std::size_t>(kHatFeatureCount)) {
      r.fail("mlp.feature_norm", "must have " + std::to_string(kHatFeatureCount) + " values");
    }
    const json& layers = r.at(m, "layers", "mlp.");
    if (!layers.is_array() || layers.size() + 1 != p.mlp.sizes.size()) {
      r.fail("mlp.layers", "must have one entry per layer (" + std::to_string(p.mlp.sizes.size() - 1) + ")");
    }
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const std::string where = "mlp.layers[" + std::to_string(l) + "].";
      auto w = r.get<std::vector<float>>(layers[l], "weight", where);
      auto b = r.get<std::vector<float>>(layers[l], "bias", where);
      const std::size_t in = p.mlp.sizes[l], out = p.mlp.sizes[l + 1];
      if (w.size() != in * out || b.size() != out) {
        r.fail(where + "weight", "must hold " + std::to_string(out) + " x " + std::to_string(in) + " values and bias " +
                                     std::to_string(out));
      }
      p.mlp.weight.push_back(std::move(w));
      p.mlp.bias.push_back(std::move(b));
    }
  }
  return p;
}

void save_predictor(const std::string& path, const Predictor& predictor, const FitResult* fit) {
  write_file_atomically(path, predictor_to_json(predictor, fit).dump(1) + "\n");
}

Predictor load_predictor(const std::string& path) {
  const std::string text = read_text_file(path);
  return predictor_from_json(parse_json_input(text, path + ": a predictor file"), path);
}

}  // namespace thanos
