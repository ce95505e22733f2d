#include "thanos/predict/predictor_data.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <stdexcept>

#include "thanos/common/csv.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

// One data line, with what an error message needs to point at a field.
struct Line {
  const std::string* path;
  int number;
  const std::vector<std::string>* header;
  std::vector<std::string> fields;

  std::string where(int col) const {
    return *path + ":" + std::to_string(number) + ": column " + std::to_string(col + 1) + " '" + (*header)[col] + "'";
  }
  double number_at(int col) const {
    const std::string& s = fields[col];
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
      throw std::invalid_argument(where(col) + ": expected a number, got '" + s + "'");
    }
    return v;
  }
  std::vector<int> ints_at(int col) const {
    std::vector<int> v;
    std::istringstream in(fields[col]);
    std::string tok;
    while (in >> tok) {
      char* end = nullptr;
      const long x = std::strtol(tok.c_str(), &end, 10);
      if (end != tok.c_str() + tok.size() || x <= 0) {
        throw std::invalid_argument(where(col) + ": expected positive integers separated by spaces, got '" + fields[col] + "'");
      }
      v.push_back(static_cast<int>(x));
    }
    return v;
  }
};

// One stack's layers from its per-layer columns (one column per field of the table, read in
// table order); every column must list one value per layer.
template <typename Layer>
std::vector<Layer> layers_from_columns(const Line& line, std::map<std::string, int>& columns) {
  const auto& fields = layer_fields<Layer>();
  std::vector<std::vector<int>> values;
  for (const auto& f : fields) values.push_back(line.ints_at(columns[f.csv_column]));
  const std::size_t n = values[0].size();
  for (std::size_t k = 1; k < fields.size(); ++k) {
    if (values[k].size() == n) continue;
    // The encoder's message names its attention's columns, as it always has.
    const std::string stack = LayerFields<Layer>::kStack;
    if (stack == "encoder" && fields[k].role != FieldRole::kWidth && fields[k].role != FieldRole::kAttendedLayers) {
      const std::size_t heads = fields[k].role == FieldRole::kHeads ? k : fields[k].partner;
      const std::size_t qkv = fields[heads].partner;
      throw std::invalid_argument(line.where(columns[fields[heads].csv_column]) + ": " +
                                  std::to_string(values[heads].size()) + " heads and " +
                                  std::to_string(values[qkv].size()) + " QKV widths for " + std::to_string(n) +
                                  " encoder layers");
    }
    throw std::invalid_argument(line.where(columns[fields[0].csv_column]) + ": the " + stack +
                                "'s per-layer columns have different lengths (" + std::to_string(n) +
                                " FFN widths, " + std::to_string(values[k].size()) + " in another)");
  }
  std::vector<Layer> layers(n);
  for (std::size_t k = 0; k < fields.size(); ++k) {
    for (std::size_t i = 0; i < n; ++i) fields[k].of(layers[i]) = values[k][i];
  }
  return layers;
}

int column(const std::vector<std::string>& header, const std::string& name, const std::string& path,
           const std::string& format_note) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  throw std::invalid_argument(path + ":1: missing column '" + name + "' (" + format_note + ")");
}

int optional_column(const std::vector<std::string>& header, const std::string& name) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

bool looks_like_thanos(const std::vector<std::string>& header) {
  return optional_column(header, "config_hash") >= 0 && optional_column(header, "decoder_ende_qkv_dims") >= 0;
}

// "libtorch 2.1.2; thanos 0.1.0" -> "0.1.0"
std::string thanos_version_of(const std::string& library_versions) {
  const auto at = library_versions.find("thanos ");
  if (at == std::string::npos) return "";
  const auto end = library_versions.find(';', at);
  return library_versions.substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
}

}  // namespace

DataFormat data_format_from_string(const std::string& s) {
  if (s == "auto") return DataFormat::kAuto;
  if (s == "hat") return DataFormat::kHat;
  if (s == "thanos") return DataFormat::kThanos;
  throw std::invalid_argument("unknown dataset format '" + s + "' (choose auto, hat or thanos)");
}

std::string to_string(DataFormat f) {
  switch (f) {
    case DataFormat::kAuto: return "auto";
    case DataFormat::kHat: return "hat";
    case DataFormat::kThanos: return "thanos";
  }
  return "?";
}

