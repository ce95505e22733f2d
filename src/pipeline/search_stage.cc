// search: per target and budget pair, the budgets resolved against the target's dataset
// (percentiles), the search under them, and HAT's homogeneous baseline chosen by measurement
// (WORKDIR/search[/<target>]/<budget>).
#include <cmath>
#include <filesystem>
#include <optional>

#include "baseline_choice.h"
#include "estimates.h"
#include "stage.h"
#include "target_measurement.h"
#include "thanos/commands/search.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/budgets.h"
#include "thanos/pipeline/stage_outputs.h"
#include "thanos/search/constraints.h"
#include "unit.h"

namespace thanos {
namespace {

// One target's search depends on the SuperTransformer, the target's dataset (measured under
// `protocol`), the budgets and the search's settings.
std::string search_unit_hash(const Plan& p, const TargetPlan& t, const LatencyProtocol& protocol) {
  const RunConfig& c = p.config;
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
  for (const auto& [k, v] : c.strategy_settings) settings[k] = v;
  nlohmann::ordered_json budgets = nlohmann::ordered_json::array();
  for (const auto& b : t.spec.budgets) budgets.push_back({b.name, b.latency.text, b.memory.text});
  std::string h = hash_of({{"super", p.hashes.at("super")}, {"measure", measure_unit_hash(p, t, protocol)}, {"budgets", budgets},
                           {"strategy", c.strategy}, {"settings", settings}, {"subset", c.valid_subset}, {"top_k", c.top_k},
                           {"verify_limit", c.verify_limit}, {"margin", c.search_margin},
                           {"claim", {c.claim_measurements, c.claim_max_measurements}},
                           {"seed", c.seed}});
  // Keyed only when on: runs cached before these settings existed stay valid.
  if (c.claim_headroom > 0) h = hash_of({{"search", h}, {"claim_headroom", c.claim_headroom}});
  if (c.rerank > 0) {
    h = hash_of({{"search", h}, {"rerank", c.rerank}, {"preset", c.generation_preset}, {"max_len_a", c.max_len_a},
                 {"max_len_b", c.max_len_b}});
  }
  return h;
}

// Ctrl-C during a target's search: its evaluations are on disk (resumed next time); its unit is
// left incomplete.
struct SearchInterrupted {};

std::string budget_text(double value, const char* unit) {
  return std::isfinite(value) ? std::to_string(value) + " " + unit : "none";
}

BudgetSearch search_budget(const Plan& p, const TargetPlan& t, const BudgetPair& pair, const std::vector<MeasuredPoint>& points,
                           const std::shared_ptr<SearchInputs>& inputs, const Log& log, const std::atomic<bool>* stop) {
  const ResolvedBudgets b = resolve_budgets(pair, points);
  const std::string dir = p.dir.search_dir(t.spec.name, pair.name);
  std::filesystem::create_directories(dir);
  log("budget " + pair.name + ": latency " + budget_text(b.latency_ms, "ms") + " (" + b.latency_text + "), memory " +
      budget_text(b.memory_mib, "MiB") + " (" + b.memory_text + "); " + std::to_string(b.feasible_fraction * 100) +
      "% of the measured dataset fits");
  SearchOptions o;
  o.checkpoint_path = p.dir.super_checkpoint();
  o.data_dir = p.dir.data();
  o.inputs = inputs;
  o.strategy = p.config.strategy;
  o.settings = p.config.strategy_settings;
  o.seed = p.config.seed;
  // Claims (verification, baseline) with headroom for re-measurement noise; reported: the budget itself.
  ResolvedBudgets claim = b;
  claim.latency_ms = b.latency_ms * (1 - p.config.claim_headroom);
  o.budgets.latency_ms = claim.latency_ms;
  o.budgets.memory_mib = b.memory_mib;
  o.budgets.margin_errors = p.config.search_margin;
  o.latency_predictor_path = p.dir.predictor(t.spec.name, "latency");
  o.memory_predictor_path = p.dir.predictor(t.spec.name, "memory");
  o.protocol = measured_protocol(p, t);
  o.fitness.subset = static_cast<std::size_t>(p.config.valid_subset);
  o.verify_device = t.spec.device;
  o.verify_with = &measurer_of(p, t).backend();
  o.verify_backend = t.spec.backend;
  o.token_file = t.spec.token_file;
  o.target_threads = t.spec.threads;
  o.top_k = p.config.top_k;
  o.verify_limit = p.config.verify_limit;
  o.rerank = p.config.rerank;
  o.rerank_generation = evaluate_generation(p.config);  // re-ranked by BLEU as the evaluate stage scores
  o.verify_claim = claim_policy(p);
  o.verify_claim.screen = 0.25;  // a candidate reading 25% over the budget is left after one reading
  o.fitness_device = p.config.train_device;  // scoring inherited weights is training-side work
  o.out_dir = dir;
  o.stop = stop;
  // Each verification reading follows a reading of the drift reference on the same target; the
  // reference's dataset reading tells whether the device drifted (flagged, never divided away).
  o.verify_reference = [&p, &t] { return read_reference(p, t); };
  const double reference = dataset_reference_ms(p.dir.dataset(t.spec.name));
  if (reference > 0) o.verify_reference_baseline_ms = reference;
  BudgetSearch entry;
  try {
    const SearchReport r = run_search(o, log);
    if (r.interrupted) throw SearchInterrupted{};
    entry.found = r.found;
  } catch (const NothingFits& e) {
    entry.nothing_fits = e.what();  // no model for this budget; the others go on (exit code 3 at the end)
    log("budget " + pair.name + ": " + entry.nothing_fits);
  }
  entry.target = t.spec.name;
  entry.target_label = t.spec.label();
  entry.name = pair.name;
  if (std::isfinite(b.latency_ms)) entry.budget.latency_ms = b.latency_ms;
  if (std::isfinite(b.memory_mib)) entry.budget.memory_mib = b.memory_mib;
  entry.budget.latency_spec = b.latency_text;
  entry.budget.memory_spec = b.memory_text;
  entry.feasible_fraction = b.feasible_fraction;
  entry.search = p.dir.search_result(t.spec.name, pair.name);
  entry.baseline = choose_baseline(p, t, claim, p.dir.baseline_config(t.spec.name, pair.name), log);
  return entry;
}

class SearchStage : public Stage {
 public:
  std::string name() const override { return "search"; }
  std::vector<std::string> upstream() const override { return {"super", "predictors"}; }
  std::string inputs_hash(const Plan& p) const override {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& t : p.targets) all.push_back({t.spec.name, search_unit_hash(p, t, measured_protocol(p, t))});
    return hash_of(all);
  }
  double estimate_seconds(const Plan& p) const override {
    const RunConfig& c = p.config;
    double verify = 0;
    for (const auto& t : p.targets) {
      // Typically about two candidates measured per returned one (half miss at margin 0), plus the
      // baseline's; each a claim of claim_measurements readings (more when it sits on the budget's
      // edge), each after a reading of the drift reference.
      const double walked = std::min<double>(2.0 * c.top_k, c.verify_limit > 0 ? c.verify_limit : 4.0 * c.top_k);
      verify += static_cast<double>(t.spec.budgets.size()) * (walked + 4) * 2 * c.claim_measurements * measurement_seconds(t);
    }
    const double pop = c.strategy_settings.count("population") ? c.strategy_settings.at("population") : 125;
    const double it = c.strategy_settings.count("iterations") ? c.strategy_settings.at("iterations") : 30;
    const double subset = c.valid_subset > 0 ? c.valid_subset : 1000;
    // Scoring ~4000 valid pairs/s; re-ranking translates the valid split once per shortlisted candidate.
    const double budgets = budget_count(p);
    return budgets * pop * it * subset / 4000.0 + budgets * c.rerank * kValidTranslationSeconds + verify;
  }
  std::string output_area() const override { return "search"; }
  bool has_units() const override { return true; }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    std::vector<BudgetSearch> out;
    for (const auto& t : p.targets) {
      const Log log = target_log(p, t, ctx.log);
      const Unit unit{p.dir.search_dir(t.spec.name), search_unit_hash(p, t, measured_protocol(p, t))};
      std::vector<BudgetSearch> entries;
      if (auto done = cached_unit(unit)) {
        log("searched already with the same inputs");
        from_json(*done, unit.path() + ": outputs", &entries);
      } else {
        const auto points = read_measured_points(p.dir.dataset(t.spec.name));
        // The SuperTransformer and the valid split, loaded once for the target's budgets.
        const auto inputs = load_search_inputs(p.dir.super_checkpoint(), p.dir.data(), p.config.train_device);
        try {
          for (const auto& pair : t.spec.budgets) entries.push_back(search_budget(p, t, pair, points, inputs, log, ctx.stop));
        } catch (const SearchInterrupted&) {
          return {to_json(out), true};
        }
        complete_unit(unit, to_json(entries));
      }
      out.insert(out.end(), entries.begin(), entries.end());
    }
    return {to_json(out)};
  }
};

}  // namespace

std::unique_ptr<Stage> make_search_stage() { return std::make_unique<SearchStage>(); }

}  // namespace thanos
