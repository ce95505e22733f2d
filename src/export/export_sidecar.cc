#include "thanos/export/export_sidecar.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"
#include "thanos/space/config_io.h"

namespace thanos {

namespace {
using Json = nlohmann::ordered_json;

Json tensor_to_json(const ExportTensorSpec& t) {
  return Json{{"name", t.name}, {"dtype", t.dtype}, {"shape", t.dims}, {"description", t.description}};
}

Json graph_to_json(const ExportGraphSpec& g) {
  Json inputs = Json::array(), outputs = Json::array();
  for (const auto& t : g.inputs) inputs.push_back(tensor_to_json(t));
  for (const auto& t : g.outputs) outputs.push_back(tensor_to_json(t));
  return Json{{"file", g.file}, {"inputs", inputs}, {"outputs", outputs}};
}

// Field access with errors naming the source and the JSON path.
struct Reader {
  std::string where;
  const nlohmann::json& at(const nlohmann::json& j, const std::string& key, const std::string& path) const {
    if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(where + ": missing field '" + path + key + "'");
    return j.at(key);
  }
  std::string str(const nlohmann::json& j, const std::string& key, const std::string& path = "") const {
    const auto& v = at(j, key, path);
    if (!v.is_string()) throw std::invalid_argument(where + ": field '" + path + key + "' must be a string");
    return v.get<std::string>();
  }
  int64_t integer(const nlohmann::json& j, const std::string& key, const std::string& path = "") const {
    const auto& v = at(j, key, path);
    if (!v.is_number_integer()) throw std::invalid_argument(where + ": field '" + path + key + "' must be an integer");
    return v.get<int64_t>();
  }
  // A field stored in an int: a value beyond 32 bits is refused, not wrapped (2^32 + 1 read as 1).
  int int32(const nlohmann::json& j, const std::string& key, const std::string& path = "") const {
    return json_to_int32(at(j, key, path), where + ": field '" + path + key + "'");
  }
  ExportTensorSpec tensor(const nlohmann::json& j, const std::string& path) const {
    ExportTensorSpec t;
    t.name = str(j, "name", path);
    t.dtype = str(j, "dtype", path);
    if (t.dtype != "int64" && t.dtype != "float32" && t.dtype != "float16") {
      throw std::invalid_argument(where + ": field '" + path + "dtype' is '" + t.dtype +
                                  "' (expected int64, float32 or float16)");
    }
    const auto& shape = at(j, "shape", path);
    if (!shape.is_array()) throw std::invalid_argument(where + ": field '" + path + "shape' must be an array");
    for (const auto& d : shape) {
      if (!d.is_string()) throw std::invalid_argument(where + ": field '" + path + "shape' must hold strings");
      t.dims.push_back(d.get<std::string>());
    }
    t.description = j.contains("description") && j["description"].is_string() ? j["description"].get<std::string>() : "";
    return t;
  }
  ExportGraphSpec graph(const nlohmann::json& j, const std::string& path) const {
    ExportGraphSpec g;
    g.file = str(j, "file", path);
    // The graph lies beside the sidecar (/etc/passwd once reached ONNX Runtime).
    if (!is_name_inside_folder(g.file)) {
      throw std::invalid_argument(where + ": field '" + path + "file' is '" + g.file + "': expected a file name inside the export folder");
    }
    for (const char* side : {"inputs", "outputs"}) {
      const auto& list = at(j, side, path);
      if (!list.is_array()) throw std::invalid_argument(where + ": field '" + path + side + "' must be an array");
      for (std::size_t i = 0; i < list.size(); ++i) {
        auto t = tensor(list[i], path + side + "[" + std::to_string(i) + "].");
        (std::string(side) == "inputs" ? g.inputs : g.outputs).push_back(std::move(t));
      }
    }
    return g;
  }
};
}  // namespace

bool ExportSidecar::operator==(const ExportSidecar& o) const {
  return format == o.format && version == o.version && mode == o.mode && static_src_len == o.static_src_len &&
         static_tgt_len == o.static_tgt_len && dtype == o.dtype && opset == o.opset &&
         src_vocab_size == o.src_vocab_size && tgt_vocab_size == o.tgt_vocab_size && bos == o.bos && pad == o.pad &&
         eos == o.eos && unk == o.unk && decoder_start_token == o.decoder_start_token &&
         max_source_positions == o.max_source_positions && max_target_positions == o.max_target_positions &&
         mask_value == o.mask_value && config == o.config && config_hash == o.config_hash &&
         source_model == o.source_model && encoder == o.encoder && decoder == o.decoder;
}

std::string sidecar_to_json(const ExportSidecar& s) {
  Json j;
  j["format"] = s.format;
  j["version"] = s.version;
  j["mode"] = s.mode;
  if (s.mode == "static") j["static"] = Json{{"src_len", s.static_src_len}, {"tgt_len", s.static_tgt_len}};
  j["dtype"] = s.dtype;
  j["opset"] = s.opset;
  j["vocab"] = Json{{"src_size", s.src_vocab_size}, {"tgt_size", s.tgt_vocab_size}};
  j["special_ids"] = Json{{"bos", s.bos}, {"pad", s.pad}, {"eos", s.eos}, {"unk", s.unk}};
  j["decoder_start_token"] = s.decoder_start_token;
  j["max_positions"] = Json{{"source", s.max_source_positions}, {"target", s.max_target_positions}};
  j["mask_value"] = s.mask_value;
  j["source_model"] = s.source_model;
  j["config_hash"] = s.config_hash;
  j["config"] = Json::parse(config_to_json(s.config).dump());
  j["graphs"] = Json{{"encoder", graph_to_json(s.encoder)}, {"decoder_step", graph_to_json(s.decoder)}};
  return j.dump(2) + "\n";
}

ExportSidecar sidecar_from_json(const std::string& text, const std::string& where) {
  const nlohmann::json j = parse_json_input(text, where);
  Reader r{where};
  ExportSidecar s;
  s.format = r.str(j, "format");
  if (s.format != kExportSidecarFormat) {
    throw std::invalid_argument(where + ": field 'format' is '" + s.format + "', expected '" + kExportSidecarFormat + "'");
  }
  s.version = r.int32(j, "version");
  if (s.version < 1 || s.version > kExportSidecarVersion) {
    throw std::invalid_argument(where + ": field 'version' is " + std::to_string(s.version) + "; this THANOS reads up to " +
                                std::to_string(kExportSidecarVersion));
  }
  s.mode = r.str(j, "mode");
  if (s.mode == "static") {
    const auto& st = r.at(j, "static", "");
    s.static_src_len = r.integer(st, "src_len", "static.");
    s.static_tgt_len = r.integer(st, "tgt_len", "static.");
  } else if (s.mode != "dynamic") {
    throw std::invalid_argument(where + ": field 'mode' is '" + s.mode + "' (expected dynamic or static)");
  }
  s.dtype = r.str(j, "dtype");
  if (s.dtype != "float32" && s.dtype != "float16") {
    throw std::invalid_argument(where + ": field 'dtype' is '" + s.dtype + "' (expected float32 or float16)");
  }
  s.opset = r.int32(j, "opset");
  const auto& vocab = r.at(j, "vocab", "");
  s.src_vocab_size = r.int32(vocab, "src_size", "vocab.");
  s.tgt_vocab_size = r.int32(vocab, "tgt_size", "vocab.");
  const auto& ids = r.at(j, "special_ids", "");
  s.bos = r.int32(ids, "bos", "special_ids.");
  s.pad = r.int32(ids, "pad", "special_ids.");
  s.eos = r.int32(ids, "eos", "special_ids.");
  s.unk = r.int32(ids, "unk", "special_ids.");
  s.decoder_start_token = r.int32(j, "decoder_start_token");
  const auto& pos = r.at(j, "max_positions", "");
  s.max_source_positions = r.int32(pos, "source", "max_positions.");
  s.max_target_positions = r.int32(pos, "target", "max_positions.");
  const auto& mask = r.at(j, "mask_value", "");
  if (!mask.is_number()) throw std::invalid_argument(where + ": field 'mask_value' must be a number");
  s.mask_value = mask.get<float>();
  s.source_model = r.str(j, "source_model");
  s.config_hash = r.str(j, "config_hash");
  s.config = config_from_json(r.at(j, "config", ""), where + " (field 'config')");
  if (s.config.hash_hex() != s.config_hash) {
    throw std::invalid_argument(where + ": field 'config_hash' is " + s.config_hash + " but the config hashes to " +
                                s.config.hash_hex());
  }
  const auto& graphs = r.at(j, "graphs", "");
  s.encoder = r.graph(r.at(graphs, "encoder", "graphs."), "graphs.encoder.");
  s.decoder = r.graph(r.at(graphs, "decoder_step", "graphs."), "graphs.decoder_step.");
  return s;
}

void write_sidecar(const std::string& path, const ExportSidecar& sidecar) {
  write_file_atomically(path, sidecar_to_json(sidecar));
}

ExportSidecar read_sidecar(const std::string& path) { return sidecar_from_json(read_text_file(path), path); }

}  // namespace thanos
