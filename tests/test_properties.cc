// Round-trip properties over generated values (issue: hardening, "Properties"): every file format
// THANOS writes reads back to what was written, for random spaces, SubConfigs, CSV fields,
// dataset rows, export sidecars and binarized splits, not only for the hand-picked examples of
// the other suites; and the binarized reader's invariants hold for whatever a damaged file holds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "binarized_invariants.h"
#include "test_util.h"
#include "thanos/common/csv.h"
#include "thanos/data/binarized.h"
#include "thanos/export/export_sidecar.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/predict/arch_features.h"
#include "thanos/predict/predictor_data.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sampler.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

constexpr int kSpaces = 40;  // generated spaces per property; each test runs in well under a second

std::string temp_dir(const std::string& tag) {
  const std::string d = ::testing::TempDir() + "/thanos_properties_" + tag + "_" + std::to_string(::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

int uniform(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// 1 to `most` distinct values of `pool`, in a random order (HAT's files list choices in any order).
std::vector<int> some_of(std::vector<int> pool, int most, std::mt19937& rng) {
  std::shuffle(pool.begin(), pool.end(), rng);
  pool.resize(static_cast<std::size_t>(uniform(rng, 1, std::min<int>(most, static_cast<int>(pool.size())))));
  return pool;
}

int largest(const std::vector<int>& v) { return *std::max_element(v.begin(), v.end()); }

// A random valid space: widths that every head count divides (so every head/QKV pair is valid),
// depths 1..6, random model settings with doubles that have no short decimal form.
SearchSpace random_space(std::mt19937& rng) {
  SearchSpace s;
  s.source = "generated";
  s.encoder_embed_choices = some_of({16, 24, 32, 40, 48, 64}, 3, rng);
  s.decoder_embed_choices = some_of({16, 24, 32, 40, 48, 64}, 3, rng);
  s.encoder_ffn_choices = some_of({32, 48, 64, 96, 128}, 3, rng);
  s.decoder_ffn_choices = some_of({32, 48, 64, 96, 128}, 3, rng);
  s.encoder_layer_num_choices = some_of({1, 2, 3, 4, 5, 6}, 3, rng);
  s.decoder_layer_num_choices = some_of({1, 2, 3, 4, 5, 6}, 3, rng);
  s.encoder_self_heads_choices = some_of({1, 2, 4, 8}, 2, rng);
  s.decoder_self_heads_choices = some_of({1, 2, 4, 8}, 2, rng);
  s.decoder_ende_heads_choices = some_of({1, 2, 4, 8}, 2, rng);
  s.encoder_self_qkv_choices = some_of({8, 16, 32, 64}, 3, rng);
  s.decoder_self_qkv_choices = some_of({8, 16, 32, 64}, 3, rng);
  s.decoder_ende_qkv_choices = some_of({8, 16, 32, 64}, 3, rng);
  s.encoder_embed_dim = largest(s.encoder_embed_choices) + 8 * uniform(rng, 0, 1);
  s.decoder_embed_dim = largest(s.decoder_embed_choices) + 8 * uniform(rng, 0, 1);
  s.encoder_ffn_dim = largest(s.encoder_ffn_choices);
  s.decoder_ffn_dim = largest(s.decoder_ffn_choices);
  s.encoder_layers = largest(s.encoder_layer_num_choices);
  s.decoder_layers = largest(s.decoder_layer_num_choices);
  s.encoder_heads = largest(s.encoder_self_heads_choices);
  s.decoder_heads = std::max(largest(s.decoder_self_heads_choices), largest(s.decoder_ende_heads_choices));
  s.qkv_dim = 64;
  std::vector<int> attended;
  for (int n = 1; n <= std::min(3, s.encoder_layers); ++n) attended.push_back(n);
  s.decoder_ende_layers_choices = some_of(attended, 3, rng);
  std::uniform_real_distribution<double> probability(0.0, 0.999);
  s.hyper.share_all_embeddings = uniform(rng, 0, 1) == 1;
  if (s.hyper.share_all_embeddings) {
    s.decoder_embed_choices = s.encoder_embed_choices;
    s.decoder_embed_dim = s.encoder_embed_dim;
  }
  s.hyper.share_decoder_input_output = s.hyper.share_all_embeddings || uniform(rng, 0, 1) == 1;
  s.hyper.encoder_normalize_before = uniform(rng, 0, 1) == 1;
  s.hyper.decoder_normalize_before = uniform(rng, 0, 1) == 1;
  s.hyper.dropout = probability(rng);
  s.hyper.attention_dropout = probability(rng);
  s.hyper.activation_dropout = probability(rng);
  s.hyper.max_source_positions = uniform(rng, 1, 4096);
  s.hyper.max_target_positions = uniform(rng, 1, 4096);
  return s;
}

TEST(Properties, SpaceYamlRoundTripsExactly) {
  std::mt19937 rng(11);
  for (int i = 0; i < kSpaces; ++i) {
    const SearchSpace s = random_space(rng);
    ASSERT_NO_THROW(s.validate()) << "the generator made an invalid space:\n" << search_space_to_yaml(s);
    const std::string yaml = search_space_to_yaml(s);
    SCOPED_TRACE(yaml);
    const LoadedSpace back = parse_search_space(yaml, "generated.yml");
    EXPECT_TRUE(back.warnings.empty());
    EXPECT_EQ(search_space_to_yaml(back.space), yaml);
    EXPECT_EQ(back.space.hyper, s.hyper);  // doubles exactly, not to 6 digits
    EXPECT_EQ(back.space.size(), s.size());
    EXPECT_EQ(back.space.largest(), s.largest());
  }
}

TEST(Properties, SubConfigsRoundTripThroughYamlAndJson) {
  std::mt19937 rng(12);
  for (int i = 0; i < kSpaces; ++i) {
    const SearchSpace s = random_space(rng);
    for (const SubConfig& c : sample_configs(s, static_cast<std::uint64_t>(i), 10)) {
      SCOPED_TRACE(c.canonical());
      const LoadedConfig from_yaml = parse_config_yaml(config_to_yaml(c), "c.yml", s.qkv_dim);
      EXPECT_EQ(from_yaml.config, c);
      EXPECT_EQ(from_yaml.config.hash_hex(), c.hash_hex());
      const SubConfig from_json = config_from_json(nlohmann::json::parse(config_to_json(c).dump()), "c.json");
      EXPECT_EQ(from_json, c);
      EXPECT_TRUE(s.contains(from_json));
    }
  }
}

TEST(Properties, CsvFieldsRoundTripWithLineBreaksAsSpaces) {
  const std::string alphabet[] = {"a", "Z", "7", ",", "\"", " ", "\t", "\xC3\xA9", "\n", "\r", ";", "'", "\"\""};
  std::mt19937 rng(13);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> fields(static_cast<std::size_t>(uniform(rng, 1, 8)));
    for (auto& f : fields) {
      for (int n = uniform(rng, 0, 6); n > 0; --n) f += alphabet[uniform(rng, 0, 12)];
    }
    // A dataset row is one line: line breaks inside a field become spaces, all else stays.
    std::vector<std::string> expected = fields;
    for (auto& f : expected) std::replace_if(f.begin(), f.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    const std::string line = csv_line(fields);
    ASSERT_EQ(line.find_first_of("\r\n"), std::string::npos) << line;
    EXPECT_EQ(split_csv_line(line), expected) << line;
  }
}

TEST(Properties, DatasetRowsReadBackAsWritten) {
  std::mt19937 rng(14);
  const std::string dir = temp_dir("dataset");
  const std::string alphabet[] = {"x", ",", "\"", " ", "\n", "\xC3\xA9"};
  int checked = 0;
  for (int i = 0; i < 8; ++i) {
    const SearchSpace s = random_space(rng);
    const std::string path = dir + "/latency_" + std::to_string(i) + ".csv";
    std::vector<DatasetRow> written;
    {
      DatasetAppender out(path);
      std::lognormal_distribution<double> ms(1.0, 1.5);
      std::set<std::string> seen;
      for (const SubConfig& c : sample_configs(s, static_cast<std::uint64_t>(100 + i), 40)) {
        if (!seen.insert(c.hash_hex()).second) continue;  // a repeated config: the last row would win
        DatasetRow r;
        r.config = c;
        r.measurement.feasible = uniform(rng, 0, 9) != 0;
        r.measurement.encoder_mean_ms = ms(rng);
        r.measurement.decoder_mean_ms = ms(rng);
        r.measurement.encoder_std_ms = ms(rng) / 10;
        r.measurement.decoder_std_ms = ms(rng) / 10;
        r.measurement.peak_memory_mib = ms(rng) * 10;
        r.measurement.memory_kind = memory_kind::kRssPeak;
        for (int n = uniform(rng, 0, 8); n > 0; --n) r.measurement.infeasible_reason += alphabet[uniform(rng, 0, 5)];
        r.analytic_memory_mib = ms(rng);
        r.protocol_hash = "p";
        out.append(r);
        written.push_back(r);
      }
    }
    std::vector<DatasetRow> feasible;
    std::copy_if(written.begin(), written.end(), std::back_inserter(feasible), [](const DatasetRow& r) { return r.measurement.feasible; });
    if (static_cast<int>(feasible.size()) < kMinPredictorRows) continue;  // too few for the loader to accept
    SCOPED_TRACE(path);
    const PredictorData latency = load_predictor_data(path, DataFormat::kThanos, PredictTarget::kLatency);
    const PredictorData memory = load_predictor_data(path, DataFormat::kThanos, PredictTarget::kMemory);
    ASSERT_EQ(latency.rows.size(), feasible.size());
    ASSERT_EQ(memory.rows.size(), feasible.size());
    for (std::size_t k = 0; k < feasible.size(); ++k) {
      const auto& m = feasible[k].measurement;
      EXPECT_EQ(latency.rows[k].encoder_ms, m.encoder_mean_ms);  // shortest round-trip decimal: exact
      EXPECT_EQ(latency.rows[k].decoder_ms, m.decoder_mean_ms);
      EXPECT_EQ(memory.rows[k].memory_mib, m.peak_memory_mib);
      EXPECT_EQ(memory.rows[k].analytic_memory_mib, feasible[k].analytic_memory_mib);
      const ArchSums expected = arch_sums(feasible[k].config);
      EXPECT_EQ(latency_features(latency.rows[k].arch), latency_features(expected));
      EXPECT_EQ(memory_features(memory.rows[k].arch), memory_features(expected));
    }
    const DatasetScan scan = scan_dataset(path);
    EXPECT_EQ(scan.rows, static_cast<int>(written.size()));
    EXPECT_FALSE(scan.dropped_partial_line);
    ++checked;
  }
  EXPECT_GE(checked, 4) << "most generated datasets had too few rows to read back";
}

TEST(Properties, ExportSidecarsRoundTrip) {
  std::mt19937 rng(15);
  const std::string names[] = {"src_tokens", "memory", "logits", "k_cache.0", "caf\xC3\xA9", "a \"quoted\" name"};
  const std::string dims[] = {"batch", "src_len", "1", "17", "4096", "step"};
  auto tensors = [&] {
    std::vector<ExportTensorSpec> v(static_cast<std::size_t>(uniform(rng, 1, 4)));
    for (auto& t : v) {
      t.name = names[uniform(rng, 0, 5)];
      t.dtype = uniform(rng, 0, 1) ? "float32" : "int64";
      for (int n = uniform(rng, 0, 4); n > 0; --n) t.dims.push_back(dims[uniform(rng, 0, 5)]);
      t.description = "generated " + std::to_string(uniform(rng, 0, 1000));
    }
    return v;
  };
  for (int i = 0; i < kSpaces; ++i) {
    const SearchSpace s = random_space(rng);
    ExportSidecar e;
    e.mode = uniform(rng, 0, 1) ? "static" : "dynamic";
    if (e.mode == "static") {
      e.static_src_len = uniform(rng, 1, 4096);
      e.static_tgt_len = uniform(rng, 1, 4096);
    }
    e.dtype = uniform(rng, 0, 1) ? "float16" : "float32";
    e.opset = uniform(rng, 12, 19);
    e.src_vocab_size = uniform(rng, 5, 60000);
    e.tgt_vocab_size = uniform(rng, 5, 60000);
    e.max_source_positions = s.hyper.max_source_positions;
    e.max_target_positions = s.hyper.max_target_positions;
    e.mask_value = -std::uniform_real_distribution<float>(1.0f, 1e9f)(rng);
    e.config = sample_configs(s, static_cast<std::uint64_t>(i), 1).front();
    e.config_hash = e.config.hash_hex();
    e.source_model = "models/m" + std::to_string(i) + ".pt";
    e.encoder = {"encoder.onnx", tensors(), tensors()};
    e.decoder = {"decoder_step.onnx", tensors(), tensors()};
    const std::string text = sidecar_to_json(e);
    SCOPED_TRACE(text);
    const ExportSidecar back = sidecar_from_json(text, "generated.json");
    EXPECT_TRUE(back == e);
    EXPECT_EQ(sidecar_to_json(back), text);
  }
}

BinarizedSplit random_split(std::mt19937& rng) {
  BinarizedSplit s;
  for (int n = uniform(rng, 0, 30); n > 0; --n) {
    std::vector<std::int32_t> src(static_cast<std::size_t>(uniform(rng, 0, 12))), tgt(static_cast<std::size_t>(uniform(rng, 0, 12)));
    for (auto& t : src) t = uniform(rng, 4, 30000);
    for (auto& t : tgt) t = uniform(rng, 4, 30000);
    src.push_back(kEosId);
    tgt.push_back(kEosId);
    s.add(src, tgt);
  }
  return s;
}


TEST(Properties, BinarizedSplitsRoundTripAndDamageIsRefusedOrConsistent) {
  std::mt19937 rng(16);
  const std::string dir = temp_dir("binarized");
  int refused = 0, read = 0;
  for (int i = 0; i < 60; ++i) {
    const BinarizedSplit s = random_split(rng);
    const std::string path = dir + "/split.bin";
    save_binarized(path, s);
    const BinarizedSplit back = load_binarized(path);
    EXPECT_EQ(back.src_offsets, s.src_offsets);
    EXPECT_EQ(back.tgt_offsets, s.tgt_offsets);
    EXPECT_EQ(back.src_tokens, s.src_tokens);
    EXPECT_EQ(back.tgt_tokens, s.tgt_tokens);
    EXPECT_EQ(back.subset({}).size(), 0u);

    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    // Truncated anywhere: always refused (the layout fixes the size), naming the file.
    for (int k = 0; k < 5 && !bytes.empty(); ++k) {
      const std::string cut = bytes.substr(0, static_cast<std::size_t>(uniform(rng, 0, static_cast<int>(bytes.size()) - 1)));
      std::ofstream(path, std::ios::binary | std::ios::trunc) << cut;
      const std::string m = testing::invalid_argument_message([&] { load_binarized(path); });
      EXPECT_NE(m.find(path), std::string::npos) << m;
    }
    // Bytes flipped anywhere: refused, or read into a split that keeps every invariant.
    for (int k = 0; k < 10; ++k) {
      std::string damaged = bytes;
      for (int f = uniform(rng, 1, 4); f > 0; --f) {
        damaged[static_cast<std::size_t>(uniform(rng, 0, static_cast<int>(damaged.size()) - 1))] ^=
            static_cast<char>(1 << uniform(rng, 0, 7));
      }
      std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
      try {
        testing::expect_binarized_invariants(load_binarized(path));
        ++read;
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        ++refused;
      }
    }
  }
  // Both outcomes occur (a flip in a token id is still a valid split; one in an offset is not).
  EXPECT_GT(refused, 0);
  EXPECT_GT(read, 0);
}

}  // namespace
}  // namespace thanos

namespace thanos {
namespace {

// Integers stored in an int are refused beyond 32 bits instead of wrapping (2^32 + 1 read as 1).
TEST(Properties, IntegersBeyond32BitsAreRefusedNotWrapped) {
  ExportSidecar e;
  e.config = testing::tiny_space().largest();
  e.config_hash = e.config.hash_hex();
  e.encoder = {"encoder.onnx", {}, {}};
  e.decoder = {"decoder_step.onnx", {}, {}};
  auto j = nlohmann::json::parse(sidecar_to_json(e));
  ASSERT_NO_THROW(sidecar_from_json(j.dump(), "ok.json"));
  j["version"] = 4294967297LL;
  std::string m = testing::invalid_argument_message([&] { sidecar_from_json(j.dump(), "wide.json"); });
  EXPECT_NE(m.find("wide.json: field 'version': expected an integer of at most 32 bits"), std::string::npos) << m;
  auto c = config_to_json(e.config);
  c["version"] = 4294967297LL;
  m = testing::invalid_argument_message([&] { config_from_json(c, "wide_config.json"); });
  EXPECT_NE(m.find("wide_config.json: version 4294967297 is newer"), std::string::npos) << m;
}

}  // namespace
}  // namespace thanos
