#pragma once
// The run directory's layout (docs/PIPELINE.md, "Output"), owned here alone: the stages, the
// runner and the report take every path from it. A config with one unnamed target keeps the flat
// layout (measure/latency.csv, search/<budget>/); named targets get a folder each
// (measure/<target>/latency.csv, search/<target>/<budget>/).
#include <string>

namespace thanos {

class WorkDir {
 public:
  explicit WorkDir(std::string root);

  const std::string& root() const { return root_; }
  std::string config_copy() const;                            // config.yml: the config of the last run
  std::string stage_record(const std::string& stage) const;   // stages/<stage>.json
  std::string stages_dir() const;
  // WORKDIR/<area>: what a stage writes (removed before it runs with other inputs).
  std::string area(const std::string& name) const;

  // prepare
  std::string data() const;  // data/: sentencepiece model, binarized splits, manifest.json
  // super
  std::string super_dir() const;
  std::string super_checkpoint() const;
  std::string super_train_log() const;
  // measure, predictors
  std::string measure_dir(const std::string& target) const;
  std::string dataset(const std::string& target) const;  // latency.csv
  std::string predictors_dir(const std::string& target) const;
  std::string predictor(const std::string& target, const std::string& what) const;  // latency.json | memory.json
  // search: one folder per target, one per budget under it
  std::string search_dir(const std::string& target) const;
  std::string search_dir(const std::string& target, const std::string& budget) const;
  std::string search_result(const std::string& target, const std::string& budget) const;      // search.json
  std::string search_candidates(const std::string& target, const std::string& budget) const;  // candidates.csv
  std::string search_evaluations(const std::string& target, const std::string& budget) const; // evaluations.jsonl
  // The search's k-th returned model (1: best.yml, then best-2.yml, ...).
  std::string search_best(const std::string& target, const std::string& budget, int k) const;
  std::string baseline_config(const std::string& target, const std::string& budget) const;  // baseline.yml
  // final: the largest once, then per target and budget the finalists and the baseline
  std::string final_dir() const;
  std::string largest_config() const;  // final/largest.yml
  std::string model_dir(const std::string& target, const std::string& budget, const std::string& model) const;
  std::string largest_dir() const;
  std::string selection(const std::string& target, const std::string& budget) const;  // selection.json
  // A trained model's files, in its folder.
  static std::string checkpoint(const std::string& model_dir);                             // checkpoint_last.pt
  static std::string hypotheses(const std::string& model_dir, const std::string& split);   // <split>.hyp
  static std::string evaluation(const std::string& model_dir);                             // evaluation.json
  // export
  std::string export_dir(const std::string& target, const std::string& budget) const;
  // report
  std::string summary() const;  // summary.json
  std::string report_markdown() const;
  std::string report_html() const;

 private:
  // WORKDIR/AREA[/TARGET][/REST]
  std::string under(const std::string& area, const std::string& target, const std::string& rest = "") const;
  std::string root_;
};

}  // namespace thanos
