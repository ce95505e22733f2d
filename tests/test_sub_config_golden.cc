// Golden values of everything that is derived from a SubConfig's fields and keys something
// persistent: the canonical text and hash (cache keys, dataset rows, search state), the YAML and
// JSON files, the dataset CSV columns, and the random draws of the sampler and the search genome
// (a seed must give the same architectures on every version).
//
// Every expected string below was produced by the code before SubConfig's fields were described
// by one table (space/sub_config_fields.h), and must never change: datasets, stage caches and
// resumed searches key on these hashes and draws. A failure here means a change altered a
// user-visible format; fix the change, never the golden value.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "thanos/common/random.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/search/genome.h"
#include "thanos/search/hpo_evolution.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sampler.h"
#include "thanos/space/search_space.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;

namespace {

SubConfig mixed_config() {
  SubConfig c;
  c.encoder_embed_dim = 640;
  c.decoder_embed_dim = 512;
  c.encoder_layers = {{3072, 8, 512}, {2048, 4, 512}, {1024, 8, 256}};
  c.decoder_layers = {{3072, 8, 512, 4, 512, 1}, {2048, 4, 256, 8, 512, 2}};
  return c;
}

SubConfig small_config() {
  SubConfig c;
  c.encoder_embed_dim = 128;
  c.decoder_embed_dim = 192;
  c.encoder_layers = {{256, 2, 64}};
  c.decoder_layers = {{512, 2, 64, 4, 128, 1}};
  return c;
}

// HAT's WMT space with elastic QKV widths and a head count (6) that divides only some of them, so
// draws, repairs and projections exercise every (heads, QKV) rule.
SearchSpace elastic_space() {
  SearchSpace s = hat_wmt14ende_space0();
  s.encoder_self_heads_choices = {8, 4, 6};
  s.decoder_self_heads_choices = {8, 6};
  s.decoder_ende_heads_choices = {4, 6};
  s.encoder_self_qkv_choices = {512, 256, 192};
  s.decoder_self_qkv_choices = {512, 128};
  s.decoder_ende_qkv_choices = {512, 384, 192};
  s.decoder_layer_num_choices = {3, 2, 1};
  s.encoder_layer_num_choices = {2, 1};
  s.validate();
  return s;
}

// Every gene of a genome, inactive layers included, as one canonical text.
std::string genome_text(const Genome& g) {
  SubConfig all;
  all.encoder_embed_dim = g.encoder_embed_dim;
  all.decoder_embed_dim = g.decoder_embed_dim;
  all.encoder_layers = g.encoder_layers;
  all.decoder_layers = g.decoder_layers;
  return std::to_string(g.encoder_layer_num) + "/" + std::to_string(g.decoder_layer_num) + " " + all.canonical();
}

}  // namespace

TEST(SubConfigGolden, CanonicalTextAndHash) {
  const SubConfig a = mixed_config();
  EXPECT_EQ(a.canonical(), "subconfig.v1;ee=640;de=512;enc=(3072,8,512)(2048,4,512)(1024,8,256);dec=(3072,8,512,4,512,1)(2048,4,256,8,512,2)");
  EXPECT_EQ(a.hash_hex(), "99f3ba3e3ff7d06c");
  const SubConfig b = small_config();
  EXPECT_EQ(b.canonical(), "subconfig.v1;ee=128;de=192;enc=(256,2,64);dec=(512,2,64,4,128,1)");
  EXPECT_EQ(b.hash_hex(), "d582abef642985f1");
  const SubConfig big = hat_wmt14ende_space0().largest();
  EXPECT_EQ(big.canonical(), "subconfig.v1;ee=640;de=640;enc=(3072,8,512)(3072,8,512)(3072,8,512)(3072,8,512)(3072,8,512)(3072,8,512);dec=(3072,8,512,8,512,3)(3072,8,512,8,512,3)(3072,8,512,8,512,3)(3072,8,512,8,512,3)(3072,8,512,8,512,3)(3072,8,512,8,512,3)");
  EXPECT_EQ(big.hash_hex(), "1fc7838366af14bd");
  const SubConfig elastic_low = elastic_space().smallest();
  EXPECT_EQ(elastic_low.canonical() + " " + elastic_low.hash_hex(), "subconfig.v1;ee=512;de=512;enc=(1024,4,192);dec=(1024,8,128,4,192,1) c960e9753299c157");
  const SubConfig elastic_big = elastic_space().largest();
  EXPECT_EQ(elastic_big.canonical() + " " + elastic_big.hash_hex(), "subconfig.v1;ee=640;de=640;enc=(3072,8,512)(3072,8,512);dec=(3072,8,512,4,512,2)(3072,8,512,4,512,2)(3072,8,512,4,512,2) 0646ed6425daa572");
  EXPECT_EQ(elastic_space().size().to_string(), "389826360");
  const SubConfig low = hat_iwslt14deen_space1().smallest();
  EXPECT_EQ(low.canonical(), "subconfig.v1;ee=512;de=512;enc=(512,2,512)(512,2,512)(512,2,512)(512,2,512)(512,2,512)(512,2,512);dec=(512,2,512,2,512,1)");
  EXPECT_EQ(low.hash_hex(), "a005b30a2a048053");
  EXPECT_EQ(a.summary(), "encoder 640d x3 (ffn 1024..3072, heads 4..8, qkv 256..512) | decoder 512d x2 (ffn 2048..3072, heads 4..8, qkv 256..512, ende heads 4..8, ende qkv 512, attends 1..2 enc layers)");
  EXPECT_EQ(elastic_low.summary(), "encoder 512d x1 (ffn 1024, heads 4, qkv 192) | decoder 512d x1 (ffn 1024, heads 8, qkv 128, ende heads 4, ende qkv 192, attends 1 enc layers)");
  EXPECT_EQ(hat_wmt14ende_space0().super_shape().hash_hex(), "2497f287608db2d1");
}

