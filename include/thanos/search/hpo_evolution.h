#pragma once
// THANOS' two-level search "hpo-evo" (docs/SEARCH_HPO.md). The outer level is a Study whose
// TpeSampler proposes, per trial, the QKV width of each attention stack (every encoder
// self-attention, every decoder self-attention, every encoder-decoder attention: one width per
// stack, applied to all its layers) and the structural caps marked as HPO-controlled (maximum
// decoder depth, encoder and decoder embed dims: choices above the cap are removed). The trial's
// space is the search space narrowed that way. When even its smallest member misses the budgets,
// the trial is pruned before any fitness evaluation; otherwise an inner EvolutionSearch (HAT's
// evolution, small sizes) searches it and the trial's value is the inner best fitness.
//
// Why: QKV widths and the caps mostly decide memory and latency, so a model of the response
// surface over them (TPE) plus evolution over the rest should reach good feasible models with
// fewer evaluations than one flat evolution. Fitness is cached across trials by config hash, so a
// config shared by two trials' spaces is scored once. Torch-free.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "thanos/search/evolution.h"
#include "thanos/search/strategy.h"
#include "thanos/search/study.h"
#include "thanos/search/tpe_sampler.h"

namespace thanos {

struct HpoEvolutionOptions {
  // Trials that run an inner search. Pruned and failed trials cost no fitness evaluation and do
  // not count here; at most `max_unproductive` of them are allowed before the search stops.
  int trials = 20;
  int max_unproductive = 200;
  TpeOptions tpe;  // n_startup_trials 10, n_ei_candidates 24, prior_weight 1 (Optuna's)
  // The inner evolution per trial: at most 20 + 5 x 15 = 95 evaluations.
  EvolutionOptions inner = small_inner();
  // Warm start: the best configs scored so far, projected into a trial's space (project_config),
  // join its inner search's first generation, so a trial refines what earlier trials learnt about
  // the genes it does not fix instead of starting from scratch. 0 = every trial starts at random.
  int warm_start = 5;
  // Which caps the outer level controls (the QKV widths always are).
  bool cap_decoder_layers = true;
  bool cap_encoder_embed = true;
  bool cap_decoder_embed = true;

  static EvolutionOptions small_inner();
  // Throws std::invalid_argument naming the field when a value is out of range.
  void validate() const;
};

// Outer parameter names (the keys of Trial::params).
extern const char* const kHpoEncoderSelfQkv;    // "encoder_self_qkv"
extern const char* const kHpoDecoderSelfQkv;    // "decoder_self_qkv"
extern const char* const kHpoDecoderEndeQkv;    // "decoder_ende_qkv"
extern const char* const kHpoDecoderLayersCap;  // "decoder_layer_num_max"
extern const char* const kHpoEncoderEmbedCap;   // "encoder_embed_max"
extern const char* const kHpoDecoderEmbedCap;   // "decoder_embed_max"

// The outer parameters for `space`: each QKV list (only widths some head choice divides) and
// each controlled cap, choices ascending. A dimension with a single choice has nothing to decide
// and is left out.
std::vector<CategoricalParam> hpo_parameters(const SearchSpace& space, const HpoEvolutionOptions& options);

// `space` narrowed by a trial's parameters: a QKV width fixes that stack's list to it (and its head
// choices to the ones that divide it); a cap drops the choices above it. Absent parameters leave
// their dimension alone. Validated: throws std::invalid_argument when nothing valid is left.
SearchSpace narrow_space(const SearchSpace& space, const std::map<std::string, int>& params);

// The member of `space` nearest to `config`, gene by gene: every dimension takes its closest
// choice (the smaller on a tie), heads the closest that divides the layer's QKV width, attended
// encoder layers at most the encoder depth; a decoder that gains layers repeats its last one.
// `space` must be valid (narrow_space's output is).
SubConfig project_config(const SubConfig& config, const SearchSpace& space);

class HpoEvolution : public Strategy {
 public:
  HpoEvolution(SearchSpace space, HpoEvolutionOptions options, EvolutionSearch::Checker checker, std::uint64_t seed);

  std::string name() const override { return "hpo-evo"; }
  std::vector<SubConfig> ask() override;
  void tell(const std::vector<double>& fitness) override;
  bool done() const override;
  // Every config scored in any trial, best first (ties in scoring order).
  std::vector<Evaluation> results() const override;
  // Progress in trials that ran an inner search.
  int iteration() const override { return productive_; }
  int iterations() const override { return options_.trials; }

  // The trial history (search.json's trials). Each complete trial carries attrs "best_config"
  // (SubConfig::hash_hex of its best member) and "space_size" (members of its narrowed space).
  const Study* study() const override { return &study_; }
  int evaluations() const { return static_cast<int>(scored_.size()); }

 private:
  void start_trial();
  void finish_trial();
  std::vector<double> cached_fitness(const std::vector<SubConfig>& configs) const;

  SearchSpace space_;
  HpoEvolutionOptions options_;
  EvolutionSearch::Checker checker_;
  Study study_;
  TpeSampler sampler_;
  Rng inner_seeds_;
  std::optional<EvolutionSearch> inner_;  // the running trial's search
  int trial_ = -1;                        // the running trial's number
  int trial_evaluations_ = 0;
  int productive_ = 0, unproductive_ = 0;
  std::vector<SubConfig> inner_asked_;        // what the inner search asked
  std::vector<SubConfig> pending_;            // the part of it not scored before: what ask() returned
  std::map<std::string, std::size_t> index_;  // config hash -> position in scored_
  std::vector<Evaluation> scored_;            // in scoring order
};

// Settings: trials (20), max_unproductive (200), startup_trials (10), ei_candidates (24), warm_start (5),
// inner_population (20), inner_parents (5), inner_mutations (8), inner_crossovers (7),
// inner_iterations (6), mutation_prob (0.3), max_tries (200), and 0/1 switches cap_decoder_layers,
// cap_encoder_embed, cap_decoder_embed (1). Unknown keys are refused.
std::unique_ptr<Strategy> make_hpo_evolution(const StrategyContext& context);

}  // namespace thanos
