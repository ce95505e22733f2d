// The subcommands' library functions end to end, and the CLI binary's help and error paths.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "test_util.h"
#include "thanos/commands/commands.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using thanos::testing::CliResult;
using thanos::testing::run_cli;
using thanos::testing::test_data;

namespace {

std::string config_file(const std::string& name) { return std::string(THANOS_CONFIGS_DIR) + "/" + name; }

std::string temp_dir() {
  static const std::string dir = [] {
    std::string d = ::testing::TempDir() + "/thanos_cmd_" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0755);
    return d;
  }();
  return dir;
}

}  // namespace

TEST(InfoCommand, SpaceReportHasExactSizeAndExtremes) {
  InfoOptions o;
  o.space_path = config_file("spaces/hat-wmt14ende-space0.yml");
  InfoReport r = run_info(o);
  EXPECT_EQ(r.data["space"]["size"], "417846678672384");
  EXPECT_TRUE(r.data["space"]["size"].is_string());
  EXPECT_EQ(r.data["space"]["smallest"]["src_len"], 30);
  EXPECT_LT(r.data["space"]["smallest"]["flops"].get<long long>(), r.data["space"]["largest"]["flops"].get<long long>());
  const std::string text = render_info_text(r.data);
  EXPECT_NE(text.find("417846678672384"), std::string::npos);
  EXPECT_NE(text.find("smallest"), std::string::npos);
}

TEST(InfoCommand, ConfigReportHasHatNumbersAndSizes) {
  InfoOptions o;
  o.space_path = config_file("spaces/hat-wmt14ende-space0.yml");
  o.config_path = test_data("hat/subtransformer/wmt14.en-de/HAT_wmt14ende_raspberrypi@3.5s_bleu@25.8.yml");
  o.vocab_size = 32768;
  InfoReport r = run_info(o);
  EXPECT_EQ(r.data["params_no_embed"], 25217536);
  EXPECT_EQ(r.data["params"], 25217536 + 32768 * 512);
  EXPECT_NEAR(r.data["flops"].get<double>() / 1e9, 1.53, 0.005);
  EXPECT_NEAR(r.data["size_mib"]["float32"].get<double>(), (25217536.0 + 32768 * 512) * 4 / 1048576, 1e-6);
  EXPECT_NEAR(r.data["size_mib"]["int8"].get<double>(), (25217536.0 + 32768 * 512) / 1048576, 1e-6);
  o.src_len = o.tgt_len = 10;
  EXPECT_LT(run_info(o).data["flops"].get<double>(), r.data["flops"].get<double>());
}

TEST(InfoCommand, QkvSpacePrintsSizeBeyond64Bits) {
  InfoOptions o;
  o.space_path = config_file("spaces/thanos-wmt-qkv.yml");
  EXPECT_EQ(run_info(o).data["space"]["size"], "157872894320694330086400");
}

TEST(Commands, InitSampleExtractInfoEndToEnd) {
  const std::string dir = temp_dir();
  InitOptions init;
  init.space_path = config_file("spaces/demo.yml");
  init.vocab_size = 120;
  init.out_path = dir + "/super.pt";
  EXPECT_GT(run_init(init).parameters, 0);

  for (auto kind : {SampleKind::kRandom, SampleKind::kSmallest, SampleKind::kLargest}) {
    SampleOptions so;
    so.space_path = init.space_path;
    so.kind = kind;
    so.seed = 3;
    so.out_path = dir + "/sub.yml";
    ASSERT_EQ(run_sample(so).written.size(), 1u);
    ExtractOptions eo;
    eo.checkpoint_path = init.out_path;
    eo.config_path = so.out_path;
    eo.out_path = dir + "/sub.pt";
    ExtractResult er = run_extract(eo);
    EXPECT_GE(er.max_abs_diff, 0);
    EXPECT_LE(er.max_abs_diff, 1e-5);
    EXPECT_EQ(er.parameters, er.expected_parameters);

    InfoOptions io;
    io.checkpoint_path = eo.out_path;
    InfoReport ir = run_info(io);
    EXPECT_EQ(ir.data["checkpoint"]["kind"], "subtransformer");
    EXPECT_EQ(ir.data["params"].get<long long>(), er.parameters);
    EXPECT_EQ(ir.data["config"]["hash"], load_config_yaml(so.out_path, 256).config.hash_hex());
  }

  SampleOptions many;
  many.space_path = init.space_path;
  many.count = 4;
  many.out_path = dir + "/many";
  EXPECT_EQ(run_sample(many).written.size(), 4u);
}

