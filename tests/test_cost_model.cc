#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "test_util.h"
#include "thanos/model/cost_model.h"
#include "thanos/model/super_transformer.h"
#include "thanos/space/sampler.h"

using namespace thanos;
using thanos::testing::tiny_space;

namespace {

// HAT_wmt14ende_raspberrypi@3.5s_bleu@25.8 (HAT's configs/wmt14.en-de/subtransformer/).
SubConfig hat_raspberrypi_3_5s() {
  SubConfig c;
  c.encoder_embed_dim = c.decoder_embed_dim = 512;
  const int ffn[] = {1024, 3072, 3072, 2048, 2048, 2048};
  const int heads[] = {4, 8, 4, 4, 4, 8};
  for (int i = 0; i < 6; ++i) c.encoder_layers.push_back({ffn[i], heads[i], 512});
  c.decoder_layers.push_back({3072, 8, 512, 8, 512, 1});
  return c;
}

}  // namespace

TEST(CostModel, HatPublishedModelParamsAndFlops) {
  // HAT's README: 25.22 M parameters, 1.53 GFLOPs.
  const SubConfig c = hat_raspberrypi_3_5s();
  const auto hyper = hat_wmt14ende_space0().hyper;
  const ParamCount p = count_params(c, hyper, 32768, 32768);
  EXPECT_EQ(p.no_embed(), 25217536);  // hand count: 6 x 1053184 + 1025 x 13312 + 5253632
  EXPECT_EQ(p.embeddings, 32768LL * 512);
  const FlopCount f = count_flops(c, hyper, kHatWmtLength, kHatWmtLength);
  // 2 x (603217920 encoder + 159129600 decoder) multiply-accumulates of matrix products.
  EXPECT_EQ(f.matmul, 2LL * (603217920 + 159129600));
  EXPECT_NEAR(std::round(f.total() / 1e7) / 100, 1.53, 1e-9);
  EXPECT_EQ(f.encoder + f.decoder, f.total());
}

TEST(CostModel, ParamCountEqualsRealStandaloneModels) {
  for (bool share : {true, false}) {
    for (bool prenorm : {false, true}) {
      SearchSpace s = tiny_space();
      s.hyper.share_all_embeddings = share;
      s.hyper.share_decoder_input_output = share;
      s.hyper.encoder_normalize_before = s.hyper.decoder_normalize_before = prenorm;
      for (const auto& c : sample_configs(s, 21, 5)) {
        ModelOptions o = super_model_options(s, 37, share ? 37 : 29);
        o.capacity = c;
        SuperTransformer m(o);
        std::int64_t n = 0;
        for (const auto& p : m->parameters()) n += p.numel();
        EXPECT_EQ(n, count_params(c, s.hyper, 37, share ? 37 : 29).total()) << c.summary();
      }
    }
  }
}

TEST(CostModel, FlopsFollowTheirDefinition) {
  // One encoder and one decoder layer, all widths distinct, checked term by term.
  SubConfig c;
  c.encoder_embed_dim = 8;
  c.decoder_embed_dim = 6;
  c.encoder_layers = {{10, 2, 4}, {12, 1, 2}};
  c.decoder_layers = {{14, 1, 3, 2, 4, 2}};
  ModelHyperParams h;
  const int S = 5, T = 3;
  auto enc = [&](int e, int q, int f) { return S * e * q * 4 + 2 * S * S * q + 2 * S * e * f; };
  const long long enc_mm = enc(8, 4, 10) + enc(8, 2, 12);
  const long long M = 2 * S;  // attends to two encoder layers
  const long long dec_mm = T * 6 * 3 * 4 + 2 * T * T * 3 + T * 6 * 4 * 2 + 2 * M * 8 * 4 + 2 * T * M * 4 + 2 * T * 6 * 14;
  const FlopCount f = count_flops(c, h, S, T);
  EXPECT_EQ(f.matmul, 2 * (enc_mm + dec_mm));
  const long long ew = S * 8 + (S * 4 + 2 * S * 8) + (S * 2 + 2 * S * 8) + T * 6 + (T * 3 + T * 4 + 3 * T * 6);
  EXPECT_EQ(f.elementwise, 2 * ew);
}

TEST(CostModel, SizesInMebibytes) {
  EXPECT_DOUBLE_EQ(params_mib(1 << 20, 4), 4.0);
  EXPECT_DOUBLE_EQ(params_mib(1 << 20, 1), 1.0);
}
