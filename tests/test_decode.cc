// Incremental decoding and beam search (docs/DECODING.md): the cache against full-prefix
// recomputation, beam 1 against an independent greedy decoder, SuperTransformer against its
// extracted SubTransformer, fairseq's rules, and a trained toy model reversing sequences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "test_util.h"
#include "thanos/data/binarized.h"
#include "thanos/decode/beam_search.h"
#include "thanos/model/extract.h"
#include "thanos/space/sampler.h"
#include "thanos/train/trainer.h"

using namespace thanos;
using thanos::testing::tiny_space;

namespace {

constexpr int kVocab = 24;

SuperTransformer random_model(const SearchSpace& space, std::uint64_t seed, int vocab = kVocab) {
  torch::manual_seed(seed);
  SuperTransformer m(super_model_options(space, vocab, vocab));
  m->eval();
  return m;
}

// Sources of different lengths (ids in [4, vocab)), each ending with </s>, right-padded.
torch::Tensor random_sources(const std::vector<int>& lengths, std::uint64_t seed, int vocab = kVocab) {
  Rng rng(seed);
  int longest = 0;
  for (int l : lengths) longest = std::max(longest, l + 1);
  torch::Tensor src = torch::full({static_cast<int64_t>(lengths.size()), longest}, kPadId, torch::kLong);
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    for (int k = 0; k < lengths[r]; ++k) src[r][k] = 4 + static_cast<int64_t>(rng.uniform_index(vocab - 4));
    src[r][lengths[r]] = kEosId;
  }
  return src;
}

// A sampled config in which some decoder layer attends to more than one encoder layer (HAT's
// arbitrary encoder-decoder attention), so the cache covers concatenated memories.
SubConfig config_with_arbitrary_attention(const SearchSpace& space, std::uint64_t seed) {
  Rng rng(seed);
  for (;;) {
    SubConfig c = sample_config(space, rng);
    for (const auto& l : c.decoder_layers) {
      if (l.ende_attn_layers > 1 && c.decoder_layer_num() > 1) return c;
    }
  }
}

void expect_same_hypotheses(const std::vector<std::vector<Hypothesis>>& a, const std::vector<std::vector<Hypothesis>>& b,
                            double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t s = 0; s < a.size(); ++s) {
    ASSERT_EQ(a[s].size(), b[s].size()) << "sentence " << s;
    for (std::size_t h = 0; h < a[s].size(); ++h) {
      EXPECT_EQ(a[s][h].tokens, b[s][h].tokens) << "sentence " << s << " hypothesis " << h;
      EXPECT_NEAR(a[s][h].score, b[s][h].score, tolerance) << "sentence " << s << " hypothesis " << h;
      ASSERT_EQ(a[s][h].positional_scores.size(), b[s][h].positional_scores.size());
      for (std::size_t t = 0; t < a[s][h].positional_scores.size(); ++t) {
        EXPECT_NEAR(a[s][h].positional_scores[t], b[s][h].positional_scores[t], tolerance);
      }
    }
  }
}

// An independent greedy decoder: one sentence at a time, the whole prefix through the
// teacher-forced forward at every step, argmax of the last position under fairseq's rules.
Hypothesis reference_greedy(SuperTransformer& model, const SubConfig& cfg, const torch::Tensor& src_row,
                            int64_t max_len, int min_len, double lenpen) {
  torch::NoGradGuard no_grad;
  const torch::Tensor src = src_row.masked_select(src_row.ne(kPadId)).unsqueeze(0);
  std::vector<int64_t> prefix = {kEosId};
  Hypothesis h;
  double sum = 0;
  for (int64_t step = 0;; ++step) {
    const torch::Tensor prev = torch::tensor(prefix, torch::kLong).unsqueeze(0);
    torch::Tensor lp = torch::log_softmax(model->forward(src, prev, cfg)[0][-1], -1);
    lp[kPadId] = -std::numeric_limits<float>::infinity();
    if (step < min_len) lp[kEosId] = -std::numeric_limits<float>::infinity();
    const int64_t token = step >= max_len ? kEosId : lp.argmax().item<int64_t>();
    const float score = lp[token].item<float>();
    h.tokens.push_back(token);
    h.positional_scores.push_back(score);
    sum += score;
    prefix.push_back(token);
    if (token == kEosId) break;
  }
  h.score = sum / std::pow(static_cast<double>(h.tokens.size()), lenpen);
  return h;
}

}  // namespace

