// The exported graphs in ONNX Runtime (issue 9, docs/EXPORT.md, docs/ORT.md): encoder.onnx and
// decoder_step.onnx of a small random-weight SubTransformer, written to disk and run through the
// Node.js runner (OrtRunner), match libtorch (encoder keys/values, step logits, max abs difference
// <= 1e-4 in float32) in dynamic and static mode; greedy and beam-4 translations driven step by
// step through ONNX Runtime, with a host-side beam search following the project's rules
// (src/decode/beam_search.cc, one sentence), equal the Generator's. Skipped, with the reason, when
// Node.js or tools/ort_runner/node_modules is missing; built only with libonnx-dev
// (cmake/export.cmake).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include "export_test_util.h"
#include "thanos/commands/export.h"
#include "thanos/common/subprocess.h"
#include "thanos/data/binarized.h"
#include "thanos/decode/beam_search.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/ort_runner.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using testing::ExportVariant;

OrtTensor ort_of(const std::string& name, const torch::Tensor& t) {
  if (t.scalar_type() == torch::kLong) {
    auto c = t.contiguous();
    return OrtTensor::from_int64(name, c.sizes().vec(), std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()));
  }
  auto c = t.to(torch::kFloat).contiguous();
  return OrtTensor::from_float32(name, c.sizes().vec(), std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()));
}

torch::Tensor torch_of(const OrtTensor& o) {
  if (o.dtype == OrtDtype::kInt64) return torch::tensor(o.int64(), torch::kLong).reshape(o.shape);
  return torch::tensor(o.float32(), torch::kFloat).reshape(o.shape);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.numel() == 0) return 0;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// The worst differences seen by a test, printed at its end.
struct Worst {
  double mask = 0, cross = 0, logits = 0;
  void print(const std::string& what) const {
    std::printf("[ ExportOrt ] %s: max |diff| mask %.3g, cross keys/values %.3g, logits %.3g\n", what.c_str(), mask,
                cross, logits);
  }
};

class ExportOrt : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = ort_runner_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    tmp_ = std::make_unique<TempDir>("export-ort");
    runner_ = std::make_unique<OrtRunner>();
  }

  struct Sessions {
    int encoder = 0, decoder = 0;
    bool is_static = false;
    int64_t src_len = 0, tgt_len = 0;
  };

  // Exports `model` (float32; static with `lengths`) to files and loads both graphs.
  Sessions export_and_load(SuperTransformer& model, const ExportVariant& v,
                           std::optional<std::pair<int64_t, int64_t>> lengths = {}) {
    auto ex = export_onnx(*model, v.config, testing::export_options(ExportDtype::kFloat32, lengths));
    const std::string dir = tmp_->path() + "/" + v.name + (lengths ? "_static" : "_dynamic");
    fs::create_directories(dir);
    write_onnx_model(dir + "/" + kExportEncoderFile, ex.encoder);
    write_onnx_model(dir + "/" + kExportDecoderFile, ex.decoder);
    Sessions s;
    s.encoder = runner_->load(dir + "/" + kExportEncoderFile).session;
    s.decoder = runner_->load(dir + "/" + kExportDecoderFile).session;
    if (lengths) {
      s.is_static = true;
      s.src_len = lengths->first;
      s.tgt_len = lengths->second;
    }
    return s;
  }

  std::map<std::string, torch::Tensor> run(int session, const std::map<std::string, torch::Tensor>& inputs) {
    std::vector<OrtTensor> in;
    for (const auto& [name, t] : inputs) in.push_back(ort_of(name, t));
    std::map<std::string, torch::Tensor> out;
    for (const auto& o : runner_->run(session, in)) out[o.name] = torch_of(o);
    return out;
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<OrtRunner> runner_;
};

std::string past_name(const char* kv, int layer) { return std::string("past_") + kv + "_" + std::to_string(layer); }
std::string present_name(const char* kv, int layer) { return std::string("present_") + kv + "_" + std::to_string(layer); }

// Empty (dynamic) or zero TGT_LEN-slot (static) self-attention caches for `rows` rows.
std::map<std::string, torch::Tensor> empty_pasts(const SubConfig& config, int64_t rows, int64_t capacity) {
  std::map<std::string, torch::Tensor> p;
  for (int l = 0; l < config.decoder_layer_num(); ++l) {
    const auto& d = config.decoder_layers[l];
    for (const char* kv : {"key", "value"}) {
      p[past_name(kv, l)] = torch::zeros({rows, d.self_heads, capacity, d.self_qkv_dim / d.self_heads});
    }
  }
  return p;
}

