// evaluate: every trained model's BLEU/chrF and perplexity on the test split, its measured latency
// and memory on each target it is compared on, and translation speed (WORKDIR/final/.../evaluation.json).
#include <chrono>

#include "estimates.h"
#include "model_jobs.h"
#include "stage.h"
#include "target_measurement.h"
#include "thanos/commands/train.h"
#include "thanos/common/text.h"
#include "thanos/data/prepared_data.h"
#include "thanos/model/cost_model.h"
#include "thanos/pipeline/stage_outputs.h"
#include "thanos/space/config_io.h"
#include "unit.h"

namespace thanos {
namespace {

using Clock = std::chrono::steady_clock;

// BLEU once per model (the largest serves every target), kept beside its checkpoint.
TestScores test_scores(const Plan& p, const ModelJob& job) {
  const Unit unit{job.dir, translation_hash(p, job), "evaluation-unit.json"};
  TestScores scores;
  if (auto done = cached_unit(unit, /*owns_dir=*/false)) {
    from_json(*done, unit.path() + ": outputs", &scores);
    return scores;
  }
  const EvalOptions e = translation_of(p, job, "test");
  const auto eval_start = Clock::now();
  const EvalResult r = run_eval(e, nullptr);
  const double eval_seconds = std::chrono::duration<double>(Clock::now() - eval_start).count();
  scores.bleu = r.bleu.score;
  scores.chrf = r.chrf.score;
  scores.bleu_signature = r.bleu_signature;
  // End to end: loading, sentencepiece, beam bookkeeping, detokenisation, scoring.
  scores.sentences_per_second_end_to_end = eval_seconds > 0 ? static_cast<double>(r.sentences) / eval_seconds : 0.0;
  scores.sentences_per_second_decoding = r.decode_seconds > 0 ? static_cast<double>(r.sentences) / r.decode_seconds : 0.0;
  scores.test_sentences = static_cast<int>(r.sentences);
  // The test split's perplexity beside BLEU: at the demo's few minutes of training BLEU moves
  // with a handful of degenerate outputs, while the loss over every reference token is steadier.
  ValidCommandOptions v;
  v.checkpoint_path = job.checkpoint();
  v.data_dir = p.dir.data();
  v.split = "test";
  v.device = p.config.train_device;
  const auto test_loss = run_valid(v).at("results").at(0);
  scores.test_nll_loss = test_loss.at("nll_loss").get<double>();
  scores.test_ppl = test_loss.at("ppl").get<double>();
  complete_unit(unit, to_json(scores));
  return scores;
}

class EvaluateStage : public Stage {
 public:
  std::string name() const override { return "evaluate"; }
  std::vector<std::string> upstream() const override { return {"final"}; }
  std::string inputs_hash(const Plan& p) const override {
    const RunConfig& c = p.config;
    return hash_of({{"up", p.hashes.at("final")}, {"preset", c.generation_preset}, {"max_len_a", c.max_len_a},
                    {"max_len_b", c.max_len_b}, {"claim", {c.claim_measurements, c.claim_max_measurements}}});
  }
  // ~60 test sentences/s per model all in (the demo: 1,054 sentences, beam 5, decoded in ~13 s,
  // the test perplexity, the drift reference and the measurements: 66-91 s for three models in the
  // demo runs of docs/PIPELINE.md), plus each model's measurements.
  double estimate_seconds(const Plan& p) const override {
    const double models = 1 + models_per_budget(p) * budget_count(p);
    double measure = 0;
    for (const auto& t : p.targets) {
      // Each claim: claim_measurements readings, each after one of the drift reference.
      measure += (1 + models_per_budget(p) * static_cast<double>(t.spec.budgets.size())) * 2 * p.config.claim_measurements *
                 measurement_seconds(t);
    }
    return models * 1000.0 / 60.0 + measure;
  }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    const Log& log = ctx.log;
    std::vector<ModelEvaluation> out;
    int cooldowns_left = p.config.measure_cooldowns.value_or(2);
    // The budgets each finalist and baseline is judged against, as the search resolved them once
    // from the target's dataset (a percentile budget is absolute from then on).
    const auto searches = read_stage_outputs<std::vector<BudgetSearch>>(p.dir.stage_record("search"));
    auto budgets_of = [&](const std::string& target, const std::string& budget) {
      ClaimBudgets b;
      for (const auto& s : searches) {
        if (s.target != target || s.name != budget) continue;
        if (s.budget.latency_ms) b.latency_ms = *s.budget.latency_ms;
        if (s.budget.memory_mib) b.memory_mib = *s.budget.memory_mib;
      }
      return b;
    };
    const auto manifest = load_prepared_manifest(p.dir.data());
    const int vocab = prepared_vocab_size(manifest, p.dir.data());
    for (const auto& job : model_jobs(p)) {
      const SubConfig config = load_config_file(job.config_path, default_qkv_dim(p.space)).config;
      const TestScores scores = test_scores(p, job);
      std::vector<ModelEvaluation> per_target;
      for (const auto& t : p.targets) {
        if (job.role != "largest" && t.spec.name != job.target) continue;
        // Cool-downs only before the models whose fit is claimed (a finalist or the baseline): the
        // largest is measured for comparison, its drift read and reported without waiting (a demo run
        // once spent both of its cool-downs, a minute, before the largest).
        int no_cooldowns = 0;
        const ReferenceCheck reference = settle_target(p, t, job.role == "largest" ? &no_cooldowns : &cooldowns_left, log);
        // A budget claim against the model's budget pair; the largest is compared on every target
        // against none (its figures without a verdict).
        const bool judged = job.role != "largest";
        const BudgetClaim claim = claim_on_target(p, t, config, judged ? budgets_of(t.spec.name, job.budget) : ClaimBudgets{}, log);
        log(job.label() + (p.targets.size() > 1 ? " on " + t.spec.label() : "") + ": BLEU " + format_fixed(scores.bleu, 2) + ", " +
            (claim.feasible ? format_fixed(claim.latency_ms_median, 2) + " ms [" + format_fixed(claim.latency_ms_interval.low, 2) + ", " +
                                  format_fixed(claim.latency_ms_interval.high, 2) + "], " + format_fixed(claim.memory_mib_peak, 1) +
                                  " MiB" + (judged ? ": " + to_string(claim.verdict) : "")
                            : "not measurable: " + claim.infeasible_reason));
        ModelEvaluation e;
        e.role = job.role;
        e.rank = job.rank;
        e.target = t.spec.name;
        e.budget = job.budget;
        e.config = config.summary();
        e.config_file = job.config_path;
        e.config_hash = config.hash_hex();
        e.model = job.checkpoint();
        e.scores = scores;
        e.measured = measurement_record(claim, judged);
        e.reference_cooldowns = reference.cooldowns;
        e.params = count_params(config, p.space.hyper, vocab, vocab).total();
        per_target.push_back(e);
        out.push_back(e);
      }
      const nlohmann::ordered_json written = job.role == "largest" ? to_json(per_target) : to_json(per_target.at(0));
      write_file_atomically(WorkDir::evaluation(job.dir), written.dump(2) + "\n");
    }
    // The chosen model is one of those just evaluated (a finalist or the baseline): its figures under
    // role "chosen", with how it was selected.
    const auto final_outputs = read_stage_outputs<FinalOutput>(p.dir.stage_record("final"));
    const std::size_t evaluated = out.size();
    for (const ChosenModel& chosen : final_outputs.chosen) {
      for (std::size_t i = 0; i < evaluated; ++i) {
        // By name (finalist-<k> | baseline), target and budget, not by path: the final stage's
        // record keeps the paths of the directory it ran in, and a run directory that was moved or
        // copied is evaluated where it is now.
        const std::string name = out[i].role == "finalist" ? "finalist-" + std::to_string(out[i].rank) : out[i].role;
        if (out[i].role == "largest" || name != chosen.selected || out[i].target != chosen.target || out[i].budget != chosen.budget) {
          continue;
        }
        ModelEvaluation e = out[i];
        e.role = "chosen";
        e.selection = chosen;
        out.push_back(e);
        break;
      }
    }
    return {to_json(out)};
  }
};

}  // namespace

std::unique_ptr<Stage> make_evaluate_stage() { return std::make_unique<EvaluateStage>(); }

}  // namespace thanos
