#include "command.h"
#include "thanos/commands/prepare.h"

namespace thanos::cli {

Command add_prepare_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("prepare", "Raw parallel text -> joint sentencepiece model, binarized splits and a "
                                               "manifest (the input of thanos train/valid)");
  auto o = std::make_shared<PrepareOptions>();
  app->add_option("--train", o->train_prefix, "Training prefix: reads PREFIX.SRC and PREFIX.TGT (or .gz)")->required();
  app->add_option("--valid", o->valid_prefix, "Validation prefix")->required();
  app->add_option("--test", o->test_prefix, "Test prefix (optional; its raw references are kept for BLEU)");
  app->add_option("--src-lang", o->src_lang, "Source language suffix")->capture_default_str();
  app->add_option("--tgt-lang", o->tgt_lang, "Target language suffix")->capture_default_str();
  app->add_option("--out", o->out_dir, "Output directory")->required();
  app->add_option("--spm", o->spm_model, "Use this sentencepiece model instead of training one")->check(CLI::ExistingFile);
  app->add_option("--vocab-size", o->vocab_size, "Joint sentencepiece vocabulary size")->capture_default_str()
      ->check(CLI::Range(16, 1000000));
  app->add_option("--max-len", o->max_len, "Drop training pairs longer than this many tokens")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_flag("--overwrite", o->overwrite, "Replace an existing output directory (once the new one is complete)");
  return {app, [=]() {
            nlohmann::json m = run_prepare(*o);
            std::cout << "wrote " << o->out_dir << ": vocabulary " << m["vocab_size"].get<int>();
            for (auto& [name, s] : m["splits"].items()) {
              std::cout << ", " << name << " " << s["pairs"].get<long long>() << " pairs";
              const long long dropped = s["dropped_empty"].get<long long>() + s["dropped_too_long"].get<long long>();
              if (dropped) std::cout << " (" << dropped << " dropped)";
            }
            std::cout << "\n";
            return 0;
          }};
}

}  // namespace thanos::cli