TEST(DecodeCache, StepsEqualTeacherForcedLogits) {
  for (bool pre_norm : {false, true}) {
    SearchSpace space = tiny_space();
    space.hyper.encoder_normalize_before = space.hyper.decoder_normalize_before = pre_norm;
    SuperTransformer model = random_model(space, 3);
    torch::NoGradGuard no_grad;
    for (std::uint64_t seed : {1, 2, 3}) {
      const SubConfig cfg = config_with_arbitrary_attention(space, seed);
      const torch::Tensor src = random_sources({7, 3, 5}, seed);
      const torch::Tensor prev = torch::cat({torch::full({3, 1}, kEosId, torch::kLong), random_sources({9, 9, 9}, seed + 9).narrow(1, 0, 9)}, 1);
      const EncoderOutput enc = model->encode(src, cfg);
      const torch::Tensor full = model->decode(prev, enc, cfg);  // [3, 10, V]
      // A prefix of three positions at once, then one position per step.
      DecoderCache cache = model->start_decoding(enc, cfg);
      std::vector<torch::Tensor> steps = {model->decode_step(prev.narrow(1, 0, 3), cache, cfg)};
      for (int64_t t = 3; t < prev.size(1); ++t) steps.push_back(model->decode_step(prev.narrow(1, t, 1), cache, cfg));
      EXPECT_EQ(cache.steps, prev.size(1));
      const torch::Tensor incremental = torch::cat(steps, 1);
      EXPECT_LT((incremental - full).abs().max().item<double>(), 1e-5)
          << "pre-norm " << pre_norm << " config " << cfg.summary();
      // The self-attention cache grew by one position per token; the encoder-decoder one holds
      // the attended encoder layers concatenated along time.
      for (int i = 0; i < cfg.decoder_layer_num(); ++i) {
        EXPECT_EQ(cache.layers[i].self_attn.key.size(2), prev.size(1));
        EXPECT_EQ(cache.layers[i].encoder_attn.key.size(2), src.size(1) * cfg.decoder_layers[i].ende_attn_layers);
      }
    }
  }
}

TEST(DecodeCache, RejectsACacheOfAnotherConfig) {
  const SearchSpace space = tiny_space();
  SuperTransformer model = random_model(space, 3);
  torch::NoGradGuard no_grad;
  const EncoderOutput enc = model->encode(random_sources({4}, 1), space.largest());
  DecoderCache cache = model->start_decoding(enc, space.largest());
  const std::string msg = thanos::testing::invalid_argument_message(
      [&] { model->decode_step(torch::full({1, 1}, kEosId, torch::kLong), cache, space.smallest()); });
  EXPECT_NE(msg.find("decoder cache holds 3 layers"), std::string::npos) << msg;
}

TEST(BeamSearch, CachedEqualsUncached) {
  const SearchSpace space = tiny_space();
  SuperTransformer model = random_model(space, 5);
  const torch::Tensor src = random_sources({6, 2, 9, 4, 1}, 7);
  for (std::uint64_t seed : {11, 12}) {
    const SubConfig cfg = config_with_arbitrary_attention(space, seed);
    for (int beam : {1, 4, 5}) {
      GenerationOptions o;
      o.beam = beam;
      o.nbest = beam;
      o.lenpen = 0.6;
      o.max_len_a = 1.2;
      o.max_len_b = 4;
      Generator cached(model, cfg, o);
      o.use_cache = false;
      Generator uncached(model, cfg, o);
      SCOPED_TRACE("beam " + std::to_string(beam) + " config " + cfg.summary());
      expect_same_hypotheses(cached.generate(src), uncached.generate(src), 1e-4);
    }
  }
}

TEST(Greedy, BeamOneEqualsArgmaxOfFullPrefix) {
  const SearchSpace space = tiny_space();
  SuperTransformer model = random_model(space, 8);
  const torch::Tensor src = random_sources({5, 1, 8, 3}, 9);
  const SubConfig cfg = config_with_arbitrary_attention(space, 4);
  for (bool use_cache : {true, false}) {
    for (int min_len : {1, 4}) {
      GenerationOptions o;
      o.beam = 1;
      o.lenpen = 0.6;
      o.max_len_a = 1;
      o.max_len_b = 3;
      o.min_len = min_len;
      o.use_cache = use_cache;
      Generator g(model, cfg, o);
      const auto got = g.generate(src);
      ASSERT_EQ(got.size(), 4u);
      for (int64_t s = 0; s < 4; ++s) {
        const int64_t src_len = src[s].ne(kPadId).sum().item<int64_t>();
        const Hypothesis want = reference_greedy(model, cfg, src[s], g.max_length(src_len), min_len, o.lenpen);
        ASSERT_EQ(got[s].size(), 1u);
        EXPECT_EQ(got[s][0].tokens, want.tokens) << "sentence " << s << " cache " << use_cache;
        EXPECT_NEAR(got[s][0].score, want.score, 1e-4);
      }
    }
  }
  EXPECT_TRUE(model->is_training() == false);
}

