#pragma once
// summary.json (docs/PIPELINE.md, "Output"): the machine-readable result of `thanos run`, as a
// typed value for the CLI and the report. Keys and their order are the file's format.
#include <optional>
#include <string>
#include <vector>

#include "thanos/pipeline/stage_outputs.h"

namespace thanos {

struct TargetSummary {
  std::string name, device, backend, protocol, dtype;
  std::string runtime;  // libtorch | onnxruntime | rknn: what ran the models measured on it
};

// One target and budget pair: the models compared under it.
struct BudgetOutcome {
  std::string name, target;
  std::string label;  // "budget" or "target/budget"
  BudgetLimits budget;
  double feasible_fraction = 0;
  std::optional<ModelEvaluation> chosen, baseline, largest;  // absent: none (nothing fits, no baseline)
  std::vector<ModelEvaluation> finalists;
  // The chosen model's budget claim in the evaluate stage (fits | does not fit | undecided; "" when
  // there is none): raw readings, the median's 90% interval (hw/budget_claim.h).
  std::string chosen_verdict;
  bool chosen_is_baseline = false;  // the search did not beat HAT's baseline on this budget
  // Absent without a baseline, or when the chosen model is the baseline: nothing to compare.
  std::optional<bool> chosen_at_least_baseline_bleu;
  OrderedJson chosen_vs_baseline;  // paired bootstrap of chosen against baseline on test, or null
  std::string nothing_fits;
};

struct DatasetSummary {
  std::string target, dataset;
  int rows = 0;
};

struct StageSummary {
  std::string stage;
  bool cached = false;
  double seconds = 0, estimated_seconds = 0, budget_seconds = 0;
};

struct RunSummary {
  std::string name;
  std::vector<TargetSummary> targets;
  std::vector<BudgetOutcome> budgets;  // at least one
  std::vector<ExportedModel> exports;
  std::vector<DatasetSummary> measurement;
  std::vector<StageSummary> stages;
  double seconds = 0;  // the stages that ran
};

// The first target and budget appear again at the top level (the README's headline).
OrderedJson to_json(const RunSummary& s);
void from_json(const OrderedJson& j, const std::string& where, RunSummary* s);

// Throws std::invalid_argument naming the file and the key.
RunSummary read_run_summary(const std::string& path);

}  // namespace thanos
