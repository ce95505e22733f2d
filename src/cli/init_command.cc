#include "command.h"
#include "thanos/commands/commands.h"

namespace thanos::cli {

Command add_init_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("init", "Create a freshly initialised SuperTransformer model file for a search space");
  auto opt = std::make_shared<InitOptions>();
  auto tgt_vocab = std::make_shared<int>(0);
  app->add_option("--space", opt->space_path, "Search space YAML")->required()->check(CLI::ExistingFile);
  app->add_option("--vocab", opt->vocab_size, "Vocabulary size (joint when embeddings are shared)")
      ->required()->check(CLI::PositiveNumber);
  auto* tgt_opt = app->add_option("--tgt-vocab", *tgt_vocab, "Target vocabulary size when not shared (default: --vocab)")
                      ->check(CLI::PositiveNumber);
  app->add_option("--seed", opt->seed, "Random seed for the initial weights")->capture_default_str();
  app->add_option("--out", opt->out_path, "Model file to write")->required();
  return {app, [=]() {
            if (*tgt_opt) opt->tgt_vocab_size = *tgt_vocab;
            InitResult r = run_init(*opt);
            print_warnings(r.warnings);
            std::cout << "wrote " << opt->out_path << " (SuperTransformer, " << r.parameters << " parameters)\n";
            return 0;
          }};
}

}  // namespace thanos::cli
