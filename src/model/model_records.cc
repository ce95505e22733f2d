#include "thanos/model/model_records.h"

#include <climits>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "thanos/space/sub_config_fields.h"

namespace thanos {

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

namespace {

template <typename T>
const T& required(const std::optional<T>& record, const char* key, const std::string& path) {
  if (!record) throw std::invalid_argument(path + ": model file lacks '" + key + "'");
  return *record;
}

const std::vector<int64_t>& ints_of_size(const std::optional<std::vector<int64_t>>& record, const char* key,
                                         std::size_t n, const std::string& path) {
  const auto& v = required(record, key, path);
  if (v.size() != n) {
    throw std::invalid_argument(path + ": '" + key + "' holds " + std::to_string(v.size()) + " values, expected " +
                                std::to_string(n));
  }
  return v;
}

// `x` as an int within [lo, hi], checked before narrowing.
int in_range(int64_t x, int64_t lo, int64_t hi, const std::string& what, const std::string& path) {
  if (x < lo || x > hi) {
    throw std::invalid_argument(path + ": " + what + " is " + std::to_string(x) + ", expected " + std::to_string(lo) +
                                " to " + std::to_string(hi));
  }
  return static_cast<int>(x);
}

}  // namespace

ModelFileInfo model_info_from_records(const ModelRecords& r, const std::string& path) {
  ModelFileInfo info;
  if (!r.format_version) throw std::invalid_argument(path + ": not a THANOS model file (no format version)");
  if (*r.format_version > kModelFileFormatVersion) {
    throw std::invalid_argument(path + ": model file format version " + std::to_string(*r.format_version) +
                                " is newer than this thanos understands (" + std::to_string(kModelFileFormatVersion) +
                                "); upgrade thanos");
  }
  info.format_version = in_range(*r.format_version, 1, kModelFileFormatVersion, "the format version", path);
  auto& o = info.options;
  o.capacity = config_from_ints(required(r.capacity, "thanos.capacity", path), path);
  const auto& vocab = ints_of_size(r.vocab, "thanos.vocab", 3, path);
  const auto& pos = ints_of_size(r.position_dims, "thanos.position_dims", 2, path);
  const auto& h = ints_of_size(r.hyper_ints, "thanos.hyper_ints", 6, path);
  o.src_vocab_size = in_range(vocab[0], 1, kMaxModelVocab, "the source vocabulary size", path);
  o.tgt_vocab_size = in_range(vocab[1], 1, kMaxModelVocab, "the target vocabulary size", path);
  o.padding_idx = in_range(vocab[2], 0, kMaxModelVocab - 1, "padding_idx", path);
  o.encoder_position_dim = in_range(pos[0], 0, kMaxWidth, "the encoder position table width", path);
  o.decoder_position_dim = in_range(pos[1], 0, kMaxWidth, "the decoder position table width", path);
  o.hyper.share_all_embeddings = in_range(h[0], 0, 1, "share_all_embeddings", path);
  o.hyper.share_decoder_input_output = in_range(h[1], 0, 1, "share_decoder_input_output", path);
  o.hyper.encoder_normalize_before = in_range(h[2], 0, 1, "encoder_normalize_before", path);
  o.hyper.decoder_normalize_before = in_range(h[3], 0, 1, "decoder_normalize_before", path);
  o.hyper.max_source_positions = in_range(h[4], 1, kMaxModelPositions, "max_source_positions", path);
  o.hyper.max_target_positions = in_range(h[5], 1, kMaxModelPositions, "max_target_positions", path);
  const auto& d = required(r.hyper_dropout, "thanos.hyper_dropout", path);
  if (d.size() != 3) throw std::invalid_argument(path + ": model file lacks dropout settings (3 values)");
  for (const double p : d) {
    if (!(p >= 0 && p < 1)) {
      throw std::invalid_argument(path + ": a dropout probability is " + std::to_string(p) + ", expected 0 <= p < 1");
    }
  }
  o.hyper.dropout = d[0];
  o.hyper.attention_dropout = d[1];
  o.hyper.activation_dropout = d[2];
  if (r.sub_config) info.sub_config = config_from_ints(*r.sub_config, path);
  info.metadata = r.metadata;
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": model options: " + e.what());
  }
  return info;
}

}  // namespace thanos
