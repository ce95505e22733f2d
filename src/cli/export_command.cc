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
  app->add_option("--calibration-data", opt->calibration.data_dir,
                  "Prepared data (`thanos prepare` output): also write int8 calibration inputs of both static graphs to "
                  "OUT/calibration for rknn-toolkit2 (docs/DEPLOY.md)")->check(CLI::ExistingDirectory);
  app->add_option("--calibration-split", opt->calibration.split, "Split whose sentences calibrate")->capture_default_str();
  app->add_option("--calibration-sentences", opt->calibration.sentences, "Sentences translated for calibration")
      ->capture_default_str()->check(CLI::PositiveNumber);
  return {app, [=]() {
            ExportCommandResult r = run_export(*opt);
            print_warnings(r.warnings);
            std::cout << "exported " << r.config.summary() << (r.extracted ? " (extracted from the SuperTransformer)" : "")
                      << "\n  " << r.encoder_path << " (" << r.encoder_nodes << " nodes)\n  " << r.decoder_path << " ("
                      << r.decoder_nodes << " nodes)\n  " << r.sidecar_path << "\n"
                      << "checked: onnx checker and full shape inference passed for both graphs\n";
            if (r.calibration) {
              const auto& c = *r.calibration;
              std::cout << "calibration: " << c.encoder_samples << " encoder and " << c.decoder_samples << " decoder-step samples from "
                        << c.sentences << " sentences (" << c.skipped_too_long << " longer than the export skipped)\n  "
                        << c.encoder_list << "\n  " << c.decoder_list << "\n";
            }
            return 0;
          }};
}

}  // namespace thanos::cli