// A sentence (ending with </s>) right-padded with <pad> to `len`.
torch::Tensor padded_to(const torch::Tensor& sentence, int64_t len) {
  auto padded = torch::full({1, len}, kPadId, torch::kLong);
  padded.narrow(1, 0, sentence.size(1)).copy_(sentence);
  return padded;
}

// ------------------------------------------------------------------ graph outputs vs libtorch

TEST_F(ExportOrt, DynamicGraphsMatchLibtorchOnAPaddedBatch) {
  torch::NoGradGuard no_grad;
  for (const ExportVariant& v : {testing::shared_post_norm(), testing::separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = testing::standalone(v);
    const auto s = export_and_load(model, v);
    const auto src = testing::export_source_batch(v.super_options.src_vocab_size);  // right, left, no padding
    const int64_t B = src.size(0);
    auto cache = model->start_decoding(model->encode(src, v.config), v.config);
    auto enc = run(s.encoder, {{"src_tokens", src}});
    Worst w;
    w.mask = max_diff(enc.at("encoder_padding_mask"), src.eq(kPadId).to(torch::kFloat) * kExportMaskValue);
    for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
      const auto n = std::to_string(l);
      w.cross = std::max({w.cross, max_diff(enc.at("cross_key_" + n), cache.layers[l].encoder_attn.key),
                          max_diff(enc.at("cross_value_" + n), cache.layers[l].encoder_attn.value)});
    }
    auto in = enc;
    for (auto& [k, t] : empty_pasts(v.config, B, 0)) in[k] = t;
    auto gen = torch::make_generator<torch::CPUGeneratorImpl>(5);
    const int steps = 8;
    auto tokens = torch::randint(4, v.super_options.tgt_vocab_size, {B, steps}, gen, torch::kLong);
    tokens.index_put_({torch::indexing::Slice(), 0}, kEosId);
    for (int t = 0; t < steps; ++t) {
      auto prev = tokens.narrow(1, t, 1).contiguous();
      auto ref = model->decode_step(prev, cache, v.config).squeeze(1);
      in["prev_token"] = prev;
      in["step"] = torch::tensor({static_cast<int64_t>(t)}, torch::kLong);
      auto out = run(s.decoder, in);
      w.logits = std::max(w.logits, max_diff(out.at("logits"), ref));
      for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
        for (const char* kv : {"key", "value"}) {
          ASSERT_EQ(out.at(present_name(kv, l)).size(2), t + 1);
          in[past_name(kv, l)] = out.at(present_name(kv, l));
        }
      }
    }
    w.print(v.name + " dynamic");
    EXPECT_EQ(w.mask, 0.0);
    EXPECT_LE(w.cross, 1e-4);
    EXPECT_LE(w.logits, 1e-4);
  }
}

TEST_F(ExportOrt, StaticGraphsMatchLibtorchOnPaddedSources) {
  torch::NoGradGuard no_grad;
  const int64_t src_len = 10, tgt_len = 6;
  for (const ExportVariant& v : {testing::shared_post_norm(), testing::separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = testing::standalone(v);
    const auto s = export_and_load(model, v, std::pair<int64_t, int64_t>{src_len, tgt_len});
    const auto src = testing::export_source_batch(v.super_options.src_vocab_size);
    Worst w;
    for (int64_t row = 0; row < src.size(0); ++row) {
      auto r = src[row];
      auto sentence = r.masked_select(r.ne(kPadId)).unsqueeze(0);  // unpadded [1, len]
      const int64_t len = sentence.size(1);
      auto padded = padded_to(sentence, src_len);
      auto cache = model->start_decoding(model->encode(sentence, v.config), v.config);
      auto enc = run(s.encoder, {{"src_tokens", padded}});
      w.mask = std::max(w.mask, max_diff(enc.at("encoder_padding_mask"), padded.eq(kPadId).to(torch::kFloat) * kExportMaskValue));
      // The real positions' keys/values equal libtorch's on the unpadded sentence (each of the k
      // attended encoder layers is a block of SRC_LEN positions).
      for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
        const int k = v.config.decoder_layers[l].ende_attn_layers;
        for (const char* kv : {"key", "value"}) {
          const auto& ref = std::string(kv) == "key" ? cache.layers[l].encoder_attn.key : cache.layers[l].encoder_attn.value;
          const auto& got = enc.at(std::string("cross_") + kv + "_" + std::to_string(l));
          ASSERT_EQ(got.size(2), k * src_len);
          for (int j = 0; j < k; ++j) {
            w.cross = std::max(w.cross, max_diff(got.narrow(2, j * src_len, len), ref.narrow(2, j * len, len)));
          }
        }
      }
      auto in = enc;
      for (auto& [name, t] : empty_pasts(v.config, 1, tgt_len)) in[name] = t;
      auto gen = torch::make_generator<torch::CPUGeneratorImpl>(17 + row);
      auto tokens = torch::randint(4, v.super_options.tgt_vocab_size, {1, tgt_len}, gen, torch::kLong);
      tokens.index_put_({0, 0}, kEosId);
      for (int64_t t = 0; t < tgt_len; ++t) {
        auto prev = tokens.narrow(1, t, 1).contiguous();
        auto ref = model->decode_step(prev, cache, v.config).squeeze(1);
        in["prev_token"] = prev;
        in["step"] = torch::tensor({t}, torch::kLong);
        auto out = run(s.decoder, in);
        w.logits = std::max(w.logits, max_diff(out.at("logits"), ref));
        for (int l = 0; l < v.config.decoder_layer_num(); ++l) {
          for (const char* kv : {"key", "value"}) in[past_name(kv, l)] = out.at(present_name(kv, l));
        }
      }
    }
    w.print(v.name + " static");
    EXPECT_EQ(w.mask, 0.0);
    EXPECT_LE(w.cross, 1e-4);
    EXPECT_LE(w.logits, 1e-4);
  }
}

