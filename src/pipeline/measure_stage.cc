// measure: the latency/memory dataset on each target (WORKDIR/measure[/<target>]/latency.csv).
#include "estimates.h"
#include "stage.h"
#include "target_measurement.h"
#include "thanos/pipeline/stage_outputs.h"
#include "unit.h"

namespace thanos {
namespace {

class MeasureStage : public Stage {
 public:
  std::string name() const override { return "measure"; }
  // The prepared vocabulary sets the output projection measured (measured_protocol).
  std::vector<std::string> upstream() const override { return {"prepare"}; }
  std::string inputs_hash(const Plan& p) const override {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& t : p.targets) all.push_back({t.spec.name, measure_unit_hash(p, t, measured_protocol(p, t))});
    return hash_of(all);
  }
  double estimate_seconds(const Plan& p) const override {
    double s = 0;
    for (const auto& t : p.targets) s += (p.config.measure_samples + 4) * measurement_seconds(t);
    return s;
  }
  std::string output_area() const override { return "measure"; }
  bool has_units() const override { return true; }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    std::vector<MeasuredDataset> out;
    for (const auto& t : p.targets) {
      const Log log = target_log(p, t, ctx.log);
      const Unit unit{p.dir.measure_dir(t.spec.name), measure_unit_hash(p, t, measured_protocol(p, t))};
      if (auto done = cached_unit(unit)) {
        log("dataset measured already with the same settings: " + p.dir.dataset(t.spec.name));
        MeasuredDataset d;
        from_json(*done, unit.path() + ": outputs", &d);
        out.push_back(d);
        continue;
      }
      MeasureOptions o = target_measure_options(p, t);
      o.space_path = p.space_path;
      o.out_path = p.dir.dataset(t.spec.name);
      o.job.samples = p.config.measure_samples;
      o.job.seed = p.config.seed;
      if (p.config.measure_cooldowns) o.job.max_cooldowns = *p.config.measure_cooldowns;
      const MeasureSummary s = run_measure(o, log, ctx.stop);
      if (s.interrupted) return {to_json(out), true};
      const MeasuredDataset d{t.spec.name, o.out_path, measure_summary_json(s, o)};
      complete_unit(unit, to_json(d));
      out.push_back(d);
    }
    return {to_json(out)};
  }
};

}  // namespace

std::unique_ptr<Stage> make_measure_stage() { return std::make_unique<MeasureStage>(); }

}  // namespace thanos
