#include <nlohmann/json.hpp>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

int get_int(const nlohmann::json& j, const std::string& key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(path + "." + key + ": missing");
  return json_to_int32(j.at(key), path + "." + key);
}

const nlohmann::json& get_array(const nlohmann::json& j, const std::string& key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(path + "." + key + ": missing");
  const auto& v = j.at(key);
  if (!v.is_array()) throw std::invalid_argument(path + "." + key + ": expected a list");
  return v;
}

template <typename Layer>
nlohmann::json layers_to_json(const std::vector<Layer>& layers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : layers) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& f : layer_fields<Layer>()) o[f.name] = f.of(l);
    out.push_back(std::move(o));
  }
  return out;
}

// Keys read in table order, so a message names the first missing one.
template <typename Layer>
std::vector<Layer> layers_from_json(const nlohmann::json& list, const std::string& path) {
  std::vector<Layer> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + ".layers[" + std::to_string(i) + "]";
    Layer l;
    for (const auto& f : layer_fields<Layer>()) f.of(l) = get_int(list[i], f.name, p);
    out.push_back(l);
  }
  return out;
}

}  // namespace

nlohmann::json config_to_json(const SubConfig& c) {
  const nlohmann::json enc_layers = layers_to_json(c.encoder_layers), dec_layers = layers_to_json(c.decoder_layers);
  return {{"format", "thanos.subconfig"},
          {"version", 1},
          {"hash", c.hash_hex()},
          {"encoder", {{"embed_dim", c.encoder_embed_dim}, {"layers", enc_layers}}},
          {"decoder", {{"embed_dim", c.decoder_embed_dim}, {"layers", dec_layers}}}};
}

SubConfig config_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw std::invalid_argument(source + ": expected a JSON object");
  if (j.contains("format") && j.at("format") != "thanos.subconfig") {
    throw std::invalid_argument(source + ": format: expected \"thanos.subconfig\", got " + j.at("format").dump());
  }
  if (j.contains("version") && (!j.at("version").is_number_integer() || j.at("version").get<std::int64_t>() > 1)) {
    throw std::invalid_argument(source + ": version " + j.at("version").dump() + " is newer than this thanos reads (1)");
  }
  SubConfig c;
  const std::string enc = source + ": encoder", dec = source + ": decoder";
  if (!j.contains("encoder") || !j.contains("decoder")) throw std::invalid_argument(source + ": needs \"encoder\" and \"decoder\"");
  c.encoder_embed_dim = get_int(j.at("encoder"), "embed_dim", enc);
  c.decoder_embed_dim = get_int(j.at("decoder"), "embed_dim", dec);
  c.encoder_layers = layers_from_json<EncoderLayerConfig>(get_array(j.at("encoder"), "layers", enc), enc);
  c.decoder_layers = layers_from_json<DecoderLayerConfig>(get_array(j.at("decoder"), "layers", dec), dec);
  try {
    c.check_consistent();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  // "hash" is informational: a hand-edited file simply gets a new hash on the next write.
  return c;
}

LoadedConfig load_config_file(const std::string& path, int default_qkv_dim) {
  const bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!is_json) return load_config_yaml(path, default_qkv_dim);
  return {config_from_json(parse_json_input(read_text_file(path), path), path), {}};
}

}  // namespace thanos
