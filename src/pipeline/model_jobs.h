#pragma once
// The models the run trains and compares: per target and budget the search's finalists and the
// baseline, the largest once. Private to src/pipeline.
#include <string>
#include <vector>

#include "plan.h"
#include "thanos/commands/eval.h"

namespace thanos {

struct ModelJob {
  std::string role;  // largest | finalist | baseline
  std::string target, budget, config_path, dir;
  int rank = 0;  // a finalist's place in the search's order (1: its best)
  std::string name() const { return role == "finalist" ? "finalist-" + std::to_string(rank) : role; }
  std::string label() const { return name() + (budget.empty() ? "" : " (" + (target.empty() ? "" : target + "/") + budget + ")"); }
  std::string checkpoint() const;
};

// From the search stage's record: the largest first (its config written on first use), then per
// budget the finalists by rank and the baseline.
std::vector<ModelJob> model_jobs(const Plan& p);

// A model's training inputs: the data, the architecture, the space's settings, the start (the
// SuperTransformer only when fine-tuned from it), the training settings. A model trained from
// scratch is kept when only the SuperTransformer's settings change.
std::string job_hash(const Plan& p, const ModelJob& job);

// How a trained model translates `split` for scoring (the evaluate stage's settings), its
// hypotheses kept beside the checkpoint as <split>.hyp.
EvalOptions translation_of(const Plan& p, const ModelJob& job, const std::string& split);

// What a translation of translation_of() depends on: the trained model and the generation settings
// (the key of the cached valid and test scores beside the checkpoint).
std::string translation_hash(const Plan& p, const ModelJob& job, const std::string& hypotheses = "");

}  // namespace thanos