TEST(Commands, ExtractRejectsConfigOutsideTheSpace) {
  const std::string dir = temp_dir();
  InitOptions init;
  init.space_path = config_file("spaces/demo.yml");
  init.vocab_size = 50;
  init.out_path = dir + "/super_small.pt";
  run_init(init);
  SubConfig c = load_search_space(init.space_path).space.largest();
  c.encoder_layers[1].ffn_dim = 640;
  const std::string cfg = dir + "/outside.yml";
  std::ofstream(cfg) << config_to_yaml(c);
  ExtractOptions eo{init.out_path, cfg, dir + "/never.pt"};
  try {
    run_extract(eo);
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("encoder-ffn-embed-dim[1] = 640"), std::string::npos) << msg;
    EXPECT_NE(msg.find(cfg), std::string::npos) << msg;
  }
  EXPECT_FALSE(std::ifstream(dir + "/never.pt").good());
}

TEST(Cli, HelpDescribesEveryOption) {
  CliResult top = run_cli("--help");
  EXPECT_EQ(top.code, 0);
  for (const char* sub : {"info", "init", "sample", "extract"}) EXPECT_NE(top.output.find(sub), std::string::npos) << sub;
  CliResult info = run_cli("info --help");
  EXPECT_EQ(info.code, 0);
  for (const char* opt : {"--space", "--config", "--checkpoint", "--vocab", "--src-len", "--json"})
    EXPECT_NE(info.output.find(opt), std::string::npos) << opt;
  CliResult extract = run_cli("extract --help");
  for (const char* opt : {"--checkpoint", "--config", "--out", "--no-verify"})
    EXPECT_NE(extract.output.find(opt), std::string::npos) << opt;
}

TEST(Cli, BadInputExitsWithAClearMessage) {
  const std::string bad = temp_dir() + "/bad_space.yml";
  std::ofstream(bad) << "encoder-embed-choice: [64, wide]\n";
  CliResult r = run_cli("info --space " + bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find(bad + ":1: encoder-embed-choice[1]: expected an integer, got 'wide'"), std::string::npos)
      << r.output;
  CliResult json = run_cli("info --json --space " + config_file("spaces/hat-iwslt14deen-space1.yml"));
  EXPECT_EQ(json.code, 0);
  EXPECT_NE(json.output.find("\"size\""), std::string::npos);
  // Bytes that are not UTF-8, on the command line or in a YAML file, are refused up front: they
  // would end in JSON records, which cannot hold them.
  CliResult arg = run_cli("run \"" + temp_dir() + "/$(printf 'caf\\351').yml\"");  // Latin-1 e-acute, via /bin/sh
  EXPECT_EQ(arg.code, 2) << arg.output;
  EXPECT_NE(arg.output.find("argument 2 is not UTF-8 text"), std::string::npos) << arg.output;
  const std::string latin1 = temp_dir() + "/latin1_space.yml";
  std::ofstream(latin1) << "encoder-embed-choice: [64]\n# caf\xe9\n";
  CliResult text = run_cli("info --space " + latin1);
  EXPECT_EQ(text.code, 2) << text.output;
  EXPECT_NE(text.output.find(latin1 + ":2: not UTF-8 text (invalid byte at offset"), std::string::npos) << text.output;
}
