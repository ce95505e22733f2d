#include "thanos/space/search_space.h"

#include <algorithm>
#include <stdexcept>

#include "thanos/common/text.h"

namespace thanos {
namespace {

bool has(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }
int min_of(const std::vector<int>& v) { return *std::min_element(v.begin(), v.end()); }
int max_of(const std::vector<int>& v) { return *std::max_element(v.begin(), v.end()); }

void check_choices(const std::string& source, const std::string& key, const std::vector<int>& choices, int lo,
                   int super_size, const std::string& super_key) {
  if (choices.empty()) throw std::invalid_argument(source + ": " + key + ": expected a non-empty list of choices");
  for (int c : choices) {
    if (c < lo) {
      throw std::invalid_argument(source + ": " + key + ": choice " + std::to_string(c) + " must be >= " +
                                  std::to_string(lo));
    }
    if (super_size > 0 && c > super_size) {
      throw std::invalid_argument(source + ": " + key + ": choice " + std::to_string(c) + " exceeds " + super_key +
                                  " = " + std::to_string(super_size) + " (the SuperTransformer cannot hold it)");
    }
  }
}

std::string field_error(const std::string& field, int value, const std::vector<int>& allowed) {
  return field + " = " + std::to_string(value) + " is not in the search space; allowed: " + format_list(allowed);
}

// Number of (heads, qkv) pairs where heads divides qkv.
std::uint64_t attention_pairs(const std::vector<int>& heads, const std::vector<int>& qkv) {
  std::uint64_t n = 0;
  for (int h : heads) n += SearchSpace::qkv_for_heads(qkv, h).size();
  return n;
}

}  // namespace

bool ModelHyperParams::operator==(const ModelHyperParams& o) const {
  return share_all_embeddings == o.share_all_embeddings && share_decoder_input_output == o.share_decoder_input_output &&
         encoder_normalize_before == o.encoder_normalize_before &&
         decoder_normalize_before == o.decoder_normalize_before && dropout == o.dropout &&
         attention_dropout == o.attention_dropout && activation_dropout == o.activation_dropout &&
         max_source_positions == o.max_source_positions && max_target_positions == o.max_target_positions;
}

std::vector<int> SearchSpace::qkv_for_heads(const std::vector<int>& qkv_choices, int heads) {
  std::vector<int> out;
  for (int q : qkv_choices) {
    if (heads > 0 && q % heads == 0) out.push_back(q);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void SearchSpace::validate() const {
  const std::pair<const char*, int> supers[] = {
      {"encoder-embed-dim", encoder_embed_dim}, {"decoder-embed-dim", decoder_embed_dim},
      {"encoder-ffn-embed-dim", encoder_ffn_dim}, {"decoder-ffn-embed-dim", decoder_ffn_dim},
      {"encoder-layers", encoder_layers},       {"decoder-layers", decoder_layers},
      {"encoder-attention-heads", encoder_heads}, {"decoder-attention-heads", decoder_heads},
      {"qkv-dim", qkv_dim}};
  for (const auto& [key, v] : supers) {
    if (v <= 0) throw std::invalid_argument(source + ": " + key + ": expected a positive integer, got " + std::to_string(v));
  }
  check_choices(source, "encoder-embed-choice", encoder_embed_choices, 1, encoder_embed_dim, "encoder-embed-dim");
  check_choices(source, "decoder-embed-choice", decoder_embed_choices, 1, decoder_embed_dim, "decoder-embed-dim");
  check_choices(source, "encoder-ffn-embed-dim-choice", encoder_ffn_choices, 1, encoder_ffn_dim, "encoder-ffn-embed-dim");
  check_choices(source, "decoder-ffn-embed-dim-choice", decoder_ffn_choices, 1, decoder_ffn_dim, "decoder-ffn-embed-dim");
  check_choices(source, "encoder-layer-num-choice", encoder_layer_num_choices, 1, encoder_layers, "encoder-layers");
  check_choices(source, "decoder-layer-num-choice", decoder_layer_num_choices, 1, decoder_layers, "decoder-layers");
  check_choices(source, "encoder-self-attention-heads-choice", encoder_self_heads_choices, 1, 0, "");
  check_choices(source, "decoder-self-attention-heads-choice", decoder_self_heads_choices, 1, 0, "");
  check_choices(source, "decoder-ende-attention-heads-choice", decoder_ende_heads_choices, 1, 0, "");
  check_choices(source, "decoder-arbitrary-ende-attn-choice", decoder_ende_layers_choices, 1, encoder_layers,
                "encoder-layers");
  check_choices(source, "encoder-self-attention-qkv-dim-choice", encoder_self_qkv_choices, 1, qkv_dim, "qkv-dim");
  check_choices(source, "decoder-self-attention-qkv-dim-choice", decoder_self_qkv_choices, 1, qkv_dim, "qkv-dim");
  check_choices(source, "decoder-ende-attention-qkv-dim-choice", decoder_ende_qkv_choices, 1, qkv_dim, "qkv-dim");
  if (hyper.share_all_embeddings && encoder_embed_dim != decoder_embed_dim) {
    throw std::invalid_argument(source + ": share-all-embeddings requires encoder-embed-dim (" +
                                std::to_string(encoder_embed_dim) + ") == decoder-embed-dim (" +
                                std::to_string(decoder_embed_dim) + ")");
  }
  auto require_pairs = [&](const char* what, const std::vector<int>& heads, const std::vector<int>& qkv) {
    if (attention_pairs(heads, qkv) == 0) {
      throw std::invalid_argument(source + ": no " + what + " qkv choice " + format_list(qkv) +
                                  " is divisible by any head choice " + format_list(heads));
    }
  };
  require_pairs("encoder self-attention", encoder_self_heads_choices, encoder_self_qkv_choices);
  require_pairs("decoder self-attention", decoder_self_heads_choices, decoder_self_qkv_choices);
  require_pairs("decoder encoder-decoder attention", decoder_ende_heads_choices, decoder_ende_qkv_choices);
  if (size().is_zero()) throw std::invalid_argument(source + ": the search space contains no valid SubTransformer");
}

void SearchSpace::check_config(const SubConfig& c) const {
  c.check_consistent();
  auto in = [](const std::string& field, int v, const std::vector<int>& allowed) {
    if (!has(allowed, v)) throw std::invalid_argument(field_error(field, v, allowed));
  };
  in("encoder-embed-dim", c.encoder_embed_dim, encoder_embed_choices);
  in("decoder-embed-dim", c.decoder_embed_dim, decoder_embed_choices);
  in("encoder-layer-num", c.encoder_layer_num(), encoder_layer_num_choices);
  in("decoder-layer-num", c.decoder_layer_num(), decoder_layer_num_choices);
  for (int i = 0; i < c.encoder_layer_num(); ++i) {
    const auto& l = c.encoder_layers[i];
    const std::string at = "[" + std::to_string(i) + "]";
    in("encoder-ffn-embed-dim" + at, l.ffn_dim, encoder_ffn_choices);
    in("encoder-self-attention-heads" + at, l.self_heads, encoder_self_heads_choices);
    in("encoder-self-attention-qkv-dim" + at, l.self_qkv_dim, encoder_self_qkv_choices);
  }
  for (int i = 0; i < c.decoder_layer_num(); ++i) {
    const auto& l = c.decoder_layers[i];
    const std::string at = "[" + std::to_string(i) + "]";
    in("decoder-ffn-embed-dim" + at, l.ffn_dim, decoder_ffn_choices);
    in("decoder-self-attention-heads" + at, l.self_heads, decoder_self_heads_choices);
    in("decoder-ende-attention-heads" + at, l.ende_heads, decoder_ende_heads_choices);
    in("decoder-self-attention-qkv-dim" + at, l.self_qkv_dim, decoder_self_qkv_choices);
    in("decoder-ende-attention-qkv-dim" + at, l.ende_qkv_dim, decoder_ende_qkv_choices);
    if (!has(decoder_ende_layers_choices, l.ende_attn_layers)) {
      std::vector<int> codes;
      for (int n : decoder_ende_layers_choices) codes.push_back(layers_to_hat_ende_code(n));
      throw std::invalid_argument(field_error("decoder-arbitrary-ende-attn" + at,
                                              layers_to_hat_ende_code(l.ende_attn_layers), codes));
    }
  }
}

bool SearchSpace::contains(const SubConfig& config) const {
  try {
    check_config(config);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

BigUInt SearchSpace::size() const {
  // Per-layer choice counts; the decoder's depends on the encoder depth through the attended
  // layers, so sum over encoder depths first.
  const BigUInt enc_layer(encoder_ffn_choices.size() * attention_pairs(encoder_self_heads_choices, encoder_self_qkv_choices));
  BigUInt total(0);
  for (int le : encoder_layer_num_choices) {
    std::uint64_t ende_layers = 0;
    for (int n : decoder_ende_layers_choices) ende_layers += (n <= le) ? 1 : 0;
    const BigUInt dec_layer(decoder_ffn_choices.size() *
                            attention_pairs(decoder_self_heads_choices, decoder_self_qkv_choices) *
                            attention_pairs(decoder_ende_heads_choices, decoder_ende_qkv_choices) * ende_layers);
    BigUInt dec_sum(0);
    for (int ld : decoder_layer_num_choices) dec_sum += BigUInt::pow(dec_layer, static_cast<unsigned>(ld));
    total += BigUInt::pow(enc_layer, static_cast<unsigned>(le)) * dec_sum;
  }
  return total * BigUInt(encoder_embed_choices.size()) * BigUInt(decoder_embed_choices.size());
}

namespace {

// Pick (heads, qkv) at one extreme among the valid pairs: smallest qkv, then fewest heads (or
// the reverse for the largest).
std::pair<int, int> extreme_pair(const std::vector<int>& heads, const std::vector<int>& qkv, bool largest) {
  std::pair<int, int> best{0, 0};
  bool found = false;
  for (int h : heads) {
    for (int q : SearchSpace::qkv_for_heads(qkv, h)) {
      std::pair<int, int> cand{q, h};
      if (!found || (largest ? cand > best : cand < best)) best = cand, found = true;
    }
  }
  return {best.second, best.first};
}

SubConfig extreme(const SearchSpace& s, bool largest) {
  auto pick = [largest](const std::vector<int>& v) { return largest ? max_of(v) : min_of(v); };
  SubConfig c;
  c.encoder_embed_dim = pick(s.encoder_embed_choices);
  c.decoder_embed_dim = pick(s.decoder_embed_choices);
  const int le = pick(s.encoder_layer_num_choices);
  const int ld = pick(s.decoder_layer_num_choices);
  auto [eh, eq] = extreme_pair(s.encoder_self_heads_choices, s.encoder_self_qkv_choices, largest);
  auto [dh, dq] = extreme_pair(s.decoder_self_heads_choices, s.decoder_self_qkv_choices, largest);
  auto [xh, xq] = extreme_pair(s.decoder_ende_heads_choices, s.decoder_ende_qkv_choices, largest);
  std::vector<int> ende;
  for (int n : s.decoder_ende_layers_choices) if (n <= le) ende.push_back(n);
  c.encoder_layers.assign(le, EncoderLayerConfig{pick(s.encoder_ffn_choices), eh, eq});
  c.decoder_layers.assign(ld, DecoderLayerConfig{pick(s.decoder_ffn_choices), dh, dq, xh, xq, pick(ende)});
  return c;
}

}  // namespace

int SearchSpace::hat_profile_length() const {
  return hat_arch.find("iwslt") != std::string::npos ? 23 : 30;
}

SubConfig SearchSpace::smallest() const { return extreme(*this, false); }
SubConfig SearchSpace::largest() const { return extreme(*this, true); }

SubConfig SearchSpace::super_shape() const {
  SubConfig c;
  c.encoder_embed_dim = encoder_embed_dim;
  c.decoder_embed_dim = decoder_embed_dim;
  // Heads do not shape weights; use 1 so any qkv divides.
  c.encoder_layers.assign(encoder_layers, EncoderLayerConfig{encoder_ffn_dim, 1, qkv_dim});
  c.decoder_layers.assign(decoder_layers, DecoderLayerConfig{decoder_ffn_dim, 1, qkv_dim, 1, qkv_dim, 1});
  return c;
}

SearchSpace hat_wmt14ende_space0() {
  SearchSpace s;
  s.source = "HAT wmt14.en-de space0";
  s.encoder_embed_dim = s.decoder_embed_dim = 640;
  s.encoder_ffn_dim = s.decoder_ffn_dim = 3072;
  s.encoder_layers = s.decoder_layers = 6;
  s.encoder_heads = s.decoder_heads = 8;
  s.qkv_dim = 512;
  s.encoder_embed_choices = s.decoder_embed_choices = {640, 512};
  s.encoder_ffn_choices = s.decoder_ffn_choices = {3072, 2048, 1024};
  s.encoder_layer_num_choices = {6};
  s.decoder_layer_num_choices = {6, 5, 4, 3, 2, 1};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {8, 4};
  s.decoder_ende_layers_choices = {1, 2, 3};
  s.encoder_self_qkv_choices = s.decoder_self_qkv_choices = s.decoder_ende_qkv_choices = {512};
  s.hyper.dropout = 0.3;
  s.hyper.attention_dropout = 0.1;
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = true;
  s.hat_arch = "transformersuper_wmt_en_de";
  return s;
}

SearchSpace hat_iwslt14deen_space1() {
  SearchSpace s = hat_wmt14ende_space0();
  s.source = "HAT iwslt14.de-en space1";
  s.hat_arch = "transformersuper_iwslt_de_en";
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = false;
  s.hyper.dropout = 0.375;
  s.hyper.attention_dropout = 0.0;
  s.encoder_ffn_dim = s.decoder_ffn_dim = 2048;
  s.encoder_heads = s.decoder_heads = 4;
  s.encoder_ffn_choices = s.decoder_ffn_choices = {2048, 1024, 512};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {4, 2};
  return s;
}

}  // namespace thanos