PredictTarget predict_target_from_string(const std::string& s) {
  if (s == "latency") return PredictTarget::kLatency;
  if (s == "memory") return PredictTarget::kMemory;
  throw std::invalid_argument("unknown predictor target '" + s + "' (choose latency or memory)");
}

std::string to_string(PredictTarget t) { return t == PredictTarget::kLatency ? "latency" : "memory"; }

DataSplit fixed_split(int rows) {
  DataSplit s;
  s.size = rows;
  s.train_end = static_cast<int>(static_cast<long long>(rows) * 8 / 10);
  s.valid_end = static_cast<int>(static_cast<long long>(rows) * 9 / 10);
  return s;
}

PredictorData load_predictor_data(const std::string& path, DataFormat format, PredictTarget target) {
  const std::string text = read_text_file(path);
  const std::vector<std::string> lines = split_lines(text, true);
  if (lines.empty()) throw std::invalid_argument(path + ": empty file (expected a header line and data rows)");
  std::vector<std::string> header;
  try {
    header = split_csv_line(lines[0]);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ":1: " + e.what());
  }
  PredictorData data;
  data.path = path;
  data.format = format == DataFormat::kAuto ? (looks_like_thanos(header) ? DataFormat::kThanos : DataFormat::kHat) : format;
  const bool thanos = data.format == DataFormat::kThanos;
  if (target == PredictTarget::kMemory && !thanos) {
    throw std::invalid_argument(path + ": a memory predictor needs a THANOS-format dataset (peak_memory_mib); HAT-format "
                                "files hold latency only");
  }
  const std::string note = thanos ? "a THANOS-format dataset has the columns of docs/MEASUREMENT.md"
                                  : "a HAT-format dataset has HAT's 14 columns: the 10 features, latency_mean_encoder, "
                                    "latency_mean_decoder, latency_std_encoder, latency_std_decoder";
  std::vector<int> hat_cols;
  for (const auto& name : hat_feature_names()) hat_cols.push_back(column(header, name, path, note));
  const int enc_col = column(header, "latency_mean_encoder", path, note);
  const int dec_col = column(header, "latency_mean_decoder", path, note);
  // THANOS' row rules also apply when a THANOS file is read for its HAT columns only.
  const int feasible_col = optional_column(header, "feasible");
  const int hash_col = optional_column(header, "config_hash");
  std::map<std::string, int> per_layer;
  int mem_col = -1, analytic_col = -1;
  if (thanos) {
    std::vector<std::string> names;
    for (const auto& f : layer_fields<EncoderLayerConfig>()) names.push_back(f.csv_column);
    for (const auto& f : layer_fields<DecoderLayerConfig>()) names.push_back(f.csv_column);
    for (const char* name : {"config_hash", "feasible", "protocol_hash"}) names.push_back(name);
    for (const auto& name : names) per_layer[name] = column(header, name, path, note);
    if (target == PredictTarget::kMemory) {
      mem_col = column(header, "peak_memory_mib", path, note);
      analytic_col = column(header, "analytic_memory_mib", path, note);
    }
  }

  struct Parsed {
    PredictorRow row;
    std::string hash;
    std::vector<std::string> fields;
  };
  std::vector<Parsed> parsed;
  int data_lines = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    ++data_lines;
    Line line{&path, static_cast<int>(i + 1), &header, {}};
    try {
      line.fields = split_csv_line(lines[i]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(path + ":" + std::to_string(line.number) + ": " + e.what());
    }
    if (line.fields.size() != header.size()) {
      throw std::invalid_argument(path + ":" + std::to_string(line.number) + ": expected " + std::to_string(header.size()) +
                                  " fields (as the header), got " + std::to_string(line.fields.size()));
    }
    if (feasible_col >= 0 && line.fields[feasible_col] == "0") continue;  // no latency to learn from
    Parsed p;
    p.row.line = line.number;
    HatFeatures hat{};
    for (int k = 0; k < kHatFeatureCount; ++k) hat[k] = line.number_at(hat_cols[k]);
    p.row.encoder_ms = line.number_at(enc_col);
    p.row.decoder_ms = line.number_at(dec_col);
    if (!(p.row.latency_ms() > 0)) {
      throw std::invalid_argument(line.where(dec_col) + ": encoder + decoder latency must be positive, got " +
                                  std::to_string(p.row.latency_ms()) + " ms");
    }
    if (thanos) {
      SubConfig c;
      // Checked before the conversion: a double beyond int is undefined behaviour (UBSan, found
      // by fuzz/latency_csv with 1.27e116).
      auto width = [&](int k) {
        if (!(hat[k] >= 1 && hat[k] <= kMaxWidth && hat[k] == std::floor(hat[k]))) {
          throw std::invalid_argument(line.where(hat_cols[k]) + ": expected a whole number from 1 to " +
                                      std::to_string(kMaxWidth) + ", got " + std::to_string(hat[k]));
        }
        return static_cast<int>(hat[k]);
      };
      c.encoder_embed_dim = width(0);
      c.decoder_embed_dim = width(4);
      c.encoder_layers = layers_from_columns<EncoderLayerConfig>(line, per_layer);
      c.decoder_layers = layers_from_columns<DecoderLayerConfig>(line, per_layer);
      p.row.arch = arch_sums(c);
      p.row.arch.hat = hat;  // as measured (identical to hat_features(c) for THANOS' own rows)
      if (mem_col >= 0) {
        p.row.memory_mib = line.number_at(mem_col);
        p.row.analytic_memory_mib = line.number_at(analytic_col);
        if (!(p.row.memory_mib > 0)) {
          throw std::invalid_argument(line.where(mem_col) + ": peak memory must be positive");
        }
      }
    } else {
      p.row.arch = arch_sums_from_hat(hat);
    }
    if (hash_col >= 0) p.hash = line.fields[hash_col];
    p.fields = std::move(line.fields);
    parsed.push_back(std::move(p));
  }

  // The last row of a config wins (a re-measurement after drift supersedes the earlier one).
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i].hash.empty()) last[parsed[i].hash] = i;
  }
  const Parsed* newest = nullptr;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i].hash.empty() && last[parsed[i].hash] != i) continue;
    data.rows.push_back(parsed[i].row);
    newest = &parsed[i];
  }
  if (static_cast<int>(data.rows.size()) < kMinPredictorRows) {
    throw std::invalid_argument(path + ": " + std::to_string(data.rows.size()) + " usable rows (of " +
                                std::to_string(data_lines) + " data lines; infeasible and superseded rows are not used); " +
                                "a predictor needs at least " + std::to_string(kMinPredictorRows) +
                                " for the 80/10/10 split");
  }

  // Provenance follows the file (a THANOS file read for its HAT columns is still ours).
  const int protocol_col = optional_column(header, "protocol_hash");
  if (looks_like_thanos(header) && protocol_col >= 0) {
    Provenance& v = data.provenance;
    v.source = "thanos-measure";
    for (const auto& p : parsed) {
      if (p.fields[protocol_col] != newest->fields[protocol_col]) {
        throw std::invalid_argument(path + ":" + std::to_string(p.row.line) + ": protocol_hash " + p.fields[protocol_col] +
                                    " differs from " + newest->fields[protocol_col] + " on line " +
                                    std::to_string(newest->row.line) + " (a dataset holds one protocol)");
      }
    }
    v.protocol_hash = newest->fields[protocol_col];
    v.protocol_name = protocol_preset_with_hash(v.protocol_hash);
    if (!v.protocol_name.empty()) {
      const LatencyProtocol preset = latency_protocol_preset(v.protocol_name);
      v.src_len = preset.src_len;
      v.tgt_len = preset.tgt_len;
      v.beam = preset.beam;
      v.vocab_size = preset.vocab_size;
    } else {
      v.protocol_name = "custom";
    }
    auto field = [&](const char* name) {
      const int c = optional_column(header, name);
      return c >= 0 ? newest->fields[c] : std::string();
    };
    v.dtype = field("dtype");
    v.threads = std::atoi(field("threads").c_str());
    v.interop_threads = std::atoi(field("interop_threads").c_str());
    v.backend = field("backend");
    v.device_name = field("device_name");
    v.host = field("host");
    v.thanos_version = thanos_version_of(field("library_versions"));
  } else {
    data.provenance = hat_published_provenance(path);
  }
  data.provenance.data_path = path;
  data.provenance.data_hash = hex64(fnv1a64(text));
  data.provenance.data_rows = static_cast<int>(data.rows.size());
  return data;
}

}  // namespace thanos
