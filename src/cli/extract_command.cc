#include <cstdio>

#include "command.h"
#include "thanos/commands/commands.h"

namespace thanos::cli {

Command add_extract_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("extract", "Extract a standalone SubTransformer (compact weights) from a "
                                               "SuperTransformer model file");
  auto opt = std::make_shared<ExtractOptions>();
  auto no_verify = std::make_shared<bool>(false);
  app->add_option("--checkpoint", opt->checkpoint_path, "SuperTransformer model file")->required()->check(CLI::ExistingFile);
  app->add_option("--config", opt->config_path, "SubTransformer config (HAT YAML or .json)")->required()->check(CLI::ExistingFile);
  app->add_option("--out", opt->out_path, "Standalone model file to write")->required();
  app->add_flag("--no-verify", *no_verify, "Skip comparing the two models' outputs on random batches");
  app->add_option("--seed", opt->seed, "Seed of the verification batches")->capture_default_str();
  return {app, [=]() {
            opt->verify = !*no_verify;
            ExtractResult r = run_extract(*opt);
            print_warnings(r.warnings);
            std::cout << "wrote " << opt->out_path << " (standalone SubTransformer, " << r.parameters << " parameters";
            if (r.parameters != r.expected_parameters) std::cout << "; cost model expected " << r.expected_parameters;
            std::cout << ")\n";
            if (r.max_abs_diff >= 0) {
              std::printf("verified: max |SuperTransformer - SubTransformer| logits difference = %.3g\n", r.max_abs_diff);
              if (r.max_abs_diff > 1e-4) {
                std::fprintf(stderr, "thanos extract: error: outputs differ by more than 1e-4\n");
                return 1;
              }
            }
            return 0;
          }};
}

}  // namespace thanos::cli
