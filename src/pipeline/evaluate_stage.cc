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
                    {"max_len_b", c.max_len_b}, {"repeats", c.measure_repeats}});
  }
  // ~60 test sentences/s per model all in (the demo: 1,054 sentences, beam 5, decoded in ~13 s,
  // the test perplexity, the drift reference and the measurements: 66-91 s for three models in the
  // demo runs of docs/PIPELINE.md), plus each model's measurements.
  double estimate_seconds(const Plan& p) const override {
    const double models = 1 + models_per_budget(p) * budget_count(p);
    double measure = 0;
    for (const auto& t : p.targets) {
      measure += (1 + models_per_budget(p) * static_cast<double>(t.spec.budgets.size())) * p.config.measure_repeats * measurement_seconds(t);
    }
    return models * 1000.0 / 60.0 + measure;
  }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    const Log& log = ctx.log;
    std::vector<ModelEvaluation> out;
    int cooldowns_left = 2;
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
        // Reported side by side: every model's figures are the median of measure.repeats.
        const RepeatedMeasurement taken = measure_on_target(p, t, config, 0, /*always=*/true);
        const Measurement& m = taken.median;
        log(job.label() + (p.targets.size() > 1 ? " on " + t.spec.label() : "") + ": BLEU " + std::to_string(scores.bleu) + ", " +
            (m.feasible ? std::to_string(m.latency_ms()) + " ms, " + std::to_string(m.peak_memory_mib) + " MiB"
                        : "not measurable: " + m.infeasible_reason));
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
        if (m.feasible) {
          e.latency_ms_measured = m.latency_ms();
          // What the fit is judged on (slowdown_factor: as in the search's verification).
          e.latency_ms_at_dataset_speed = m.latency_ms() / slowdown_factor(reference);
          e.memory_mib_measured = m.peak_memory_mib;
        }
        e.reference_drift = reference.drift;
        e.reference_cooldowns = reference.cooldowns;
        e.latency_ms_measurements = taken.latencies_ms;
        e.memory_kind = m.memory_kind;
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
        if (out[i].role == "largest" || out[i].model != chosen.model || out[i].target != chosen.target) continue;
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
