#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_util.h"
#include "thanos/model/extract.h"
#include "thanos/model/super_transformer.h"
#include "thanos/space/sampler.h"

using namespace thanos;
using thanos::testing::tiny_space;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {

ModelOptions tiny_options(const SearchSpace& s, int vocab = 50) { return super_model_options(s, vocab, vocab); }

std::pair<torch::Tensor, torch::Tensor> batch(int vocab, int pad, std::uint64_t seed) {
  torch::manual_seed(seed);
  auto src = torch::randint(4, vocab, {3, 8}, torch::kLong);
  auto prev = torch::randint(4, vocab, {3, 6}, torch::kLong);
  src.index_put_({0, Slice(5, None)}, pad);  // right padding
  src.index_put_({2, Slice(None, 2)}, pad);  // left padding (fairseq's default for sources)
  prev.index_put_({1, Slice(4, None)}, pad);
  return {src, prev};
}

// ---------------------------------------------------------------------------------------------
// An independent reference implementation of HAT's forward pass, written from the definition with
// explicit loops over heads and positions; it reads weights by name only.
struct Reference {
  std::map<std::string, torch::Tensor> w;
  ModelOptions o;

  explicit Reference(SuperTransformerImpl& m) : o(m.options()) {
    for (auto& p : m.named_parameters()) w[p.key()] = p.value().detach();
  }
  torch::Tensor front(const std::string& name, std::vector<int64_t> sizes) {
    torch::Tensor t = w.at(name);
    for (std::size_t k = 0; k < sizes.size(); ++k) t = t.narrow(static_cast<int64_t>(k), 0, sizes[k]);
    return t;
  }
  static torch::Tensor sinusoid(int64_t rows, int64_t dim, int64_t pad) {
    auto t = torch::zeros({rows, dim});
    const int64_t half = dim / 2;
    for (int64_t r = 0; r < rows; ++r) {
      if (r == pad) continue;
      for (int64_t i = 0; i < half; ++i) {
        const double freq = std::exp(-std::log(10000.0) * i / (half - 1));
        t[r][i] = std::sin(r * freq);
        t[r][half + i] = std::cos(r * freq);
      }
    }
    return t;
  }
  torch::Tensor embed(const torch::Tensor& tokens, const std::string& table, int64_t dim, int64_t table_dim) {
    const int64_t pad = o.padding_idx;
    auto pos_table = sinusoid(o.hyper.max_source_positions + pad + 1, table_dim, pad).narrow(1, 0, dim);
    auto x = torch::zeros({tokens.size(0), tokens.size(1), dim});
    auto emb = w.at(table).narrow(1, 0, dim);
    for (int64_t b = 0; b < tokens.size(0); ++b) {
      int64_t count = 0;
      for (int64_t t = 0; t < tokens.size(1); ++t) {
        const int64_t tok = tokens[b][t].item<int64_t>();
        const int64_t pos = tok == pad ? pad : pad + (++count);
        x[b][t] = emb[tok] * std::sqrt(double(dim)) + pos_table[pos];
      }
    }
    return x;
  }
  torch::Tensor linear(const std::string& p, const torch::Tensor& x, int64_t in, int64_t out) {
    return torch::matmul(x, front(p + ".weight", {out, in}).t()) + front(p + ".bias", {out});
  }
  torch::Tensor norm(const std::string& p, const torch::Tensor& x, int64_t d) {
    auto mu = x.mean(-1, true);
    auto var = (x - mu).pow(2).mean(-1, true);
    return (x - mu) / torch::sqrt(var + 1e-5) * front(p + ".weight", {d}) + front(p + ".bias", {d});
  }
  torch::Tensor attention(const std::string& p, const torch::Tensor& xq, const torch::Tensor& xkv, int64_t qdim,
                          int64_t kvdim, int64_t qkv, int64_t heads, const torch::Tensor& key_pad, bool causal) {
    auto q = linear(p + ".q_proj", xq, qdim, qkv) * std::pow(double(qkv / heads), -0.5);
    auto k = linear(p + ".k_proj", xkv, kvdim, qkv);
    auto v = linear(p + ".v_proj", xkv, kvdim, qkv);
    const int64_t hd = qkv / heads, Tq = xq.size(1), Tk = xkv.size(1);
    std::vector<torch::Tensor> outs;
    for (int64_t h = 0; h < heads; ++h) {
      auto qh = q.narrow(2, h * hd, hd), kh = k.narrow(2, h * hd, hd), vh = v.narrow(2, h * hd, hd);
      auto s = torch::bmm(qh, kh.transpose(1, 2));  // [B, Tq, Tk]
      if (causal) s = s.masked_fill(torch::ones({Tq, Tk}, torch::kBool).triu(1), -INFINITY);
      if (key_pad.defined()) s = s.masked_fill(key_pad.unsqueeze(1), -INFINITY);
      outs.push_back(torch::bmm(torch::softmax(s, -1), vh));
    }
    return linear(p + ".out_proj", torch::cat(outs, 2), qkv, qdim);
  }
  torch::Tensor forward(const SubConfig& c, const torch::Tensor& src, const torch::Tensor& prev) {
    const int64_t e = c.encoder_embed_dim, d = c.decoder_embed_dim;
    const std::string dec_table = o.hyper.share_all_embeddings ? "encoder.embed_tokens.weight" : "decoder.embed_tokens.weight";
    auto x = embed(src, "encoder.embed_tokens.weight", e, o.encoder_position_dim);
    auto pad = src.eq(o.padding_idx);
    std::vector<torch::Tensor> outs;
    for (int i = 0; i < c.encoder_layer_num(); ++i) {
      const auto& l = c.encoder_layers[i];
      const std::string p = "encoder.layers." + std::to_string(i);
      x = norm(p + ".self_attn_layer_norm", x + attention(p + ".self_attn", x, x, e, e, l.self_qkv_dim, l.self_heads, pad, false), e);
      auto f = linear(p + ".fc2", torch::relu(linear(p + ".fc1", x, e, l.ffn_dim)), l.ffn_dim, e);
      x = norm(p + ".final_layer_norm", x + f, e);
      outs.push_back(x);
    }
    auto y = embed(prev, dec_table, d, o.decoder_position_dim);
    for (int i = 0; i < c.decoder_layer_num(); ++i) {
      const auto& l = c.decoder_layers[i];
      const std::string p = "decoder.layers." + std::to_string(i);
      std::vector<torch::Tensor> mem, masks;
      for (int k = 0; k < l.ende_attn_layers; ++k) {  // [last, second-to-last, ...]
        mem.push_back(outs[outs.size() - 1 - k]);
        masks.push_back(pad);
      }
      auto memory = torch::cat(mem, 1), memory_pad = torch::cat(masks, 1);
      y = norm(p + ".self_attn_layer_norm", y + attention(p + ".self_attn", y, y, d, d, l.self_qkv_dim, l.self_heads, {}, true), d);
      y = norm(p + ".encoder_attn_layer_norm",
               y + attention(p + ".encoder_attn", y, memory, d, e, l.ende_qkv_dim, l.ende_heads, memory_pad, false), d);
      auto f = linear(p + ".fc2", torch::relu(linear(p + ".fc1", y, d, l.ffn_dim)), l.ffn_dim, d);
      y = norm(p + ".final_layer_norm", y + f, d);
    }
    return torch::matmul(y, w.at(dec_table).narrow(1, 0, d).t());
  }
};

}  // namespace

