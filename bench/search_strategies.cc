// Search strategies compared (issue 8, docs/SEARCH.md): on a trained SuperTransformer with fixed
// cost models, every strategy gets the same budget of fitness evaluations (distinct configs
// scored with inherited weights) under the same constraints, over several seeds; the table gives
// the best validation loss found (mean and 95% t-interval), the hypervolume of everything each run
// scored, the evaluations needed to reach a target loss, wall time, and the on-device
// measurements each would need before returning (top-k, or the whole front for Pareto modes).
// Then the fidelity of weight sharing: Kendall tau between inherited-weight validation loss and
// the loss after training the same SubTransformers from scratch for a short equal budget.
//
// Fitness values are deterministic, so one cache serves every run; a run's evaluation count and
// the wall time it would take alone (its strategy time + its evaluations x the measured mean cost
// of one evaluation) are kept per run.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "bench_common.h"
#include "thanos/commands/prepare.h"
#include "thanos/commands/search.h"
#include "thanos/commands/train.h"
#include "thanos/common/stats.h"
#include "thanos/common/text.h"
#include "thanos/model/cost_model.h"
#include "thanos/model/model_file.h"
#include "thanos/predict/predictor_file.h"
#include "thanos/search/nsga2.h"
#include "thanos/search/pareto.h"
#include "thanos/search/strategy.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sampler.h"
#include "thanos/space/space_yaml.h"
#include "thanos/train/fitness.h"

using namespace thanos;
using namespace thanos::bench;
namespace fs = std::filesystem;

namespace {

// Two-sided 95% Student t quantiles for 1..30 degrees of freedom (standard tables).
double t95(std::size_t df) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return 0;
  return df <= 30 ? table[df - 1] : 1.96;
}

struct MeanCi {
  double mean = 0, half = 0;
};
MeanCi mean_ci(const std::vector<double>& v) {
  MeanCi m;
  m.mean = mean_of(v);
  if (v.size() > 1) m.half = t95(v.size() - 1) * stddev_of(v) / std::sqrt(static_cast<double>(v.size()));
  return m;
}

// Settings that spend about `n` evaluations; the run is cut at exactly n anyway.
StrategySettings settings_for(const std::string& strategy, int n) {
  if (strategy == "random") return {{"samples", n}, {"batch", std::max(10, n / 10)}};
  if (strategy == "evo") {
    const int pop = std::max(10, n / 6), parents = std::max(2, pop / 5), mutations = (pop - parents) / 2;
    return {{"population", pop}, {"parents", parents}, {"mutations", mutations}, {"crossovers", pop - parents - mutations},
            {"iterations", 1000}};
  }
  if (strategy == "hpo-evo") {
    // Small inner searches (at most 10 + 2 x 7 = 24 evaluations) so a fixed budget holds enough
    // trials for TPE to model the response surface after its random start-up trials.
    return {{"trials", 1000}, {"startup_trials", 5}, {"inner_population", 10}, {"inner_parents", 3},
            {"inner_mutations", 4}, {"inner_crossovers", 3}, {"inner_iterations", 3}};
  }
  if (strategy == "nsga2") return {{"population", std::max(8, n / 8)}, {"iterations", 1000}};
  throw std::invalid_argument("no benchmark settings for strategy " + strategy);
}

