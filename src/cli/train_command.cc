#include "command.h"
#include "thanos/commands/train.h"

namespace thanos::cli {

Command add_train_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("train", "Train the SuperTransformer (a sampled SubTransformer per update, as HAT) "
                                             "or one SubTransformer (from scratch or from inherited weights)");
  auto o = std::make_shared<TrainCommandOptions>();
  auto sched = std::make_shared<std::string>("inverse_sqrt");
  auto& t = o->train;
  app->add_option("--data", o->data_dir, "Prepared data directory (thanos prepare)")->required();
  app->add_option("--space", o->space_path, "Search space YAML")->check(CLI::ExistingFile);
  app->add_option("--config", o->config_path, "Train this SubTransformer (HAT YAML/JSON) instead of the SuperTransformer")
      ->check(CLI::ExistingFile);
  app->add_option("--init-from", o->init_from, "SubTransformer: start from this SuperTransformer's inherited weights")
      ->check(CLI::ExistingFile);
  app->add_option("--save-dir", o->save_dir, "Checkpoints (checkpoint_last.pt, checkpoint_N.pt) and train_log.jsonl")
      ->required();
  app->add_flag("--resume", o->resume, "Continue from SAVE_DIR/checkpoint_last.pt");
  app->add_option("--max-updates", t.max_updates, "Training budget in updates")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--max-tokens", t.batching.max_tokens, "Tokens per batch")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--update-freq", t.update_freq, "Batches accumulated per update")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--lr", t.lr.lr, "Peak learning rate")->capture_default_str();
  app->add_option("--lr-scheduler", *sched, "inverse_sqrt, cosine or fixed")->capture_default_str()
      ->check(CLI::IsMember({"inverse_sqrt", "cosine", "fixed"}));
  app->add_option("--warmup-updates", t.lr.warmup_updates, "Linear warm-up updates")->capture_default_str();
  app->add_option("--warmup-init-lr", t.lr.warmup_init_lr, "Learning rate at update 0")->capture_default_str();
  app->add_option("--min-lr", t.lr.min_lr, "Cosine: final learning rate")->capture_default_str();
  app->add_option("--weight-decay", t.weight_decay, "Decoupled weight decay (AdamW)")->capture_default_str();
  app->add_option("--clip-norm", t.clip_norm, "Gradient-norm clipping (0 = off)")->capture_default_str();
  app->add_option("--label-smoothing", t.label_smoothing, "Label smoothing epsilon")->capture_default_str();
  app->add_option("--seed", t.seed, "Seed for data order, dropout and sampled SubTransformers")->capture_default_str();
  app->add_option("--log-every", t.log_every, "Log every N updates")->capture_default_str();
  app->add_option("--save-every", t.save_every, "Checkpoint every N updates (0: at the end)")->capture_default_str();
  app->add_option("--keep-last", t.keep_last, "Numbered checkpoints to keep")->capture_default_str();
  app->add_option("--device", t.device, "cpu, cuda or cuda:N (float32)")->capture_default_str();
  return {app, [=]() {
            o->train.lr.kind = lr_schedule_from_string(*sched);
            TrainCommandResult r = run_train(*o, [](const std::string& line) { std::cerr << line << std::endl; });
            print_warnings(r.warnings);
            if (r.result.interrupted) return 130;
            for (const auto& v : r.final_valid) {
              std::printf("valid %-10s loss %.3f nll %.3f ppl %.2f\n", v["config"].get<std::string>().c_str(),
                          v["loss"].get<double>(), v["nll_loss"].get<double>(), v["ppl"].get<double>());
            }
            std::cout << "checkpoint: " << r.result.last_checkpoint << "\n";
            return 0;
          }};
}

Command add_valid_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("valid", "Validation loss and perplexity of SubTransformers with inherited weights "
                                             "(the search's fitness)");
  auto o = std::make_shared<ValidCommandOptions>();
  auto json = std::make_shared<bool>(false);
  app->add_option("--checkpoint", o->checkpoint_path, "Model file")->required()->check(CLI::ExistingFile);
  app->add_option("--data", o->data_dir, "Prepared data directory")->required();
  app->add_option("--split", o->split, "Split to score")->capture_default_str();
  app->add_option("--config", o->config_paths, "SubTransformer config(s); default: the model's own, or the space's "
                                               "largest and smallest");
  app->add_option("--subset", o->fitness.subset, "Score a fixed random subset of this many pairs (0: all)")
      ->capture_default_str();
  app->add_option("--max-tokens", o->fitness.max_tokens, "Tokens per batch")->capture_default_str();
  app->add_option("--label-smoothing", o->fitness.label_smoothing, "For the reported loss")->capture_default_str();
  app->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  app->add_flag("--json", *json, "Print JSON");
  return {app, [=]() {
            nlohmann::json r = run_valid(*o);
            if (*json) {
              std::cout << r.dump(2) << "\n";
            } else {
              for (const auto& v : r["results"]) {
                std::printf("%-30s loss %.4f nll %.4f ppl %.3f (%lld tokens)\n", v["config"].get<std::string>().c_str(),
                            v["loss"].get<double>(), v["nll_loss"].get<double>(), v["ppl"].get<double>(),
                            v["ntokens"].get<long long>());
              }
            }
            return 0;
          }};
}

Command add_average_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("average", "Average the parameters of checkpoints (fairseq's average_checkpoints)");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  app->add_option("inputs", *inputs, "Checkpoints to average")->required()->check(CLI::ExistingFile);
  app->add_option("--out", *out, "Output model file")->required();
  return {app, [=]() {
            run_average(*inputs, *out);
            std::cout << "wrote " << *out << " (average of " << inputs->size() << ")\n";
            return 0;
          }};
}

}  // namespace thanos::cli
