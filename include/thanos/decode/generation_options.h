#pragma once
// The beam search's options (fairseq's rules, docs/DECODING.md) as a plain value type: commands,
// flags and configs fill it without seeing libtorch; decode/beam_search.h runs it.
#include <cstdint>
#include <string>
#include <vector>

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

// The most tokens before </s> for a source of `src_len` tokens (with its </s>): fairseq's
// floor(max_len_a * src_len + max_len_b), at most max_target_positions - 1 so that the prefix fed
// at the final (forced </s>) step still has a position.
int64_t max_generation_length(const GenerationOptions& options, int64_t src_len, int64_t max_target_positions);

}  // namespace thanos
