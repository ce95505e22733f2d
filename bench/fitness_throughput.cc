// Fitness throughput: SubTransformers scored per second by the batched FitnessEvaluator::score
// (batches collated once, inference mode, eval mode), next to a naive loop that, for every
// config, re-batches and re-collates the validation pairs and runs the forward pass with autograd
// on (no InferenceMode / NoGradGuard), in eval mode. Both score the same pairs with the same
// SuperTransformer; the largest difference of the returned losses is printed as a check.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "bench_common.h"
#include "thanos/commands/prepare.h"
#include "thanos/model/model_options.h"
#include "thanos/space/sampler.h"
#include "thanos/train/batch.h"
#include "thanos/train/fitness.h"
#include "thanos/train/loss.h"

using namespace thanos;
using namespace thanos::bench;

namespace {

// What a first implementation would write: batch, collate and run with autograd, per config.
ValidScore naive_score(SuperTransformer& model, const BinarizedSplit& data, const SubConfig& config, int max_tokens,
                       double label_smoothing) {
  model->eval();
  BatchingOptions bo;
  bo.max_tokens = max_tokens;
  double loss = 0, nll = 0;
  std::int64_t ntokens = 0;
  for (const auto& idx : make_batches(data, bo)) {
    const Batch b = collate(data, idx);
    auto sums = label_smoothed_nll_loss(model->forward(b.src, b.prev, config), b.target, label_smoothing, kPadId);
    loss += sums.loss.item<double>();
    nll += sums.nll.item<double>();
    ntokens += b.ntokens;
  }
  ValidScore s;
  s.ntokens = ntokens;
  s.loss = loss / ntokens / std::log(2.0);
  s.nll_loss = nll / ntokens / std::log(2.0);
  s.ppl = std::pow(2.0, s.nll_loss);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"THANOS fitness throughput: batched FitnessEvaluator vs a naive per-config loop"};
  std::string space_arg = "demo.yml", data_dir, threads_arg = "1,2", json_out;
  int vocab = 8000, num_configs = 16, repeats = 3, max_tokens = 4096;
  std::size_t subset = 500;
  app.add_option("--space", space_arg, "Search space (file under configs/spaces or a path)")->capture_default_str();
  app.add_option("--data", data_dir, "Prepared data directory (thanos prepare): score its valid split; default: a "
                                     "synthetic Multi30k-like split (1014 pairs, 6-28 tokens)");
  app.add_option("--vocab", vocab, "Vocabulary (synthetic data only)")->capture_default_str();
  app.add_option("--subset", subset, "Validation pairs scored (a fixed seeded subset)")->capture_default_str();
  app.add_option("--configs", num_configs, "SubTransformers sampled from the space (seeded)")->capture_default_str();
  app.add_option("--max-tokens", max_tokens, "Tokens per batch")->capture_default_str();
  app.add_option("--threads", threads_arg, "Comma-separated thread counts")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repeats; the median is reported")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write the results as JSON here");
  CLI11_PARSE(app, argc, argv);

  const SearchSpace space = load_space(space_arg);
  BinarizedSplit valid;
  std::string data_name;
  if (!data_dir.empty()) {
    const auto manifest = load_prepared_manifest(data_dir);
    vocab = manifest.at("vocab_size").get<int>();
    valid = load_prepared_split(data_dir, "valid");
    data_name = data_dir + " (valid)";
  } else {
    valid = synthetic_corpus(1014, 6, 28, vocab, 3);
    data_name = "synthetic (1014 pairs, 6-28 tokens)";
  }
  // The fixed subset, drawn once here so both sides score exactly the same pairs.
  BinarizedSplit data = valid;
  if (subset > 0 && subset < valid.size()) {
    std::vector<std::size_t> idx(valid.size());
    std::iota(idx.begin(), idx.end(), 0);
    Rng rng(1);
    for (std::size_t i = 0; i < subset; ++i) std::swap(idx[i], idx[i + rng.uniform_index(idx.size() - i)]);
    idx.resize(subset);
    std::sort(idx.begin(), idx.end());
    data = valid.subset(idx);
  }
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < data.size(); ++i) tokens += static_cast<std::int64_t>(data.tgt_len(i));

  torch::manual_seed(1);
  SuperTransformer model(super_model_options(space, vocab, vocab));
  const std::vector<SubConfig> configs = sample_configs(space, 7, num_configs);
  const double label_smoothing = 0.1;

  std::printf("Fitness throughput: %d SubTransformers sampled from %s (vocab %d), %zu validation pairs (%lld target "
              "tokens) of %s, max tokens %d\n",
              num_configs, space_arg.c_str(), vocab, data.size(), static_cast<long long>(tokens), data_name.c_str(),
              max_tokens);
  std::printf("protocol: one warm-up pass, then median of %d timed passes over all configs; load average %s\n\n", repeats,
              load_average().c_str());

  struct Row {
    int threads;
    double batched, naive, batched_spread, naive_spread, setup_ms, max_diff;
  };
  std::vector<Row> rows;
  nlohmann::json all = nlohmann::json::array();
  for (int t : parse_int_list(threads_arg)) {
    torch::set_num_threads(t);
    Row r{};
    r.threads = t;
    FitnessOptions fo;
    fo.max_tokens = max_tokens;
    fo.label_smoothing = label_smoothing;
    auto t0 = Clock::now();
    FitnessEvaluator eval(model, data, fo);
    r.setup_ms = 1000.0 * seconds_since(t0);

    std::vector<double> batched_rates, naive_rates;
    std::vector<ValidScore> batched_scores, naive_scores;
    for (int rep = 0; rep <= repeats; ++rep) {
      // Alternate the two so that a change of machine load hits both alike.
      t0 = Clock::now();
      batched_scores = eval.score(configs);
      const double tb = seconds_since(t0);
      t0 = Clock::now();
      naive_scores.clear();
      for (const auto& c : configs) naive_scores.push_back(naive_score(model, data, c, max_tokens, label_smoothing));
      const double tn = seconds_since(t0);
      if (rep > 0) {
        batched_rates.push_back(configs.size() / tb);
        naive_rates.push_back(configs.size() / tn);
      }
    }
    for (std::size_t i = 0; i < configs.size(); ++i) {
      r.max_diff = std::max(r.max_diff, std::abs(batched_scores[i].loss - naive_scores[i].loss));
    }
    r.batched = median(batched_rates);
    r.naive = median(naive_rates);
    r.batched_spread = spread_pct(batched_rates);
    r.naive_spread = spread_pct(naive_rates);
    std::printf("-- %d thread(s): batched %.2f configs/s (setup %.0f ms), naive %.2f configs/s, load %s\n", t, r.batched,
                r.setup_ms, r.naive, load_average().c_str());
    std::fflush(stdout);
    rows.push_back(r);
    all.push_back({{"threads", t}, {"batched_configs_per_s", batched_rates}, {"naive_configs_per_s", naive_rates},
                   {"setup_ms", r.setup_ms}, {"max_abs_loss_diff", r.max_diff}, {"configs", num_configs},
                   {"pairs", data.size()}, {"target_tokens", tokens}});
  }

  std::printf("\nTable 4. Fitness throughput (configs scored per second; %zu pairs, %lld target tokens per config)\n",
              data.size(), static_cast<long long>(tokens));
  std::printf("%7s | %17s | %7s | %15s | %7s | %6s | %10s | %14s\n", "threads", "batched configs/s", "spread",
              "naive configs/s", "spread", "ratio", "setup ms", "max |dloss|");
  print_rule(104);
  for (const auto& r : rows) {
    std::printf("%7d | %17.2f | %6.1f%% | %15.2f | %6.1f%% | %6.2f | %10.0f | %14.2e\n", r.threads, r.batched,
                r.batched_spread, r.naive, r.naive_spread, r.batched / r.naive, r.setup_ms, r.max_diff);
  }
  std::printf("batched = FitnessEvaluator::score(vector<SubConfig>) (collated once, InferenceMode); naive = per config "
              "make_batches + collate + forward with autograd; ratio = batched / naive; setup = the evaluator's one-time "
              "collation (not in its rate)\n");
  if (!json_out.empty()) std::ofstream(json_out) << all.dump(1) << "\n";
  return 0;
}