TEST(SuperTransformer, ParameterNamesArePinned) {
  // These names are a contract between the model, extraction, checkpoints and ONNX initializers.
  SubConfig c = tiny_space().smallest();
  c.encoder_layers.resize(1);
  ModelOptions o = tiny_options(tiny_space());
  o.capacity = c;
  SuperTransformer m(o);
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  std::vector<std::string> layer_params;
  auto attn = [](const std::string& p) {
    std::vector<std::string> v;
    for (const char* n : {"q_proj", "k_proj", "v_proj", "out_proj"})
      for (const char* t : {"weight", "bias"}) v.push_back(p + "." + n + "." + t);
    return v;
  };
  std::vector<std::string> expected = {"encoder.embed_tokens.weight"};
  for (auto& n : attn("encoder.layers.0.self_attn")) expected.push_back(n);
  for (const char* n : {"encoder.layers.0.self_attn_layer_norm.weight", "encoder.layers.0.self_attn_layer_norm.bias",
                        "encoder.layers.0.fc1.weight", "encoder.layers.0.fc1.bias", "encoder.layers.0.fc2.weight",
                        "encoder.layers.0.fc2.bias", "encoder.layers.0.final_layer_norm.weight",
                        "encoder.layers.0.final_layer_norm.bias"})
    expected.push_back(n);
  for (auto& n : attn("decoder.layers.0.self_attn")) expected.push_back(n);
  expected.push_back("decoder.layers.0.self_attn_layer_norm.weight");
  expected.push_back("decoder.layers.0.self_attn_layer_norm.bias");
  for (auto& n : attn("decoder.layers.0.encoder_attn")) expected.push_back(n);
  for (const char* n : {"decoder.layers.0.encoder_attn_layer_norm.weight", "decoder.layers.0.encoder_attn_layer_norm.bias",
                        "decoder.layers.0.fc1.weight", "decoder.layers.0.fc1.bias", "decoder.layers.0.fc2.weight",
                        "decoder.layers.0.fc2.bias", "decoder.layers.0.final_layer_norm.weight",
                        "decoder.layers.0.final_layer_norm.bias"})
    expected.push_back(n);
  EXPECT_EQ(names, expected);
  std::vector<std::string> buffers;
  for (const auto& b : m->named_buffers()) buffers.push_back(b.key());
  EXPECT_EQ(buffers, (std::vector<std::string>{"encoder.embed_positions.weight", "decoder.embed_positions.weight"}));
}

