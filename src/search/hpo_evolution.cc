#include "thanos/search/hpo_evolution.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "thanos/space/sub_config_fields.h"

namespace thanos {

const char* const kHpoEncoderSelfQkv = "encoder_self_qkv";
const char* const kHpoDecoderSelfQkv = "decoder_self_qkv";
const char* const kHpoDecoderEndeQkv = "decoder_ende_qkv";
const char* const kHpoDecoderLayersCap = "decoder_layer_num_max";
const char* const kHpoEncoderEmbedCap = "encoder_embed_max";
const char* const kHpoDecoderEmbedCap = "decoder_embed_max";

EvolutionOptions HpoEvolutionOptions::small_inner() {
  EvolutionOptions o;
  o.population = 20;
  o.parents = 5;
  o.mutations = 8;
  o.crossovers = 7;
  o.iterations = 6;
  return o;
}

void HpoEvolutionOptions::validate() const {
  if (trials < 1) throw std::invalid_argument("hpo-evo: trials: expected >= 1, got " + std::to_string(trials));
  if (max_unproductive < 1) {
    throw std::invalid_argument("hpo-evo: max_unproductive: expected >= 1, got " + std::to_string(max_unproductive));
  }
  if (warm_start < 0)
    throw std::invalid_argument("hpo-evo: warm_start: expected >= 0, got " + std::to_string(warm_start));
  tpe.validate();
  inner.validate();
}

namespace {

std::vector<int> ascending(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Widths at least one head choice divides: the others leave a stack with no valid attention.
std::vector<int> usable_qkv(const std::vector<int>& qkv, const std::vector<int>& heads) {
  std::vector<int> out;
  for (int q : ascending(qkv)) {
    if (std::any_of(heads.begin(), heads.end(), [q](int h) { return q % h == 0; })) out.push_back(q);
  }
  return out;
}

std::vector<int> at_most(const std::vector<int>& choices, int cap) {
  std::vector<int> out;
  for (int c : choices) {
    if (c <= cap) out.push_back(c);
  }
  return out;
}

std::vector<int> dividing(const std::vector<int>& heads, int qkv) {
  std::vector<int> out;
  for (int h : heads) {
    if (qkv % h == 0) out.push_back(h);
  }
  return out;
}

// The choice closest to `v`; the smaller one on a tie, so projection never grows a config.
int nearest(int v, const std::vector<int>& choices) {
  int best = choices.front();
  for (int c : choices) {
    const int d = std::abs(c - v), bd = std::abs(best - v);
    if (d < bd || (d == bd && c < best)) best = c;
  }
  return best;
}

int nearest_heads(int heads, const std::vector<int>& choices, int qkv) {
  const std::vector<int> ok = dividing(choices, qkv);
  return ok.empty() ? nearest(heads, choices) : nearest(heads, ok);
}

// The options are checked before the sampler (a member) is built from them.
std::vector<CategoricalParam> validated_parameters(const SearchSpace& space, const HpoEvolutionOptions& options) {
  options.validate();
  return hpo_parameters(space, options);
}

int setting_int(StrategySettings& left, const std::string& key, int fallback) {
  const double v = take_setting(left, key, fallback);
  if (v != std::floor(v))
    throw std::invalid_argument("hpo-evo: setting \"" + key + "\": expected an integer, got " + std::to_string(v));
  return static_cast<int>(v);
}

bool setting_switch(StrategySettings& left, const std::string& key, bool fallback) {
  const double v = take_setting(left, key, fallback ? 1 : 0);
  if (v != 0 && v != 1)
    throw std::invalid_argument("hpo-evo: setting \"" + key + "\": expected 0 or 1, got " + std::to_string(v));
  return v == 1;
}

}  // namespace

std::vector<CategoricalParam> hpo_parameters(const SearchSpace& space, const HpoEvolutionOptions& options) {
  std::vector<CategoricalParam> params = {
      {kHpoEncoderSelfQkv, usable_qkv(space.encoder_self_qkv_choices, space.encoder_self_heads_choices)},
      {kHpoDecoderSelfQkv, usable_qkv(space.decoder_self_qkv_choices, space.decoder_self_heads_choices)},
      {kHpoDecoderEndeQkv, usable_qkv(space.decoder_ende_qkv_choices, space.decoder_ende_heads_choices)},
  };
  if (options.cap_decoder_layers) params.push_back({kHpoDecoderLayersCap, ascending(space.decoder_layer_num_choices)});
  if (options.cap_encoder_embed) params.push_back({kHpoEncoderEmbedCap, ascending(space.encoder_embed_choices)});
  if (options.cap_decoder_embed) params.push_back({kHpoDecoderEmbedCap, ascending(space.decoder_embed_choices)});
  std::vector<CategoricalParam> out;
  for (auto& p : params) {
    if (p.choices.size() > 1) out.push_back(std::move(p));
  }
  return out;
}

SearchSpace narrow_space(const SearchSpace& space, const std::map<std::string, int>& params) {
  SearchSpace s = space;
  auto value = [&](const char* key) -> std::optional<int> {
    auto it = params.find(key);
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
  auto fix_qkv = [&](const char* key, std::vector<int>& qkv, std::vector<int>& heads) {
    if (auto v = value(key)) {
      qkv = {*v};
      heads = dividing(heads, *v);
    }
  };
  fix_qkv(kHpoEncoderSelfQkv, s.encoder_self_qkv_choices, s.encoder_self_heads_choices);
  fix_qkv(kHpoDecoderSelfQkv, s.decoder_self_qkv_choices, s.decoder_self_heads_choices);
  fix_qkv(kHpoDecoderEndeQkv, s.decoder_ende_qkv_choices, s.decoder_ende_heads_choices);
  if (auto v = value(kHpoDecoderLayersCap)) s.decoder_layer_num_choices = at_most(s.decoder_layer_num_choices, *v);
  if (auto v = value(kHpoEncoderEmbedCap)) s.encoder_embed_choices = at_most(s.encoder_embed_choices, *v);
  if (auto v = value(kHpoDecoderEmbedCap)) s.decoder_embed_choices = at_most(s.decoder_embed_choices, *v);
  s.validate();  // names the emptied key when a value is not one of the space's choices
  return s;
}

namespace {

// Every field to its nearest choice; a head count to the nearest that divides the projected QKV
// width, an attended depth to the nearest the projected encoder has.
template <typename Layer>
Layer project_layer(const Layer& l, const SearchSpace& s, int encoder_layers) {
  Layer q;
  const auto& fields = layer_fields<Layer>();
  for (const auto& f : fields) {
    const auto& choices = s.*f.choices;
    if (f.role == FieldRole::kWidth || f.role == FieldRole::kQkv) f.of(q) = nearest(f.of(l), choices);
    if (f.role == FieldRole::kAttendedLayers) {
      std::vector<int> attendable;
      for (int a : choices) {
        if (a <= encoder_layers) attendable.push_back(a);
      }
      if (attendable.empty()) attendable = choices;
      f.of(q) = nearest(f.of(l), attendable);
    }
  }
  for (const auto& f : fields) {
    if (f.role == FieldRole::kHeads) f.of(q) = nearest_heads(f.of(l), s.*f.choices, fields[f.partner].of(q));
  }
  return q;
}

}  // namespace

SubConfig project_config(const SubConfig& config, const SearchSpace& s) {
  SubConfig p;
  p.encoder_embed_dim = nearest(config.encoder_embed_dim, s.encoder_embed_choices);
  p.decoder_embed_dim = nearest(config.decoder_embed_dim, s.decoder_embed_choices);
  const int encoder_layers = nearest(config.encoder_layer_num(), s.encoder_layer_num_choices);
  const int decoder_layers = nearest(config.decoder_layer_num(), s.decoder_layer_num_choices);
  for (int i = 0; i < encoder_layers; ++i) {
    p.encoder_layers.push_back(project_layer(config.encoder_layers[std::min(i, config.encoder_layer_num() - 1)], s, encoder_layers));
  }
  for (int i = 0; i < decoder_layers; ++i) {
    p.decoder_layers.push_back(project_layer(config.decoder_layers[std::min(i, config.decoder_layer_num() - 1)], s, encoder_layers));
  }
  return p;
}

HpoEvolution::HpoEvolution(SearchSpace space, HpoEvolutionOptions options, EvolutionSearch::Checker checker,
                           std::uint64_t seed)
    : space_(std::move(space)),
      options_(options),
      checker_(std::move(checker)),
      sampler_(validated_parameters(space_, options_), options_.tpe, seed),
      // Inner searches draw their seeds from a stream of their own, so the TPE's proposals do not
      // shift when an inner search's size changes.
      inner_seeds_(seed ^ 0x9E3779B97F4A7C15ULL) {}

bool HpoEvolution::done() const {
  return !inner_ && (productive_ >= options_.trials || unproductive_ >= options_.max_unproductive);
}

void HpoEvolution::start_trial() {
  const std::map<std::string, int> params = sampler_.sample(study_);
  const int number = study_.start(params);
  SearchSpace narrowed;
  try {
    narrowed = narrow_space(space_, params);
  } catch (const std::invalid_argument& e) {
    study_.fail(number, e.what(), 0);
    ++unproductive_;
    return;
  }
  // Costs grow with every dimension, so when the narrowed space's smallest member misses the
  // budgets, all of it does: prune before spending a fitness evaluation.
  const ConstraintCheck cheapest = checker_(narrowed.smallest());
  if (!cheapest.feasible) {
    std::ostringstream note;
    note.precision(4);
    note << "its smallest member misses the budgets: latency " << cheapest.latency_excess_ms << " ms, memory "
         << cheapest.memory_excess_mib << " MiB over (<= 0 fits)";
    study_.prune(number, note.str(), cheapest.latency_excess_ms, cheapest.memory_excess_mib);
    ++unproductive_;
    return;
  }
  study_.set_attr(number, "space_size", narrowed.size().to_string());
  trial_ = number;
  trial_evaluations_ = 0;
  std::vector<SubConfig> warm;
  for (const auto& e : results()) {
    if (static_cast<int>(warm.size()) == options_.warm_start) break;
    warm.push_back(project_config(e.config, narrowed));  // EvolutionSearch skips infeasible ones
  }
  inner_.emplace(std::move(narrowed), options_.inner, checker_, inner_seeds_.engine()(), warm);
}

void HpoEvolution::finish_trial() {
  const std::vector<ScoredConfig> ranked = inner_->ranked();
  study_.set_attr(trial_, "best_config", ranked.front().config.hash_hex());
  study_.complete(trial_, ranked.front().fitness, trial_evaluations_);
  ++productive_;
  inner_.reset();
  trial_ = -1;
}

std::vector<double> HpoEvolution::cached_fitness(const std::vector<SubConfig>& configs) const {
  std::vector<double> f;
  for (const auto& c : configs) f.push_back(scored_[index_.at(c.hash_hex())].fitness);
  return f;
}

std::vector<SubConfig> HpoEvolution::ask() {
  pending_.clear();
  while (!done()) {
    if (!inner_) {
      start_trial();
      continue;
    }
    inner_asked_ = inner_->ask();
    for (const auto& c : inner_asked_) {
      if (!index_.count(c.hash_hex())) pending_.push_back(c);
    }
    if (!pending_.empty()) return pending_;
    // Everything the inner search asks was scored in an earlier trial: answer from the cache.
    inner_->tell(cached_fitness(inner_asked_));
    if (inner_->done()) finish_trial();
  }
  return {};
}

void HpoEvolution::tell(const std::vector<double>& fitness) {
  if (fitness.size() != pending_.size()) {
    throw std::invalid_argument("hpo-evo: tell() got " + std::to_string(fitness.size()) + " values for " +
                                std::to_string(pending_.size()) + " asked configs");
  }
  if (pending_.empty()) return;
  for (std::size_t i = 0; i < fitness.size(); ++i) {
    index_[pending_[i].hash_hex()] = scored_.size();
    scored_.push_back({pending_[i], fitness[i], checker_(pending_[i])});
  }
  trial_evaluations_ += static_cast<int>(fitness.size());
  pending_.clear();
  inner_->tell(cached_fitness(inner_asked_));
  if (inner_->done()) finish_trial();
}

std::vector<Evaluation> HpoEvolution::results() const {
  std::vector<Evaluation> r = scored_;
  std::stable_sort(r.begin(), r.end(), [](const Evaluation& a, const Evaluation& b) { return a.fitness < b.fitness; });
  return r;
}

std::unique_ptr<Strategy> make_hpo_evolution(const StrategyContext& context) {
  StrategySettings left = context.settings;
  HpoEvolutionOptions o;
  o.trials = setting_int(left, "trials", o.trials);
  o.max_unproductive = setting_int(left, "max_unproductive", o.max_unproductive);
  o.tpe.n_startup_trials = setting_int(left, "startup_trials", o.tpe.n_startup_trials);
  o.tpe.n_ei_candidates = setting_int(left, "ei_candidates", o.tpe.n_ei_candidates);
  o.warm_start = setting_int(left, "warm_start", o.warm_start);
  o.inner.population = setting_int(left, "inner_population", o.inner.population);
  o.inner.parents = setting_int(left, "inner_parents", o.inner.parents);
  o.inner.mutations = setting_int(left, "inner_mutations", o.inner.mutations);
  o.inner.crossovers = setting_int(left, "inner_crossovers", o.inner.crossovers);
  o.inner.iterations = setting_int(left, "inner_iterations", o.inner.iterations);
  o.inner.mutation_prob = take_setting(left, "mutation_prob", o.inner.mutation_prob);
  o.inner.max_tries = setting_int(left, "max_tries", o.inner.max_tries);
  o.cap_decoder_layers = setting_switch(left, "cap_decoder_layers", o.cap_decoder_layers);
  o.cap_encoder_embed = setting_switch(left, "cap_encoder_embed", o.cap_encoder_embed);
  o.cap_decoder_embed = setting_switch(left, "cap_decoder_embed", o.cap_decoder_embed);
  check_settings_used(left, "hpo-evo");
  return std::make_unique<HpoEvolution>(context.space, o, context.checker, context.seed);
}

}  // namespace thanos
