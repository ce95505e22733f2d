#include "command.h"
#include "thanos/commands/commands.h"

namespace thanos::cli {

Command add_sample_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("sample", "Write SubTransformer configs (HAT YAML) drawn from a search space");
  auto opt = std::make_shared<SampleOptions>();
  auto kind = std::make_shared<std::string>("random");
  app->add_option("--space", opt->space_path, "Search space YAML")->required()->check(CLI::ExistingFile);
  app->add_option("--kind", *kind, "random (HAT's uniform sampling), smallest or largest")
      ->check(CLI::IsMember({"random", "smallest", "largest"}))->capture_default_str();
  app->add_option("--seed", opt->seed, "Random seed")->capture_default_str();
  app->add_option("--count", opt->count, "How many random configs (more than one: --out is a directory)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app->add_option("--out", opt->out_path, "Output YAML file, or directory when --count > 1")->required();
  return {app, [=]() {
            opt->kind = sample_kind_from_string(*kind);
            SampleResult r = run_sample(*opt);
            print_warnings(r.warnings);
            for (const auto& p : r.written) std::cout << "wrote " << p << "\n";
            return 0;
          }};
}

}  // namespace thanos::cli
