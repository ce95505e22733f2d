#pragma once
// thanos run CONFIG (docs/PIPELINE.md): the whole path from a corpus and a device to deployable,
// budget-satisfying models in one command. Stages, in order:
//   prepare    corpus -> sentencepiece + binarized splits                     WORKDIR/data
//   super      SuperTransformer training (a SubTransformer sampled per update) WORKDIR/super
//   measure    latency/memory dataset on the target                            WORKDIR/measure/latency.csv
//   predictors latency and memory predictors fitted on it                      WORKDIR/predictors
//   search     per budget pair: budgets resolved (percentiles), search, the
//              homogeneous baseline chosen by measurement                      WORKDIR/search/<budget>
//   final      chosen, largest and baseline trained identically                WORKDIR/final
//   evaluate   BLEU/chrF on test, measured latency/memory, translation speed   WORKDIR/final/.../evaluation.json
//   export     dynamic and static ONNX of each chosen model                    WORKDIR/export/<budget>
//   report     summary.json, report.md, report.html                            WORKDIR
// Each stage is an object in its own file (src/pipeline/*_stage.cc, the Stage interface of
// src/pipeline/stage.h); every path comes from WorkDir (work_dir.h) and every record it writes is
// a typed value (stage_outputs.h). Each stage records the hash of its inputs
// (WORKDIR/stages/<stage>.json) and is skipped when it already ran with the same inputs; an
// interrupted stage resumes (training from its last checkpoint, measurement from the rows it has);
// `from_stage` re-runs from a stage on.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "thanos/pipeline/run_config.h"
#include "thanos/pipeline/run_summary.h"

namespace thanos {

struct RunOptions {
  std::string config_path;
  std::string workdir;
  std::string data_root;   // where a relative corpus folder is looked for first (--data)
  std::string from_stage;  // re-run from this stage on ("" = only what is not done)
  bool dry_run = false;
  // Measure (the measure, search and evaluate stages on a local target) even when other runnable
  // tasks + the target's threads exceed the cores; refused otherwise (hw/host_load.h).
  bool allow_busy = false;
};

struct StagePlan {
  std::string name;
  std::string inputs_hash;
  bool cached = false;          // done with the same inputs (skipped)
  double estimated_seconds = 0;  // rough, from the settings (docs/PIPELINE.md)
  double budget_seconds = 0;     // from stage_budget_minutes (0 = none)
  double seconds = 0;            // this run (0 when skipped or dry)
};

struct RunResult {
  std::vector<StagePlan> stages;
  RunSummary summary;  // summary.json (empty for a dry run or an interrupted one)
  bool interrupted = false;
  std::string interrupted_at;  // the stage that was running
};

// Exit codes of `thanos run` (docs/PIPELINE.md): 0 done, 1 a stage failed, 2 bad config or
// usage, 3 no model fits a budget, 130 interrupted (resume with the same command).
inline constexpr int kRunExitNothingFits = 3;
inline constexpr int kRunExitInterrupted = 130;

// Throws std::invalid_argument for a bad config (naming the key) or a missing input.
RunResult run_pipeline(const RunOptions& options, const std::function<void(const std::string&)>& log,
                       const std::atomic<bool>* stop);

// The dry run's table: stage, cached or not, estimate, budget, and the total.
std::string format_plan(const std::vector<StagePlan>& stages);

}  // namespace thanos
