#include "thanos/pipeline/work_dir.h"

#include <filesystem>
#include <utility>

namespace thanos {

namespace fs = std::filesystem;

WorkDir::WorkDir(std::string root) : root_(std::move(root)) {}

std::string WorkDir::under(const std::string& area, const std::string& target, const std::string& rest) const {
  fs::path d = fs::path(root_) / area;
  if (!target.empty()) d /= target;
  if (!rest.empty()) d /= rest;
  return d.string();
}

std::string WorkDir::config_copy() const { return root_ + "/config.yml"; }
std::string WorkDir::stages_dir() const { return root_ + "/stages"; }
std::string WorkDir::stage_record(const std::string& stage) const { return stages_dir() + "/" + stage + ".json"; }
std::string WorkDir::area(const std::string& name) const { return root_ + "/" + name; }

std::string WorkDir::data() const { return root_ + "/data"; }

std::string WorkDir::super_dir() const { return root_ + "/super"; }
std::string WorkDir::super_checkpoint() const { return checkpoint(super_dir()); }
std::string WorkDir::super_train_log() const { return super_dir() + "/train_log.jsonl"; }

std::string WorkDir::measure_dir(const std::string& target) const { return under("measure", target); }
std::string WorkDir::dataset(const std::string& target) const { return under("measure", target, "latency.csv"); }
std::string WorkDir::predictors_dir(const std::string& target) const { return under("predictors", target); }
std::string WorkDir::predictor(const std::string& target, const std::string& what) const {
  return under("predictors", target, what + ".json");
}

std::string WorkDir::search_dir(const std::string& target) const { return under("search", target); }
std::string WorkDir::search_dir(const std::string& target, const std::string& budget) const { return under("search", target, budget); }
std::string WorkDir::search_result(const std::string& target, const std::string& budget) const {
  return search_dir(target, budget) + "/search.json";
}
std::string WorkDir::search_candidates(const std::string& target, const std::string& budget) const {
  return search_dir(target, budget) + "/candidates.csv";
}
std::string WorkDir::search_evaluations(const std::string& target, const std::string& budget) const {
  return search_dir(target, budget) + "/evaluations.jsonl";
}
std::string WorkDir::search_best(const std::string& target, const std::string& budget, int k) const {
  return under("search", target, budget + (k == 1 ? "/best.yml" : "/best-" + std::to_string(k) + ".yml"));
}
std::string WorkDir::baseline_config(const std::string& target, const std::string& budget) const {
  return search_dir(target, budget) + "/baseline.yml";
}

std::string WorkDir::final_dir() const { return root_ + "/final"; }
std::string WorkDir::largest_config() const { return final_dir() + "/largest.yml"; }
std::string WorkDir::largest_dir() const { return final_dir() + "/largest"; }
std::string WorkDir::model_dir(const std::string& target, const std::string& budget, const std::string& model) const {
  return under("final", target, budget + "/" + model);
}
std::string WorkDir::selection(const std::string& target, const std::string& budget) const {
  return under("final", target, budget + "/selection.json");
}
std::string WorkDir::checkpoint(const std::string& model_dir) { return model_dir + "/checkpoint_last.pt"; }
std::string WorkDir::evaluation(const std::string& model_dir) { return model_dir + "/evaluation.json"; }
std::string WorkDir::hypotheses(const std::string& model_dir, const std::string& split) { return model_dir + "/" + split + ".hyp"; }

std::string WorkDir::export_dir(const std::string& target, const std::string& budget) const { return under("export", target, budget); }

std::string WorkDir::summary() const { return root_ + "/summary.json"; }
std::string WorkDir::report_markdown() const { return root_ + "/report.md"; }
std::string WorkDir::report_html() const { return root_ + "/report.html"; }

}  // namespace thanos
