#include "thanos/decode/beam_search.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "thanos/data/binarized.h"

namespace thanos {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Puts the model in eval mode for one call and restores its flag, whatever happens.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(SuperTransformerImpl& m) : model_(m), was_training_(m.is_training()) { model_.eval(); }
  ~EvalModeGuard() { model_.train(was_training_); }

 private:
  SuperTransformerImpl& model_;
  bool was_training_;
};

// Rows `rows` of every encoder tensor (the uncached mode keeps one copy per beam).
EncoderOutput select_rows(const EncoderOutput& enc, const torch::Tensor& rows) {
  EncoderOutput out;
  for (const auto& t : enc.layer_outputs) out.layer_outputs.push_back(t.index_select(0, rows));
  if (enc.padding_mask.defined()) out.padding_mask = enc.padding_mask.index_select(0, rows);
  return out;
}

torch::Tensor long_tensor(const std::vector<int64_t>& v, const torch::Device& device) {
  return torch::tensor(v, torch::kLong).to(device);
}

}  // namespace

namespace {

// libtorch: the cached incremental decoder (DecoderCache), or the whole prefix through the
// decoder at every step (use_cache = false, the reference for the cache).
class LibtorchStepDecoder : public StepDecoder {
 public:
  LibtorchStepDecoder(SuperTransformerImpl& model, const SubConfig& config, bool use_cache)
      : model_(model), config_(config), use_cache_(use_cache) {}

  void start(const torch::Tensor& src, int64_t beam) override {
    beam_ = beam;
    enc_ = model_.encode(src, config_);
    const torch::Tensor first_rows =
        torch::arange(src.size(0), torch::TensorOptions().dtype(torch::kLong).device(device())).repeat_interleave(beam);
    if (use_cache_) {
      cache_ = model_.start_decoding(enc_, config_);
      cache_.reorder(first_rows);
      enc_ = EncoderOutput();  // the cache holds all the decoder needs
    } else {
      enc_ = select_rows(enc_, first_rows);
    }
  }

  torch::Tensor next_logits(const torch::Tensor& prefix, int64_t step) override {
    if (use_cache_) return model_.decode_step(prefix.narrow(1, step, 1), cache_, config_).select(1, 0);
    // The whole prefix through the decoder layers; only the last position needs the output
    // projection (projecting the others would only slow this baseline down further).
    const torch::Tensor h = model_.decoder->features(prefix, enc_, config_);
    return model_.decoder->output_layer(h.select(1, step), config_.decoder_embed_dim);
  }

  void reorder(const torch::Tensor& rows, bool sentences_left) override {
    if (use_cache_) {
      // Greedy without finished sentences keeps every row where it is: nothing to move.
      if (sentences_left) {
        cache_.reorder(rows);
      } else if (beam_ > 1) {
        cache_.reorder_self_attention(rows);
      }
    } else if (sentences_left) {
      enc_ = select_rows(enc_, rows);
    }
  }

  torch::Device device() const override { return model_.encoder->embed_tokens->weight.device(); }

 private:
  SuperTransformerImpl& model_;
  const SubConfig& config_;
  bool use_cache_;
  int64_t beam_ = 1;
  EncoderOutput enc_;
  DecoderCache cache_;
};

}  // namespace

std::unique_ptr<StepDecoder> make_libtorch_step_decoder(SuperTransformerImpl& model, const SubConfig& config,
                                                        bool use_cache) {
  return std::make_unique<LibtorchStepDecoder>(model, config, use_cache);
}

Generator::Generator(SuperTransformer model, SubConfig config, GenerationOptions options)
    : model_(std::move(model)), config_(std::move(config)), options_(options) {
  options_.validate();
  model_->check_fits(config_);
}

int64_t Generator::max_length(int64_t src_len) const {
  return max_generation_length(options_, src_len, model_->options().hyper.max_target_positions);
}

std::vector<std::vector<Hypothesis>> Generator::generate(const torch::Tensor& src_tokens) {
  EvalModeGuard eval_mode(*model_);
  torch::InferenceMode inference;
  LibtorchStepDecoder decoder(*model_, config_, options_.use_cache);
  return beam_search(decoder, src_tokens, model_->options().tgt_vocab_size, options_,
                     model_->options().hyper.max_target_positions);
}

