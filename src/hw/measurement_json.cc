#include "thanos/hw/measurement_json.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "thanos/common/json_input.h"
#include "thanos/space/config_io.h"

namespace thanos {
namespace {

using json = nlohmann::json;

const json& field(const json& j, const std::string& key, const std::string& path) {
  if (!j.is_object()) throw std::invalid_argument(path + ": expected a JSON object, got " + j.dump().substr(0, 80));
  if (!j.contains(key)) throw std::invalid_argument(path + "." + key + ": missing");
  return j.at(key);
}

int get_int(const json& j, const std::string& key, const std::string& path) {
  const auto& v = field(j, key, path);
  return json_to_int32(v, path + "." + key);
}

// null stands for "not measured" (NaN).
double get_number(const json& j, const std::string& key, const std::string& path) {
  const auto& v = field(j, key, path);
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) throw std::invalid_argument(path + "." + key + ": expected a number, got " + v.dump());
  return v.get<double>();
}

bool get_bool(const json& j, const std::string& key, const std::string& path) {
  const auto& v = field(j, key, path);
  if (!v.is_boolean()) throw std::invalid_argument(path + "." + key + ": expected true or false, got " + v.dump());
  return v.get<bool>();
}

std::string get_string(const json& j, const std::string& key, const std::string& path) {
  const auto& v = field(j, key, path);
  if (!v.is_string()) throw std::invalid_argument(path + "." + key + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

}  // namespace

json protocol_to_json(const LatencyProtocol& p) {
  return {{"name", p.name},       {"src_len", p.src_len},   {"tgt_len", p.tgt_len},
          {"beam", p.beam},       {"warmups", p.warmups},   {"repeats", p.repeats},
          {"trim_fraction", p.trim_fraction}, {"vocab_size", p.vocab_size}, {"dtype", p.dtype},
          {"hash", p.hash_hex()}};
}

LatencyProtocol protocol_from_json(const json& j, const std::string& source) {
  const std::string path = source + ": protocol";
  LatencyProtocol p;
  p.name = get_string(j, "name", path);
  p.src_len = get_int(j, "src_len", path);
  p.tgt_len = get_int(j, "tgt_len", path);
  p.beam = get_int(j, "beam", path);
  p.warmups = get_int(j, "warmups", path);
  p.repeats = get_int(j, "repeats", path);
  p.trim_fraction = get_number(j, "trim_fraction", path);
  p.vocab_size = get_int(j, "vocab_size", path);
  p.dtype = get_string(j, "dtype", path);
  try {
    p.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  return p;
}

json hyper_to_json(const ModelHyperParams& h) {
  return {{"share_all_embeddings", h.share_all_embeddings},
          {"share_decoder_input_output", h.share_decoder_input_output},
          {"encoder_normalize_before", h.encoder_normalize_before},
          {"decoder_normalize_before", h.decoder_normalize_before},
          {"max_source_positions", h.max_source_positions},
          {"max_target_positions", h.max_target_positions}};
}

ModelHyperParams hyper_from_json(const json& j, const std::string& source) {
  const std::string path = source + ": hyper";
  ModelHyperParams h;
  h.share_all_embeddings = get_bool(j, "share_all_embeddings", path);
  h.share_decoder_input_output = get_bool(j, "share_decoder_input_output", path);
  h.encoder_normalize_before = get_bool(j, "encoder_normalize_before", path);
  h.decoder_normalize_before = get_bool(j, "decoder_normalize_before", path);
  h.max_source_positions = get_int(j, "max_source_positions", path);
  h.max_target_positions = get_int(j, "max_target_positions", path);
  // Measurements run in inference mode: dropout has no effect and is not carried.
  return h;
}

json request_to_json(const MeasureRequest& r) {
  return {{"config", config_to_json(r.config)},
          {"hyper", hyper_to_json(r.hyper)},
          {"protocol", protocol_to_json(r.protocol)},
          {"run",
           {{"device", r.run.device},
            {"threads", r.run.threads},
            {"interop_threads", r.run.interop_threads},
            {"memory_cap_mib", r.run.memory_cap_mib},
            {"timeout_s", r.run.timeout_s}}}};
}

MeasureRequest request_from_json(const json& j, const std::string& source) {
  MeasureRequest r;
  r.config = config_from_json(field(j, "config", source), source + ": config");
  r.hyper = hyper_from_json(field(j, "hyper", source), source);
  r.protocol = protocol_from_json(field(j, "protocol", source), source);
  const auto& run = field(j, "run", source);
  const std::string path = source + ": run";
  r.run.device = get_string(run, "device", path);
  r.run.threads = get_int(run, "threads", path);
  r.run.interop_threads = get_int(run, "interop_threads", path);
  r.run.memory_cap_mib = get_number(run, "memory_cap_mib", path);
  r.run.timeout_s = get_number(run, "timeout_s", path);
  // A request may come from a peer: a million threads or an endless timeout is not a setting.
  if (r.run.threads < 1 || r.run.interop_threads < 1 || r.run.threads > kMaxRequestThreads || r.run.interop_threads > kMaxRequestThreads) {
    throw std::invalid_argument(path + ": threads and interop_threads must be 1 to " + std::to_string(kMaxRequestThreads));
  }
  if (!(r.run.memory_cap_mib >= 0 && r.run.memory_cap_mib <= 1 << 24) || !(r.run.timeout_s >= 0 && r.run.timeout_s <= 86400)) {
    throw std::invalid_argument(path + ": memory_cap_mib (0 to 16777216) and timeout_s (0 to 86400) out of range (0 = none)");
  }
  return r;
}

MeasureRequest request_from_text(const std::string& text, const std::string& source) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw std::invalid_argument(source + ": empty; expected one MeasureRequest JSON object");
  }
  return request_from_json(parse_json_input(text, source), source);
}

json measurement_to_json(const Measurement& m) {
  return {{"feasible", m.feasible},
          {"infeasible_reason", m.infeasible_reason},
          {"encoder_mean_ms", number_or_null(m.encoder_mean_ms)},
          {"encoder_std_ms", number_or_null(m.encoder_std_ms)},
          {"decoder_mean_ms", number_or_null(m.decoder_mean_ms)},
          {"decoder_std_ms", number_or_null(m.decoder_std_ms)},
          {"peak_memory_mib", number_or_null(m.peak_memory_mib)},
          {"memory_kind", m.memory_kind},
          {"baseline_memory_mib", number_or_null(m.baseline_memory_mib)},
          {"backend", m.backend},
          {"device_name", m.device_name},
          {"threads", m.threads},
          {"interop_threads", m.interop_threads},
          {"dtype", m.dtype},
          {"host", m.host},
          {"library_versions", m.library_versions},
          {"cap_mechanism", m.cap_mechanism},
          {"memory_cap_mib", m.memory_cap_mib},
          {"cpu_freq_mhz", number_or_null(m.cpu_freq_mhz)},
          {"temperature_c", number_or_null(m.temperature_c)},
          {"wall_s", m.wall_s}};
}

Measurement measurement_from_json(const json& j, const std::string& source) {
  const std::string path = source + ": measurement";
  Measurement m;
  m.feasible = get_bool(j, "feasible", path);
  m.infeasible_reason = get_string(j, "infeasible_reason", path);
  m.encoder_mean_ms = get_number(j, "encoder_mean_ms", path);
  m.encoder_std_ms = get_number(j, "encoder_std_ms", path);
  m.decoder_mean_ms = get_number(j, "decoder_mean_ms", path);
  m.decoder_std_ms = get_number(j, "decoder_std_ms", path);
  m.peak_memory_mib = get_number(j, "peak_memory_mib", path);
  m.memory_kind = get_string(j, "memory_kind", path);
  m.baseline_memory_mib = get_number(j, "baseline_memory_mib", path);
  m.backend = get_string(j, "backend", path);
  m.device_name = get_string(j, "device_name", path);
  m.threads = get_int(j, "threads", path);
  m.interop_threads = get_int(j, "interop_threads", path);
  m.dtype = get_string(j, "dtype", path);
  m.host = get_string(j, "host", path);
  m.library_versions = get_string(j, "library_versions", path);
  m.cap_mechanism = get_string(j, "cap_mechanism", path);
  m.memory_cap_mib = get_number(j, "memory_cap_mib", path);
  m.cpu_freq_mhz = get_number(j, "cpu_freq_mhz", path);
  m.temperature_c = get_number(j, "temperature_c", path);
  m.wall_s = get_number(j, "wall_s", path);
  if (m.feasible && !(std::isfinite(m.encoder_mean_ms) && std::isfinite(m.decoder_mean_ms))) {
    throw std::invalid_argument(path + ": a feasible measurement needs encoder_mean_ms and decoder_mean_ms");
  }
  return m;
}

}  // namespace thanos
