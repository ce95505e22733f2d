#include "model_jobs.h"

#include <filesystem>

#include "thanos/common/text.h"
#include "thanos/pipeline/stage_outputs.h"
#include "thanos/space/config_io.h"

namespace thanos {

namespace fs = std::filesystem;

std::string ModelJob::checkpoint() const { return WorkDir::checkpoint(dir); }

std::vector<ModelJob> model_jobs(const Plan& p) {
  std::vector<ModelJob> jobs;
  const auto searches = read_stage_outputs<std::vector<BudgetSearch>>(p.dir.stage_record("search"));
  fs::create_directories(p.dir.final_dir());
  const std::string largest = p.dir.largest_config();
  if (!fs::exists(largest)) write_file_atomically(largest, config_to_yaml(p.space.largest()));
  jobs.push_back({"largest", "", "", largest, p.dir.largest_dir()});
  for (const auto& s : searches) {
    if (s.found) {
      // best.yml, then the runners-up best-2.yml, ... as many as the search returned.
      for (int k = 1; k <= p.config.final_finalists; ++k) {
        const std::string config = p.dir.search_best(s.target, s.name, k);
        if (!fs::exists(config)) break;
        jobs.push_back({"finalist", s.target, s.name, config, p.dir.model_dir(s.target, s.name, "finalist-" + std::to_string(k)), k});
      }
    }
    if (s.baseline.found) jobs.push_back({"baseline", s.target, s.name, s.baseline.config, p.dir.model_dir(s.target, s.name, "baseline")});
  }
  return jobs;
}

std::string job_hash(const Plan& p, const ModelJob& job) {
  return hash_of({{"data", p.hashes.at("prepare")}, {"config", read_text_file(job.config_path)}, {"mode", p.config.final_mode},
                  {"super", p.config.final_mode == "finetune" ? p.hashes.at("super") : ""}, {"train", train_json(p.config.final_train)},
                  {"space", p.space_hash}, {"seed", p.config.seed}, {"threads", p.threads}, {"device", p.config.train_device}});
}

EvalOptions translation_of(const Plan& p, const ModelJob& job, const std::string& split) {
  EvalOptions e;
  e.model_path = job.checkpoint();
  e.device = p.config.train_device;
  e.data_dir = p.dir.data();
  e.split = split;
  e.generation = evaluate_generation(p.config);
  e.output_path = WorkDir::hypotheses(job.dir, split);
  return e;
}

std::string translation_hash(const Plan& p, const ModelJob& job, const std::string& hypotheses) {
  nlohmann::ordered_json inputs = {{"model", job_hash(p, job)}, {"preset", p.config.generation_preset},
                                   {"max_len_a", p.config.max_len_a}, {"max_len_b", p.config.max_len_b}};
  if (!hypotheses.empty()) inputs["hypotheses"] = hypotheses;
  return hash_of(inputs);
}

}  // namespace thanos
