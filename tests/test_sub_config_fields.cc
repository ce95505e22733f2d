// The field table (space/sub_config_fields.h) drives every form of a SubConfig: each row, changed
// alone, must change equality, the canonical text and hash, and survive the YAML, JSON and
// dataset CSV forms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "thanos/common/random.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sampler.h"
#include "thanos/space/sub_config_fields.h"

using namespace thanos;

namespace {

SubConfig base() {
  SubConfig c;
  c.encoder_embed_dim = 256;
  c.decoder_embed_dim = 256;
  c.encoder_layers = {{512, 4, 256}, {1024, 8, 256}, {512, 4, 128}};
  c.decoder_layers = {{1024, 4, 256, 4, 128, 3}, {512, 8, 256, 2, 256, 2}};
  return c;
}

// A still consistent change of one field in one layer: heads 4 -> 2, a QKV width x2, the
// attended depth one less, a width + 64.
template <typename Layer>
int changed(const LayerField<Layer>& f, int v) {
  switch (f.role) {
    case FieldRole::kHeads: return v == 2 ? 4 : 2;
    case FieldRole::kQkv: return v * 2;
    case FieldRole::kAttendedLayers: return v > 1 ? v - 1 : v + 1;
    case FieldRole::kWidth: break;
  }
  return v + 64;
}

template <typename Layer>
void expect_every_row_matters(const char* stack) {
  for (const auto& f : layer_fields<Layer>()) {
    SCOPED_TRACE(std::string(stack) + " " + f.name);
    const SubConfig a = base();
    SubConfig b = a;
    auto& layer = stack_layers(b, f).at(1);
    f.of(layer) = changed(f, f.of(layer));
    ASSERT_NO_THROW(b.check_consistent());
    EXPECT_FALSE(a == b);
    EXPECT_NE(a.canonical(), b.canonical());
    EXPECT_NE(a.hash(), b.hash());
    EXPECT_EQ(config_from_json(config_to_json(b), "b.json"), b);
    EXPECT_EQ(parse_config_yaml(config_to_yaml(b), "b.yml", 512).config, b);
    const auto row_a = dataset_row_fields({a}), row_b = dataset_row_fields({b});
    const auto& cols = dataset_columns();
    for (std::size_t k = 0; k < cols.size(); ++k) {
      // Only the field's own column and the hash differ (HAT's averaged features may, too).
      if (row_a[k] != row_b[k] && k >= hat_dataset_columns().size()) {
        EXPECT_TRUE(cols[k] == f.csv_column || cols[k] == "config_hash") << cols[k];
      }
    }
  }
}

}  // namespace

TEST(SubConfigFields, EveryRowIsPartOfEqualityHashAndFiles) {
  expect_every_row_matters<EncoderLayerConfig>("encoder");
  expect_every_row_matters<DecoderLayerConfig>("decoder");
}

TEST(SubConfigFields, NamesAreDistinct) {
  std::set<std::string> yaml, csv;
  for_each_field_in_hat_order([&](const auto& f) {
    EXPECT_TRUE(yaml.insert(f.yaml_key()).second) << f.yaml_key();
    EXPECT_TRUE(csv.insert(f.csv_column).second) << f.csv_column;
  });
  EXPECT_EQ(static_cast<int>(yaml.size()), kLayerFieldCount);
}

TEST(SubConfigFields, SampledConfigsRoundTripThroughEveryForm) {
  SearchSpace s = hat_wmt14ende_space0();
  s.encoder_self_qkv_choices = {512, 256};
  s.decoder_ende_qkv_choices = {512, 128};
  s.encoder_layer_num_choices = {6, 2};
  for (const auto& c : sample_configs(s, 17, 40)) {
    EXPECT_EQ(config_from_json(config_to_json(c), "c.json"), c);
    EXPECT_EQ(parse_config_yaml(config_to_yaml(c), "c.yml", 512).config, c);
    EXPECT_TRUE(s.contains(c)) << c.canonical();
  }
}

TEST(SubConfigFields, DefaultQkvDim) {
  SearchSpace s = hat_wmt14ende_space0();
  s.qkv_dim = 256;
  EXPECT_EQ(default_qkv_dim(s), 256);
  EXPECT_EQ(default_qkv_dim(std::optional<SearchSpace>(s)), 256);
  EXPECT_EQ(default_qkv_dim(std::optional<SearchSpace>()), kHatQkvDim);
  EXPECT_EQ(default_qkv_dim(std::optional<SearchSpace>(), 64), 64);
  s.qkv_dim = 0;  // a space that does not set it
  EXPECT_EQ(default_qkv_dim(s), kHatQkvDim);
}