// ------------------------------------------------------------------ translations through ORT

// The decoder-step graph for the live hypotheses of one sentence: dynamic graphs run all rows in
// one call, static (batch-1) graphs once per row with that row's own caches (docs/EXPORT.md).
// Alongside, libtorch's decode_step on the same tokens, for the logits along the search's path.
class OrtStepper {
 public:
  OrtStepper(std::function<std::map<std::string, torch::Tensor>(int, const std::map<std::string, torch::Tensor>&)> run,
             int decoder, bool is_static, int64_t capacity, std::map<std::string, torch::Tensor> encoder_outputs,
             SuperTransformer model, const SubConfig& config, const torch::Tensor& sentence, int64_t rows)
      : run_(std::move(run)), decoder_(decoder), static_(is_static), config_(config), model_(std::move(model)) {
    const auto first = torch::zeros({rows}, torch::kLong);
    for (auto& [name, t] : encoder_outputs) shared_[name] = static_ ? t : t.index_select(0, first);
    pasts_ = empty_pasts(config, rows, static_ ? capacity : 0);
    cache_ = model_->start_decoding(model_->encode(sentence, config), config);
    cache_.reorder(first);
  }

  // Logits [rows, V] for the rows' previous tokens `prev` [rows, 1] at `step`.
  torch::Tensor step(const torch::Tensor& prev, int64_t step) {
    const auto ref = model_->decode_step(prev, cache_, config_).squeeze(1);
    torch::Tensor logits;
    if (!static_) {
      auto in = shared_;
      for (auto& [k, t] : pasts_) in[k] = t;
      in["prev_token"] = prev;
      in["step"] = torch::tensor({step}, torch::kLong);
      auto out = run_(decoder_, in);
      logits = out.at("logits");
      for (auto& [k, t] : pasts_) t = out.at("present" + k.substr(4));
    } else {
      std::vector<torch::Tensor> rows_logits;
      std::map<std::string, std::vector<torch::Tensor>> presents;
      for (int64_t r = 0; r < prev.size(0); ++r) {
        auto in = shared_;
        for (auto& [k, t] : pasts_) in[k] = t.narrow(0, r, 1);
        in["prev_token"] = prev.narrow(0, r, 1).contiguous();
        in["step"] = torch::tensor({step}, torch::kLong);
        auto out = run_(decoder_, in);
        rows_logits.push_back(out.at("logits"));
        for (auto& [k, t] : pasts_) presents[k].push_back(out.at("present" + k.substr(4)));
      }
      logits = torch::cat(rows_logits, 0);
      for (auto& [k, t] : pasts_) t = torch::cat(presents[k], 0);
    }
    max_logit_diff = std::max(max_logit_diff, max_diff(logits, ref));
    return logits;
  }

  // Row i continues row rows[i] (beam search's reordering).
  void reorder(const std::vector<int64_t>& rows) {
    const auto index = torch::tensor(rows, torch::kLong);
    for (auto& [k, t] : pasts_) t = t.index_select(0, index);
    cache_.reorder(index);
  }

  double max_logit_diff = 0;

