#include "thanos/model/model_file.h"

#include <climits>

#include <torch/serialize.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <type_traits>

#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

const char* kMagicKey = "thanos.format_version";

c10::IValue ints(const std::vector<int64_t>& v) { return c10::IValue(v); }

std::vector<int64_t> hyper_ints(const ModelHyperParams& h) {
  return {h.share_all_embeddings, h.share_decoder_input_output, h.encoder_normalize_before,
          h.decoder_normalize_before, h.max_source_positions, h.max_target_positions};
}

}  // namespace

// The record: embed dims, layer counts, then every layer's fields in table order.
std::vector<int64_t> config_to_ints(const SubConfig& c) {
  std::vector<int64_t> v{c.encoder_embed_dim, c.decoder_embed_dim, c.encoder_layer_num(), c.decoder_layer_num()};
  auto append = [&v](const auto& layers) {
    for (const auto& l : layers) {
      for (const auto& f : layer_fields<typename std::decay_t<decltype(layers)>::value_type>()) v.push_back(f.of(l));
    }
  };
  append(c.encoder_layers);
  append(c.decoder_layers);
  return v;
}

SubConfig config_from_ints(const std::vector<int64_t>& v, const std::string& where) {
  auto bad = [&]() { return std::invalid_argument(where + ": malformed SubTransformer config record"); };
  if (v.size() < 4) throw bad();
  // Every value is checked before it is narrowed or multiplied: layer counts beyond the cap made
  // the size check below wrap around and the reads run past the record.
  for (const int64_t x : v) {
    if (x < 0 || x > INT32_MAX) throw bad();
  }
  if (v[2] > kMaxLayerCount || v[3] > kMaxLayerCount) throw bad();
  SubConfig c;
  c.encoder_embed_dim = static_cast<int>(v[0]);
  c.decoder_embed_dim = static_cast<int>(v[1]);
  const std::size_t le = static_cast<std::size_t>(v[2]), ld = static_cast<std::size_t>(v[3]);
  const std::size_t ne = layer_fields<EncoderLayerConfig>().size(), nd = layer_fields<DecoderLayerConfig>().size();
  if (v.size() != 4 + ne * le + nd * ld) throw bad();
  std::size_t k = 4;
  auto read = [&](auto& layers, std::size_t n) {
    layers.resize(n);
    for (auto& l : layers) {
      for (const auto& f : layer_fields<typename std::decay_t<decltype(layers)>::value_type>()) {
        f.of(l) = static_cast<int>(v[k++]);
      }
    }
  };
  read(c.encoder_layers, le);
  read(c.decoder_layers, ld);
  return c;
}

void save_model(const std::string& path, SuperTransformerImpl& model, const ModelFileInfo& info,
                const ArchiveWriter& extra) {
  torch::serialize::OutputArchive archive;
  const auto& o = info.options;
  archive.write(kMagicKey, c10::IValue(static_cast<int64_t>(kModelFileFormatVersion)));
  archive.write("thanos.capacity", ints(config_to_ints(o.capacity)));
  archive.write("thanos.vocab", ints({o.src_vocab_size, o.tgt_vocab_size, o.padding_idx}));
  archive.write("thanos.position_dims", ints({o.encoder_position_dim, o.decoder_position_dim}));
  archive.write("thanos.hyper_ints", ints(hyper_ints(o.hyper)));
  archive.write("thanos.hyper_dropout",
                c10::IValue(std::vector<double>{o.hyper.dropout, o.hyper.attention_dropout, o.hyper.activation_dropout}));
  if (info.sub_config) archive.write("thanos.sub_config", ints(config_to_ints(*info.sub_config)));
  for (const auto& [key, value] : info.metadata) archive.write("meta." + key, c10::IValue(value));
  for (const auto& p : model.named_parameters()) archive.write("param." + p.key(), p.value().detach());
  for (const auto& b : model.named_buffers()) archive.write("buffer." + b.key(), b.value(), /*is_buffer=*/true);
  if (extra) extra(archive);

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write model file " + path + ": " + e.what());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
  }
}

