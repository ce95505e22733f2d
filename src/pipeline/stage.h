#pragma once
// One stage of `thanos run` (docs/PIPELINE.md): its name, the stages whose outputs it reads, the
// hash of its inputs, a rough estimate of its cost, the folder it writes and how it runs. The
// runner (pipeline.cc) knows stages only through this interface and stage_registry(); each stage
// lives in its own file (*_stage.cc). Private to src/pipeline.
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan.h"
#include "thanos/pipeline/pipeline.h"

namespace thanos {

struct StageContext {
  const Plan& plan;
  const Log& log;                      // lines prefixed with the stage's tag
  const std::atomic<bool>* stop;       // Ctrl-C: stop at the next safe point
  const std::vector<StagePlan>& run;   // the run's stage table (the report lists it)
};

struct StageRun {
  nlohmann::ordered_json outputs;  // the stage's typed outputs (stage_outputs.h) as recorded
  bool interrupted = false;        // stopped at a safe point: the record stays incomplete, to resume
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string name() const = 0;
  // The stages whose outputs it reads: it runs again whenever one of them does.
  virtual std::vector<std::string> upstream() const = 0;
  // Its settings and its upstream's hashes (`p.hashes` holds every earlier stage's).
  virtual std::string inputs_hash(const Plan& p) const = 0;
  // Rough seconds from the settings (estimates.h).
  virtual double estimate_seconds(const Plan& p) const = 0;
  // The folder under WORKDIR it writes, removed before it runs with other inputs ("": none).
  virtual std::string output_area() const { return ""; }
  // Whether its units (targets, models) keep their outputs while their own inputs are unchanged
  // (unit.h): then its folder is cleared only when --from forces the stage.
  virtual bool has_units() const { return false; }
  virtual StageRun run(const StageContext& context) const = 0;
};

// Every stage, in pipeline order.
const std::vector<std::unique_ptr<Stage>>& stage_registry();

// One factory per stage file.
std::unique_ptr<Stage> make_prepare_stage();
std::unique_ptr<Stage> make_super_stage();
std::unique_ptr<Stage> make_measure_stage();
std::unique_ptr<Stage> make_predictors_stage();
std::unique_ptr<Stage> make_search_stage();
std::unique_ptr<Stage> make_final_stage();
std::unique_ptr<Stage> make_evaluate_stage();
std::unique_ptr<Stage> make_export_stage();
std::unique_ptr<Stage> make_report_stage();

}  // namespace thanos
