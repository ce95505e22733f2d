#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "thanos/model/model_records.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sampler.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using thanos::testing::tiny_space;

namespace {


const char* kMinimalSpace = R"(
encoder-embed-choice: [64, 32]
decoder-embed-choice: [64, 32]
encoder-ffn-embed-dim-choice: [128, 64]
decoder-ffn-embed-dim-choice: [128, 64]
encoder-layer-num-choice: [2]
decoder-layer-num-choice: [2, 1]
encoder-self-attention-heads-choice: [4, 2]
decoder-self-attention-heads-choice: [4, 2]
decoder-ende-attention-heads-choice: [4, 2]
decoder-arbitrary-ende-attn-choice: [-1, 1]
)";

}  // namespace

TEST(SpaceYaml, RoundTripKeepsEverything) {
  SearchSpace s = tiny_space();
  s.hat_arch = "transformersuper_wmt_en_de";
  s.hyper.dropout = 0.25;
  LoadedSpace back = parse_search_space(search_space_to_yaml(s), "roundtrip");
  EXPECT_TRUE(back.warnings.empty());
  const SearchSpace& t = back.space;
  EXPECT_EQ(t.size(), s.size());
  EXPECT_EQ(t.encoder_self_qkv_choices, s.encoder_self_qkv_choices);
  EXPECT_EQ(t.decoder_ende_layers_choices, s.decoder_ende_layers_choices);
  EXPECT_EQ(t.hyper, s.hyper);
  EXPECT_EQ(t.qkv_dim, s.qkv_dim);
  EXPECT_EQ(t.largest(), s.largest());
}

TEST(SpaceYaml, DefaultsSuperSizesAndQkvWithWarnings) {
  LoadedSpace ls = parse_search_space(kMinimalSpace, "minimal.yml");
  EXPECT_EQ(ls.space.encoder_embed_dim, 64);
  EXPECT_EQ(ls.space.decoder_layers, 2);
  EXPECT_EQ(ls.space.qkv_dim, 512);
  EXPECT_EQ(ls.space.encoder_self_qkv_choices, std::vector<int>{512});
  EXPECT_FALSE(ls.warnings.empty());
}

