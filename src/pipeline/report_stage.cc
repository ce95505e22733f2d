// report: summary.json, report.md and report.html in WORKDIR (report.h).
#include "stage.h"
#include "thanos/pipeline/report.h"
#include "thanos/pipeline/stage_outputs.h"

namespace thanos {
namespace {

class ReportStage : public Stage {
 public:
  std::string name() const override { return "report"; }
  std::vector<std::string> upstream() const override { return {"evaluate", "export"}; }
  std::string inputs_hash(const Plan& p) const override {
    return hash_of({{"up", p.hashes.at("evaluate")}, {"export", p.hashes.at("export")}});
  }
  double estimate_seconds(const Plan&) const override { return 2; }
  StageRun run(const StageContext& ctx) const override {
    return {to_json(write_run_report(ctx.plan.dir, ctx.plan.config, ctx.run))};
  }
};

}  // namespace

std::unique_ptr<Stage> make_report_stage() { return std::make_unique<ReportStage>(); }

}  // namespace thanos