std::vector<std::vector<Hypothesis>> beam_search(StepDecoder& decoder, const torch::Tensor& src_tokens, int64_t V,
                                                 const GenerationOptions& options, int64_t max_target_positions) {
  options.validate();
  if (src_tokens.dim() != 2) {
    throw std::invalid_argument("generate: src_tokens must be [batch, length], got " + std::to_string(src_tokens.dim()) +
                                " dimensions");
  }
  const torch::Device device = decoder.device();
  const torch::Tensor src = src_tokens.to(device, torch::kLong);
  const int64_t B = src.size(0), beam = options.beam;
  if (B == 0) return {};

  // Per-sentence length limits. fairseq takes the batch's padded length; per sentence keeps a
  // translation independent of its batch (equal for the length-sorted batches translate builds).
  const torch::Tensor src_lens_t = src.ne(kPadId).sum(1).cpu();
  std::vector<int64_t> max_len(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = src_lens_t[b].item<int64_t>();
    if (len == 0) throw std::invalid_argument("generate: sentence " + std::to_string(b) + " is only padding");
    max_len[b] = max_generation_length(options, len, max_target_positions);
    if (max_len[b] < std::max(1, options.min_len)) {
      throw std::invalid_argument("generate: sentence " + std::to_string(b) + " may get at most " +
                                  std::to_string(max_len[b]) + " tokens (max_len_a * " + std::to_string(len) +
                                  " + max_len_b, capped by the model's max target positions), fewer than min_len " +
                                  std::to_string(std::max(1, options.min_len)));
    }
  }
  const int64_t longest = *std::max_element(max_len.begin(), max_len.end());

  // Every sentence starts as `beam` identical rows: row = active sentence * beam + beam index.
  decoder.start(src, beam);
  torch::Tensor tokens = torch::full({B * beam, longest + 2}, kPadId, torch::TensorOptions().dtype(torch::kLong).device(device));
  tokens.select(1, 0).fill_(kEosId);
  // Cumulative log-probabilities of each row's tokens 1..step (float32, as the model).
  torch::Tensor scores = torch::zeros({B * beam, longest + 1}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  torch::Tensor not_eos_column = torch::ones({1, V}, torch::TensorOptions().dtype(torch::kBool).device(device));
  not_eos_column.index_put_({0, kEosId}, false);

  std::vector<int64_t> sentence(B);  // active sentence -> input index
  std::iota(sentence.begin(), sentence.end(), 0);
  std::vector<std::vector<Hypothesis>> finalized(B);

  for (int64_t step = 0; !sentence.empty(); ++step) {
    const int64_t bsz = static_cast<int64_t>(sentence.size());
    const torch::Tensor logits = decoder.next_logits(tokens.narrow(1, 0, step + 1), step);
    torch::Tensor lprobs = torch::log_softmax(logits.to(torch::kFloat), -1);
    lprobs.masked_fill_(lprobs.isnan(), kNegInf);
    lprobs.select(1, kPadId).fill_(kNegInf);  // fairseq never generates padding (unk is allowed)
    // Sentences at their length limit must end now: only </s> stays possible.
    std::vector<char> forced(bsz, 0);
    bool any_forced = false;
    for (int64_t b = 0; b < bsz; ++b) {
      forced[b] = step >= max_len[sentence[b]];
      any_forced = any_forced || forced[b];
    }
    if (any_forced) {
      std::vector<int64_t> row_forced;
      for (int64_t b = 0; b < bsz; ++b) row_forced.insert(row_forced.end(), beam, forced[b]);
      const torch::Tensor rows = long_tensor(row_forced, device).to(torch::kBool).unsqueeze(1);
      lprobs.masked_fill_(rows & not_eos_column, kNegInf);
    }
    if (step < options.min_len) lprobs.select(1, kEosId).fill_(kNegInf);

    // Candidates: the best 2 x beam continuations of each sentence over all its beams (at step 0
    // the beams are identical, so only the first one's).
    torch::Tensor flat;
    if (step == 0) {
      flat = lprobs.reshape({bsz, beam, V}).select(1, 0);
    } else {
      flat = (lprobs.reshape({bsz, beam, V}) + scores.narrow(1, step - 1, 1).reshape({bsz, beam, 1})).reshape({bsz, beam * V});
    }
    const int64_t k = std::min<int64_t>(2 * beam, flat.size(1));
    auto top = flat.topk(k, 1, /*largest=*/true, /*sorted=*/true);
    const torch::Tensor cand_scores_t = std::get<0>(top).cpu(), cand_index_t = std::get<1>(top).cpu();
    auto cand_scores = cand_scores_t.accessor<float, 2>();
    auto cand_index = cand_index_t.accessor<int64_t, 2>();
    auto is_eos = [&](int64_t b, int64_t c) {
      return cand_index[b][c] % V == kEosId && cand_scores[b][c] != kNegInf;
    };

    // </s> among the first `beam` candidates ends a hypothesis; a sentence is done with `beam`
    // of them (or at its length limit).
    bool any_eos = false;
    for (int64_t b = 0; b < bsz && !any_eos; ++b) {
      for (int64_t c = 0; c < std::min(k, beam); ++c) any_eos |= is_eos(b, c);
    }
    // Host copies of the prefixes and their cumulative scores, only at steps that finish some.
    const torch::Tensor prefix_t = any_eos ? tokens.narrow(1, 0, step + 1).cpu() : torch::zeros({1, 1}, torch::kLong);
    const torch::Tensor cum_t = any_eos ? scores.narrow(1, 0, step + 1).cpu() : torch::zeros({1, 1}, torch::kFloat);
    auto prefix = prefix_t.accessor<int64_t, 2>();
    auto cum = cum_t.accessor<float, 2>();
    std::vector<char> done(bsz, 0);
    for (int64_t b = 0; b < bsz; ++b) {
      auto& out = finalized[sentence[b]];
      for (int64_t c = 0; c < std::min(k, beam); ++c) {
        if (!is_eos(b, c) || static_cast<int64_t>(out.size()) >= beam) continue;
        const int64_t row = b * beam + cand_index[b][c] / V;
        Hypothesis h;
        float previous = 0;
        for (int64_t t = 0; t < step; ++t) {
          h.tokens.push_back(prefix[row][t + 1]);
          h.positional_scores.push_back(cum[row][t] - previous);
          previous = cum[row][t];
        }
        h.tokens.push_back(kEosId);
        h.positional_scores.push_back(cand_scores[b][c] - previous);
        h.score = cand_scores[b][c] / std::pow(static_cast<double>(step + 1), options.lenpen);
        out.push_back(std::move(h));
      }
      done[b] = static_cast<int64_t>(out.size()) >= beam || forced[b];
    }

    // The surviving sentences continue with their best `beam` candidates that are not </s>.
    std::vector<int64_t> next_rows, next_tokens, next_sentence;
    std::vector<float> next_scores;
    for (int64_t b = 0; b < bsz; ++b) {
      if (done[b]) continue;
      next_sentence.push_back(sentence[b]);
      int64_t taken = 0;
      for (int64_t c = 0; c < k && taken < beam; ++c) {
        if (is_eos(b, c)) continue;
        next_rows.push_back(b * beam + cand_index[b][c] / V);
        next_tokens.push_back(cand_index[b][c] % V);
        next_scores.push_back(cand_scores[b][c]);
        ++taken;
      }
      // Only with a vocabulary smaller than the beam: dead rows that can never win.
      for (; taken < beam; ++taken) {
        next_rows.push_back(b * beam);
        next_tokens.push_back(kEosId);
        next_scores.push_back(kNegInf);
      }
    }
    const bool dropped = static_cast<int64_t>(next_sentence.size()) < bsz;
    sentence = std::move(next_sentence);
    if (sentence.empty()) break;

    const torch::Tensor rows = long_tensor(next_rows, device);
    tokens = tokens.index_select(0, rows);
    tokens.select(1, step + 1).copy_(long_tensor(next_tokens, device));
    scores = scores.index_select(0, rows);
    scores.select(1, step).copy_(torch::tensor(next_scores, torch::kFloat).to(device));
    decoder.reorder(rows, dropped);
  }

  for (auto& hyps : finalized) {
    std::stable_sort(hyps.begin(), hyps.end(), [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
    if (static_cast<int64_t>(hyps.size()) > options.nbest) hyps.resize(options.nbest);
  }
  return finalized;
}

}  // namespace thanos
