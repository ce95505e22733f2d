// export: dynamic and static ONNX graphs of each chosen model, and for an NPU target the script
// that converts them with rknn-toolkit2 (WORKDIR/export[/<target>]/<budget>).
#include <algorithm>
#include <filesystem>

#include "estimates.h"
#include "stage.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/stage_outputs.h"
#ifdef THANOS_WITH_ONNX  // set by the folder's CMakeLists.txt when Debian's libonnx-dev was found
#include "thanos/commands/export.h"
#endif

namespace thanos {
namespace {

class ExportStage : public Stage {
 public:
  std::string name() const override { return "export"; }
  std::vector<std::string> upstream() const override { return {"final"}; }
  std::string inputs_hash(const Plan& p) const override {
    return hash_of({{"up", p.hashes.at("final")}, {"static", {p.config.static_src_len, p.config.static_tgt_len}}});
  }
  double estimate_seconds(const Plan& p) const override { return budget_count(p) * 5; }
  std::string output_area() const override { return "export"; }
  StageRun run(const StageContext& ctx) const override {
    std::vector<ExportedModel> out;
#ifndef THANOS_WITH_ONNX
    ctx.log("this build has no ONNX export (libonnx-dev): nothing exported");
#else
    const Plan& p = ctx.plan;
    namespace fs = std::filesystem;
    for (const ChosenModel& chosen : read_stage_outputs<FinalOutput>(p.dir.stage_record("final")).chosen) {
      const std::string base = p.dir.export_dir(chosen.target, chosen.budget);
      ExportedModel entry{chosen.target, chosen.budget, base + "/dynamic", base + "/static", std::nullopt};
      for (const bool is_static : {false, true}) {
        ExportCommandOptions o;
        o.checkpoint_path = chosen.model;
        o.out_dir = is_static ? entry.static_dir : entry.dynamic_dir;
        if (is_static) o.static_lengths = std::to_string(p.config.static_src_len) + "," + std::to_string(p.config.static_tgt_len);
        const ExportCommandResult r = run_export(o);
        // File names say which graphs are which, also outside their folders.
        for (const auto& [from, to] : {std::pair{r.encoder_path, o.out_dir + (is_static ? "/encoder_static.onnx" : "/encoder_dynamic.onnx")},
                                        {r.decoder_path, o.out_dir + (is_static ? "/decoder_step_static.onnx" : "/decoder_step_dynamic.onnx")}}) {
          fs::copy_file(from, to, fs::copy_options::overwrite_existing);
        }
        ctx.log("exported " + o.out_dir);
      }
      const bool npu = std::any_of(p.targets.begin(), p.targets.end(),
                                   [&](const TargetPlan& t) { return t.spec.name == chosen.target && t.spec.is_npu(); });
      if (npu) {
        const std::string script = base + "/convert_rknn.sh";
        write_file_atomically(script, "#!/bin/sh\n# Convert for the RK3588 where rknn-toolkit2 is installed (docs/DEPLOY.md).\nset -e\n"
                                      "python3 tools/rknn/convert.py " + base + "/static --dtype fp16\n");
        entry.rknn_script = script;
      }
      out.push_back(entry);
    }
#endif
    return {to_json(out)};
  }
};

}  // namespace

std::unique_ptr<Stage> make_export_stage() { return std::make_unique<ExportStage>(); }

}  // namespace thanos
