#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "test_util.h"
#include "thanos/model/cost_model.h"
#include "thanos/model/extract.h"
#include "thanos/model/model_file.h"
#include "thanos/space/sampler.h"

using namespace thanos;
using thanos::testing::tiny_space;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {

std::pair<torch::Tensor, torch::Tensor> batch(int vocab, int pad, std::uint64_t seed) {
  torch::manual_seed(seed);
  auto src = torch::randint(4, vocab, {4, 11}, torch::kLong);
  auto prev = torch::randint(4, vocab, {4, 9}, torch::kLong);
  src.index_put_({1, Slice(7, None)}, pad);
  prev.index_put_({3, Slice(6, None)}, pad);
  return {src, prev};
}

std::int64_t numel(SuperTransformerImpl& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/thanos_" + std::to_string(::getpid()) + "_" + name;
}

void expect_extraction_equal(const SearchSpace& s, int src_vocab, int tgt_vocab, std::uint64_t seed) {
  torch::manual_seed(seed);
  SuperTransformer super(super_model_options(s, src_vocab, tgt_vocab));
  super->eval();
  auto [src, prev] = batch(std::min(src_vocab, tgt_vocab), super->options().padding_idx, seed);
  std::vector<SubConfig> configs = sample_configs(s, seed, 8);
  configs.push_back(s.smallest());
  configs.push_back(s.largest());
  torch::NoGradGuard no_grad;
  for (const auto& c : configs) {
    SuperTransformer sub = extract_subtransformer(*super, c);
    sub->eval();
    const double diff = (super->forward(src, prev, c) - sub->forward(src, prev, c)).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << c.summary();
    // The standalone model holds exactly the config's weights, as the cost model counts them.
    EXPECT_EQ(numel(*sub), count_params(c, s.hyper, src_vocab, tgt_vocab).total()) << c.summary();
  }
}

}  // namespace

TEST(Extract, OutputsEqualSuperTransformerSharedEmbeddings) { expect_extraction_equal(tiny_space(), 60, 60, 1); }

TEST(Extract, OutputsEqualSuperTransformerSeparateEmbeddingsUntiedOutput) {
  SearchSpace s = tiny_space();
  s.hyper.share_all_embeddings = false;
  s.hyper.share_decoder_input_output = false;
  expect_extraction_equal(s, 70, 45, 2);
}

TEST(Extract, OutputsEqualWithDifferentEncoderAndDecoderWidths) {
  SearchSpace s = tiny_space();
  s.hyper.share_all_embeddings = false;
  s.hyper.share_decoder_input_output = true;
  s.decoder_embed_dim = 40;
  s.decoder_embed_choices = {40, 24};
  s.decoder_ffn_choices = {64, 16};
  expect_extraction_equal(s, 55, 55, 3);
}

TEST(Extract, RejectsConfigOutsideTheCapacity) {
  const SearchSpace s = tiny_space();
  SuperTransformer super(super_model_options(s, 30, 30));
  SubConfig c = s.largest();
  c.decoder_layers.push_back(c.decoder_layers.back());  // 4 decoder layers, super has 3
  EXPECT_THROW(extract_subtransformer(*super, c), std::invalid_argument);
}

TEST(ModelFile, RoundTripKeepsWeightsOptionsConfigAndMetadata) {
  const SearchSpace s = tiny_space();
  torch::manual_seed(5);
  SuperTransformer super(super_model_options(s, 40, 40));
  const SubConfig c = sample_configs(s, 5, 1)[0];
  SuperTransformer sub = extract_subtransformer(*super, c);
  ModelFileInfo info;
  info.options = sub->options();
  info.sub_config = c;
  info.metadata["space_yaml"] = "a: [1, 2]\n";
  const std::string path = temp_path("roundtrip.pt");
  save_model(path, *sub, info);
  LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.info.options, sub->options());
  ASSERT_TRUE(loaded.info.sub_config.has_value());
  EXPECT_EQ(*loaded.info.sub_config, c);
  EXPECT_EQ(loaded.info.metadata.at("space_yaml"), "a: [1, 2]\n");
  auto a = sub->named_parameters();
  for (const auto& p : loaded.model->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), a[p.key()])) << p.key();
  auto bufs = sub->named_buffers();
  for (const auto& b : loaded.model->named_buffers()) EXPECT_TRUE(torch::equal(b.value(), bufs[b.key()])) << b.key();
  auto [src, prev] = batch(40, 1, 9);
  sub->eval();
  loaded.model->eval();
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::equal(sub->forward(src, prev, c), loaded.model->forward(src, prev, c)));
  std::remove(path.c_str());
}

TEST(ModelFile, SaveReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  const SearchSpace s = tiny_space();
  SuperTransformer super(super_model_options(s, 20, 20));
  ModelFileInfo info;
  info.options = super->options();
  const std::string path = temp_path("atomic.pt");
  save_model(path, *super, info);
  save_model(path, *super, info);  // overwrite
  EXPECT_FALSE(std::ifstream(path + ".tmp." + std::to_string(::getpid())).good());
  EXPECT_FALSE(load_model(path).info.is_standalone());
  std::remove(path.c_str());
}

TEST(ModelFile, BadFilesGiveClearErrors) {
  const std::string missing = temp_path("missing.pt");
  try {
    load_model(missing);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  }
  const std::string junk = temp_path("junk.pt");
  std::ofstream(junk) << "this is not a model";
  try {
    load_model(junk);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a THANOS model file"), std::string::npos) << e.what();
  }
  std::remove(junk.c_str());
}

TEST(ModelFile, ConfigIntegerRecordRoundTrips) {
  for (const auto& c : sample_configs(tiny_space(), 8, 20)) EXPECT_EQ(config_from_ints(config_to_ints(c), "t"), c);
  EXPECT_THROW(config_from_ints({32, 32, 2, 1, 1}, "t"), std::invalid_argument);
  // Layer counts whose product with the fields wraps the size check around (3 x 6148914691236517206
  // wraps to 2 in 64 bits, so 4 + 2 = 6 values looked right), negative and 2^32 + 512 values.
  EXPECT_THROW(config_from_ints({32, 32, 6148914691236517206LL, 0, 1, 1}, "t"), std::invalid_argument);
  EXPECT_THROW(config_from_ints({32, 32, -1, 0}, "t"), std::invalid_argument);
  EXPECT_THROW(config_from_ints({4294967808LL, 32, 0, 0}, "t"), std::invalid_argument);
  // The record's layout as model files hold it (as written before the field table existed):
  // embed dims, layer counts, then each layer's fields. Existing files must stay readable.
  SubConfig c;
  c.encoder_embed_dim = 128;
  c.decoder_embed_dim = 192;
  c.encoder_layers = {{256, 2, 64}};
  c.decoder_layers = {{512, 2, 64, 4, 128, 1}, {256, 4, 128, 2, 64, 1}};
  const std::vector<int64_t> record{128, 192, 1, 2, 256, 2, 64, 512, 2, 64, 4, 128, 1, 256, 4, 128, 2, 64, 1};
  EXPECT_EQ(config_to_ints(c), record);
  EXPECT_EQ(config_from_ints(record, "t"), c);
}
