#include "thanos/search/genome.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "thanos/space/sub_config_fields.h"

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

// Per-layer variation: every gene in table order, which is the order of the random draws.
template <typename Layer>
void draw_layer(Layer& l, const SearchSpace& s, Rng& rng) {
  for (const auto& f : layer_fields<Layer>()) f.of(l) = choose(rng, s.*f.choices);
}

template <typename Layer>
void mutate_layer(Layer& l, const SearchSpace& s, double prob, Rng& rng) {
  for (const auto& f : layer_fields<Layer>()) {
    if (rng.uniform01() < prob) f.of(l) = choose(rng, s.*f.choices);
  }
}

// Heads and QKV width travel together: a layer's attention shape is one gene pair.
template <typename Layer>
void cross_layer(Layer& l, const Layer& x, const Layer& y, Rng& rng) {
  const auto& fields = layer_fields<Layer>();
  for (const auto& f : fields) {
    if (f.role == FieldRole::kQkv) continue;  // taken with its heads
    const bool from_x = rng.uniform_index(2) == 0;
    f.of(l) = from_x ? f.of(x) : f.of(y);
    if (f.role == FieldRole::kHeads) fields[f.partner].of(l) = from_x ? fields[f.partner].of(x) : fields[f.partner].of(y);
  }
}

template <typename Layer>
void repair_layer(Layer& l, const SearchSpace& s, int encoder_layers, Rng& rng) {
  const auto& fields = layer_fields<Layer>();
  for (const auto& f : fields) {
    if (f.role == FieldRole::kHeads) {
      const auto& qkv = fields[f.partner];
      repair_attention(f.of(l), qkv.of(l), s.*f.choices, s.*qkv.choices, rng);
    } else if (f.role == FieldRole::kAttendedLayers && f.of(l) > encoder_layers) {
      std::vector<int> attendable;
      for (int n : s.*f.choices) {
        if (n <= encoder_layers) attendable.push_back(n);
      }
      f.of(l) = choose(rng, attendable);
    }
  }
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
  g.encoder_layer_num = choose(rng, s.encoder_depths_with_members());
  g.decoder_layer_num = choose(rng, s.decoder_layer_num_choices);
  g.encoder_layers.resize(max_of(s.encoder_layer_num_choices));
  g.decoder_layers.resize(max_of(s.decoder_layer_num_choices));
  for (auto& l : g.encoder_layers) draw_layer(l, s, rng);
  for (auto& l : g.decoder_layers) draw_layer(l, s, rng);
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
  maybe(g.encoder_layer_num, s.encoder_depths_with_members());
  maybe(g.decoder_layer_num, s.decoder_layer_num_choices);
  for (auto& l : g.encoder_layers) mutate_layer(l, s, prob, rng);
  for (auto& l : g.decoder_layers) mutate_layer(l, s, prob, rng);
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
    cross_layer(g.encoder_layers[i], a.encoder_layers[i], b.encoder_layers[i], rng);
  }
  for (std::size_t i = 0; i < g.decoder_layers.size(); ++i) {
    cross_layer(g.decoder_layers[i], a.decoder_layers[i], b.decoder_layers[i], rng);
  }
  repair(g, s, rng);
  return g;
}

void repair(Genome& g, const SearchSpace& s, Rng& rng) {
  for (auto& l : g.encoder_layers) repair_layer(l, s, g.encoder_layer_num, rng);
  for (auto& l : g.decoder_layers) repair_layer(l, s, g.encoder_layer_num, rng);
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
