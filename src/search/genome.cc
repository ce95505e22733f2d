#include "thanos/search/genome.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace thanos {
namespace {

int choose(Rng& rng, const std::vector<int>& choices) {
  if (choices.empty()) throw std::invalid_argument("search: empty choice list");
  return choices[rng.uniform_index(choices.size())];
}

int max_of(const std::vector<int>& v) { return *std::max_element(v.begin(), v.end()); }

// Keeps `qkv` when `heads` divides it, else draws one of the widths `heads` divides; a head count
// that divides none is replaced first (validate() guarantees some head count works).
void repair_attention(int& heads, int& qkv, const std::vector<int>& heads_choices, const std::vector<int>& qkv_choices,
                      Rng& rng) {
  if (SearchSpace::qkv_for_heads(qkv_choices, heads).empty()) {
    std::vector<int> usable;
    for (int h : heads_choices) {
      if (!SearchSpace::qkv_for_heads(qkv_choices, h).empty()) usable.push_back(h);
    }
    heads = choose(rng, usable);
  }
  if (qkv % heads != 0) qkv = choose(rng, SearchSpace::qkv_for_heads(qkv_choices, heads));
}

template <typename T>
T pick(const T& a, const T& b, Rng& rng) {
  return rng.uniform_index(2) == 0 ? a : b;
}

}  // namespace

SubConfig Genome::config() const {
  SubConfig c;
  c.encoder_embed_dim = encoder_embed_dim;
  c.decoder_embed_dim = decoder_embed_dim;
  c.encoder_layers.assign(encoder_layers.begin(), encoder_layers.begin() + encoder_layer_num);
  c.decoder_layers.assign(decoder_layers.begin(), decoder_layers.begin() + decoder_layer_num);
  return c;
}

Genome random_genome(const SearchSpace& s, Rng& rng) {
  Genome g;
  g.encoder_embed_dim = choose(rng, s.encoder_embed_choices);
  g.decoder_embed_dim = choose(rng, s.decoder_embed_choices);
  g.encoder_layer_num = choose(rng, s.encoder_layer_num_choices);
  g.decoder_layer_num = choose(rng, s.decoder_layer_num_choices);
  g.encoder_layers.resize(max_of(s.encoder_layer_num_choices));
  g.decoder_layers.resize(max_of(s.decoder_layer_num_choices));
  for (auto& l : g.encoder_layers) {
    l.ffn_dim = choose(rng, s.encoder_ffn_choices);
    l.self_heads = choose(rng, s.encoder_self_heads_choices);
    l.self_qkv_dim = choose(rng, s.encoder_self_qkv_choices);
  }
  for (auto& l : g.decoder_layers) {
    l.ffn_dim = choose(rng, s.decoder_ffn_choices);
    l.self_heads = choose(rng, s.decoder_self_heads_choices);
    l.self_qkv_dim = choose(rng, s.decoder_self_qkv_choices);
    l.ende_heads = choose(rng, s.decoder_ende_heads_choices);
    l.ende_qkv_dim = choose(rng, s.decoder_ende_qkv_choices);
    l.ende_attn_layers = choose(rng, s.decoder_ende_layers_choices);
  }
  repair(g, s, rng);
  return g;
}

Genome genome_of(const SubConfig& c, const SearchSpace& s, Rng& rng) {
  s.check_config(c);
  Genome g = random_genome(s, rng);
  g.encoder_embed_dim = c.encoder_embed_dim;
  g.decoder_embed_dim = c.decoder_embed_dim;
  g.encoder_layer_num = c.encoder_layer_num();
  g.decoder_layer_num = c.decoder_layer_num();
  std::copy(c.encoder_layers.begin(), c.encoder_layers.end(), g.encoder_layers.begin());
  std::copy(c.decoder_layers.begin(), c.decoder_layers.end(), g.decoder_layers.begin());
  repair(g, s, rng);  // the inactive layers' attended depth, if the encoder is shallow
  return g;
}

