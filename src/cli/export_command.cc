#include <cstdio>

#include "command.h"
#include "thanos/commands/export.h"

namespace thanos::cli {

Command add_export_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("export", "Export a SubTransformer to ONNX: encoder and decoder-step graphs (opset 17) "
                                              "plus a JSON sidecar (docs/EXPORT.md)");
  auto opt = std::make_shared<ExportCommandOptions>();
  app->add_option("--checkpoint", opt->checkpoint_path, "Model file: a standalone SubTransformer, or a SuperTransformer "
                                                        "with --config")->required()->check(CLI::ExistingFile);
  app->add_option("--config", opt->config_path, "SubTransformer config (HAT YAML or .json) to extract from a "
                                                "SuperTransformer")->check(CLI::ExistingFile);
  app->add_option("--out", opt->out_dir, "Output directory (encoder.onnx, decoder_step.onnx, thanos_export.json)")->required();
  app->add_option("--static", opt->static_lengths, "SRC_LEN,TGT_LEN: static shapes for NPUs (batch 1, fixed source "
                                                   "length, self-attention cache of TGT_LEN steps)");
  app->add_option("--dtype", opt->dtype, "float32 or float16 (weights and activations)")->capture_default_str();
  return {app, [=]() {
            ExportCommandResult r = run_export(*opt);
            print_warnings(r.warnings);
            std::cout << "exported " << r.config.summary() << (r.extracted ? " (extracted from the SuperTransformer)" : "")
                      << "\n  " << r.encoder_path << " (" << r.encoder_nodes << " nodes)\n  " << r.decoder_path << " ("
                      << r.decoder_nodes << " nodes)\n  " << r.sidecar_path << "\n"
                      << "checked: onnx checker and full shape inference passed for both graphs\n";
            return 0;
          }};
}

}  // namespace thanos::cli