 private:
  std::function<std::map<std::string, torch::Tensor>(int, const std::map<std::string, torch::Tensor>&)> run_;
  int decoder_;
  bool static_;
  SubConfig config_;
  SuperTransformer model_;
  DecoderCache cache_;
  std::map<std::string, torch::Tensor> shared_, pasts_;
};

// Beam search over one sentence with the rules of Generator::generate (src/decode/beam_search.cc)
// for a batch of one: log_softmax in float32, NaN and <pad> to -inf, only </s> at the length
// limit, no </s> before min_len; the best 2 x beam candidates over all beams (the first beam's
// only at step 0); </s> among the first `beam` candidates finishes a hypothesis (score = cumulative
// log-probability / length^lenpen, length with </s>) until `beam` are finished or the limit is
// reached; the best `beam` other candidates continue (dead rows when the vocabulary is too small).
// Returns the best hypothesis (stable sort by score, as nbest 1).
Hypothesis host_beam_search(OrtStepper& stepper, const GenerationOptions& o, int64_t max_len, int64_t V) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int64_t beam = o.beam;
  std::vector<std::vector<int64_t>> prefix(beam, std::vector<int64_t>{kEosId});
  std::vector<std::vector<float>> cum(beam);  // cumulative log-probabilities of tokens 1..step
  auto scores = torch::zeros({beam}, torch::kFloat);
  std::vector<Hypothesis> finalized;
  for (int64_t step = 0;; ++step) {
    std::vector<int64_t> last;
    for (const auto& p : prefix) last.push_back(p.back());
    auto logits = stepper.step(torch::tensor(last, torch::kLong).unsqueeze(1), step);
    auto lprobs = torch::log_softmax(logits.to(torch::kFloat), -1);
    lprobs.masked_fill_(lprobs.isnan(), kNegInf);
    lprobs.select(1, kPadId).fill_(kNegInf);
    const bool forced = step >= max_len;
    if (forced) {
      auto eos = lprobs.select(1, kEosId).clone();
      lprobs.fill_(kNegInf);
      lprobs.select(1, kEosId).copy_(eos);
    }
    if (step < o.min_len) lprobs.select(1, kEosId).fill_(kNegInf);
    torch::Tensor flat = step == 0 ? lprobs.narrow(0, 0, 1) : (lprobs + scores.unsqueeze(1)).reshape({1, beam * V});
    const int64_t k = std::min<int64_t>(2 * beam, flat.size(1));
    auto top = flat.topk(k, 1, true, true);
    auto cand_scores = std::get<0>(top)[0].contiguous(), cand_index = std::get<1>(top)[0].contiguous();
    const float* cs = cand_scores.data_ptr<float>();
    const int64_t* ci = cand_index.data_ptr<int64_t>();
    auto is_eos = [&](int64_t c) { return ci[c] % V == kEosId && cs[c] != kNegInf; };
    for (int64_t c = 0; c < std::min(k, beam); ++c) {
      if (!is_eos(c) || static_cast<int64_t>(finalized.size()) >= beam) continue;
      const int64_t row = ci[c] / V;
      Hypothesis h;
      float previous = 0;
      for (int64_t t = 0; t < step; ++t) {
        h.tokens.push_back(prefix[row][t + 1]);
        h.positional_scores.push_back(cum[row][t] - previous);
        previous = cum[row][t];
      }
      h.tokens.push_back(kEosId);
      h.positional_scores.push_back(cs[c] - previous);
      h.score = cs[c] / std::pow(static_cast<double>(step + 1), o.lenpen);
      finalized.push_back(std::move(h));
    }
    if (static_cast<int64_t>(finalized.size()) >= beam || forced) break;
    std::vector<int64_t> rows, next_tokens;
    std::vector<float> next_scores;
    for (int64_t c = 0; c < k && static_cast<int64_t>(rows.size()) < beam; ++c) {
      if (is_eos(c)) continue;
      rows.push_back(ci[c] / V);
      next_tokens.push_back(ci[c] % V);
      next_scores.push_back(cs[c]);
    }
    while (static_cast<int64_t>(rows.size()) < beam) {
      rows.push_back(0);
      next_tokens.push_back(kEosId);
      next_scores.push_back(kNegInf);
    }
    std::vector<std::vector<int64_t>> next_prefix;
    std::vector<std::vector<float>> next_cum;
    for (int64_t i = 0; i < beam; ++i) {
      next_prefix.push_back(prefix[rows[i]]);
      next_prefix.back().push_back(next_tokens[i]);
      next_cum.push_back(cum[rows[i]]);
      next_cum.back().push_back(next_scores[i]);
    }
    prefix = std::move(next_prefix);
    cum = std::move(next_cum);
    scores = torch::tensor(next_scores, torch::kFloat);
    stepper.reorder(rows);
  }
  std::stable_sort(finalized.begin(), finalized.end(),
                   [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
  return finalized.front();
}

// Test sentences: lengths 3..9 with </s>, random ids.
std::vector<torch::Tensor> test_sentences(int64_t vocab) {
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(23);
  std::vector<torch::Tensor> out;
  for (int64_t len : {5, 3, 9, 7}) {
    auto s = torch::randint(4, vocab, {1, len}, gen, torch::kLong);
    s.index_put_({0, len - 1}, kEosId);
    out.push_back(s);
  }
  return out;
}

// A random model rarely ends a sentence: enlarge the output projection's </s> row (the tied
// embedding table's, or the untied projection's) so that some translations end with </s> before
// the length limit and the search's finishing rules are exercised.
void favour_eos(SuperTransformer& model, double factor) {
  torch::NoGradGuard no_grad;
  auto params = model->named_parameters();
  for (const char* name : {"decoder.output_projection", "decoder.embed_tokens.weight", "encoder.embed_tokens.weight"}) {
    if (auto* p = params.find(name)) {
      p->select(0, kEosId).mul_(factor);
      return;
    }
  }
  FAIL() << "no output projection";
}

std::string tokens_text(const std::vector<int64_t>& t) {
  std::string s;
  for (auto x : t) s += std::to_string(x) + " ";
  return s;
}

class ExportOrtTranslation : public ExportOrt {
 protected:
  // Every test sentence translated by the Generator and by the host search through ORT (dynamic
  // and static graphs) with `o`: the same tokens, scores within 1e-4.
  void check(const GenerationOptions& o) {
    torch::NoGradGuard no_grad;
    const int64_t src_len = 12;
    for (const ExportVariant& v : {testing::shared_post_norm(), testing::separate_pre_norm()}) {
      SCOPED_TRACE(v.name);
      auto model = testing::standalone(v);
      favour_eos(model, 3.0);  // 2-4 of the 4 test sentences end before the limit
      Generator generator(model, v.config, o);
      const int64_t tgt_len = generator.max_length(src_len) + 1;  // steps 0..max_len
      for (bool st : {false, true}) {
        SCOPED_TRACE(st ? "static" : "dynamic");
        const auto s = export_and_load(model, v, st ? std::optional(std::pair<int64_t, int64_t>{src_len, tgt_len}) : std::nullopt);
        double worst = 0, worst_score = 0;
        int finished_early = 0;
        for (const auto& sentence : test_sentences(v.super_options.src_vocab_size)) {
          const auto expected = generator.generate(sentence).at(0).at(0);
          auto enc = run(s.encoder, {{"src_tokens", st ? padded_to(sentence, src_len) : sentence}});
          OrtStepper stepper([this](int session, const std::map<std::string, torch::Tensor>& in) { return run(session, in); },
                             s.decoder, st, tgt_len, enc, model, v.config, sentence, o.beam);
          const auto got = host_beam_search(stepper, o, generator.max_length(sentence.size(1)), v.super_options.tgt_vocab_size);
          EXPECT_EQ(got.tokens, expected.tokens) << "ORT: " << tokens_text(got.tokens) << "\nlibtorch: " << tokens_text(expected.tokens);
          worst_score = std::max(worst_score, std::abs(got.score - expected.score));
          worst = std::max(worst, stepper.max_logit_diff);
          finished_early += static_cast<int64_t>(expected.tokens.size()) <= generator.max_length(sentence.size(1));
        }
        std::printf("[ ExportOrt ] %s %s beam %d: max |diff| logits along the search %.3g, scores %.3g; %d/4 ended with </s> "
                    "before the length limit\n",
                    v.name.c_str(), st ? "static" : "dynamic", o.beam, worst, worst_score, finished_early);
        EXPECT_LE(worst, 1e-4);
        EXPECT_LE(worst_score, 1e-4);
        EXPECT_GT(finished_early, 0);  // the </s> rules were exercised
      }
    }
  }
};

TEST_F(ExportOrtTranslation, GreedyThroughOrtEqualsLibtorch) {
  GenerationOptions o;
  o.beam = 1;
  o.max_len_b = 10;
  check(o);
}

TEST_F(ExportOrtTranslation, BeamFourThroughOrtEqualsLibtorch) {
  GenerationOptions o = generation_preset("hat-wmt");  // beam 4, lenpen 0.6
  o.max_len_b = 10;
  check(o);
}

}  // namespace
}  // namespace thanos