TEST(BeamSearch, SuperTransformerEqualsExtractedSubTransformer) {
  const SearchSpace space = tiny_space();
  SuperTransformer super_model = random_model(space, 13);
  const torch::Tensor src = random_sources({3, 7, 5}, 14);
  for (std::uint64_t seed : {21, 22, 23}) {
    const SubConfig cfg = config_with_arbitrary_attention(space, seed);
    SuperTransformer sub = extract_subtransformer(*super_model, cfg);
    GenerationOptions o = generation_preset("hat-wmt");
    o.nbest = o.beam;
    o.max_len_b = 12;
    SCOPED_TRACE(cfg.summary());
    expect_same_hypotheses(Generator(super_model, cfg, o).generate(src), Generator(sub, cfg, o).generate(src), 1e-4);
  }
}

TEST(BeamSearch, FollowsFairseqRules) {
  const SearchSpace space = tiny_space();
  SuperTransformer model = random_model(space, 15);
  const torch::Tensor src = random_sources({4, 9, 2}, 16);
  GenerationOptions o;
  o.beam = 5;
  o.nbest = 5;
  o.lenpen = 1.3;
  o.max_len_a = 0.5;
  o.max_len_b = 6;
  o.min_len = 3;
  Generator g(model, space.smallest(), o);
  // A training-mode model is put in eval mode for the call and restored after.
  model->train();
  const auto result = g.generate(src);
  EXPECT_TRUE(model->is_training());
  ASSERT_EQ(result.size(), 3u);
  for (int64_t s = 0; s < 3; ++s) {
    const int64_t src_len = src[s].ne(kPadId).sum().item<int64_t>();
    const int64_t max_len = g.max_length(src_len);
    EXPECT_EQ(max_len, static_cast<int64_t>(std::floor(0.5 * src_len + 6)));
    ASSERT_EQ(result[s].size(), 5u) << "a sentence ends with beam-size finished hypotheses";
    for (std::size_t h = 0; h < result[s].size(); ++h) {
      const Hypothesis& hyp = result[s][h];
      const int64_t len = static_cast<int64_t>(hyp.tokens.size());
      EXPECT_EQ(hyp.tokens.back(), kEosId);
      EXPECT_GE(len, o.min_len + 1);
      EXPECT_LE(len, max_len + 1);
      for (int64_t t = 0; t + 1 < len; ++t) {
        EXPECT_NE(hyp.tokens[t], kEosId);
        EXPECT_NE(hyp.tokens[t], kPadId);
      }
      double sum = 0;
      for (float p : hyp.positional_scores) {
        EXPECT_LE(p, 0.0f);
        sum += p;
      }
      EXPECT_NEAR(hyp.score, sum / std::pow(static_cast<double>(len), o.lenpen), 1e-5);
      if (h > 0) {
        EXPECT_GE(result[s][h - 1].score, hyp.score) << "sorted best first";
      }
    }
  }
  // nbest keeps the best ones; the first hypothesis does not depend on nbest.
  o.nbest = 2;
  const auto two = Generator(model, space.smallest(), o).generate(src);
  for (int64_t s = 0; s < 3; ++s) {
    ASSERT_EQ(two[s].size(), 2u);
    EXPECT_EQ(two[s][0].tokens, result[s][0].tokens);
  }
  // A sentence translated alone gets the same result as in its batch.
  const auto alone = Generator(model, space.smallest(), o).generate(src.narrow(0, 1, 1).narrow(1, 0, 10));
  expect_same_hypotheses({alone[0]}, {two[1]}, 1e-4);
}

