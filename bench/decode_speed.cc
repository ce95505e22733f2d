// Decoding speed: sentences/s and ms/sentence of beam search with per-layer key/value caches next
// to the same search recomputing the whole prefix at every step, for fixed models of three sizes,
// at batch 1 and at a token-budget batch, beam 1 and beam 4.
//
// The work is made identical on both sides and independent of the (random) weights: every output
// is forced to exactly `--out-len` tokens (min_len = max_len), so a cached and an uncached run
// take the same number of steps over the same beams. Before timing, both decode the first
// sentences and their hypotheses are compared (tokens equal, scores within 1e-4).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "bench_common.h"
#include "thanos/decode/beam_search.h"
#include "thanos/model/model_options.h"

using namespace thanos;
using namespace thanos::bench;

namespace {

struct SizeSpec {
  std::string space, config;  // config: smallest | largest | base
};

const std::map<std::string, SizeSpec>& known_sizes() {
  static const std::map<std::string, SizeSpec> sizes = {
      {"tiny", {"demo.yml", "smallest"}},
      {"small", {"demo.yml", "largest"}},
      {"base", {"hat-wmt14ende-space0.yml", "base"}},
  };
  return sizes;
}

// Sentences as [B, S] right-padded tensors: one per sentence (batch 1), or the translate command's
// packing (sorted by length, sentences x longest source <= max_tokens).
std::vector<torch::Tensor> make_batches_of(const BinarizedSplit& data, std::size_t count, int max_tokens) {
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return data.src_len(a) < data.src_len(b); });
  std::vector<std::vector<std::size_t>> groups;
  std::size_t longest = 0;
  for (auto i : order) {
    const std::size_t len = data.src_len(i);
    if (!groups.empty() && (groups.back().size() + 1) * std::max(longest, len) <= static_cast<std::size_t>(max_tokens)) {
      groups.back().push_back(i);
      longest = std::max(longest, len);
    } else {
      groups.push_back({i});
      longest = len;
    }
  }
  std::vector<torch::Tensor> out;
  for (const auto& g : groups) {
    std::size_t S = 0;
    for (auto i : g) S = std::max(S, data.src_len(i));
    auto t = torch::full({static_cast<int64_t>(g.size()), static_cast<int64_t>(S)}, kPadId, torch::kLong);
    for (std::size_t r = 0; r < g.size(); ++r) {
      const std::int32_t* src = data.src(g[r]);
      auto row = t.accessor<int64_t, 2>()[static_cast<int64_t>(r)];
      for (std::size_t k = 0; k < data.src_len(g[r]); ++k) row[static_cast<int64_t>(k)] = src[k];
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"THANOS decoding speed: cached vs uncached beam search"};
  std::string sizes_arg = "tiny,small,base", json_out;
  int threads = 2, repeats = 3, out_len = 20, max_tokens = 2048, vocab = 8000;
  std::size_t batch1_sentences = 16, budget_sentences = 128;
  app.add_option("--sizes", sizes_arg, "Comma-separated: tiny (demo.yml smallest), small (demo.yml largest), base "
                                       "(512/2048 6+6 in space0)")
      ->capture_default_str();
  app.add_option("--threads", threads, "Threads")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repeats per cell (median reported)")->capture_default_str();
  app.add_option("--out-len", out_len, "Tokens generated per sentence (forced, before </s>)")->capture_default_str();
  app.add_option("--max-tokens", max_tokens, "Token budget of a batch (source tokens)")->capture_default_str();
  app.add_option("--batch1-sentences", batch1_sentences, "Sentences decoded one at a time")->capture_default_str();
  app.add_option("--budget-sentences", budget_sentences, "Sentences decoded in token-budget batches")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write the results as JSON here");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);

  // Multi30k-like source lengths (6-28 tokens with </s>), fixed seed.
  const BinarizedSplit data = synthetic_corpus(std::max(batch1_sentences, budget_sentences), 6, 28, vocab, 5);
  std::printf("Decoding speed: cached (per-layer key/value caches) vs uncached (whole prefix recomputed per step)\n");
  std::printf("protocol: %d thread(s) (torch::get_num_threads() = %d); every output forced to %d tokens + </s>; "
              "1 warm-up then median of %d runs, cached and uncached alternating; load average %s\n\n",
              threads, torch::get_num_threads(), out_len, repeats, load_average().c_str());

  struct Row {
    std::string size, mode;
    int beam;
    double cached, uncached;  // sentences/s
    double max_score_diff;
    bool same_tokens;
  };
  std::vector<Row> rows;
  nlohmann::json all = nlohmann::json::array();
  std::stringstream ss(sizes_arg);
  std::string size;
  while (std::getline(ss, size, ',')) {
    if (!known_sizes().count(size)) {
      std::fprintf(stderr, "unknown size '%s' (tiny, small, base)\n", size.c_str());
      return 2;
    }
    const auto& spec = known_sizes().at(size);
    const SearchSpace space = load_space(spec.space);
    const SubConfig config = make_config(space, spec.config);
    torch::manual_seed(1);
    SuperTransformer model(super_model_options(space, vocab, vocab));
    model->eval();
    std::printf("== %s: %s of %s, encoder %dd x%zu, decoder %dd x%zu, vocab %d\n", size.c_str(), spec.config.c_str(),
                spec.space.c_str(), config.encoder_embed_dim, config.encoder_layers.size(), config.decoder_embed_dim,
                config.decoder_layers.size(), vocab);
    for (const std::string mode : {"batch 1", "token budget"}) {
      const bool single = mode == "batch 1";
      const auto batches = make_batches_of(data, single ? batch1_sentences : budget_sentences, single ? 1 : max_tokens);
      const std::size_t sentences = single ? batch1_sentences : budget_sentences;
      for (int beam : {1, 4}) {
        GenerationOptions go;
        go.beam = beam;
        go.max_len_a = 0;
        go.max_len_b = out_len;
        go.min_len = out_len;
        GenerationOptions gu = go;
        gu.use_cache = false;
        Generator cached(model, config, go), uncached(model, config, gu);
        // Same hypotheses both ways (first batch).
        const auto hc = cached.generate(batches[0]), hu = uncached.generate(batches[0]);
        Row r{size, mode, beam, 0, 0, 0, true};
        for (std::size_t i = 0; i < hc.size(); ++i) {
          r.same_tokens = r.same_tokens && hc[i][0].tokens == hu[i][0].tokens;
          r.max_score_diff = std::max(r.max_score_diff, std::abs(hc[i][0].score - hu[i][0].score));
        }
        std::vector<double> rc, ru;
        for (int rep = 0; rep < repeats; ++rep) {
          auto t0 = Clock::now();
          for (const auto& b : batches) cached.generate(b);
          rc.push_back(static_cast<double>(sentences) / seconds_since(t0));
          t0 = Clock::now();
          for (const auto& b : batches) uncached.generate(b);
          ru.push_back(static_cast<double>(sentences) / seconds_since(t0));
        }
        r.cached = median(rc);
        r.uncached = median(ru);
        std::printf("   %-12s beam %d: cached %8.1f sent/s, uncached %8.1f sent/s (%zu batches; same tokens: %s, "
                    "max |dscore| %.1e)\n",
                    mode.c_str(), beam, r.cached, r.uncached, batches.size(), r.same_tokens ? "yes" : "NO",
                    r.max_score_diff);
        std::fflush(stdout);
        all.push_back({{"size", size}, {"mode", mode}, {"beam", beam}, {"cached_sent_per_s", rc},
                       {"uncached_sent_per_s", ru}, {"same_tokens", r.same_tokens}, {"max_score_diff", r.max_score_diff},
                       {"threads", threads}, {"out_len", out_len}, {"sentences", sentences}});
        rows.push_back(r);
      }
    }
  }

  std::printf("\nTable 6. Decoding speed, %d thread(s), %d tokens per output (median of %d)\n", threads, out_len, repeats);
  std::printf("%-6s | %-12s | %4s | %14s | %9s | %16s | %9s | %7s | %5s\n", "size", "batching", "beam", "cached sent/s",
              "ms/sent", "uncached sent/s", "ms/sent", "ratio", "same");
  print_rule(104);
  for (const auto& r : rows) {
    std::printf("%-6s | %-12s | %4d | %14.1f | %9.2f | %16.1f | %9.2f | %6.2fx | %5s\n", r.size.c_str(),
                r.mode.c_str(), r.beam, r.cached, 1000.0 / r.cached, r.uncached, 1000.0 / r.uncached,
                r.cached / r.uncached, r.same_tokens ? "yes" : "NO");
  }
  std::printf("ratio = cached / uncached sentences per second; same = identical best hypotheses on the first batch\n");
  if (!json_out.empty()) std::ofstream(json_out) << all.dump(1) << "\n";
  return 0;
}
