#pragma once
// What each stage of `thanos run` records as its outputs (WORKDIR/stages/<stage>.json, "outputs")
// and what the next stages and the report read back: typed values with one JSON form each. The JSON
// keys and their order are the run directory's file format (docs/PIPELINE.md), kept as they were
// when these records were raw JSON, so that run directories made before stay readable and cached.
// from_json throws std::invalid_argument naming the key that is missing or of the wrong type.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace thanos {

using OrderedJson = nlohmann::ordered_json;

// prepare
struct PrepareOutput {
  std::string data, manifest_hash;
};

// super
struct SuperOutput {
  std::string checkpoint;
};

// measure: one per target
struct MeasuredDataset {
  std::string target, dataset;
  OrderedJson summary;  // `thanos measure`'s summary (measure_summary_json)
  int rows() const;     // measured now and found in the file
};

// predictors: one per target
struct PredictorFit {
  std::string file;
  OrderedJson test;  // `thanos fit-predictor`'s held-out report
};
struct TargetPredictors {
  std::string target;
  PredictorFit latency, memory;
};

// A budget claim on the target (hw/budget_claim.h) as the stages record it: raw readings, the
// medians with their 90% intervals, the verdict and the drift reference read beside them.
struct MeasurementRecord {
  bool feasible = false;
  std::string reason;
  std::string verdict;  // fits | does not fit | undecided; "" when judged against no budget
  std::optional<double> latency_ms, memory_mib;  // medians (memory: of each reading's peak)
  std::optional<double> latency_ms_low, latency_ms_high, memory_mib_low, memory_mib_high;  // 90% intervals
  std::vector<double> latencies_ms, memories_mib, reference_ms;  // every reading, in order
  std::optional<double> reference_baseline_ms, reference_drift;  // the reference during the dataset; drift of its median now
  bool drifting = false;  // |drift| beyond the tolerance: flagged, never divided away
  bool screened = false;  // one screening reading, no claim (the baseline's screening, a far-over candidate)
  std::string memory_kind;
  std::string backend;  // what measured it (cpu, ort-cpu, remote://host:port/cpu, ...)
  std::string runtime;  // libtorch | onnxruntime | rknn (runtime_of_backend)
  bool fits() const { return verdict == "fits"; }
};

// HAT's homogeneous baseline under one budget pair: each member tried and the one kept.
struct BaselineTrial {
  std::string config;  // SubConfig::summary()
  double predicted_latency_ms = 0;
  bool fits = false;
  MeasurementRecord measurement;
};
struct BaselineChoice {
  bool found = false;
  std::string config;  // baseline.yml (found)
  MeasurementRecord measurement;
  std::vector<BaselineTrial> tried;
};

// A budget pair resolved against the target's dataset (budgets.h); absent: no such budget.
struct BudgetLimits {
  std::optional<double> latency_ms, memory_mib;
  std::string latency_spec, memory_spec;  // as written in the config (p40, 150ms, ...)
};

// search: one per target and budget pair
struct BudgetSearch {
  std::string target, target_label, name;
  BudgetLimits budget;
  double feasible_fraction = 0;
  bool found = false;
  std::string nothing_fits;  // why nothing fits ("" when something does)
  std::string search;        // search.json
  BaselineChoice baseline;
  // "budget" or "target/budget": the folder under search/ and the report's name for it.
  std::string label() const { return target.empty() ? name : target + "/" + name; }
};

// final: every model trained, then the chosen model of each budget
struct TrainedModel {
  std::string role;  // largest | finalist | baseline
  int rank = 0;      // a finalist's place in the search's order (1: its best)
  std::string target, budget, config, model;
};
struct SelectionCandidate {
  std::string name, config, model;
  // On the valid split (absent with final.select: search, which scores nothing).
  std::optional<double> valid_bleu, valid_chrf;
  std::optional<int> valid_sentences;
  std::optional<std::string> valid_hypotheses;
};
struct ChosenModel {
  std::string target, budget, config, model;
  std::string selected;  // finalist-<k> | baseline
  std::string select;    // final.select
  std::vector<SelectionCandidate> candidates;
  OrderedJson challenge;  // beats_baseline: compare_hypotheses() of the best finalist and the baseline, else null
};
struct FinalOutput {
  std::vector<TrainedModel> trained;
  std::vector<ChosenModel> chosen;
};