struct Run {
  std::string strategy;
  std::uint64_t seed = 0;
  std::vector<double> best_curve;      // best loss after each evaluation
  std::vector<ObjectiveVector> points;  // everything scored: (loss, [latency,] memory)
  double strategy_seconds = 0;         // ask/tell and feasibility checks, fitness excluded
  int measurements = 0;                // on-device measurements before returning
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"THANOS search strategies: best loss at equal evaluation budgets, hypervolume, weight-sharing fidelity"};
  std::string checkpoint, data_dir, latency_predictor, json_out, strategies_arg = "random,evo,hpo-evo,nsga2", work_dir;
  int evaluations = 300, seeds = 5, threads = 2, max_tokens = 4096, top_k = 3, fidelity_configs = 8, fidelity_updates = 150;
  std::size_t subset = 200;
  double memory_mib = 0, latency_ms = 0, target_loss = 0, fidelity_lr = 1e-3;
  app.add_option("--checkpoint", checkpoint, "Trained SuperTransformer (thanos train; its space is embedded)")->required();
  app.add_option("--data", data_dir, "Prepared data (thanos prepare) it was trained on")->required();
  app.add_option("--latency-predictor", latency_predictor, "Fixed latency predictor (thanos fit-predictor); optional");
  app.add_option("--latency-ms", latency_ms, "Latency budget (needs --latency-predictor; 0 = none)");
  app.add_option("--memory-mb", memory_mib, "Memory budget, analytic model (0 = midway between the smallest and largest member)");
  app.add_option("--evaluations", evaluations, "Fitness evaluations per run (equal for every strategy)")->capture_default_str();
  app.add_option("--seeds", seeds, "Seeds per strategy")->capture_default_str();
  app.add_option("--strategies", strategies_arg, "Comma-separated strategies (\"\" = fidelity only)")->capture_default_str();
  app.add_option("--valid-subset", subset, "Valid pairs scored per evaluation (fixed subset)")->capture_default_str();
  app.add_option("--max-tokens", max_tokens, "Tokens per validation batch")->capture_default_str();
  app.add_option("--target-loss", target_loss, "Loss for 'evaluations to reach' (0 = the random baseline's mean best)");
  app.add_option("--top-k", top_k, "Single-objective candidates verified on the device")->capture_default_str();
  app.add_option("--fidelity-configs", fidelity_configs, "SubTransformers trained from scratch (0 = skip)")->capture_default_str();
  app.add_option("--fidelity-updates", fidelity_updates, "Updates each is trained from scratch")->capture_default_str();
  app.add_option("--fidelity-lr", fidelity_lr, "Peak learning rate from scratch (inverse_sqrt, warm-up = updates / 4)")->capture_default_str();
  app.add_option("--work-dir", work_dir, "Where from-scratch models go (default: a temporary directory, removed)");
  app.add_option("--threads", threads, "CPU threads")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write the results as JSON here");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  const auto start = Clock::now();

  const auto manifest = load_prepared_manifest(data_dir);
  const int vocab = manifest.at("vocab_size").get<int>();
  LoadedModel m = load_model(checkpoint);
  const auto embedded = embedded_search_space(m.info.metadata, checkpoint);
  if (!embedded) throw std::invalid_argument(checkpoint + ": no search space embedded");
  const SearchSpace space = *embedded;
  const BinarizedSplit valid = load_prepared_split(data_dir, "valid");

  // Fixed cost models: a latency predictor when given, the analytic memory model (HAT's protocol shape).
  std::optional<Predictor> latency;
  if (!latency_predictor.empty()) latency = load_predictor(latency_predictor);
  InferenceShape shape;
  shape.vocab_size = vocab;
  const CostEstimator costs = predicted_costs(space, latency ? &*latency : nullptr, nullptr, shape);
  const CostEstimate floor = costs(space.smallest()), ceiling = costs(space.largest());
  Budgets budgets;
  budgets.memory_mib = memory_mib > 0 ? memory_mib : 0.5 * (floor.memory_mib + ceiling.memory_mib);
  if (latency_ms > 0) {
    if (!latency) throw std::invalid_argument("--latency-ms needs --latency-predictor");
    budgets.latency_ms = latency_ms;
  }
  require_something_fits(space, costs, budgets);

  FitnessOptions fo;
  fo.max_tokens = max_tokens;
  fo.subset = subset;
  FitnessEvaluator evaluator(m.model, valid, fo);
  std::map<std::string, double> cache;
  double fitness_seconds = 0;
  int fitness_computed = 0;
  auto fitness = [&](const SubConfig& c) {
    auto it = cache.find(c.hash_hex());
    if (it != cache.end()) return it->second;
    const auto t0 = Clock::now();
    const double v = evaluator.score(c).loss;
    fitness_seconds += seconds_since(t0);
    ++fitness_computed;
    return cache[c.hash_hex()] = v;
  };
  auto objectives = [&](double loss, const ConstraintCheck& check) {
    ObjectiveVector p = {loss};
    if (latency) p.push_back(check.estimate.latency_ms);
    p.push_back(check.estimate.memory_mib);
    return p;
  };

  std::vector<std::string> strategies;
  {
    std::stringstream list(strategies_arg);
    for (std::string s; std::getline(list, s, ',');) {
      if (!s.empty()) strategies.push_back(s);
    }
  }
  if (!strategies.empty()) {
    std::printf("search strategies: %s, %zu valid pairs per evaluation, memory budget %.2f MiB%s, %d evaluations x %d seeds\n",
                checkpoint.c_str(), evaluator.pairs(), budgets.memory_mib,
                latency ? (", latency budget " + std::to_string(budgets.latency_ms) + " ms").c_str() : "", evaluations, seeds);
    std::fflush(stdout);
  }

  std::vector<Run> runs;
  for (const auto& name : strategies) {
    for (int seed = 1; seed <= seeds; ++seed) {
      Run run;
      run.strategy = name;
      run.seed = static_cast<std::uint64_t>(seed);
      StrategyContext ctx;
      ctx.space = space;
      ctx.checker = [&](const SubConfig& c) { return check_constraints(costs(c), budgets); };
      ctx.seed = run.seed;
      ctx.settings = settings_for(name, evaluations);
      const auto t0 = Clock::now();
      const double fitness_before = fitness_seconds;
      auto strategy = make_strategy(name, ctx);
      std::set<std::string> scored;
      double best = std::numeric_limits<double>::infinity();
      bool exhausted = false;
      while (!strategy->done() && !exhausted) {
        const auto asked = strategy->ask();
        if (asked.empty()) break;
        std::vector<double> values;
        for (const auto& c : asked) {
          if (scored.insert(c.hash_hex()).second) {
            if (static_cast<int>(scored.size()) > evaluations) {
              exhausted = true;  // the budget ends inside this batch: it is not told
              break;
            }
            const double v = fitness(c);
            best = std::min(best, v);
            run.best_curve.push_back(best);
            run.points.push_back(objectives(v, ctx.checker(c)));
          }
          values.push_back(cache.at(c.hash_hex()));
        }
        if (!exhausted) strategy->tell(values);
      }
      run.strategy_seconds = seconds_since(t0) - (fitness_seconds - fitness_before);
      run.measurements = strategy->pareto() ? static_cast<int>(strategy->results().size())
                                            : std::min<int>(top_k, static_cast<int>(strategy->results().size()));
      std::printf("  %-8s seed %d: %zu evaluations, best loss %.4f, %.1f s strategy time (%d fitness values computed so far)\n",
                  name.c_str(), seed, run.best_curve.size(), best, run.strategy_seconds, fitness_computed);
      std::fflush(stdout);
      runs.push_back(std::move(run));
    }
  }
  const double eval_cost = fitness_computed > 0 ? fitness_seconds / fitness_computed : 0;

  nlohmann::ordered_json out;
  if (!runs.empty()) {
    // Hypervolume bounds shared by every run: from the best loss any run found (and the space's
    // cheapest member) to the worst loss the random baseline scored (and the budgets).
    HypervolumeBounds bounds;
    double best_any = std::numeric_limits<double>::infinity(), worst_random = -std::numeric_limits<double>::infinity();
    for (const auto& r : runs) {
      for (const auto& p : r.points) {
        best_any = std::min(best_any, p[0]);
        if (r.strategy == "random") worst_random = std::max(worst_random, p[0]);
      }
    }
    if (!std::isfinite(worst_random)) {
      for (const auto& r : runs) {
        for (const auto& p : r.points) worst_random = std::max(worst_random, p[0]);
      }
    }
    bounds.names = {"valid_loss"};
    bounds.lower = {best_any};
    bounds.reference = {worst_random};
    if (latency) {
      bounds.names.push_back("latency_ms");
      bounds.lower.push_back(floor.latency_ms);
      bounds.reference.push_back(std::isfinite(budgets.latency_ms) ? budgets.latency_ms : ceiling.latency_ms);
    }
    bounds.names.push_back("memory_mb");
    bounds.lower.push_back(floor.memory_mib);
    bounds.reference.push_back(budgets.memory_mib);
    const bool with_hv = multi_objective_available() && worst_random > best_any;

    // Target loss for "evaluations to reach": by default what random reaches on average.
    if (target_loss <= 0) {
      std::vector<double> finals;
      for (const auto& r : runs) {
        if (r.strategy == "random" && !r.best_curve.empty()) finals.push_back(r.best_curve.back());
      }
      target_loss = finals.empty() ? best_any : mean_of(finals);
    }

    out["checkpoint"] = checkpoint;
    out["space"] = space.source;
    out["evaluations_per_run"] = evaluations;
    out["seeds"] = seeds;
    out["valid_pairs"] = evaluator.pairs();
    out["budgets"] = {{"memory_mb", budgets.memory_mib}, {"latency_ms", latency ? nlohmann::ordered_json(budgets.latency_ms) : nlohmann::ordered_json(nullptr)}};
    out["target_loss"] = target_loss;
    out["seconds_per_evaluation"] = eval_cost;
    out["hypervolume_bounds"] = {{"objectives", bounds.names}, {"lower", bounds.lower}, {"reference", bounds.reference}};
    std::printf("\nTable 10: strategies at %d evaluations each, %d seeds (mean +- 95%% t-interval); target loss %.4f; "
                "one evaluation = %.3f s\n",
                evaluations, seeds, target_loss, eval_cost);
    std::printf("| strategy | best valid loss | vs random | hypervolume | evals to target (reached) | wall s (est.) | device measurements |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    double random_mean = 0;
    for (const auto& name : strategies) {
      std::vector<double> bests, hvs, reach, walls, meas;
      int reached = 0;
      for (const auto& r : runs) {
        if (r.strategy != name) continue;
        bests.push_back(r.best_curve.empty() ? NAN : r.best_curve.back());
        if (with_hv) {
          std::vector<ObjectiveVector> front;
          for (auto i : pareto_front(r.points)) front.push_back(r.points[i]);
          hvs.push_back(hypervolume(front, bounds));
        }
        const auto hit = std::find_if(r.best_curve.begin(), r.best_curve.end(), [&](double b) { return b <= target_loss + 1e-12; });
        if (hit != r.best_curve.end()) {
          ++reached;
          reach.push_back(static_cast<double>(hit - r.best_curve.begin() + 1));
        }
        walls.push_back(r.strategy_seconds + eval_cost * r.best_curve.size());
        meas.push_back(r.measurements);
      }
      const MeanCi b = mean_ci(bests), h = mean_ci(hvs), w = mean_ci(walls);
      if (name == "random") random_mean = b.mean;
      char vs[32] = "-";
      if (name != "random" && random_mean != 0) std::snprintf(vs, sizeof vs, "%+.4f", b.mean - random_mean);
      char hv[48] = "n/a";
      if (with_hv) std::snprintf(hv, sizeof hv, "%.4f +- %.4f", h.mean, h.half);
      char rc[48] = "never";
      if (!reach.empty()) std::snprintf(rc, sizeof rc, "%.0f (%d/%zu)", mean_of(reach), reached, bests.size());
      std::printf("| %s | %.4f +- %.4f | %s | %s | %s | %.1f | %.1f |\n", name.c_str(), b.mean, b.half, vs, hv, rc, w.mean,
                  mean_of(meas));
      out["strategies"][name] = {{"best_loss", bests}, {"best_loss_mean", b.mean}, {"best_loss_ci95", b.half},
                                 {"hypervolume", hvs}, {"hypervolume_mean", h.mean}, {"hypervolume_ci95", h.half},
                                 {"evaluations_to_target", reach}, {"reached", reached}, {"wall_seconds_estimated", walls},
                                 {"device_measurements", meas}};
    }
    std::fflush(stdout);
  }

  // Fidelity of weight sharing: SubTransformers spread over the space by size (evenly spaced
  // quantiles of parameters among random members, smallest and largest included).
  if (fidelity_configs >= 2) {
    Rng rng(12345);
    std::vector<SubConfig> pool = {space.smallest(), space.largest()};
    for (int i = 0; i < 400; ++i) pool.push_back(sample_config(space, rng));
    auto params = [&](const SubConfig& c) { return count_params(c, space.hyper, vocab, vocab).total(); };
    std::stable_sort(pool.begin(), pool.end(), [&](const SubConfig& a, const SubConfig& b) { return params(a) < params(b); });
    std::vector<SubConfig> chosen;
    for (int k = 0; k < fidelity_configs; ++k) {
      chosen.push_back(pool[static_cast<std::size_t>(std::llround(k * (pool.size() - 1.0) / (fidelity_configs - 1)))]);
    }
    const bool own_dir = work_dir.empty();
    if (own_dir) work_dir = (fs::temp_directory_path() / ("thanos_bench_fidelity_" + std::to_string(::getpid()))).string();
    FitnessOptions full;
    full.max_tokens = max_tokens;
    FitnessEvaluator whole(m.model, valid, full);
    std::vector<double> inherited, scratch;
    std::printf("\nTable 11: weight-sharing fidelity, %d SubTransformers, each trained from scratch for %d updates "
                "(valid loss on all %zu valid pairs)\n",
                fidelity_configs, fidelity_updates, whole.pairs());
    std::printf("| config | params | inherited loss | from-scratch loss |\n|---|---|---|---|\n");
    for (std::size_t k = 0; k < chosen.size(); ++k) {
      const SubConfig& c = chosen[k];
      inherited.push_back(whole.score(c).loss);
      const std::string d = work_dir + "/sub" + std::to_string(k);
      fs::create_directories(d);
      write_file_atomically(d + "/config.yml", config_to_yaml(c));
      write_file_atomically(d + "/space.yml", search_space_to_yaml(space));
      TrainCommandOptions to;
      to.space_path = d + "/space.yml";
      to.data_dir = data_dir;
      to.config_path = d + "/config.yml";
      to.save_dir = d;
      to.resume = fs::exists(d + "/checkpoint_last.pt");
      to.train.max_updates = fidelity_updates;
      to.train.batching.max_tokens = 4096;
      to.train.lr.lr = fidelity_lr;
      to.train.lr.warmup_updates = std::max(1, fidelity_updates / 4);
      to.train.log_every = fidelity_updates;
      const auto tr = run_train(to, [](const std::string&) {});
      scratch.push_back(tr.final_valid.at(0).at("loss").get<double>());
      std::printf("| %s (enc %dx%d, dec %dx%d) | %lld | %.4f | %.4f |\n", c.hash_hex().c_str(), c.encoder_layer_num(),
                  c.encoder_embed_dim, c.decoder_layer_num(), c.decoder_embed_dim, static_cast<long long>(params(c)), inherited.back(),
                  scratch.back());
      std::fflush(stdout);
    }
    const double tau = kendall_tau(inherited, scratch);
    std::printf("Kendall tau (inherited vs from scratch): %.3f over %zu SubTransformers\n", tau, chosen.size());
    out["fidelity"] = {{"updates", fidelity_updates}, {"inherited_loss", inherited}, {"scratch_loss", scratch}, {"kendall_tau", tau}};
    if (own_dir) fs::remove_all(work_dir);
  }
  out["seconds"] = seconds_since(start);
  std::printf("\ntotal wall time %.0f s (%d fitness values computed, %.0f s of them)\n", seconds_since(start), fitness_computed,
              fitness_seconds);
  if (!json_out.empty()) write_file_atomically(json_out, out.dump(2) + "\n");
  return 0;
}
