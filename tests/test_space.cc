#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "test_util.h"
#include "thanos/space/sampler.h"

using namespace thanos;
using thanos::testing::tiny_space;

namespace {

// Every member of a space by brute force, built layer by layer with its own loops (independent of
// SearchSpace::size's closed form).
std::set<std::string> enumerate_all(const SearchSpace& s) {
  std::set<std::string> out;
  std::vector<std::pair<int, int>> enc_attn, dec_attn, ende_attn;
  for (int h : s.encoder_self_heads_choices)
    for (int q : s.encoder_self_qkv_choices)
      if (q % h == 0) enc_attn.push_back({h, q});
  for (int h : s.decoder_self_heads_choices)
    for (int q : s.decoder_self_qkv_choices)
      if (q % h == 0) dec_attn.push_back({h, q});
  for (int h : s.decoder_ende_heads_choices)
    for (int q : s.decoder_ende_qkv_choices)
      if (q % h == 0) ende_attn.push_back({h, q});
  SubConfig c;
  std::function<void(int, int)> dec_layers = [&](int i, int n) {
    if (i == n) {
      EXPECT_TRUE(s.contains(c)) << c.canonical();
      out.insert(c.canonical());
      return;
    }
    for (int f : s.decoder_ffn_choices)
      for (auto [h, q] : dec_attn)
        for (auto [xh, xq] : ende_attn)
          for (int a : s.decoder_ende_layers_choices) {
            if (a > c.encoder_layer_num()) continue;
            c.decoder_layers[i] = {f, h, q, xh, xq, a};
            dec_layers(i + 1, n);
          }
  };
  std::function<void(int, int)> enc_layers = [&](int i, int n) {
    if (i == n) {
      for (int ld : s.decoder_layer_num_choices) {
        c.decoder_layers.assign(ld, {});
        dec_layers(0, ld);
      }
      return;
    }
    for (int f : s.encoder_ffn_choices)
      for (auto [h, q] : enc_attn) {
        c.encoder_layers[i] = {f, h, q};
        enc_layers(i + 1, n);
      }
  };
  for (int ee : s.encoder_embed_choices)
    for (int de : s.decoder_embed_choices)
      for (int le : s.encoder_layer_num_choices) {
        c.encoder_embed_dim = ee;
        c.decoder_embed_dim = de;
        c.encoder_layers.assign(le, {});
        enc_layers(0, le);
      }
  return out;
}

SearchSpace micro_space() {
  SearchSpace s = tiny_space();
  s.encoder_embed_choices = {32, 16};
  s.decoder_embed_choices = {24, 16};
  s.encoder_ffn_choices = {64};
  s.decoder_ffn_choices = {32};
  s.encoder_layer_num_choices = {1, 2};
  s.decoder_layer_num_choices = {1, 2};
  s.encoder_self_heads_choices = {2, 4};
  s.decoder_self_heads_choices = {4};
  s.decoder_ende_heads_choices = {2, 4};
  s.encoder_self_qkv_choices = {16, 24};  // 24 % 4 = 0 as well; all 4 pairs valid
  s.decoder_self_qkv_choices = {16, 32};
  s.decoder_ende_qkv_choices = {24, 32, 16};
  s.decoder_ende_layers_choices = {1, 2, 3};  // 3 is never valid here: encoders have <= 2 layers
  return s;
}

}  // namespace

TEST(SearchSpace, HatWmtSpace0SizeMatchesHatsCount) {
  // HAT's maintainers quote 0.42e15 for WMT'14 En-De space0.
  const SearchSpace s = hat_wmt14ende_space0();
  s.validate();
  EXPECT_EQ(s.size().to_string(), "417846678672384");
  EXPECT_EQ(s.size().to_scientific(), "4.178e14");
}

TEST(SearchSpace, SizeEqualsBruteForceEnumeration) {
  for (const SearchSpace& s : {micro_space(), [] {
         SearchSpace t = micro_space();
         t.encoder_layer_num_choices = {2};
         t.decoder_ende_layers_choices = {1, 2};
         return t;
       }()}) {
    s.validate();
    const auto all = enumerate_all(s);
    EXPECT_EQ(s.size().to_string(), std::to_string(all.size()));
  }
}

TEST(SearchSpace, PerLayerQkvChoicesPassTwoToThe64) {
  SearchSpace s = hat_wmt14ende_space0();
  s.encoder_self_qkv_choices = s.decoder_self_qkv_choices = s.decoder_ende_qkv_choices = {512, 384, 256};
  s.validate();
  // Reference computed with Python's arbitrary-precision integers from the same definition.
  EXPECT_EQ(s.size().to_string(), "157872894320694330086400");
  EXPECT_TRUE(BigUInt::pow(BigUInt(2), 64) < s.size());
}

TEST(SearchSpace, SmallestAndLargestAreMembersAndExtreme) {
  const SearchSpace s = tiny_space();
  const SubConfig lo = s.smallest(), hi = s.largest();
  EXPECT_TRUE(s.contains(lo));
  EXPECT_TRUE(s.contains(hi));
  EXPECT_EQ(lo.encoder_embed_dim, 16);
  EXPECT_EQ(lo.encoder_layer_num(), 2);
  EXPECT_EQ(lo.decoder_layer_num(), 1);
  EXPECT_EQ(lo.encoder_layers[0].self_qkv_dim, 16);
  EXPECT_EQ(lo.decoder_layers[0].ende_attn_layers, 1);
  EXPECT_EQ(hi.encoder_embed_dim, 32);
  EXPECT_EQ(hi.decoder_layer_num(), 3);
  EXPECT_EQ(hi.decoder_layers[2].ffn_dim, 64);
  EXPECT_EQ(hi.decoder_layers[2].ende_qkv_dim, 32);
  EXPECT_EQ(hi.decoder_layers[2].ende_attn_layers, 3);
}

