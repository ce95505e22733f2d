#include <cstdio>

#include "command.h"
#include "export_runtime_flags.h"
#include "generation_flags.h"
#include "thanos/commands/translate.h"

namespace thanos::cli {

Command add_translate_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("translate", "Translate text line by line with beam search (sentencepiece in and "
                                                 "out; empty lines stay empty; output in input order)");
  auto o = std::make_shared<TranslateOptions>();

  auto* model = app->add_option("--model", o->model_path, "Model file: a standalone SubTransformer, or a SuperTransformer with --config")
      ->check(CLI::ExistingFile);
  add_export_runtime_flags(app, model, *o);
  app->add_option("--config", o->config_path, "SubTransformer to run (HAT YAML or JSON); required for a SuperTransformer")
      ->check(CLI::ExistingFile);
  app->add_option("--spm", o->spm_path, "Sentencepiece model")->check(CLI::ExistingFile);
  app->add_option("--data", o->data_dir, "Or: the `thanos prepare` directory whose spm.model to use")
      ->check(CLI::ExistingDirectory);
  app->add_option("--input", o->input_path, "Input text, one sentence per line (default: standard input)")
      ->check(CLI::ExistingFile);
  app->add_option("--output", o->output_path, "Output text (default: standard output); written to a temporary file "
                                               "and renamed");
  const GenerationFlags generation(app);  // --preset, --beam, --lenpen, --max-len-a/b, --min-len, --no-cache
  app->add_option("--max-tokens", o->max_tokens, "Token budget per batch (sentences x longest source)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();

  return {app, [=]() {
            check_model_or_export(*o, "translate");
            o->generation = generation.resolve();
            const TranslateResult r =
                run_translate(*o, [](const std::string& line) { std::cerr << "thanos translate: " << line << std::endl; },
                              std::cin, std::cout);
            char summary[128];
            std::snprintf(summary, sizeof(summary), "%zu lines (%zu sentences) in %.1f s", r.lines, r.sentences, r.seconds);
            std::cerr << "thanos translate: " << summary << (o->output_path.empty() ? "" : " -> " + o->output_path)
                      << "\n";
            return 0;
          }};
}

}  // namespace thanos::cli