TEST(SubConfigGolden, YamlAndJsonText) {
  EXPECT_EQ(config_to_yaml(mixed_config()), "# SubTransformer 99f3ba3e3ff7d06c (HAT keys; QKV keys are THANOS')\nencoder-embed-dim-subtransformer: 640\ndecoder-embed-dim-subtransformer: 512\nencoder-ffn-embed-dim-all-subtransformer: [3072, 2048, 1024]\ndecoder-ffn-embed-dim-all-subtransformer: [3072, 2048]\nencoder-layer-num-subtransformer: 3\ndecoder-layer-num-subtransformer: 2\nencoder-self-attention-heads-all-subtransformer: [8, 4, 8]\ndecoder-self-attention-heads-all-subtransformer: [8, 4]\ndecoder-ende-attention-heads-all-subtransformer: [4, 8]\n# -1: attend to the last encoder layer; 1: the last two; 2: the last three\ndecoder-arbitrary-ende-attn-all-subtransformer: [-1, 1]\nencoder-self-attention-qkv-dim-all-subtransformer: [512, 512, 256]\ndecoder-self-attention-qkv-dim-all-subtransformer: [512, 256]\ndecoder-ende-attention-qkv-dim-all-subtransformer: [512, 512]\n");
  EXPECT_EQ(config_to_json(mixed_config()).dump(), "{\"decoder\":{\"embed_dim\":512,\"layers\":[{\"ende_attn_layers\":1,\"ende_heads\":4,\"ende_qkv_dim\":512,\"ffn_dim\":3072,\"self_heads\":8,\"self_qkv_dim\":512},{\"ende_attn_layers\":2,\"ende_heads\":8,\"ende_qkv_dim\":512,\"ffn_dim\":2048,\"self_heads\":4,\"self_qkv_dim\":256}]},\"encoder\":{\"embed_dim\":640,\"layers\":[{\"ffn_dim\":3072,\"self_heads\":8,\"self_qkv_dim\":512},{\"ffn_dim\":2048,\"self_heads\":4,\"self_qkv_dim\":512},{\"ffn_dim\":1024,\"self_heads\":8,\"self_qkv_dim\":256}]},\"format\":\"thanos.subconfig\",\"hash\":\"99f3ba3e3ff7d06c\",\"version\":1}");
  EXPECT_EQ(config_to_json(small_config()).dump(), "{\"decoder\":{\"embed_dim\":192,\"layers\":[{\"ende_attn_layers\":1,\"ende_heads\":4,\"ende_qkv_dim\":128,\"ffn_dim\":512,\"self_heads\":2,\"self_qkv_dim\":64}]},\"encoder\":{\"embed_dim\":128,\"layers\":[{\"ffn_dim\":256,\"self_heads\":2,\"self_qkv_dim\":64}]},\"format\":\"thanos.subconfig\",\"hash\":\"d582abef642985f1\",\"version\":1}");
  EXPECT_EQ(search_space_to_yaml(hat_wmt14ende_space0()), "arch: transformersuper_wmt_en_de\n# SuperTransformer sizes\nencoder-embed-dim: 640\ndecoder-embed-dim: 640\nencoder-ffn-embed-dim: 3072\ndecoder-ffn-embed-dim: 3072\nencoder-layers: 6\ndecoder-layers: 6\nencoder-attention-heads: 8\ndecoder-attention-heads: 8\nqkv-dim: 512\n# SubTransformer choices\nencoder-embed-choice: [640, 512]\ndecoder-embed-choice: [640, 512]\nencoder-ffn-embed-dim-choice: [3072, 2048, 1024]\ndecoder-ffn-embed-dim-choice: [3072, 2048, 1024]\nencoder-layer-num-choice: [6]\ndecoder-layer-num-choice: [6, 5, 4, 3, 2, 1]\nencoder-self-attention-heads-choice: [8, 4]\ndecoder-self-attention-heads-choice: [8, 4]\ndecoder-ende-attention-heads-choice: [8, 4]\ndecoder-arbitrary-ende-attn-choice: [-1, 1, 2]\n# THANOS: elastic QKV width per attention type\nencoder-self-attention-qkv-dim-choice: [512]\ndecoder-self-attention-qkv-dim-choice: [512]\ndecoder-ende-attention-qkv-dim-choice: [512]\n# model settings\nshare-all-embeddings: true\nshare-decoder-input-output-embed: true\nencoder-normalize-before: false\ndecoder-normalize-before: false\ndropout: 0.3\nattention-dropout: 0.1\nactivation-dropout: 0\nmax-source-positions: 1024\nmax-target-positions: 1024\n");
}

