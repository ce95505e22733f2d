// The exported graphs in ONNX Runtime (issue 9, docs/EXPORT.md, docs/ORT.md): encoder.onnx and
// decoder_step.onnx of a small random-weight SubTransformer, written to disk and run through the
// Node.js runner (RuntimeRunner), match libtorch (encoder keys/values, step logits, max abs difference
// <= 1e-4 in float32) in dynamic and static mode; greedy and beam-4 translations driven step by
// step through ONNX Runtime, with a host-side beam search following the project's rules
// (src/decode/beam_search.cc, one sentence), equal the Generator's. Skipped, with the reason, when
// Node.js or tools/ort_runner/node_modules is missing; built only with libonnx-dev
// (THANOS_HAVE_ONNX in CMakeLists.txt).
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
#include "thanos/common/temp_dir.h"
#include "thanos/data/binarized.h"
#include "thanos/decode/beam_search.h"
#include "thanos/export/onnx_export.h"
#include "thanos/export/runtime_runner.h"
#include "thanos/export/ort_step_decoder.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using testing::ExportVariant;

OrtTensor ort_of(const std::string& name, const torch::Tensor& t) { return to_ort_tensor(name, t); }
torch::Tensor torch_of(const OrtTensor& o) {
  auto t = to_torch_tensor(o);
  return t.is_floating_point() ? t.to(torch::kFloat) : t;
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
    const std::string why = runtime_runner_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    tmp_ = std::make_unique<TempDir>("export-ort");
    runner_ = std::make_unique<RuntimeRunner>();
  }

  struct Sessions {
    int encoder = 0, decoder = 0;
    bool is_static = false;
    int64_t src_len = 0, tgt_len = 0;
  };

  // Exports `model` (float32 unless `dtype`; static with `lengths`) with its sidecar to a directory.
  std::string export_to_dir(SuperTransformer& model, const ExportVariant& v,
                            std::optional<std::pair<int64_t, int64_t>> lengths = {},
                            ExportDtype dtype = ExportDtype::kFloat32) {
    const auto options = testing::export_options(dtype, lengths);
    auto ex = export_onnx(*model, v.config, options);
    const std::string dir = tmp_->path() + "/" + v.name + (lengths ? "_static" : "_dynamic") + "_" + export_dtype_name(dtype);
    fs::create_directories(dir);
    write_onnx_model(dir + "/" + kExportEncoderFile, ex.encoder);
    write_onnx_model(dir + "/" + kExportDecoderFile, ex.decoder);
    write_sidecar(dir + "/" + kExportSidecarFile, make_export_sidecar(model->options(), v.config, options, ex, "test"));
    return dir;
  }

  // Exports `model` (float32; static with `lengths`) and loads both graphs.
  Sessions export_and_load(SuperTransformer& model, const ExportVariant& v,
                           std::optional<std::pair<int64_t, int64_t>> lengths = {}) {
    const std::string dir = export_to_dir(model, v, lengths);
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
  std::unique_ptr<RuntimeRunner> runner_;
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

// ONNX Runtime's logits drive the search; libtorch's decoder follows the same path alongside, so
// the logits can be compared at every step the search takes.
class ComparingStepDecoder : public StepDecoder {
 public:
  ComparingStepDecoder(StepDecoder& ort, std::unique_ptr<StepDecoder> reference)
      : ort_(ort), reference_(std::move(reference)) {}
  void start(const torch::Tensor& src, int64_t beam) override {
    ort_.start(src, beam);
    reference_->start(src, beam);
  }
  torch::Tensor next_logits(const torch::Tensor& prefix, int64_t step) override {
    auto got = ort_.next_logits(prefix, step);
    max_logit_diff = std::max(max_logit_diff, max_diff(got, reference_->next_logits(prefix, step)));
    return got;
  }
  void reorder(const torch::Tensor& rows, bool sentences_left) override {
    ort_.reorder(rows, sentences_left);
    reference_->reorder(rows, sentences_left);
  }
  double max_logit_diff = 0;

 private:
  StepDecoder& ort_;
  std::unique_ptr<StepDecoder> reference_;
};

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
        const std::string dir = export_to_dir(model, v, st ? std::optional(std::pair<int64_t, int64_t>{src_len, tgt_len}) : std::nullopt);
        OrtStepDecoder ort(*runner_, dir);
        double worst = 0, worst_score = 0;
        int finished_early = 0;
        const auto sentences = test_sentences(v.super_options.src_vocab_size);
        for (const auto& sentence : sentences) {
          const auto expected = generator.generate(sentence).at(0).at(0);
          ComparingStepDecoder compare(ort, make_libtorch_step_decoder(*model, v.config));
          const auto got = beam_search(compare, sentence, v.super_options.tgt_vocab_size, o, ort.max_target_positions()).at(0).at(0);
          EXPECT_EQ(got.tokens, expected.tokens) << "ORT: " << tokens_text(got.tokens) << "\nlibtorch: " << tokens_text(expected.tokens);
          worst_score = std::max(worst_score, std::abs(got.score - expected.score));
          worst = std::max(worst, compare.max_logit_diff);
          finished_early += static_cast<int64_t>(expected.tokens.size()) <= generator.max_length(sentence.size(1));
        }
        if (!st) {
          // A padded batch of all four at once (dynamic graphs run every row in one call).
          const int64_t longest = 9;
          auto batch = torch::full({4, longest}, kPadId, torch::kLong);
          for (int64_t i = 0; i < 4; ++i) batch[i].narrow(0, 0, sentences[i].size(1)).copy_(sentences[i][0]);
          const auto expected = generator.generate(batch);
          const auto got = beam_search(ort, batch, v.super_options.tgt_vocab_size, o, ort.max_target_positions());
          for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(got.at(i).at(0).tokens, expected.at(i).at(0).tokens) << "batch row " << i;
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

// float16 graphs (weights and activations in half precision) follow libtorch's float32 model: the
// logits along a greedy search within 1e-2 of the largest logit's magnitude.
TEST_F(ExportOrtTranslation, Float16GraphsFollowFloat32) {
  torch::NoGradGuard no_grad;
  GenerationOptions o;
  o.beam = 1;
  o.max_len_b = 10;
  for (const ExportVariant& v : {testing::shared_post_norm(), testing::separate_pre_norm()}) {
    SCOPED_TRACE(v.name);
    auto model = testing::standalone(v);
    OrtStepDecoder ort(*runner_, export_to_dir(model, v, std::nullopt, ExportDtype::kFloat16));
    ASSERT_EQ(ort.sidecar().dtype, "float16");
    double worst = 0, largest = 0;
    for (const auto& sentence : test_sentences(v.super_options.src_vocab_size)) {
      ComparingStepDecoder compare(ort, make_libtorch_step_decoder(*model, v.config));
      beam_search(compare, sentence, v.super_options.tgt_vocab_size, o, ort.max_target_positions());
      worst = std::max(worst, compare.max_logit_diff);
      auto enc = model->encode(sentence, v.config);
      auto cache = model->start_decoding(enc, v.config);
      largest = std::max(largest, model->decode_step(torch::full({1, 1}, kEosId, torch::kLong), cache, v.config).abs().max().item<double>());
    }
    std::printf("[ ExportOrt ] %s float16: max |diff| logits vs float32 libtorch %.3g (largest |logit| %.3g)\n", v.name.c_str(),
                worst, largest);
    EXPECT_GT(worst, 0.0);  // really half precision
    EXPECT_LE(worst, 1e-2 * std::max(1.0, largest));
  }
}

}  // namespace
}  // namespace thanos
