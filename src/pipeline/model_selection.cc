#include "model_selection.h"

#include <optional>

#include "thanos/common/text.h"
#include "thanos/data/prepared_data.h"
#include "thanos/pipeline/report.h"
#include "unit.h"

namespace thanos {
namespace {

// A trained model's BLEU and chrF on the valid split, translated as the evaluate stage translates
// (kept in its folder while the model and the generation settings are unchanged).
SelectionCandidate valid_scores(const Plan& p, const ModelJob& job) {
  SelectionCandidate c{job.name(), job.config_path, job.checkpoint()};
  const Unit unit{job.dir, translation_hash(p, job, "valid.hyp"), "valid-unit.json"};
  nlohmann::ordered_json scores;
  if (auto done = cached_unit(unit, /*owns_dir=*/false)) {
    scores = *done;
  } else {
    const EvalOptions e = translation_of(p, job, "valid");  // valid.hyp: for the paired comparison with the baseline
    const EvalResult r = run_eval(e, nullptr);
    scores = {{"valid_bleu", r.bleu.score}, {"valid_chrf", r.chrf.score}, {"valid_sentences", r.sentences},
              {"valid_hypotheses", e.output_path}};
    complete_unit(unit, scores);
  }
  c.valid_bleu = scores.at("valid_bleu").get<double>();
  c.valid_chrf = scores.at("valid_chrf").get<double>();
  c.valid_sentences = scores.at("valid_sentences").get<int>();
  c.valid_hypotheses = scores.at("valid_hypotheses").get<std::string>();
  return c;
}

}  // namespace

ChosenModel select_chosen(const Plan& p, const std::vector<ModelJob>& finalists, const Log& log) {
  const std::string& rule = p.config.final_select;
  ChosenModel chosen;
  std::size_t best = 0;  // the best by valid BLEU, then chrF
  std::optional<std::size_t> baseline;
  std::pair<double, double> best_score{-1, -1};
  for (std::size_t i = 0; i < finalists.size(); ++i) {
    const ModelJob& job = finalists[i];
    if (job.role == "baseline") baseline = i;
    if (rule == "search") {
      chosen.candidates.push_back({job.name(), job.config_path, job.checkpoint()});
      continue;
    }
    const SelectionCandidate c = valid_scores(p, job);
    log(job.label() + ": valid BLEU " + format_fixed(*c.valid_bleu, 2) + ", chrF " + format_fixed(*c.valid_chrf, 2));
    const std::pair<double, double> score{*c.valid_bleu, *c.valid_chrf};
    // beats_baseline: the best *finalist* challenges the baseline.
    if ((rule == "valid_bleu" || job.role != "baseline") && score > best_score) best = i, best_score = score;
    chosen.candidates.push_back(c);
  }
  std::size_t chosen_index = best;
  chosen.challenge = nullptr;
  if (rule == "beats_baseline" && baseline && best != *baseline) {
    chosen.challenge = compare_hypotheses(*chosen.candidates[best].valid_hypotheses, *chosen.candidates[*baseline].valid_hypotheses,
                                          raw_target_path(p.dir.data(), "valid"));
    chosen.challenge["finalist"] = finalists[best].name();
    const bool ahead = chosen.challenge.at("verdict") == "ahead";
    if (!ahead) chosen_index = *baseline;
    log(finalists[best].name() + " vs the baseline on the valid split: " + format_fixed(chosen.challenge.at("bleu_delta").get<double>(), 2) +
        " BLEU, p = " + format_fixed(chosen.challenge.at("p_value").get<double>(), 3) +
        (ahead ? ": ahead" : ": not ahead beyond noise; the baseline stays"));
  }
  const ModelJob& job = finalists.at(chosen_index);
  chosen.target = job.target;
  chosen.budget = job.budget;
  chosen.config = job.config_path;
  chosen.model = job.checkpoint();
  chosen.selected = job.name();
  chosen.select = rule;
  log("chosen (" + job.budget + "): " + job.name());
  write_file_atomically(p.dir.selection(job.target, job.budget), to_json(chosen).dump(2) + "\n");
  return chosen;
}

}  // namespace thanos