TEST(SubConfigGolden, DatasetColumns) {
  std::string cols;
  for (const auto& c : dataset_columns()) cols += c + ",";
  EXPECT_EQ(cols, "encoder_embed_dim,encoder_layer_num,encoder_ffn_embed_dim_avg,encoder_self_attention_heads_avg,decoder_embed_dim,decoder_layer_num,decoder_ffn_embed_dim_avg,decoder_self_attention_heads_avg,decoder_ende_attention_heads_avg,decoder_arbitrary_ende_attn_avg,latency_mean_encoder,latency_mean_decoder,latency_std_encoder,latency_std_decoder,config_hash,encoder_ffn_dims,encoder_self_heads,encoder_self_qkv_dims,decoder_ffn_dims,decoder_self_heads,decoder_self_qkv_dims,decoder_ende_heads,decoder_ende_qkv_dims,decoder_ende_layers,feasible,infeasible_reason,peak_memory_mib,memory_kind,analytic_memory_mib,params,params_no_embed,flops,reference_latency_ms,drift,drift_flag,remeasured,backend,device_name,threads,interop_threads,dtype,host,cpu_freq_mhz,temperature_c,cap_mechanism,memory_cap_mib,protocol_hash,library_versions,measured_at,wall_s,");
  DatasetRow row;
  row.config = mixed_config();
  std::string fields;
  for (const auto& f : dataset_row_fields(row)) fields += f + ",";
  EXPECT_EQ(fields, "640,3,2048,6.666666666666667,512,2,2560,6,6,1.5,,,,,99f3ba3e3ff7d06c,3072 2048 1024,8 4 8,512 512 256,3072 2048,8 4,512 256,4 8,512 512,1 2,1,,,,0,0,0,0,0,0,0,0,,,0,0,,,,,none,0,,,,0,");
}

