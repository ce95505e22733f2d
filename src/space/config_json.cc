#include <nlohmann/json.hpp>

#include "thanos/common/text.h"
#include "thanos/space/config_io.h"

namespace thanos {
namespace {

int get_int(const nlohmann::json& j, const std::string& key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(path + "." + key + ": missing");
  const auto& v = j.at(key);
  if (!v.is_number_integer()) throw std::invalid_argument(path + "." + key + ": expected an integer, got " + v.dump());
  return v.get<int>();
}

const nlohmann::json& get_array(const nlohmann::json& j, const std::string& key, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(path + "." + key + ": missing");
  const auto& v = j.at(key);
  if (!v.is_array()) throw std::invalid_argument(path + "." + key + ": expected a list");
  return v;
}

}  // namespace

nlohmann::json config_to_json(const SubConfig& c) {
  nlohmann::json enc_layers = nlohmann::json::array(), dec_layers = nlohmann::json::array();
  for (const auto& l : c.encoder_layers) {
    enc_layers.push_back({{"ffn_dim", l.ffn_dim}, {"self_heads", l.self_heads}, {"self_qkv_dim", l.self_qkv_dim}});
  }
  for (const auto& l : c.decoder_layers) {
    dec_layers.push_back({{"ffn_dim", l.ffn_dim},
                          {"self_heads", l.self_heads},
                          {"self_qkv_dim", l.self_qkv_dim},
                          {"ende_heads", l.ende_heads},
                          {"ende_qkv_dim", l.ende_qkv_dim},
                          {"ende_attn_layers", l.ende_attn_layers}});
  }
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
  if (j.contains("version") && (!j.at("version").is_number_integer() || j.at("version").get<int>() > 1)) {
    throw std::invalid_argument(source + ": version " + j.at("version").dump() + " is newer than this thanos reads (1)");
  }
  SubConfig c;
  const std::string enc = source + ": encoder", dec = source + ": decoder";
  if (!j.contains("encoder") || !j.contains("decoder")) throw std::invalid_argument(source + ": needs \"encoder\" and \"decoder\"");
  c.encoder_embed_dim = get_int(j.at("encoder"), "embed_dim", enc);
  c.decoder_embed_dim = get_int(j.at("decoder"), "embed_dim", dec);
  const auto& el = get_array(j.at("encoder"), "layers", enc);
  for (std::size_t i = 0; i < el.size(); ++i) {
    const std::string p = enc + ".layers[" + std::to_string(i) + "]";
    c.encoder_layers.push_back({get_int(el[i], "ffn_dim", p), get_int(el[i], "self_heads", p), get_int(el[i], "self_qkv_dim", p)});
  }
  const auto& dl = get_array(j.at("decoder"), "layers", dec);
  for (std::size_t i = 0; i < dl.size(); ++i) {
    const std::string p = dec + ".layers[" + std::to_string(i) + "]";
    c.decoder_layers.push_back({get_int(dl[i], "ffn_dim", p), get_int(dl[i], "self_heads", p),
                                get_int(dl[i], "self_qkv_dim", p), get_int(dl[i], "ende_heads", p),
                                get_int(dl[i], "ende_qkv_dim", p), get_int(dl[i], "ende_attn_layers", p)});
  }
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
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(path + ": invalid JSON: " + e.what());
  }
  return {config_from_json(j, path), {}};
}

}  // namespace thanos