TEST(BeamSearch, PresetsAndBadOptions) {
  const GenerationOptions wmt = generation_preset("hat-wmt"), iwslt = generation_preset("hat-iwslt");
  EXPECT_EQ(wmt.beam, 4);
  EXPECT_DOUBLE_EQ(wmt.lenpen, 0.6);
  EXPECT_EQ(iwslt.beam, 5);
  EXPECT_DOUBLE_EQ(iwslt.lenpen, 1.0);
  EXPECT_EQ(wmt.max_len_b, 200);
  std::string msg = thanos::testing::invalid_argument_message([] { generation_preset("wmt"); });
  EXPECT_NE(msg.find("hat-wmt, hat-iwslt"), std::string::npos) << msg;

  const SearchSpace space = tiny_space();
  SuperTransformer model = random_model(space, 1);
  GenerationOptions o;
  o.nbest = 6;
  msg = thanos::testing::invalid_argument_message([&] { Generator(model, space.largest(), o); });
  EXPECT_NE(msg.find("nbest = 6"), std::string::npos) << msg;
  o = GenerationOptions();
  o.beam = 0;
  msg = thanos::testing::invalid_argument_message([&] { Generator(model, space.largest(), o); });
  EXPECT_NE(msg.find("beam = 0"), std::string::npos) << msg;
  // Lengths are capped by the model's positions; a minimum above the maximum is refused.
  o = GenerationOptions();
  EXPECT_EQ(Generator(model, space.largest(), o).max_length(5), space.hyper.max_target_positions - 1);
  o.min_len = 100;
  msg = thanos::testing::invalid_argument_message(
      [&] { Generator(model, space.largest(), o).generate(random_sources({3}, 1)); });
  EXPECT_NE(msg.find("fewer than min_len 100"), std::string::npos) << msg;
  msg = thanos::testing::invalid_argument_message(
      [&] { Generator(model, space.largest(), GenerationOptions()).generate(torch::full({1, 3}, kPadId, torch::kLong)); });
  EXPECT_NE(msg.find("only padding"), std::string::npos) << msg;
}

// A small model trained on sequence reversal must reverse held-out sequences exactly.
TEST(DecodeToy, TrainedModelReversesSequencesPerfectly) {
  const auto start = std::chrono::steady_clock::now();
  constexpr int vocab = 14;  // 10 symbols
  auto make = [&](std::size_t n, std::uint64_t seed) {
    Rng rng(seed);
    BinarizedSplit s;
    for (std::size_t i = 0; i < n; ++i) {
      const int len = 1 + static_cast<int>(rng.uniform_index(6));
      std::vector<std::int32_t> src;
      for (int k = 0; k < len; ++k) src.push_back(4 + static_cast<int>(rng.uniform_index(vocab - 4)));
      std::vector<std::int32_t> tgt(src.rbegin(), src.rend());
      src.push_back(kEosId);
      tgt.push_back(kEosId);
      s.add(src, tgt);
    }
    return s;
  };
  const BinarizedSplit train = make(2000, 1), test = make(100, 2);

  SearchSpace space = tiny_space();
  space.hyper.dropout = space.hyper.attention_dropout = 0;
  SubConfig cfg = space.largest();
  cfg.encoder_layers.resize(2);
  cfg.decoder_layers.resize(2);
  for (auto& l : cfg.decoder_layers) l.ende_attn_layers = 1;
  cfg.decoder_layers[1].ende_attn_layers = 2;
  torch::manual_seed(1);
  SuperTransformer model(standalone_options(super_model_options(space, vocab, vocab), cfg));
  TrainOptions to;
  to.max_updates = 1500;
  to.batching.max_tokens = 400;
  to.lr.kind = LrScheduleKind::kCosine;
  to.lr.lr = 3e-3;
  to.lr.warmup_updates = 100;
  to.lr.min_lr = 1e-5;
  to.label_smoothing = 0;
  to.clip_norm = 1.0;
  ModelFileInfo info;
  info.options = model->options();
  Trainer trainer(model, info, train, to, TrainTarget{TrainMode::kSubTransformer, space, cfg});
  trainer.run();

  torch::Tensor src = torch::full({static_cast<int64_t>(test.size()), 8}, kPadId, torch::kLong);
  for (std::size_t i = 0; i < test.size(); ++i) {
    for (std::size_t k = 0; k < test.src_len(i); ++k) src[i][k] = test.src(i)[k];
  }
  for (int beam : {1, 4}) {
    GenerationOptions o;
    o.beam = beam;
    o.max_len_a = 1;
    o.max_len_b = 2;
    const auto out = Generator(model, cfg, o).generate(src);
    int correct = 0;
    for (std::size_t i = 0; i < test.size(); ++i) {
      const std::vector<int64_t> want(test.tgt(i), test.tgt(i) + test.tgt_len(i));
      correct += out[i][0].tokens == want;
    }
    EXPECT_EQ(correct, static_cast<int>(test.size())) << "beam " << beam;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[toy reversal: %.1f s]\n", seconds);
}
