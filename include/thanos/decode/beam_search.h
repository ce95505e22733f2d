#pragma once
// Beam search with fairseq's SequenceGenerator rules (docs/DECODING.md), batched over sentences,
// for a SuperTransformer under one SubConfig or a standalone SubTransformer (the same class).
//
// Token ids follow fairseq's dictionary: <s>=0, <pad>=1, </s>=2, <unk>=3. The decoder's first
// input is </s>, as in training (train/batch.cc). Needs libtorch only (engine core).
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "thanos/decode/generation_options.h"
#include "thanos/model/super_transformer.h"

namespace thanos {

struct Hypothesis {
  std::vector<int64_t> tokens;           // generated ids, ending with </s> (as fairseq)
  std::vector<float> positional_scores;  // log-probability of each token (natural log)
  double score = 0;                      // sum(positional_scores) / tokens.size()^lenpen
};

// What the search needs from a model, so that the same rules drive libtorch (Generator below),
// exported graphs in ONNX Runtime (export/ort_step_decoder.h) or an NPU runtime: encode once, give
// next-token logits for every live row, follow the search's reordering of rows.
class StepDecoder {
 public:
  virtual ~StepDecoder() = default;
  // Encodes src [B, S] (on device()); afterwards there are B * beam rows, row = sentence * beam +
  // beam index, all rows of a sentence identical.
  virtual void start(const torch::Tensor& src_tokens, int64_t beam) = 0;
  // prefix [rows, step + 1]: </s> then the tokens chosen so far, per row -> logits [rows, V] of
  // the next token (any float dtype; the search takes log_softmax in float32).
  virtual torch::Tensor next_logits(const torch::Tensor& prefix, int64_t step) = 0;
  // Row i continues row rows[i]. `sentences_left`: some sentences finished and their rows are
  // gone (fewer rows); otherwise only beams moved within their sentences.
  virtual void reorder(const torch::Tensor& rows, bool sentences_left) = 0;
  virtual torch::Device device() const { return torch::kCPU; }
};

// libtorch's StepDecoder (what Generator runs): the cached incremental decoder, or the whole
// prefix through the decoder at every step (use_cache = false). `model` and `config` must outlive it.
std::unique_ptr<StepDecoder> make_libtorch_step_decoder(SuperTransformerImpl& model, const SubConfig& config,
                                                        bool use_cache = true);

// fairseq's beam search over `decoder` (the rules in docs/DECODING.md): src_tokens [B, S], rows
// ending with </s>, right- or left-padded; vocab = the logits' width. Returns per sentence, in input
// order, up to options.nbest hypotheses, best first.
std::vector<std::vector<Hypothesis>> beam_search(StepDecoder& decoder, const torch::Tensor& src_tokens, int64_t vocab,
                                                 const GenerationOptions& options, int64_t max_target_positions);

class Generator {
 public:
  // `config` must fit `model` (for a standalone SubTransformer: its own config).
  Generator(SuperTransformer model, SubConfig config, GenerationOptions options);

  // src_tokens: [B, S] ids, each row ending with </s>, right- or left-padded with <pad>. Returns
  // per sentence, in input order, up to `nbest` hypotheses sorted by score (best first). Runs in
  // inference mode with the model in eval mode (its training flag is restored afterwards).
  std::vector<std::vector<Hypothesis>> generate(const torch::Tensor& src_tokens);

  // libtorch's StepDecoder (what Generator runs): the cached incremental decoder, or the whole
// prefix through the decoder at every step (use_cache = false). `model` and `config` must outlive it.
std::unique_ptr<StepDecoder> make_libtorch_step_decoder(SuperTransformerImpl& model, const SubConfig& config,
                                                        bool use_cache = true);

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