TEST(SpaceYaml, MalformedInputNamesFileLineAndKey) {
  std::string text = std::string(kMinimalSpace) + "encoder-ffn-embed-dim: big\n";
  std::string msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "bad.yml"); });
  EXPECT_NE(msg.find("bad.yml:12: encoder-ffn-embed-dim: expected an integer, got 'big'"), std::string::npos) << msg;

  text = kMinimalSpace;
  text.replace(text.find("[128, 64]"), 9, "[128, x]");
  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "bad.yml"); });
  EXPECT_NE(msg.find("bad.yml:4: encoder-ffn-embed-dim-choice[1]: expected an integer, got 'x'"), std::string::npos) << msg;

  text = kMinimalSpace;
  text.replace(text.find("decoder-layer-num-choice"), 8, "decoderX");
  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "bad.yml"); });
  EXPECT_NE(msg.find("decoder-layer-num-choice: missing"), std::string::npos) << msg;

  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(std::string(kMinimalSpace) + "encoder-embed-dim: 48\n", "bad.yml"); });
  EXPECT_NE(msg.find("exceeds encoder-embed-dim = 48"), std::string::npos) << msg;

  msg = thanos::testing::invalid_argument_message([&] { parse_search_space("a: [1, 2\n", "broken.yml"); });
  EXPECT_NE(msg.find("broken.yml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;

  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(std::string(kMinimalSpace) + "decoder-self-attention-qkv-dim-choice: [15]\n", "q.yml"); });
  EXPECT_NE(msg.find("divisible"), std::string::npos) << msg;

  // An empty choice list without its super size once dereferenced an empty list's maximum.
  text = kMinimalSpace;
  text.replace(text.find("[64, 32]"), 8, "[]");
  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "empty.yml"); });
  EXPECT_NE(msg.find("empty.yml: encoder-embed-dim not given and its choice list is empty"), std::string::npos) << msg;
  // 2^31 - 1 layers once spun in the space's size; widths beyond any Transformer are refused too.
  text = kMinimalSpace;
  text.replace(text.find("encoder-layer-num-choice: [2]"), 29, "encoder-layer-num-choice: [2147483647]");
  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "deep.yml"); });
  EXPECT_NE(msg.find("deep.yml: encoder-layers: expected a positive integer up to 64, got 2147483647"), std::string::npos) << msg;
  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(std::string(kMinimalSpace) + "encoder-embed-dim: 1000000\n", "w.yml"); });
  EXPECT_NE(msg.find("encoder-embed-dim: expected a positive integer up to 65536, got 1000000"), std::string::npos) << msg;
  // Model settings have ranges too: a dropout is a probability, positions size embedding tables.
  for (const auto& [line, expected] : std::vector<std::pair<std::string, std::string>>{
           {"dropout: 7", "h.yml: dropout: expected a probability in [0, 1), got 7"},
           {"attention-dropout: nan", "h.yml: attention-dropout: expected a probability in [0, 1), got nan"},
           {"relu-dropout: -0.1", "h.yml: activation-dropout: expected a probability in [0, 1), got -0.1"},
           {"max-source-positions: -5", "h.yml: max-source-positions: expected a positive integer up to 1048576, got -5"},
           {"max-target-positions: 0", "h.yml: max-target-positions: expected a positive integer up to 1048576, got 0"}}) {
    SCOPED_TRACE(line);
    msg = thanos::testing::invalid_argument_message([&] { parse_search_space(std::string(kMinimalSpace) + line + "\n", "h.yml"); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
  // A list as a key is valid YAML; yaml-cpp's own conversion said only "bad conversion".
  msg = thanos::testing::invalid_argument_message([&] { parse_search_space(std::string(kMinimalSpace) + "? [a, b]\n: 1\n", "k.yml"); });
  EXPECT_NE(msg.find("k.yml:12: a key: expected a plain name as the key, got a list"), std::string::npos) << msg;
}

TEST(ConfigYaml, RoundTripSampledConfigs) {
  for (const auto& c : sample_configs(tiny_space(), 3, 25)) {
    LoadedConfig back = parse_config_yaml(config_to_yaml(c), "rt", 999);
    EXPECT_EQ(back.config, c);
    EXPECT_TRUE(back.warnings.empty());
  }
}

TEST(ConfigYaml, WritesHatKeysWithOneEntryPerActiveLayer) {
  const SubConfig c = sample_configs(tiny_space(), 4, 1)[0];
  YAML::Node y = YAML::Load(config_to_yaml(c));
  EXPECT_EQ(y["encoder-embed-dim-subtransformer"].as<int>(), c.encoder_embed_dim);
  EXPECT_EQ(y["decoder-layer-num-subtransformer"].as<int>(), c.decoder_layer_num());
  for (const char* key : {"encoder-ffn-embed-dim-all-subtransformer", "encoder-self-attention-heads-all-subtransformer",
                          "encoder-self-attention-qkv-dim-all-subtransformer"})
    EXPECT_EQ(y[key].size(), c.encoder_layers.size()) << key;
  for (const char* key : {"decoder-ffn-embed-dim-all-subtransformer", "decoder-self-attention-heads-all-subtransformer",
                          "decoder-ende-attention-heads-all-subtransformer",
                          "decoder-arbitrary-ende-attn-all-subtransformer",
                          "decoder-self-attention-qkv-dim-all-subtransformer",
                          "decoder-ende-attention-qkv-dim-all-subtransformer"})
    EXPECT_EQ(y[key].size(), c.decoder_layers.size()) << key;
  for (std::size_t i = 0; i < c.decoder_layers.size(); ++i) {
    EXPECT_EQ(hat_ende_code_to_layers(y["decoder-arbitrary-ende-attn-all-subtransformer"][i].as<int>()),
              c.decoder_layers[i].ende_attn_layers);
  }
}

TEST(ConfigYaml, HatFileWithoutQkvKeysGetsTheSpaceWidth) {
  const char* hat = R"(encoder-embed-dim-subtransformer: 512
decoder-embed-dim-subtransformer: 512
encoder-ffn-embed-dim-all-subtransformer: [1024, 3072]
decoder-ffn-embed-dim-all-subtransformer: [3072, 2048, 1024]
encoder-layer-num-subtransformer: 2
decoder-layer-num-subtransformer: 1
encoder-self-attention-heads-all-subtransformer: [4, 8]
decoder-self-attention-heads-all-subtransformer: [8]
decoder-ende-attention-heads-all-subtransformer: [8]
decoder-arbitrary-ende-attn-all-subtransformer: [1]
)";
  LoadedConfig lc = parse_config_yaml(hat, "hat.yml", 512);
  EXPECT_EQ(lc.config.encoder_layers[1].self_qkv_dim, 512);
  EXPECT_EQ(lc.config.decoder_layers[0].ende_qkv_dim, 512);
  EXPECT_EQ(lc.config.decoder_layers[0].ende_attn_layers, 2);
  EXPECT_EQ(lc.config.decoder_layers[0].ffn_dim, 3072);
  ASSERT_EQ(lc.warnings.size(), 1u);  // the longer decoder FFN list
  EXPECT_NE(lc.warnings[0].find("decoder-ffn-embed-dim-all-subtransformer"), std::string::npos);
}

TEST(ConfigYaml, ErrorsNameKeyAndExpectation) {
  const std::string good = config_to_yaml(tiny_space().largest());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  std::string msg = thanos::testing::invalid_argument_message([&] {
    parse_config_yaml(with("encoder-ffn-embed-dim-all-subtransformer: [64, 64, 64]",
                           "encoder-ffn-embed-dim-all-subtransformer: [64, 64]"), "c.yml", 32);
  });
  EXPECT_NE(msg.find("encoder-ffn-embed-dim-all-subtransformer: has 2 entries, expected 3"), std::string::npos) << msg;
  msg = thanos::testing::invalid_argument_message([&] {
    parse_config_yaml(with("decoder-arbitrary-ende-attn-all-subtransformer: [2, 2, 2]",
                           "decoder-arbitrary-ende-attn-all-subtransformer: [2, 0, 2]"), "c.yml", 32);
  });
  EXPECT_NE(msg.find("decoder-arbitrary-ende-attn-all-subtransformer[1]"), std::string::npos) << msg;
  msg = thanos::testing::invalid_argument_message([&] {
    parse_config_yaml(with("decoder-embed-dim-subtransformer: 32", "decoder-embed-dim-subtransformer: wide"), "c.yml", 32);
  });
  EXPECT_NE(msg.find("c.yml:3: decoder-embed-dim-subtransformer: expected an integer, got 'wide'"), std::string::npos) << msg;
  msg = thanos::testing::invalid_argument_message([&] {
    parse_config_yaml(with("encoder-self-attention-qkv-dim-all-subtransformer: [32, 32, 32]",
                           "encoder-self-attention-qkv-dim-all-subtransformer: [32, 30, 32]"), "c.yml", 32);
  });
  EXPECT_NE(msg.find("not divisible"), std::string::npos) << msg;
  msg = thanos::testing::invalid_argument_message([&] { parse_config_yaml(good + "? {a: 1}\n: 2\n", "c.yml", 32); });
  EXPECT_NE(msg.find("c.yml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a key: expected a plain name as the key, got a mapping"), std::string::npos) << msg;
}

TEST(ConfigJson, RoundTripAndFieldErrors) {
  for (const auto& c : sample_configs(tiny_space(), 6, 10)) {
    const nlohmann::json j = config_to_json(c);
    EXPECT_EQ(j["hash"], c.hash_hex());
    EXPECT_EQ(config_from_json(nlohmann::json::parse(j.dump()), "j"), c);
  }
  nlohmann::json j = config_to_json(tiny_space().largest());
  j["decoder"]["layers"][1]["ende_qkv_dim"] = "wide";
  std::string msg = thanos::testing::invalid_argument_message([&] { config_from_json(j, "cfg.json"); });
  EXPECT_NE(msg.find("cfg.json: decoder.layers[1].ende_qkv_dim: expected an integer"), std::string::npos) << msg;
  j = config_to_json(tiny_space().largest());
  j["encoder"]["layers"][0].erase("ffn_dim");
  msg = thanos::testing::invalid_argument_message([&] { config_from_json(j, "cfg.json"); });
  EXPECT_NE(msg.find("encoder.layers[0].ffn_dim: missing"), std::string::npos) << msg;
  // Checked before narrowing: 2^32 + 512 once became 512.
  j = config_to_json(tiny_space().largest());
  j["encoder"]["embed_dim"] = 4294967808ull;
  msg = thanos::testing::invalid_argument_message([&] { config_from_json(j, "cfg.json"); });
  EXPECT_NE(msg.find("encoder.embed_dim: expected an integer of at most 32 bits, got 4294967808"), std::string::npos) << msg;
}

// A model file's records besides its tensors (model/model_records.h; fuzz/model_records.cc feeds
// them any values): every value is range-checked before it is narrowed, errors name the file.
TEST(ModelRecords, ValuesAreCheckedBeforeTheyAreNarrowed) {
  const SearchSpace space = hat_wmt14ende_space0();
  ModelRecords r;
  r.format_version = 1;
  r.capacity = config_to_ints(space.super_shape());
  r.vocab = std::vector<std::int64_t>{100, 100, 1};
  r.position_dims = std::vector<std::int64_t>{0, 1024};  // 0: the embed dim
  r.hyper_ints = std::vector<std::int64_t>{1, 1, 0, 0, 1024, 1024};
  r.hyper_dropout = std::vector<double>{0.3, 0.1, 0};
  r.metadata["created_by"] = "test";
  const ModelFileInfo info = model_info_from_records(r, "m.pt");
  EXPECT_EQ(info.options.capacity, space.super_shape());
  EXPECT_EQ(info.options.src_vocab_size, 100);
  EXPECT_TRUE(info.options.hyper.share_all_embeddings);
  EXPECT_EQ(info.metadata.at("created_by"), "test");
  EXPECT_FALSE(info.is_standalone());

  auto error = [&](ModelRecords bad) { return thanos::testing::invalid_argument_message([&] { model_info_from_records(bad, "m.pt"); }); };
  ModelRecords bad = r;
  bad.vocab = std::vector<std::int64_t>{4294967396, 100, 1};  // 2^32 + 100 must not become 100
  EXPECT_EQ(error(bad), "m.pt: the source vocabulary size is 4294967396, expected 1 to 16777216");
  bad = r;
  bad.hyper_ints = std::vector<std::int64_t>{2, 1, 0, 0, 1024, 1024};
  EXPECT_EQ(error(bad), "m.pt: share_all_embeddings is 2, expected 0 to 1");
  bad = r;
  bad.hyper_dropout = std::vector<double>{7, 0, 0};
  EXPECT_NE(error(bad).find("m.pt: a dropout probability is 7"), std::string::npos);
  bad = r;
  bad.position_dims.reset();
  EXPECT_EQ(error(bad), "m.pt: model file lacks 'thanos.position_dims'");
  bad = r;
  bad.vocab = std::vector<std::int64_t>{100, 100};
  EXPECT_EQ(error(bad), "m.pt: 'thanos.vocab' holds 2 values, expected 3");
  bad = r;
  bad.format_version = 2;
  EXPECT_NE(error(bad).find("newer than this thanos understands"), std::string::npos);
  bad = r;
  bad.vocab = std::vector<std::int64_t>{100, 100, 100};  // padding outside the vocabulary
  EXPECT_NE(error(bad).find("m.pt: model options: padding_idx 100 is outside the vocabulary"), std::string::npos);
}

// HAT's `arch` is written back as it is (search_space_to_yaml, model files): a name with a control
// character or a ':' would make that YAML another document (found by fuzzing: a tab and a NUL).
TEST(SpaceYaml, ArchMustBeAPlainName) {
  EXPECT_EQ(parse_search_space(std::string(kMinimalSpace) + "arch: transformersuper_iwslt_de_en\n", "ok.yml").space.hat_arch,
            "transformersuper_iwslt_de_en");
  for (const std::string arch : {std::string("\"transformer\\tsuper\""), std::string("'a: b'"), std::string("\"x\\0y\"")}) {
    SCOPED_TRACE(arch);
    const std::string msg =
        thanos::testing::invalid_argument_message([&] { parse_search_space(std::string(kMinimalSpace) + "arch: " + arch + "\n", "bad.yml"); });
    EXPECT_NE(msg.find("bad.yml:12: arch: expected an architecture name of letters, digits"), std::string::npos) << msg;
  }
}

// YAML's character set has no C0 controls but tab, LF and CR: yaml-cpp read a NUL as the end of its
// input and returned bytes that were not UTF-8. Refused with the line, in every YAML reader.
TEST(SpaceYaml, AControlCharacterIsRefusedNamingTheLine) {
  std::string text = std::string(kMinimalSpace) + "arch: transformer";
  text.push_back('\0');
  text += "super\n";
  const std::string msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "nul.yml"); });
  EXPECT_NE(msg.find("nul.yml:12: a control character (byte 0 at offset"), std::string::npos) << msg;
  const std::string bell = thanos::testing::invalid_argument_message([&] { parse_config_yaml("encoder-embed-dim: 6\x07" "4\n", "c.yml", 64); });
  EXPECT_NE(bell.find("c.yml:1: a control character (byte 7"), std::string::npos) << bell;
  // Tabs, CR LF line ends are text.
  EXPECT_NO_THROW(parse_search_space(std::string(kMinimalSpace) + "arch:\ttransformersuper_wmt_en_de\r\n", "tab.yml"));
}

TEST(SpaceYaml, AKeyThatIsNotAPlainNameIsRefusedNamingTheLine) {
  // Found by fuzz/model_records (a model file's embedded space): YAML's "? [a, b]" key made
  // as<std::string>() throw yaml-cpp's raw "bad conversion". (fuzz/regressions/*/complex-key.yml)
  const std::string text = std::string(kMinimalSpace) + "? [a, b]\n: 3\n";
  const std::string msg = thanos::testing::invalid_argument_message([&] { parse_search_space(text, "k.yml"); });
  EXPECT_NE(msg.find("k.yml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a plain name as the key, got a list"), std::string::npos) << msg;
}
