#include <iostream>

#include "command.h"
#include "export_runtime_flags.h"
#include "generation_flags.h"
#include "thanos/commands/eval.h"

namespace thanos::cli {

Command add_eval_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("eval", "BLEU and chrF (sacreBLEU 2.6.0) of a model on a prepared split: beam "
                                            "search, sentencepiece detokenization, scoring against the raw references");
  auto o = std::make_shared<EvalOptions>();
  auto json = std::make_shared<bool>(false);
  auto lowercase = std::make_shared<bool>(false);
  auto tokenize = std::make_shared<std::string>("13a");
  auto* model = app->add_option("--model", o->model_path, "Model file: a standalone SubTransformer, or a SuperTransformer with --config")
                    ->check(CLI::ExistingFile);
  add_export_runtime_flags(app, model, *o);
  app->add_option("--config", o->config_path, "SubTransformer to run (HAT YAML or JSON); required for a SuperTransformer")
      ->check(CLI::ExistingFile);
  app->add_option("--data", o->data_dir, "Prepared data directory (thanos prepare)")->required()->check(CLI::ExistingDirectory);
  app->add_option("--split", o->split, "Split to translate and score")->capture_default_str();
  const GenerationFlags generation(app);
  app->add_option("--max-tokens", o->max_tokens, "Token budget per batch (sentences x longest source)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--output", o->output_path, "Also write the detokenized hypotheses here");
  app->add_flag("--lowercase", *lowercase, "Case-insensitive BLEU (sacreBLEU -lc)");
  app->add_option("--tokenize", *tokenize, "BLEU tokenizer: 13a | intl | none")->capture_default_str();
  app->add_flag("--fairseq-bleu", o->fairseq_bleu, "Also fairseq's BLEU on whitespace tokens (HAT's published metric; "
                                                   "for Moses-tokenized data, see docs/SCORING.md)");
  app->add_flag("--compound-split", o->compound_split, "With --fairseq-bleu: HAT's ##AT##-##AT## compound splitting");
  app->add_flag("--json", *json, "Print the result as JSON");
  app->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();

  return {app, [=]() {
            check_model_or_export(*o, "eval");
            if (o->compound_split && !o->fairseq_bleu) {
              throw std::invalid_argument("--compound-split applies to --fairseq-bleu only");
            }
            o->generation = generation.resolve();
            o->bleu.lowercase = *lowercase;
            o->bleu.tokenize = parse_tokenizer(*tokenize);
            const EvalResult r =
                run_eval(*o, [](const std::string& line) { std::cerr << "thanos eval: " << line << std::endl; });
            if (*json) {
              std::cout << r.to_json().dump(2) << "\n";
            } else {
              std::cout << r.to_text();
            }
            return 0;
          }};
}

}  // namespace thanos::cli
