// super: SuperTransformer training, a SubTransformer sampled per update (WORKDIR/super).
#include "estimates.h"
#include "stage.h"
#include "thanos/pipeline/stage_outputs.h"
#include "training.h"

namespace thanos {
namespace {

class SuperStage : public Stage {
 public:
  std::string name() const override { return "super"; }
  std::vector<std::string> upstream() const override { return {"prepare"}; }
  std::string inputs_hash(const Plan& p) const override {
    const RunConfig& c = p.config;
    return hash_of({{"up", p.hashes.at("prepare")}, {"space", p.space_text}, {"train", train_json(c.super)},
                    {"seed", c.seed}, {"threads", p.threads}, {"device", c.train_device}});
  }
  double estimate_seconds(const Plan& p) const override { return training_seconds(p, p.config.super, mean_params(p)); }
  std::string output_area() const override { return "super"; }
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    TrainCommandOptions o;
    o.data_dir = p.dir.data();
    o.space_path = p.space_path;
    o.save_dir = p.dir.super_dir();
    o.train = stage_train_options(p, p.config.super);
    const bool done = train_to_budget(o, ctx.log);
    return {to_json(SuperOutput{p.dir.super_checkpoint()}), !done};
  }
};

}  // namespace

std::unique_ptr<Stage> make_super_stage() { return std::make_unique<SuperStage>(); }

}  // namespace thanos