TEST(SubConfigGolden, SamplerDraws) {
  std::string hashes;
  for (const auto& c : sample_configs(hat_wmt14ende_space0(), 7, 4)) hashes += c.hash_hex() + ",";
  EXPECT_EQ(hashes, "244b4ffdb6ba73f1,25e544d17cbf6350,fa72105a039e0d52,bde483488ec0db2d,");
  EXPECT_EQ(sample_configs(hat_iwslt14deen_space1(), 3, 1).at(0).canonical(), "subconfig.v1;ee=512;de=512;enc=(1024,2,512)(512,2,512)(1024,2,512)(2048,4,512)(1024,2,512)(512,2,512);dec=(1024,4,512,2,512,2)(512,4,512,2,512,1)(512,2,512,4,512,2)");
  std::string elastic;
  for (const auto& c : sample_configs(elastic_space(), 5, 3)) elastic += c.canonical() + " ";
  EXPECT_EQ(elastic, "subconfig.v1;ee=640;de=640;enc=(1024,4,512)(1024,8,256);dec=(2048,8,512,4,512,2)(2048,8,512,4,512,1) subconfig.v1;ee=640;de=512;enc=(2048,6,192)(3072,4,512);dec=(2048,8,128,6,192,1)(1024,8,512,6,192,1)(3072,8,512,6,384,1) subconfig.v1;ee=640;de=512;enc=(2048,4,192);dec=(1024,8,512,4,512,1) ");
}

TEST(SubConfigGolden, GenomeDraws) {
  const SearchSpace s = hat_wmt14ende_space0();
  Rng rng(11);
  const Genome g = random_genome(s, rng);
  EXPECT_EQ(genome_text(g), "6/5 subconfig.v1;ee=512;de=512;enc=(2048,8,512)(1024,4,512)(2048,8,512)(3072,8,512)(3072,4,512)(3072,8,512);dec=(1024,8,512,8,512,2)(2048,4,512,4,512,2)(3072,8,512,4,512,2)(1024,8,512,8,512,2)(3072,4,512,8,512,2)(1024,4,512,8,512,3)");
  const Genome m = mutate(g, s, 0.5, rng);
  EXPECT_EQ(genome_text(m), "6/5 subconfig.v1;ee=512;de=512;enc=(1024,8,512)(1024,4,512)(2048,8,512)(1024,8,512)(3072,4,512)(3072,8,512);dec=(3072,8,512,8,512,2)(1024,4,512,4,512,2)(3072,8,512,4,512,1)(1024,8,512,4,512,2)(3072,8,512,8,512,3)(1024,4,512,8,512,2)");
  const Genome x = crossover(g, m, s, rng);
  EXPECT_EQ(genome_text(x), "6/5 subconfig.v1;ee=512;de=512;enc=(2048,8,512)(1024,4,512)(2048,8,512)(1024,8,512)(3072,4,512)(3072,8,512);dec=(1024,8,512,8,512,2)(2048,4,512,4,512,2)(3072,8,512,4,512,2)(1024,8,512,8,512,2)(3072,4,512,8,512,3)(1024,4,512,8,512,2)");
  const Genome h = genome_of(s.smallest(), s, rng);
  EXPECT_EQ(genome_text(h), "6/1 subconfig.v1;ee=512;de=512;enc=(1024,4,512)(1024,4,512)(1024,4,512)(1024,4,512)(1024,4,512)(1024,4,512);dec=(1024,4,512,4,512,1)(2048,4,512,4,512,1)(3072,4,512,8,512,2)(3072,4,512,8,512,1)(3072,4,512,8,512,2)(2048,4,512,8,512,1)");

  const SearchSpace e = elastic_space();
  Rng erng(23);
  const Genome eg = random_genome(e, erng);
  EXPECT_EQ(genome_text(eg), "1/2 subconfig.v1;ee=512;de=640;enc=(1024,6,192)(2048,4,512);dec=(2048,8,128,4,384,1)(2048,8,128,6,192,1)(2048,8,512,6,192,1)");
  const Genome em = mutate(eg, e, 0.7, erng);
  EXPECT_EQ(genome_text(em), "1/2 subconfig.v1;ee=512;de=640;enc=(3072,6,192)(2048,6,192);dec=(3072,8,512,6,384,1)(2048,8,128,6,384,1)(2048,8,512,6,384,1)");
  const Genome ex = crossover(eg, em, e, erng);
  EXPECT_EQ(genome_text(ex), "1/2 subconfig.v1;ee=512;de=640;enc=(3072,6,192)(2048,4,512);dec=(2048,8,512,4,384,1)(2048,8,128,6,384,1)(2048,8,512,6,384,1)");
  Genome broken = ex;
  for (auto& l : broken.decoder_layers) l.self_heads = 6;  // divides none of the decoder's self QKV widths
  broken.encoder_layers[0].self_qkv_dim = 192;
  broken.encoder_layers[0].self_heads = 4;                  // 192 % 4 == 0: kept
  broken.encoder_layer_num = 1;                             // attended depth above it must be redrawn
  repair(broken, e, erng);
  EXPECT_EQ(genome_text(broken), "1/2 subconfig.v1;ee=512;de=640;enc=(3072,4,192)(2048,4,512);dec=(2048,8,512,4,384,1)(2048,8,128,6,384,1)(2048,8,512,6,384,1)");
}

