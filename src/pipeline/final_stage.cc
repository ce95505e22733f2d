// final: the search's finalists, the baseline and the largest trained identically; then the chosen
// model of each budget selected among its finalists and baseline (WORKDIR/final).
#include "estimates.h"
#include "model_jobs.h"
#include "model_selection.h"
#include "stage.h"
#include "thanos/pipeline/stage_outputs.h"
#include "training.h"
#include "unit.h"

namespace thanos {
namespace {

class FinalStage : public Stage {
 public:
  std::string name() const override { return "final"; }
  std::vector<std::string> upstream() const override { return {"search"}; }
  std::string inputs_hash(const Plan& p) const override {
    const RunConfig& c = p.config;
    return hash_of({{"up", p.hashes.at("search")}, {"mode", c.final_mode}, {"train", train_json(c.final_train)},
                    {"finalists", c.final_finalists}, {"select", c.final_select}, {"preset", c.generation_preset},
                    {"max_len_a", c.max_len_a}, {"max_len_b", c.max_len_b}});
  }
  double estimate_seconds(const Plan& p) const override {
    const double budgets = budget_count(p), models = models_per_budget(p);
    // Selection translates the valid split once per finalist and baseline.
    const double select = p.config.final_select != "search" ? budgets * models * kValidTranslationSeconds : 0.0;
    return training_seconds(p, p.config.final_train, largest_params(p)) +
           models * budgets * training_seconds(p, p.config.final_train, mean_params(p)) + select;
  }
  std::string output_area() const override { return "final"; }
  bool has_units() const override { return true; }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    const Log& log = ctx.log;
    FinalOutput out;
    const std::vector<ModelJob> jobs = model_jobs(p);
    for (const auto& job : jobs) {
      const Unit unit{job.dir, job_hash(p, job)};
      const TrainedModel entry{job.role, job.rank, job.target, job.budget, job.config_path, job.checkpoint()};
      if (cached_unit(unit)) {
        log("the " + job.label() + " model: trained already with the same inputs");
        out.trained.push_back(entry);
        continue;
      }
      log("training the " + job.label() + " model (" + p.config.final_mode + ", " + std::to_string(p.config.final_train.updates) +
          " updates)");
      TrainCommandOptions o;
      o.data_dir = p.dir.data();
      o.space_path = p.space_path;
      o.config_path = job.config_path;
      if (p.config.final_mode == "finetune") o.init_from = p.dir.super_checkpoint();
      o.save_dir = job.dir;
      o.train = stage_train_options(p, p.config.final_train);
      if (!train_to_budget(o, log)) return {to_json(out), true};
      complete_unit(unit, to_json(entry));
      out.trained.push_back(entry);
    }
    // One chosen model per target and budget whose search found one: among its finalists and baseline.
    for (const auto& job : jobs) {
      if (job.role != "finalist" || job.rank != 1) continue;
      std::vector<ModelJob> finalists;
      for (const auto& other : jobs) {
        if (other.role != "largest" && other.target == job.target && other.budget == job.budget &&
            (other.role == "finalist" || p.config.final_select != "search")) {
          finalists.push_back(other);  // in jobs' order: the finalists by rank, then the baseline
        }
      }
      out.chosen.push_back(select_chosen(p, finalists, log));
    }
    return {to_json(out)};
  }
};

}  // namespace

std::unique_ptr<Stage> make_final_stage() { return std::make_unique<FinalStage>(); }

}  // namespace thanos
