#include "command.h"
#include "thanos/commands/commands.h"

namespace thanos::cli {

Command add_info_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("info", "Describe a search space, a SubTransformer config or a model file: exact "
                                            "space size, parameters, FLOPs (HAT's convention) and model size");
  auto opt = std::make_shared<InfoOptions>();
  auto json = std::make_shared<bool>(false);
  auto vocab = std::make_shared<int>(0);
  auto src_len = std::make_shared<int>(0), tgt_len = std::make_shared<int>(0);
  app->add_option("--space", opt->space_path, "Search space YAML (HAT's space*.yml keys plus THANOS' QKV keys)")
      ->check(CLI::ExistingFile);
  app->add_option("--config", opt->config_path, "SubTransformer config (HAT SubTransformer YAML, or .json)")
      ->check(CLI::ExistingFile);
  app->add_option("--checkpoint", opt->checkpoint_path, "Model file (from thanos init/extract/train)")
      ->check(CLI::ExistingFile);
  auto* vocab_opt = app->add_option("--vocab", *vocab, "Vocabulary size for embedding parameters (default: the "
                                                       "model file's, else 32000)")->check(CLI::PositiveNumber);
  auto* src_opt = app->add_option("--src-len", *src_len, "Source length for FLOPs (default: HAT's 30, or 23 for IWSLT "
                                                         "spaces)")->check(CLI::PositiveNumber);
  auto* tgt_opt = app->add_option("--tgt-len", *tgt_len, "Target length for FLOPs (default as --src-len)")
                      ->check(CLI::PositiveNumber);
  app->add_flag("--json", *json, "Print JSON (params, params_no_embed, flops, size_mib, ...)");
  return {app, [=]() {
            if (*vocab_opt) opt->vocab_size = *vocab;
            if (*src_opt) opt->src_len = *src_len;
            if (*tgt_opt) opt->tgt_len = *tgt_len;
            InfoReport r = run_info(*opt);
            print_warnings(r.warnings);
            std::cout << (*json ? r.data.dump(2) + "\n" : render_info_text(r.data));
            return 0;
          }};
}

}  // namespace thanos::cli
