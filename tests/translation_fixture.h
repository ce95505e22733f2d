#pragma once
// A small translation task made by the tests themselves (no apt, no ../shared): a corpus whose
// target is the source's words upper-cased in reverse order, prepared with a joint sentencepiece
// vocabulary, a SuperTransformer trained for a few updates, one SubTransformer config (sub.yml)
// and that SubTransformer extracted as a standalone model (sub.pt). tests/test_translate.cc and
// tests/test_deploy.cc build it once per suite in a directory of their own.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "thanos/commands/prepare.h"
#include "thanos/commands/train.h"
#include "thanos/common/random.h"

namespace thanos::testing {

inline const char* const kTranslationWords[] = {"one", "two", "three", "four", "five", "six", "seven", "eight",
                                                "nine", "ten", "red", "green", "blue", "cat", "dog", "bird"};

// The fixture's search space: tiny, shared embeddings, every elastic dimension (QKV fixed at 32).
inline const char* const kReversalSpaceYaml = R"(share-all-embeddings: true
encoder-embed-choice: [32, 16]
decoder-embed-choice: [32, 16]
encoder-ffn-embed-dim-choice: [64, 32]
decoder-ffn-embed-dim-choice: [64, 32]
encoder-layer-num-choice: [2]
decoder-layer-num-choice: [2, 1]
encoder-self-attention-heads-choice: [4, 2]
decoder-self-attention-heads-choice: [4, 2]
decoder-ende-attention-heads-choice: [4, 2]
decoder-arbitrary-ende-attn-choice: [-1, 1]
qkv-dim: 32
)";

// Target = the source words upper-cased and reversed.
inline void write_reversal_corpus(const std::string& prefix, int n, std::uint64_t seed) {
  Rng rng(seed);
  std::ofstream en(prefix + ".en"), de(prefix + ".de");
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> words;
    for (int k = 0, len = 1 + static_cast<int>(rng.uniform_index(7)); k < len; ++k) {
      words.push_back(kTranslationWords[rng.uniform_index(16)]);
    }
    std::string s, t;
    for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
    for (auto it = words.rbegin(); it != words.rend(); ++it) {
      std::string u = *it;
      for (auto& ch : u) ch = static_cast<char>(std::toupper(ch));
      t += (t.empty() ? "" : " ") + u;
    }
    en << s << "\n";
    de << t << "\n";
  }
}

// Builds everything under `dir` (replaced): train/valid/test text, prepared/ (vocabulary 50),
// space.yml, super/ (8 updates), sub.yml and sub.pt.
inline void build_translation_fixture(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_reversal_corpus(dir + "/train", 300, 1);
  write_reversal_corpus(dir + "/valid", 20, 2);
  write_reversal_corpus(dir + "/test", 15, 3);
  PrepareOptions po;
  po.train_prefix = dir + "/train";
  po.valid_prefix = dir + "/valid";
  po.test_prefix = dir + "/test";
  po.out_dir = dir + "/prepared";
  po.vocab_size = 50;
  run_prepare(po);
  std::ofstream(dir + "/space.yml") << kReversalSpaceYaml;
  TrainCommandOptions to;
  to.data_dir = po.out_dir;
  to.space_path = dir + "/space.yml";
  to.save_dir = dir + "/super";
  to.train.max_updates = 8;
  to.train.batching.max_tokens = 300;
  to.train.lr.warmup_updates = 2;
  run_train(to, [](const std::string&) {});
  std::ofstream(dir + "/sub.yml") << R"(encoder-embed-dim-subtransformer: 32
decoder-embed-dim-subtransformer: 16
encoder-ffn-embed-dim-all-subtransformer: [64, 32]
decoder-ffn-embed-dim-all-subtransformer: [32, 64]
encoder-layer-num-subtransformer: 2
decoder-layer-num-subtransformer: 2
encoder-self-attention-heads-all-subtransformer: [4, 2]
decoder-self-attention-heads-all-subtransformer: [2, 4]
decoder-ende-attention-heads-all-subtransformer: [4, 2]
decoder-arbitrary-ende-attn-all-subtransformer: [1, -1]
)";
  const CliResult ex = run_cli("extract --checkpoint " + dir + "/super/checkpoint_last.pt --config " + dir + "/sub.yml --out " +
                               dir + "/sub.pt");
  ASSERT_EQ(ex.code, 0) << ex.output;
}

}  // namespace thanos::testing