Genome mutate(const Genome& parent, const SearchSpace& s, double prob, Rng& rng) {
  Genome g = parent;
  auto maybe = [&](int& gene, const std::vector<int>& choices) {
    if (rng.uniform01() < prob) gene = choose(rng, choices);
  };
  maybe(g.encoder_embed_dim, s.encoder_embed_choices);
  maybe(g.decoder_embed_dim, s.decoder_embed_choices);
  maybe(g.encoder_layer_num, s.encoder_layer_num_choices);
  maybe(g.decoder_layer_num, s.decoder_layer_num_choices);
  for (auto& l : g.encoder_layers) {
    maybe(l.ffn_dim, s.encoder_ffn_choices);
    maybe(l.self_heads, s.encoder_self_heads_choices);
    maybe(l.self_qkv_dim, s.encoder_self_qkv_choices);
  }
  for (auto& l : g.decoder_layers) {
    maybe(l.ffn_dim, s.decoder_ffn_choices);
    maybe(l.self_heads, s.decoder_self_heads_choices);
    maybe(l.self_qkv_dim, s.decoder_self_qkv_choices);
    maybe(l.ende_heads, s.decoder_ende_heads_choices);
    maybe(l.ende_qkv_dim, s.decoder_ende_qkv_choices);
    maybe(l.ende_attn_layers, s.decoder_ende_layers_choices);
  }
  repair(g, s, rng);
  return g;
}

Genome crossover(const Genome& a, const Genome& b, const SearchSpace& s, Rng& rng) {
  Genome g = a;
  g.encoder_embed_dim = pick(a.encoder_embed_dim, b.encoder_embed_dim, rng);
  g.decoder_embed_dim = pick(a.decoder_embed_dim, b.decoder_embed_dim, rng);
  g.encoder_layer_num = pick(a.encoder_layer_num, b.encoder_layer_num, rng);
  g.decoder_layer_num = pick(a.decoder_layer_num, b.decoder_layer_num, rng);
  for (std::size_t i = 0; i < g.encoder_layers.size(); ++i) {
    auto& l = g.encoder_layers[i];
    const auto &x = a.encoder_layers[i], &y = b.encoder_layers[i];
    l.ffn_dim = pick(x.ffn_dim, y.ffn_dim, rng);
    // Heads and QKV width travel together: a layer's attention shape is one gene pair.
    const bool from_a = rng.uniform_index(2) == 0;
    l.self_heads = from_a ? x.self_heads : y.self_heads;
    l.self_qkv_dim = from_a ? x.self_qkv_dim : y.self_qkv_dim;
  }
  for (std::size_t i = 0; i < g.decoder_layers.size(); ++i) {
    auto& l = g.decoder_layers[i];
    const auto &x = a.decoder_layers[i], &y = b.decoder_layers[i];
    l.ffn_dim = pick(x.ffn_dim, y.ffn_dim, rng);
    const bool self_from_a = rng.uniform_index(2) == 0;
    l.self_heads = self_from_a ? x.self_heads : y.self_heads;
    l.self_qkv_dim = self_from_a ? x.self_qkv_dim : y.self_qkv_dim;
    const bool ende_from_a = rng.uniform_index(2) == 0;
    l.ende_heads = ende_from_a ? x.ende_heads : y.ende_heads;
    l.ende_qkv_dim = ende_from_a ? x.ende_qkv_dim : y.ende_qkv_dim;
    l.ende_attn_layers = pick(x.ende_attn_layers, y.ende_attn_layers, rng);
  }
  repair(g, s, rng);
  return g;
}

void repair(Genome& g, const SearchSpace& s, Rng& rng) {
  for (auto& l : g.encoder_layers) {
    repair_attention(l.self_heads, l.self_qkv_dim, s.encoder_self_heads_choices, s.encoder_self_qkv_choices, rng);
  }
  std::vector<int> ende;
  for (int n : s.decoder_ende_layers_choices) {
    if (n <= g.encoder_layer_num) ende.push_back(n);
  }
  for (auto& l : g.decoder_layers) {
    repair_attention(l.self_heads, l.self_qkv_dim, s.decoder_self_heads_choices, s.decoder_self_qkv_choices, rng);
    repair_attention(l.ende_heads, l.ende_qkv_dim, s.decoder_ende_heads_choices, s.decoder_ende_qkv_choices, rng);
    if (l.ende_attn_layers > g.encoder_layer_num) l.ende_attn_layers = choose(rng, ende);
  }
}

std::vector<SubConfig> unscored_members(const std::vector<Genome>& population,
                                        const std::function<bool(const std::string&)>& scored,
                                        std::vector<std::string>& pending) {
  pending.clear();
  std::vector<SubConfig> out;
  std::set<std::string> seen;
  for (const auto& g : population) {
    SubConfig c = g.config();
    const std::string h = c.hash_hex();
    if (scored(h) || !seen.insert(h).second) continue;
    pending.push_back(h);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace thanos