TEST(SearchSpace, CheckConfigNamesFieldValueAndChoices) {
  const SearchSpace s = tiny_space();
  SubConfig c = s.largest();
  c.decoder_layers[1].ffn_dim = 50;
  try {
    s.check_config(c);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("decoder-ffn-embed-dim[1]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("50"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[64, 48, 32]"), std::string::npos) << msg;
  }
  c = s.largest();
  c.encoder_layers[0].self_qkv_dim = 24;
  c.encoder_layers[0].self_heads = 4;
  EXPECT_NO_THROW(s.check_config(c));
  c.encoder_layers[0].self_heads = 2;
  c.encoder_layers[0].self_qkv_dim = 20;
  EXPECT_THROW(s.check_config(c), std::invalid_argument);
}

TEST(SearchSpace, ValidateRejectsMalformedSpaces) {
  SearchSpace s = tiny_space();
  s.encoder_ffn_choices = {128};
  EXPECT_THROW(s.validate(), std::invalid_argument);
  s = tiny_space();
  s.decoder_self_heads_choices = {5};
  s.decoder_self_qkv_choices = {32, 16};
  try {
    s.validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("divisible"), std::string::npos);
  }
  s = tiny_space();
  s.encoder_layer_num_choices = {};
  EXPECT_THROW(s.validate(), std::invalid_argument);
}

TEST(SubConfig, ConsistencyErrorsNameTheField) {
  SubConfig c = tiny_space().largest();
  c.decoder_layers[0].self_heads = 3;
  try {
    c.check_consistent();
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("decoder-self-attention-qkv-dim (decoder layer 0)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("32"), std::string::npos) << msg;
  }
  c = tiny_space().smallest();  // 2 encoder layers
  c.decoder_layers[0].ende_attn_layers = 3;
  EXPECT_THROW(c.check_consistent(), std::invalid_argument);
}

TEST(SubConfig, HashIsStableAndDistinguishesConfigs) {
  const SubConfig c = hat_wmt14ende_space0().smallest();
  // Pinned: a change here silently invalidates every cache keyed by config hash.
  EXPECT_EQ(c.canonical(),
            "subconfig.v1;ee=512;de=512;enc=(1024,4,512)(1024,4,512)(1024,4,512)(1024,4,512)(1024,4,512)"
            "(1024,4,512);dec=(1024,4,512,4,512,1)");
  EXPECT_EQ(c.hash_hex(), "667ddb097c12cc16");
  std::set<std::uint64_t> hashes;
  for (const auto& s : sample_configs(tiny_space(), 7, 300)) hashes.insert(s.hash());
  std::set<std::string> canon;
  for (const auto& s : sample_configs(tiny_space(), 7, 300)) canon.insert(s.canonical());
  EXPECT_EQ(hashes.size(), canon.size());
}

TEST(HatEndeCode, MapsHatCodesToLayerCounts) {
  EXPECT_EQ(hat_ende_code_to_layers(-1), 1);
  EXPECT_EQ(hat_ende_code_to_layers(1), 2);
  EXPECT_EQ(hat_ende_code_to_layers(2), 3);
  EXPECT_THROW(hat_ende_code_to_layers(0), std::invalid_argument);
  for (int n = 1; n <= 5; ++n) EXPECT_EQ(hat_ende_code_to_layers(layers_to_hat_ende_code(n)), n);
}

TEST(Sampler, SameSeedSameConfigsAllValid) {
  const SearchSpace s = tiny_space();
  const auto a = sample_configs(s, 42, 200), b = sample_configs(s, 42, 200), c = sample_configs(s, 43, 200);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (const auto& cfg : a) EXPECT_TRUE(s.contains(cfg)) << cfg.canonical();
}

TEST(Sampler, EachDimensionIsUniform) {
  const SearchSpace s = tiny_space();
  const int n = 6000;
  std::map<int, int> embed, dec_layers, ffn, heads;
  for (const auto& c : sample_configs(s, 5, n)) {
    embed[c.encoder_embed_dim]++;
    dec_layers[c.decoder_layer_num()]++;
    for (const auto& l : c.encoder_layers) ffn[l.ffn_dim]++;
    heads[c.decoder_layers[0].self_heads]++;
  }
  auto near_uniform = [](const std::map<int, int>& counts, std::size_t k) {
    ASSERT_EQ(counts.size(), k);
    int total = 0;
    for (auto& [v, cnt] : counts) total += cnt;
    for (auto& [v, cnt] : counts) EXPECT_NEAR(double(cnt) / total, 1.0 / k, 0.03) << "value " << v;
  };
  near_uniform(embed, 3);
  near_uniform(dec_layers, 3);
  near_uniform(ffn, 3);
  near_uniform(heads, 2);
}

TEST(Sampler, QkvDrawnAmongChoicesTheHeadsDivide) {
  SearchSpace s = tiny_space();
  s.encoder_self_heads_choices = {4, 3};
  s.encoder_self_qkv_choices = {32, 24};  // heads 3 divides only 24
  s.validate();
  std::map<std::pair<int, int>, int> pairs;
  for (const auto& c : sample_configs(s, 9, 3000))
    for (const auto& l : c.encoder_layers) pairs[{l.self_heads, l.self_qkv_dim}]++;
  EXPECT_EQ(pairs.size(), 3u);  // (4,32) (4,24) (3,24)
  EXPECT_EQ(pairs.count({3, 32}), 0u);
}