TEST(SuperTransformer, SeparateEmbeddingsAndUntiedOutputGetTheirOwnNames) {
  SearchSpace s = tiny_space();
  s.hyper.share_all_embeddings = false;
  s.hyper.share_decoder_input_output = false;
  SuperTransformer m(super_model_options(s, 40, 30));
  auto params = m->named_parameters();
  ASSERT_NE(params.find("decoder.embed_tokens.weight"), nullptr);
  ASSERT_NE(params.find("decoder.output_projection"), nullptr);
  EXPECT_EQ(params["decoder.embed_tokens.weight"].sizes(), (std::vector<int64_t>{30, 32}));
  EXPECT_EQ(params["encoder.embed_tokens.weight"].sizes(), (std::vector<int64_t>{40, 32}));
}

TEST(SuperTransformer, MatchesIndependentReferenceUnderSampledConfigs) {
  const SearchSpace s = tiny_space();
  SuperTransformer m(tiny_options(s));
  m->eval();
  Reference ref(*m);
  auto [src, prev] = batch(50, 1, 3);
  torch::NoGradGuard no_grad;
  std::vector<SubConfig> configs = sample_configs(s, 11, 6);
  configs.push_back(s.smallest());
  configs.push_back(s.largest());
  for (const auto& c : configs) {
    auto got = m->forward(src, prev, c);
    auto want = ref.forward(c, src, prev);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-4) << c.summary();
  }
}

TEST(SuperTransformer, PositionsAreSlicedFromTheSuperTable) {
  // HAT computes the sinusoid for the super dim and slices it; a table recomputed for the small
  // dim has different frequencies.
  const auto super_table = SinusoidalPositionsImpl::table(20, 32, 1);
  const auto small_table = SinusoidalPositionsImpl::table(20, 16, 1);
  EXPECT_GT((super_table.narrow(1, 0, 16) - small_table).abs().max().item<double>(), 0.1);
  EXPECT_TRUE(torch::allclose(super_table, Reference::sinusoid(20, 32, 1), 1e-5, 1e-5));
  EXPECT_EQ(super_table[1].abs().sum().item<double>(), 0.0);  // padding row

  SuperTransformer m(tiny_options(tiny_space()));
  SubConfig c = tiny_space().smallest();
  SuperTransformer sub = extract_subtransformer(*m, c);
  const auto& buf = sub->encoder->embed_positions->weight;
  EXPECT_EQ(buf.size(1), 16);
  EXPECT_TRUE(torch::equal(buf, m->encoder->embed_positions->weight.narrow(1, 0, 16)));
}

TEST(SuperTransformer, ArbitraryAttentionConcatenatesLastLayersFirst) {
  EncoderOutput enc;
  for (int i = 0; i < 4; ++i) enc.layer_outputs.push_back(torch::full({2, 3, 5}, float(i)));
  enc.padding_mask = torch::tensor({{false, false, true}, {false, false, false}}).to(torch::kBool);
  auto [mem, mask] = TransformerDecoderImpl::attention_memory(enc, 3);
  ASSERT_EQ(mem.sizes(), (std::vector<int64_t>{2, 9, 5}));
  EXPECT_EQ(mem[0][0][0].item<float>(), 3.f);  // last layer first
  EXPECT_EQ(mem[0][3][0].item<float>(), 2.f);  // then second-to-last
  EXPECT_EQ(mem[0][6][0].item<float>(), 1.f);  // then third-to-last
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{2, 9}));
  EXPECT_TRUE(mask[0][2].item<bool>() && mask[0][5].item<bool>() && mask[0][8].item<bool>());
  EXPECT_FALSE(mask[1].any().item<bool>());
  auto [one, one_mask] = TransformerDecoderImpl::attention_memory(enc, 1);
  EXPECT_TRUE(torch::equal(one, enc.layer_outputs.back()));
  EXPECT_THROW(TransformerDecoderImpl::attention_memory(enc, 5), std::invalid_argument);
}