TEST(SubConfigGolden, HpoProjection) {
  EXPECT_EQ(project_config(mixed_config(), hat_iwslt14deen_space1()).canonical(), "subconfig.v1;ee=640;de=512;enc=(2048,4,512)(2048,4,512)(1024,4,512)(1024,4,512)(1024,4,512)(1024,4,512);dec=(2048,4,512,4,512,1)(2048,4,512,4,512,2)");
  EXPECT_EQ(project_config(hat_iwslt14deen_space1().largest(), hat_wmt14ende_space0()).canonical(), "subconfig.v1;ee=640;de=640;enc=(2048,4,512)(2048,4,512)(2048,4,512)(2048,4,512)(2048,4,512)(2048,4,512);dec=(2048,4,512,4,512,3)(2048,4,512,4,512,3)(2048,4,512,4,512,3)(2048,4,512,4,512,3)(2048,4,512,4,512,3)(2048,4,512,4,512,3)");
  EXPECT_EQ(project_config(mixed_config(), elastic_space()).canonical(), "subconfig.v1;ee=640;de=512;enc=(3072,8,512)(2048,4,512);dec=(3072,8,512,4,512,1)(2048,8,128,4,512,2)");
}

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

// Which field a message names when several are wrong follows HAT's key order; users see these.
TEST(SubConfigGolden, ErrorMessagesAndWarnings) {
  SubConfig c = small_config();
  c.decoder_layers[0].ende_heads = 0;
  c.decoder_layers[0].self_qkv_dim = 0;
  EXPECT_EQ(error_of([&] { c.check_consistent(); }), "decoder-ende-attention-heads (decoder layer 0): expected a positive integer, got 0");
  c = small_config();
  c.decoder_layers[0].self_qkv_dim = 63;
  c.decoder_layers[0].ende_qkv_dim = 127;
  EXPECT_EQ(error_of([&] { c.check_consistent(); }), "decoder-self-attention-qkv-dim (decoder layer 0): qkv dim 63 is not divisible by 2 heads (head dim = qkv dim / heads)");
  c = small_config();
  c.decoder_layers[0].ende_attn_layers = 2;
  EXPECT_EQ(error_of([&] { c.check_consistent(); }), "decoder-arbitrary-ende-attn (decoder layer 0): attends to 2 encoder layers, but the encoder has 1");
  c = small_config();
  c.encoder_layers[0].self_qkv_dim = 0;
  c.encoder_layers[0].self_heads = 0;
  EXPECT_EQ(error_of([&] { c.check_consistent(); }), "encoder-self-attention-heads (encoder layer 0): expected a positive integer, got 0");

  const SearchSpace e = elastic_space();
  c = e.smallest();
  c.decoder_layers[0].ende_attn_layers = 3;
  c.decoder_layers[0].ende_qkv_dim = 100;
  c.decoder_layers[0].self_heads = 7;
  EXPECT_EQ(error_of([&] { e.check_config(c); }), "decoder-self-attention-qkv-dim (decoder layer 0): qkv dim 128 is not divisible by 7 heads (head dim = qkv dim / heads)");
  c = e.smallest();
  c.decoder_layers[0].self_heads = 4;
  c.decoder_layers[0].self_qkv_dim = 512;
  c.decoder_layers[0].ende_qkv_dim = 256;
  EXPECT_EQ(error_of([&] { e.check_config(c); }), "decoder-self-attention-heads[0] = 4 is not in the search space; allowed: [8, 6]");
  c = e.smallest();
  c.decoder_layers[0].ende_heads = 8;
  c.decoder_layers[0].self_heads = 8;
  c.decoder_layers[0].self_qkv_dim = 256;
  EXPECT_EQ(error_of([&] { e.check_config(c); }), "decoder-ende-attention-heads[0] = 8 is not in the search space; allowed: [4, 6]");
  c = e.smallest();
  c.decoder_layers[0].ende_attn_layers = 3;
  EXPECT_EQ(error_of([&] { e.check_config(c); }), "decoder-arbitrary-ende-attn (decoder layer 0): attends to 3 encoder layers, but the encoder has 1");
  c = e.smallest();
  c.encoder_layers[0].self_qkv_dim = 100;
  c.encoder_layers[0].ffn_dim = 100;
  EXPECT_EQ(error_of([&] { e.check_config(c); }), "encoder-ffn-embed-dim[0] = 100 is not in the search space; allowed: [3072, 2048, 1024]");

  const std::string yaml =
      "encoder-embed-dim-subtransformer: 512\n"
      "decoder-embed-dim-subtransformer: 512\n"
      "encoder-layer-num-subtransformer: 2\n"
      "decoder-layer-num-subtransformer: 1\n"
      "encoder-ffn-embed-dim-all-subtransformer: [1024, 2048, 3072]\n"
      "encoder-self-attention-heads-all-subtransformer: 4\n"
      "decoder-ffn-embed-dim-all-subtransformer: [1024, 512]\n"
      "decoder-self-attention-heads-all-subtransformer: [4, 8]\n"
      "decoder-ende-attention-heads-all-subtransformer: [8, 8]\n"
      "decoder-arbitrary-ende-attn-all-subtransformer: [1, 2]\n"
      "decoder-self-attention-qkv-dim-all-subtransformer: [256]\n"
      "lr: 0.1\n";
  const LoadedConfig lc = parse_config_yaml(yaml, "a.yml", 384);
  std::string warnings;
  for (const auto& w : lc.warnings) warnings += w + "|";
  EXPECT_EQ(lc.config.canonical() + " " + warnings, "subconfig.v1;ee=512;de=512;enc=(1024,4,384)(2048,4,384);dec=(1024,4,256,8,384,2) a.yml:5: encoder-ffn-embed-dim-all-subtransformer: has 3 entries for 2 active layers; using the first 2|a.yml:7: decoder-ffn-embed-dim-all-subtransformer: has 2 entries for 1 active layers; using the first 1|a.yml:8: decoder-self-attention-heads-all-subtransformer: has 2 entries for 1 active layers; using the first 1|a.yml:9: decoder-ende-attention-heads-all-subtransformer: has 2 entries for 1 active layers; using the first 1|a.yml:10: decoder-arbitrary-ende-attn-all-subtransformer: has 2 entries for 1 active layers; using the first 1|a.yml: ignoring keys that do not describe the architecture: lr|");
  EXPECT_EQ(error_of([&] { parse_config_yaml("encoder-embed-dim-subtransformer: 512\n", "b.yml", 512); }), "b.yml: decoder-embed-dim-subtransformer: missing (a HAT SubTransformer file needs it)");
  std::string missing = yaml;
  missing.replace(missing.find("decoder-self-attention-heads"), 5, "xxxxx");
  EXPECT_EQ(error_of([&] { parse_config_yaml(missing, "c.yml", 512); }), "c.yml: decoder-self-attention-heads-all-subtransformer: missing; expected a list of 1 integers");
  std::string bad_code = yaml;
  bad_code.replace(bad_code.find("[1, 2]"), 6, "[0, 1]");
  EXPECT_EQ(error_of([&] { parse_config_yaml(bad_code, "d.yml", 512); }), "d.yml:10: decoder-arbitrary-ende-attn-all-subtransformer[0]: arbitrary encoder-decoder attention code 0: expected -1 (last layer), 1 (last two), 2 (last three), ...");
  std::string short_list = yaml;
  short_list.replace(short_list.find("[1024, 512]"), 11, "[]");
  EXPECT_EQ(error_of([&] { parse_config_yaml(short_list, "e.yml", 512); }), "e.yml:7: decoder-ffn-embed-dim-all-subtransformer: has 0 entries, expected 1 (one per active layer)");

  nlohmann::json j = config_to_json(mixed_config());
  j["decoder"]["layers"][1].erase("ende_qkv_dim");
  j["decoder"]["layers"][1].erase("self_heads");
  EXPECT_EQ(error_of([&] { config_from_json(j, "f.json"); }), "f.json: decoder.layers[1].self_heads: missing");
  j = config_to_json(mixed_config());
  j["encoder"]["layers"][0]["self_qkv_dim"] = "wide";
  EXPECT_EQ(error_of([&] { config_from_json(j, "g.json"); }), "g.json: encoder.layers[0].self_qkv_dim: expected an integer, got \"wide\"");
}
