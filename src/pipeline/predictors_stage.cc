// predictors: latency and memory predictors fitted on each target's dataset (WORKDIR/predictors).
#include <filesystem>

#include "stage.h"
#include "thanos/commands/fit_predictor.h"
#include "thanos/pipeline/stage_outputs.h"

namespace thanos {
namespace {

class PredictorsStage : public Stage {
 public:
  std::string name() const override { return "predictors"; }
  std::vector<std::string> upstream() const override { return {"measure"}; }
  std::string inputs_hash(const Plan& p) const override { return hash_of({{"up", p.hashes.at("measure")}}); }
  double estimate_seconds(const Plan& p) const override { return 3.0 * static_cast<double>(p.targets.size()); }
  std::string output_area() const override { return "predictors"; }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    std::vector<TargetPredictors> out;
    for (const auto& t : p.targets) {
      const Log log = target_log(p, t, ctx.log);
      TargetPredictors entry;
      entry.target = t.spec.name;
      std::filesystem::create_directories(p.dir.predictors_dir(t.spec.name));
      for (auto [what, fit] : {std::pair<std::string, PredictorFit*>{"latency", &entry.latency}, {"memory", &entry.memory}}) {
        FitPredictorOptions o;
        o.data_path = p.dir.dataset(t.spec.name);
        o.format = "thanos";
        o.target = what;
        o.out_path = p.dir.predictor(t.spec.name, what);
        o.seed = p.config.seed;
        const FitPredictorReport r = run_fit_predictor(o);
        log(what + " predictor: " + r.json.dump());
        *fit = {o.out_path, r.json};
      }
      out.push_back(entry);
    }
    return {to_json(out)};
  }
};

}  // namespace

std::unique_ptr<Stage> make_predictors_stage() { return std::make_unique<PredictorsStage>(); }

}  // namespace thanos