TEST(ElasticLayers, FrontSlicesEqualExplicitCopies) {
  torch::manual_seed(0);
  ElasticLinear lin(12, 10);
  ElasticLayerNorm ln(12);
  {
    torch::NoGradGuard g;
    ln->weight.uniform_(0.5, 1.5);
    ln->bias.uniform_(-1, 1);
  }
  auto x = torch::randn({4, 7});
  auto w = lin->weight.index({Slice(0, 5), Slice(0, 7)}).clone();
  auto b = lin->bias.index({Slice(0, 5)}).clone();
  EXPECT_TRUE(torch::allclose(lin->forward(x, 7, 5), torch::matmul(x, w.t()) + b, 1e-6, 1e-6));
  auto y = torch::randn({3, 9});
  auto want = torch::layer_norm(y, {9}, ln->weight.narrow(0, 0, 9).clone(), ln->bias.narrow(0, 0, 9).clone());
  EXPECT_TRUE(torch::allclose(ln->forward(y, 9), want, 1e-6, 1e-6));
  EXPECT_THROW(lin->forward(x, 7, 11), std::invalid_argument);
}

TEST(SuperTransformer, SlicingSharesStorageWithSuperWeights) {
  // Gradients of a sampled SubTransformer land in the front part of the super weights only.
  const SearchSpace s = tiny_space();
  SuperTransformer m(tiny_options(s));
  auto [src, prev] = batch(50, 1, 4);
  const SubConfig c = s.smallest();
  m->forward(src, prev, c).sum().backward();
  auto g = m->encoder->layers[0]->as<EncoderLayerImpl>()->fc1->weight.grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(g.index({Slice(0, 32), Slice(0, 16)}).abs().sum().item<double>(), 0);
  EXPECT_EQ(g.index({Slice(32, None), Slice()}).abs().sum().item<double>(), 0);
  EXPECT_EQ(g.index({Slice(), Slice(16, None)}).abs().sum().item<double>(), 0);
  // The unused third encoder layer got no gradient at all.
  auto g3 = m->encoder->layers[2]->as<EncoderLayerImpl>()->fc1->weight.grad();
  EXPECT_TRUE(!g3.defined() || g3.abs().sum().item<double>() == 0);
}

TEST(SuperTransformer, PreNormVariantMatchesItsExtraction) {
  SearchSpace s = tiny_space();
  s.hyper.encoder_normalize_before = s.hyper.decoder_normalize_before = true;
  SuperTransformer m(tiny_options(s));
  m->eval();
  ASSERT_TRUE(m->encoder->layer_norm);
  auto [src, prev] = batch(50, 1, 5);
  torch::NoGradGuard g;
  for (const auto& c : sample_configs(s, 3, 4)) {
    auto sub = extract_subtransformer(*m, c);
    sub->eval();
    EXPECT_LT((m->forward(src, prev, c) - sub->forward(src, prev, c)).abs().max().item<double>(), 1e-5);
  }
}

TEST(SuperTransformer, DropoutIsScaledByEmbedRatioAndOffInEval) {
  EXPECT_DOUBLE_EQ(scaled_dropout(0.3, 512, 640), 0.3 * 0.8);
  const SearchSpace s = tiny_space();
  SuperTransformer m(tiny_options(s));
  auto [src, prev] = batch(50, 1, 6);
  torch::NoGradGuard g;
  m->train();
  auto a = m->forward(src, prev, s.largest());
  auto b = m->forward(src, prev, s.largest());
  EXPECT_GT((a - b).abs().max().item<double>(), 0);  // dropout active in training
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(src, prev, s.largest()), m->forward(src, prev, s.largest())));
}

TEST(SuperTransformer, RejectsConfigsThatDoNotFit) {
  const SearchSpace s = tiny_space();
  SuperTransformer m(tiny_options(s));
  SubConfig c = s.largest();
  c.encoder_layers[0].ffn_dim = 128;
  auto [src, prev] = batch(50, 1, 7);
  try {
    m->forward(src, prev, c);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("encoder-ffn-embed-dim[0] = 128"), std::string::npos) << e.what();
  }
}