// A trained model's test scores (computed once per model; the largest serves every target).
struct TestScores {
  double bleu = 0, chrf = 0;
  std::string bleu_signature;
  double sentences_per_second_end_to_end = 0, sentences_per_second_decoding = 0;
  int test_sentences = 0;
  std::optional<double> test_nll_loss, test_ppl;
};

// evaluate: every model on each target it is compared on, then the chosen ones again under role
// "chosen" with how they were selected.
struct ModelEvaluation {
  std::string role;  // largest | finalist | baseline | chosen
  int rank = 0;
  std::string target, budget;
  std::string config;  // SubConfig::summary()
  std::string config_file, config_hash, model;
  TestScores scores;
  // Its budget claim on the target: against the budget pair for a finalist, the baseline and the
  // chosen model; against none for the largest (verdict ""). Absent: not measured.
  std::optional<MeasurementRecord> measured;
  int reference_cooldowns = 0;  // cool-downs waited before it (target_measurement.h, settle_target)
  std::int64_t params = 0;
  std::optional<ChosenModel> selection;  // role "chosen": how it was selected
};

// export: one per chosen model
struct ExportedModel {
  std::string target, budget;
  std::string dynamic_dir, static_dir;
  std::optional<std::string> rknn_script;  // targets on an NPU
};

// report
struct ReportFiles {
  std::string summary, markdown, html;
};

OrderedJson to_json(const PrepareOutput& o);
OrderedJson to_json(const SuperOutput& o);
OrderedJson to_json(const MeasuredDataset& o);
OrderedJson to_json(const TargetPredictors& o);
OrderedJson to_json(const MeasurementRecord& o);
OrderedJson to_json(const BaselineChoice& o);
OrderedJson to_json(const BudgetLimits& o);
OrderedJson to_json(const BudgetSearch& o);
OrderedJson to_json(const TrainedModel& o);
OrderedJson to_json(const ChosenModel& o);
OrderedJson to_json(const FinalOutput& o);
OrderedJson to_json(const TestScores& o);
OrderedJson to_json(const ModelEvaluation& o);
OrderedJson to_json(const ExportedModel& o);
OrderedJson to_json(const ReportFiles& o);
template <typename T>
OrderedJson to_json(const std::vector<T>& items) {
  OrderedJson a = OrderedJson::array();
  for (const auto& i : items) a.push_back(to_json(i));
  return a;
}

// Readers: `where` names the record in errors (e.g. "WORKDIR/stages/search.json: outputs[1]").
void from_json(const OrderedJson& j, const std::string& where, PrepareOutput* o);
void from_json(const OrderedJson& j, const std::string& where, SuperOutput* o);
void from_json(const OrderedJson& j, const std::string& where, MeasuredDataset* o);
void from_json(const OrderedJson& j, const std::string& where, TargetPredictors* o);
void from_json(const OrderedJson& j, const std::string& where, MeasurementRecord* o);
void from_json(const OrderedJson& j, const std::string& where, BaselineChoice* o);
void from_json(const OrderedJson& j, const std::string& where, BudgetLimits* o);
void from_json(const OrderedJson& j, const std::string& where, BudgetSearch* o);
void from_json(const OrderedJson& j, const std::string& where, TrainedModel* o);
void from_json(const OrderedJson& j, const std::string& where, ChosenModel* o);
void from_json(const OrderedJson& j, const std::string& where, FinalOutput* o);
void from_json(const OrderedJson& j, const std::string& where, TestScores* o);
void from_json(const OrderedJson& j, const std::string& where, ModelEvaluation* o);
void from_json(const OrderedJson& j, const std::string& where, ExportedModel* o);
void from_json(const OrderedJson& j, const std::string& where, ReportFiles* o);
template <typename T>
void from_json(const OrderedJson& j, const std::string& where, std::vector<T>* items) {
  if (!j.is_array()) throw std::invalid_argument(where + ": expected a list");
  items->clear();
  for (std::size_t i = 0; i < j.size(); ++i) {
    T item;
    from_json(j[i], where + "[" + std::to_string(i) + "]", &item);
    items->push_back(std::move(item));
  }
}

// A completed stage's outputs, read from its record (WORKDIR/stages/<stage>.json). Throws
// std::invalid_argument naming the file when it is missing, damaged or not completed.
OrderedJson read_stage_outputs_json(const std::string& record_path);
template <typename T>
T read_stage_outputs(const std::string& record_path) {
  T out;
  from_json(read_stage_outputs_json(record_path), record_path + ": outputs", &out);
  return out;
}

}  // namespace thanos
