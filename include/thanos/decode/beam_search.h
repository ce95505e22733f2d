#pragma once
// Beam search with fairseq's SequenceGenerator rules (docs/DECODING.md), batched over sentences,
// for a SuperTransformer under one SubConfig or a standalone SubTransformer (the same class).
//
// Token ids follow fairseq's dictionary: <s>=0, <pad>=1, </s>=2, <unk>=3. The decoder's first
// input is </s>, as in training (train/batch.cc). Needs libtorch only (engine core).
#include <torch/types.h>

#include <string>
#include <vector>

#include "thanos/model/super_transformer.h"

namespace thanos {

struct GenerationOptions {
  int beam = 5;            // hypotheses kept per sentence; 1 = greedy
  double lenpen = 1.0;     // final score = sum of token log-probs / length^lenpen (length counts </s>)
  // At most floor(max_len_a * source length + max_len_b) tokens before </s>; the source length
  // counts its </s>. Capped so that the decoder's positions fit (max target positions - 1).
  double max_len_a = 0;
  int max_len_b = 200;
  int min_len = 1;         // </s> is forbidden until this many tokens were generated
  bool use_cache = true;   // false: run the decoder over the whole prefix at every step
  int nbest = 1;           // hypotheses returned per sentence, best first (<= beam)

  // Throws std::invalid_argument naming the option and what was expected.
  void validate() const;
};

// HAT's evaluation settings: "hat-wmt" (beam 4, lenpen 0.6) and "hat-iwslt" (beam 5, lenpen 1),
// with fairseq's default lengths (max_len_a 0, max_len_b 200, min_len 1). Throws
// std::invalid_argument listing the known names.
GenerationOptions generation_preset(const std::string& name);
std::vector<std::string> generation_preset_names();

struct Hypothesis {
  std::vector<int64_t> tokens;           // generated ids, ending with </s> (as fairseq)
  std::vector<float> positional_scores;  // log-probability of each token (natural log)
  double score = 0;                      // sum(positional_scores) / tokens.size()^lenpen
};

class Generator {
 public:
  // `config` must fit `model` (for a standalone SubTransformer: its own config).
  Generator(SuperTransformer model, SubConfig config, GenerationOptions options);

  // src_tokens: [B, S] ids, each row ending with </s>, right- or left-padded with <pad>. Returns
  // per sentence, in input order, up to `nbest` hypotheses sorted by score (best first). Runs in
  // inference mode with the model in eval mode (its training flag is restored afterwards).
  std::vector<std::vector<Hypothesis>> generate(const torch::Tensor& src_tokens);

  // The most tokens before </s> a source of `src_len` tokens (with its </s>) may get.
  int64_t max_length(int64_t src_len) const;

  const GenerationOptions& options() const { return options_; }
  const SubConfig& config() const { return config_; }

 private:
  SuperTransformer model_;
  SubConfig config_;
  GenerationOptions options_;
};

}  // namespace thanos
