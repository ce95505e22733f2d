#pragma once
// Small helpers shared by the benchmark programs (header-only; not part of the library).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "thanos/common/random.h"
#include "thanos/data/batcher.h"
#include "thanos/data/binarized.h"
#include "thanos/space/search_space.h"
#include "thanos/space/space_yaml.h"

namespace thanos::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Relative spread of repeated measurements: (max - min) / median, as a percentage.
inline double spread_pct(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = median(v);
  if (m <= 0) return 0;
  return 100.0 * (*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end())) / m;
}

inline std::vector<int> parse_int_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(std::stoi(item));
  }
  return out;
}

inline std::string source_path(const std::string& rel) { return std::string(THANOS_SOURCE_DIR) + "/" + rel; }

inline SearchSpace load_space(const std::string& path) {
  return load_search_space(path.find('/') == std::string::npos ? source_path("configs/spaces/" + path) : path).space;
}

inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// A synthetic corpus that the library's batcher packs into exactly one batch per entry of
// `lengths` (token budget `max_tokens`, sentence lengths counted with </s>). Group k holds
// floor(max_tokens / L_k) pairs whose target lengths lie in [L_k - 4, L_k] (one of them L_k) and
// source lengths in [L_k - 6, L_k], so batches carry realistic padding. Token ids are uniform in
// [4, vocab). Lengths must be increasing with gaps > 4 so the groups do not interleave.
inline BinarizedSplit synthetic_batches_split(const std::vector<int>& lengths, int max_tokens, int vocab,
                                              std::uint64_t seed) {
  Rng rng(seed);
  BinarizedSplit s;
  auto sentence = [&](int len) {
    std::vector<std::int32_t> t;
    for (int k = 0; k + 1 < len; ++k) t.push_back(4 + static_cast<int>(rng.uniform_index(vocab - 4)));
    t.push_back(kEosId);
    return t;
  };
  int prev = 0;
  for (int L : lengths) {
    if (L - 4 <= prev || L < 8) throw std::invalid_argument("synthetic lengths must increase by more than 4 (and be >= 8)");
    prev = L;
    const int n = max_tokens / L;
    if (n < 1) throw std::invalid_argument("length " + std::to_string(L) + " exceeds max tokens");
    for (int i = 0; i < n; ++i) {
      const int tl = i == 0 ? L : L - static_cast<int>(rng.uniform_index(5));
      const int sl = L - static_cast<int>(rng.uniform_index(7));
      s.add(sentence(sl), sentence(tl));
    }
  }
  BatchingOptions bo;
  bo.max_tokens = max_tokens;
  const auto batches = make_batches(s, bo);
  if (batches.size() != lengths.size()) {
    throw std::logic_error("synthetic split packs into " + std::to_string(batches.size()) + " batches, expected " +
                           std::to_string(lengths.size()));
  }
  return s;
}

// A corpus with realistic (Multi30k-like) random lengths: uniform in [min_len, max_len].
inline BinarizedSplit synthetic_corpus(std::size_t pairs, int min_len, int max_len, int vocab, std::uint64_t seed) {
  Rng rng(seed);
  BinarizedSplit s;
  for (std::size_t i = 0; i < pairs; ++i) {
    auto draw = [&](int len) {
      std::vector<std::int32_t> t;
      for (int k = 0; k + 1 < len; ++k) t.push_back(4 + static_cast<int>(rng.uniform_index(vocab - 4)));
      t.push_back(kEosId);
      return t;
    };
    const int sl = min_len + static_cast<int>(rng.uniform_index(max_len - min_len + 1));
    const int tl = std::max(2, sl + static_cast<int>(rng.uniform_index(7)) - 3);
    s.add(draw(sl), draw(tl));
  }
  return s;
}

// sgemm throughput of torch::mm on n x n float32 matrices at the current thread count (median of
// `repeats` timed products after two warm-up products), in GFLOP/s (2 n^3 per product).
inline double sgemm_gflops(int n = 2048, int repeats = 5) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  for (int i = 0; i < 2; ++i) torch::mm_out(c, a, b);
  std::vector<double> rates;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    torch::mm_out(c, a, b);
    rates.push_back(2.0 * n * n * static_cast<double>(n) / seconds_since(t0) / 1e9);
  }
  return median(rates);
}

// The benchmarks' fixed architectures: "largest" / "smallest" of a space, or "base"
// (Transformer-base shapes: 512/2048, every decoder layer attending the last encoder layer) inside
// a larger space, so every weight is a true slice W[:out, :in] of a bigger one.
inline SubConfig make_config(const SearchSpace& space, const std::string& which) {
  if (which == "largest") return space.largest();
  if (which == "smallest") return space.smallest();
  if (which == "base") {
    SubConfig c = space.largest();
    c.encoder_embed_dim = c.decoder_embed_dim = 512;
    for (auto& l : c.encoder_layers) l.ffn_dim = 2048;
    for (auto& l : c.decoder_layers) {
      l.ffn_dim = 2048;
      l.ende_attn_layers = 1;
    }
    space.check_config(c);
    return c;
  }
  throw std::invalid_argument("unknown config '" + which + "' (largest, smallest, base)");
}

inline void print_rule(int width) { std::printf("%s\n", std::string(width, '-').c_str()); }

}  // namespace thanos::bench
