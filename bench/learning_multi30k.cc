// Learning on real data: Multi30k En-De prepared with the library's `prepare` (joint
// sentencepiece, vocab 8000), the demo SuperTransformer (configs/spaces/demo.yml) trained by
// Trainer::run for a fixed number of updates (HAT: a random SubTransformer per update), and the
// validation loss curve of the largest and smallest SubTransformers with inherited weights
// (FitnessEvaluator on the whole valid split) every K updates, from the progress callback.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench_common.h"
#include "thanos/commands/prepare.h"
#include "thanos/model/model_options.h"
#include "thanos/train/fitness.h"
#include "thanos/train/trainer.h"

using namespace thanos;
using namespace thanos::bench;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"THANOS learning benchmark on Multi30k (validation loss curve of the SuperTransformer)"};
  std::string corpus = "/work/shared/data/multi30k", work_dir, prepared, space_arg = "demo.yml", json_out;
  int updates = 400, eval_every = 50, max_tokens = 4096, threads = 2, vocab = 8000;
  double lr = 1e-3;
  std::int64_t warmup = -1;
  std::uint64_t seed = 1;
  bool keep = false;
  app.add_option("--corpus", corpus, "Multi30k directory (train.en/.de, valid.en/.de)")->capture_default_str();
  app.add_option("--prepared", prepared, "Use this prepared data directory instead of running prepare");
  app.add_option("--work-dir", work_dir, "Where prepared data goes (default: a fresh temporary directory)");
  app.add_option("--space", space_arg, "Search space (file under configs/spaces or a path)")->capture_default_str();
  app.add_option("--vocab", vocab, "Joint sentencepiece vocabulary")->capture_default_str();
  app.add_option("--updates", updates, "Training budget in updates")->capture_default_str();
  app.add_option("--eval-every", eval_every, "Validate the largest and smallest every K updates")->capture_default_str();
  app.add_option("--max-tokens", max_tokens, "Tokens per batch")->capture_default_str();
  app.add_option("--lr", lr, "Peak learning rate (inverse_sqrt)")->capture_default_str();
  app.add_option("--warmup-updates", warmup, "Linear warm-up (default: updates / 4)");
  app.add_option("--threads", threads, "CPU threads")->capture_default_str();
  app.add_option("--seed", seed, "Seed (data order, dropout, sampled SubTransformers)")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write the curve as JSON here");
  app.add_flag("--keep", keep, "Keep the prepared data");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);

  std::string data_dir = prepared;
  bool made_dir = false;
  if (data_dir.empty()) {
    if (!fs::exists(corpus + "/train.en") || !fs::exists(corpus + "/valid.de")) {
      std::printf("SKIPPED: no Multi30k corpus at %s (train.en/de, valid.en/de); pass --corpus DIR\n", corpus.c_str());
      return 0;
    }
    if (work_dir.empty()) work_dir = (fs::temp_directory_path() / ("thanos_bench_learning_" + std::to_string(::getpid()))).string();
    data_dir = work_dir + "/data";
    made_dir = true;
    PrepareOptions po;
    po.train_prefix = corpus + "/train";
    po.valid_prefix = corpus + "/valid";
    po.src_lang = "en";
    po.tgt_lang = "de";
    po.out_dir = data_dir;
    po.vocab_size = vocab;
    po.overwrite = true;
    const auto t0 = Clock::now();
    std::printf("prepare: %s -> %s (joint sentencepiece, vocab %d)\n", corpus.c_str(), data_dir.c_str(), vocab);
    std::fflush(stdout);
    run_prepare(po);
    std::printf("prepare: %.1f s\n", seconds_since(t0));
  }
  const auto manifest = load_prepared_manifest(data_dir);
  vocab = manifest.at("vocab_size").get<int>();
  const BinarizedSplit train = load_prepared_split(data_dir, "train");
  const BinarizedSplit valid = load_prepared_split(data_dir, "valid");

  const SearchSpace space = load_space(space_arg);
  const SubConfig largest = space.largest(), smallest = space.smallest();
  const ModelOptions options = super_model_options(space, vocab, vocab);
  torch::manual_seed(seed);
  SuperTransformer model(options);

  TrainOptions to;
  to.max_updates = updates;
  to.batching.max_tokens = max_tokens;
  to.lr.lr = lr;
  to.lr.warmup_updates = warmup >= 0 ? warmup : updates / 4;
  to.seed = seed;
  to.log_every = eval_every;
  TrainTarget target;
  target.mode = TrainMode::kSuperTransformer;
  target.space = space;
  ModelFileInfo info;
  info.options = options;
  Trainer trainer(model, info, train, to, target);

  FitnessOptions fo;
  fo.max_tokens = max_tokens;
  fo.label_smoothing = to.label_smoothing;
  FitnessEvaluator eval(model, valid, fo);

  std::int64_t train_tokens = 0;
  for (std::size_t i = 0; i < train.size(); ++i) train_tokens += static_cast<std::int64_t>(train.tgt_len(i));
  std::printf("Budget: %d updates of <= %d tokens (train: %zu pairs, %lld target tokens; ~%.1f epochs), lr %.0e "
              "inverse_sqrt, warm-up %lld, %d thread(s), seed %llu\n",
              updates, max_tokens, train.size(), static_cast<long long>(train_tokens),
              static_cast<double>(updates) * max_tokens * 0.8 / static_cast<double>(train_tokens), lr,
              static_cast<long long>(to.lr.warmup_updates), threads, static_cast<unsigned long long>(seed));
  std::printf("SuperTransformer: %s, vocab %d; validation: %zu pairs (all), every %d updates\n", space_arg.c_str(), vocab,
              valid.size(), eval_every);
  std::printf("largest:  %s\nsmallest: %s\nload average %s\n\n", largest.summary().c_str(), smallest.summary().c_str(),
              load_average().c_str());

  std::printf("Table 5. Validation loss (label-smoothed, base 2, per target token) of inherited-weight SubTransformers\n");
  std::printf("%7s | %10s | %14s | %12s | %15s | %13s | %9s | %9s\n", "update", "train loss", "valid largest", "ppl largest",
              "valid smallest", "ppl smallest", "tok/s", "elapsed");
  print_rule(108);
  nlohmann::json curve = nlohmann::json::array();
  double eval_seconds = 0;
  const auto start = Clock::now();
  auto report = [&](std::int64_t update, double train_loss, double tok_s) {
    const auto t0 = Clock::now();
    const auto s = eval.score(std::vector<SubConfig>{largest, smallest});
    eval_seconds += seconds_since(t0);
    std::printf("%7lld | %10s | %14.3f | %12.2f | %15.3f | %13.2f | %9.0f | %8.0fs\n", static_cast<long long>(update),
                train_loss > 0 ? std::to_string(train_loss).substr(0, 6).c_str() : "-", s[0].loss, s[0].ppl, s[1].loss,
                s[1].ppl, tok_s, seconds_since(start));
    std::fflush(stdout);
    curve.push_back({{"update", update}, {"train_loss", train_loss}, {"valid_largest", s[0].loss}, {"ppl_largest", s[0].ppl},
                     {"valid_smallest", s[1].loss}, {"ppl_smallest", s[1].ppl}, {"tokens_per_second", tok_s},
                     {"elapsed_seconds", seconds_since(start)}});
    return s;
  };
  report(0, 0, 0);
  eval_seconds = 0;  // count only the validations made during training
  std::vector<ValidScore> last;
  const auto train_start = Clock::now();
  TrainResult result = trainer.run([&](const TrainProgress& p) { last = report(p.update, p.loss, p.tokens_per_second); });
  const double total = seconds_since(train_start);
  std::printf("\nFinal (update %lld): inherited-weight validation loss largest %.3f (ppl %.2f), smallest %.3f (ppl %.2f)\n",
              static_cast<long long>(result.updates), last[0].loss, last[0].ppl, last[1].loss, last[1].ppl);
  std::printf("Wall time: %.0f s (training %.0f s, validation during training %.0f s); load average %s\n",
              seconds_since(start), total - eval_seconds, eval_seconds, load_average().c_str());
  if (!json_out.empty()) std::ofstream(json_out) << curve.dump(1) << "\n";
  if (made_dir && !keep) fs::remove_all(work_dir);
  return 0;
}