LoadedModel load_model(const std::string& path, const ArchiveReader& extra) {
  if (!std::ifstream(path).good()) throw std::invalid_argument(path + ": model file not found or unreadable");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    throw std::invalid_argument(path + ": not a THANOS model file (cannot open archive)");
  }
  c10::IValue v;
  if (!archive.try_read(kMagicKey, v)) throw std::invalid_argument(path + ": not a THANOS model file (no format version)");
  LoadedModel out;
  auto& info = out.info;
  info.format_version = static_cast<int>(v.toInt());
  if (info.format_version > kModelFileFormatVersion) {
    throw std::invalid_argument(path + ": model file format version " + std::to_string(info.format_version) +
                                " is newer than this thanos understands (" + std::to_string(kModelFileFormatVersion) +
                                "); upgrade thanos");
  }
  auto read_ints = [&](const char* key) {
    c10::IValue iv;
    if (!archive.try_read(key, iv)) throw std::invalid_argument(path + ": model file lacks '" + key + "'");
    return iv.toIntVector();
  };
  auto& o = info.options;
  o.capacity = config_from_ints(read_ints("thanos.capacity"), path);
  const auto vocab = read_ints("thanos.vocab");
  const auto pos = read_ints("thanos.position_dims");
  const auto h = read_ints("thanos.hyper_ints");
  if (vocab.size() != 3 || pos.size() != 2 || h.size() != 6) throw std::invalid_argument(path + ": malformed model options");
  o.src_vocab_size = static_cast<int>(vocab[0]);
  o.tgt_vocab_size = static_cast<int>(vocab[1]);
  o.padding_idx = static_cast<int>(vocab[2]);
  o.encoder_position_dim = static_cast<int>(pos[0]);
  o.decoder_position_dim = static_cast<int>(pos[1]);
  o.hyper.share_all_embeddings = h[0];
  o.hyper.share_decoder_input_output = h[1];
  o.hyper.encoder_normalize_before = h[2];
  o.hyper.decoder_normalize_before = h[3];
  o.hyper.max_source_positions = static_cast<int>(h[4]);
  o.hyper.max_target_positions = static_cast<int>(h[5]);
  c10::IValue drop;
  if (!archive.try_read("thanos.hyper_dropout", drop)) throw std::invalid_argument(path + ": model file lacks dropout settings");
  const auto d = drop.toDoubleVector();
  o.hyper.dropout = d.at(0);
  o.hyper.attention_dropout = d.at(1);
  o.hyper.activation_dropout = d.at(2);
  c10::IValue sub;
  if (archive.try_read("thanos.sub_config", sub)) info.sub_config = config_from_ints(sub.toIntVector(), path);
  for (const auto& key : archive.keys()) {
    if (key.rfind("meta.", 0) == 0) {
      c10::IValue s;
      archive.read(key, s);
      info.metadata[key.substr(5)] = s.toStringRef();
    }
  }

  out.model = SuperTransformer(o);
  torch::NoGradGuard no_grad;
  auto load_into = [&](const std::string& prefix, const std::string& name, torch::Tensor& dst, bool is_buffer) {
    torch::Tensor t;
    if (!archive.try_read(prefix + name, t, is_buffer)) {
      throw std::invalid_argument(path + ": model file lacks tensor '" + name + "'");
    }
    if (t.sizes() != dst.sizes()) {
      throw std::invalid_argument(path + ": tensor '" + name + "' has shape " + c10::str(t.sizes()) + ", expected " +
                                  c10::str(dst.sizes()));
    }
    dst.copy_(t);
  };
  for (auto& p : out.model->named_parameters()) load_into("param.", p.key(), p.value(), false);
  for (auto& b : out.model->named_buffers()) load_into("buffer.", b.key(), b.value(), true);
  if (extra) extra(archive);
  return out;
}

}  // namespace thanos
