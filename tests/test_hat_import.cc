// Importing HAT checkpoints: synthetic fairseq-style checkpoints written by
// tests/data/make_fairseq_checkpoint.py are imported and run under SubTransformer configs; the
// logits must match those of an independent PyTorch implementation of HAT's forward pass. Tests
// that need Python with PyTorch skip (with the reason) when /usr/bin/python3 cannot import torch.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "test_util.h"
#include "thanos/commands/commands.h"
#include "thanos/commands/import_hat.h"
#include "thanos/model/hat_import.h"
#include "thanos/model/model_file.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using thanos::testing::test_data;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The interpreter that runs the converter and the checkpoint generator; THANOS_TEST_PYTHON in
// the environment overrides the build's default (/usr/bin/python3).
const std::string kPython = std::getenv("THANOS_TEST_PYTHON") ? std::getenv("THANOS_TEST_PYTHON") : THANOS_TEST_PYTHON;

bool python_has_torch() {
  static const bool ok = std::system((kPython + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

#define SKIP_WITHOUT_TORCH_PYTHON()                                                                     \
  if (!python_has_torch()) GTEST_SKIP() << kPython << " cannot import torch (install python3-torch to run " \
                                                      "the HAT import tests)"

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/thanos_hat_" + std::to_string(::getpid()) + "_" + name;
  fs::create_directories(d);
  return d;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A synthetic HAT checkpoint of `variant` and its reference logits, made once per process.
// `hostile`: a directory the checkpoint's pickle would create when unpickled.
std::string make_checkpoint(const std::string& variant, const std::string& drop = "", const std::string& hostile = "") {
  static std::map<std::string, std::string> made;
  const std::string key = variant + "|" + drop + "|" + hostile;
  if (made.count(key)) return made[key];
  const std::string dir = temp_dir(variant + (drop.empty() ? "" : "_drop") + (hostile.empty() ? "" : "_hostile"));
  std::string cmd = kPython + " " + shell_quote(test_data("make_fairseq_checkpoint.py")) + " --variant " + variant +
                    " --out-dir " + shell_quote(dir);
  if (!drop.empty()) cmd += " --drop " + drop;
  if (!hostile.empty()) cmd += " --hostile " + shell_quote(hostile);
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  return made[key] = dir;
}

// Imports `dir`/checkpoint.pt into `dir`/model.pt once per directory.
ImportHatResult import_once(const std::string& dir) {
  static std::map<std::string, ImportHatResult> done;
  if (done.count(dir)) return done[dir];
  ImportHatOptions o;
  o.checkpoint_path = dir + "/checkpoint.pt";
  o.out_path = dir + "/model.pt";
  o.python = kPython;
  o.keep_archive = dir + "/model.tta";
  return done[dir] = run_import_hat(o);
}

// Runs `model` on every reference batch under the reference's configs.
void expect_matches_reference(const std::string& dir, SuperTransformerImpl& model, int qkv_dim,
                              const std::vector<std::string>& only = {}) {
  TensorArchive ref = read_tensor_archive(dir + "/reference.tta");
  ASSERT_TRUE(ref.metadata.contains("configs"));
  model.eval();
  torch::NoGradGuard no_grad;
  int compared = 0;
  for (const auto& name : ref.metadata["configs"]) {
    const std::string cfg = name.get<std::string>();
    if (!only.empty() && std::find(only.begin(), only.end(), cfg) == only.end()) continue;
    SCOPED_TRACE("config " + cfg + " of " + dir);
    LoadedConfig lc = load_config_file(dir + "/" + cfg + ".yml", qkv_dim);
    auto src = ref.tensors.at(cfg + ".src_tokens").to(torch::kLong);
    auto prev = ref.tensors.at(cfg + ".prev_output_tokens").to(torch::kLong);
    const auto& expected = ref.tensors.at(cfg + ".logits");
    auto got = model.forward(src, prev, lc.config);
    ASSERT_EQ(got.sizes(), expected.sizes());
    const double diff = (got - expected).abs().max().item<double>();
    EXPECT_LE(diff, 1e-4) << "max |THANOS - HAT| logits difference";
    EXPECT_GT(expected.abs().max().item<double>(), 0.1);  // not trivially zero
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument thrown)";
}

}  // namespace

// ------------------------------------------------------------------ tensor archives (no Python)

TEST(HatImportArchive, RoundTripsTensorsAndMetadata) {
  const std::string path = temp_dir("archive") + "/a.tta";
  auto a = torch::randn({3, 4}), b = torch::arange(5, torch::kFloat32), scalar = torch::tensor(2.5f);
  write_tensor_archive(path, {{"x.weight", a}, {"y", b}, {"s", scalar.reshape({})}}, {{"note", "hi"}});
  TensorArchive r = read_tensor_archive(path);
  EXPECT_EQ(r.names, (std::vector<std::string>{"x.weight", "y", "s"}));
  EXPECT_TRUE(torch::equal(r.tensors.at("x.weight"), a));
  EXPECT_TRUE(torch::equal(r.tensors.at("y"), b));
  EXPECT_EQ(r.tensors.at("s").dim(), 0);
  EXPECT_EQ(r.metadata["note"], "hi");
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), "THANOSTA");
}

TEST(HatImportArchive, RejectsForeignAndTruncatedFiles) {
  const std::string dir = temp_dir("archive_bad");
  {
    std::ofstream(dir + "/foreign.pt") << "PK\x03\x04 not an archive";
  }
  std::string e = error_of([&] { read_tensor_archive(dir + "/foreign.pt"); });
  EXPECT_NE(e.find(dir + "/foreign.pt"), std::string::npos) << e;
  EXPECT_NE(e.find("not a THANOS tensor archive"), std::string::npos) << e;

  const std::string path = dir + "/t.tta";
  write_tensor_archive(path, {{"first", torch::ones({4})}, {"second", torch::ones({2, 8})}}, json::object());
  fs::resize_file(path, fs::file_size(path) - 4);
  e = error_of([&] { read_tensor_archive(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("'second'"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST(HatImportArchive, ModelFromTensorsNamesMissingUnknownAndMisshapenTensors) {
  ModelOptions o = super_model_options(thanos::testing::tiny_space(), 20, 20);
  SuperTransformer ref(o);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : ref->named_parameters()) tensors[p.key()] = p.value().detach().clone();
  SuperTransformer copy = model_from_tensors(o, tensors, "t.tta");
  for (const auto& p : copy->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), tensors.at(p.key())));

  auto missing = tensors;
  missing.erase("decoder.layers.1.encoder_attn.k_proj.bias");
  std::string e = error_of([&] { model_from_tensors(o, missing, "t.tta"); });
  EXPECT_NE(e.find("t.tta: missing tensor 'decoder.layers.1.encoder_attn.k_proj.bias'"), std::string::npos) << e;

  auto unknown = tensors;
  unknown["decoder.layers.0.encoder_attn.in_proj_weight"] = torch::zeros({96, 32});
  e = error_of([&] { model_from_tensors(o, unknown, "t.tta"); });
  EXPECT_NE(e.find("unknown tensor 'decoder.layers.0.encoder_attn.in_proj_weight'"), std::string::npos) << e;

  auto misshapen = tensors;
  misshapen["encoder.layers.0.fc1.weight"] = torch::zeros({64, 31});
  e = error_of([&] { model_from_tensors(o, misshapen, "t.tta"); });
  EXPECT_NE(e.find("'encoder.layers.0.fc1.weight' has shape [64, 31], expected [64, 32]"), std::string::npos) << e;
}

TEST(HatImportArchive, PythonWithoutTorchIsExplained) {
  const std::string dir = temp_dir("notorch");
  const std::string fake = dir + "/python3";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n";
  }
  ::chmod(fake.c_str(), 0755);
  { std::ofstream(dir + "/ck.pt") << "x"; }
  ImportHatOptions o;
  o.checkpoint_path = dir + "/ck.pt";
  o.out_path = dir + "/m.pt";
  o.python = fake;
  const std::string e = error_of([&] { run_import_hat(o); });
  EXPECT_NE(e.find("install python3-torch"), std::string::npos) << e;
  o.python = dir + "/no-such-python";
  const std::string e2 = error_of([&] { run_import_hat(o); });
  EXPECT_NE(e2.find("cannot run Python interpreter"), std::string::npos) << e2;
}

// ------------------------------------------------------------------ against HAT's forward pass

TEST(HatImport, SharedEmbeddingsPostNormMatchesHatForward) {
  SKIP_WITHOUT_TORCH_PYTHON();
  const std::string dir = make_checkpoint("shared");
  ImportHatResult r = import_once(dir);
  EXPECT_EQ(r.src_vocab_size, 45);
  EXPECT_EQ(r.tgt_vocab_size, 45);
  EXPECT_TRUE(r.subtransformer_yaml.empty());
  LoadedModel m = load_model(dir + "/model.pt");
  EXPECT_FALSE(m.info.is_standalone());
  EXPECT_TRUE(m.info.options.hyper.share_all_embeddings);
  EXPECT_FALSE(m.info.options.hyper.encoder_normalize_before);
  EXPECT_EQ(m.info.options.padding_idx, 1);
  EXPECT_EQ(m.info.metadata.at("created_by"), "thanos import-hat");
  EXPECT_NE(m.info.metadata.at("imported_from").find("checkpoint.pt"), std::string::npos);
  // The embedded space is HAT's, from the checkpoint's args.
  SearchSpace s = parse_search_space(m.info.metadata.at("space_yaml"), "embedded").space;
  EXPECT_EQ(s.encoder_embed_choices, (std::vector<int>{32, 24, 16}));
  EXPECT_EQ(s.decoder_ende_layers_choices, (std::vector<int>{1, 2}));
  EXPECT_EQ(s.qkv_dim, 32);
  EXPECT_EQ(s.hat_arch, "transformersuper_wmt_en_de");
  EXPECT_DOUBLE_EQ(s.hyper.dropout, 0.3);
  // The shared table is stored once.
  int tables = 0;
  for (const auto& p : m.model->named_parameters()) tables += p.key().find("embed_tokens") != std::string::npos;
  EXPECT_EQ(tables, 1);
  expect_matches_reference(dir, *m.model, s.qkv_dim);
}

TEST(HatImport, SeparateEmbeddingsPreNormFloat16LegacyMatchesHatForward) {
  SKIP_WITHOUT_TORCH_PYTHON();
  const std::string dir = make_checkpoint("separate");
  ImportHatResult r = import_once(dir);
  EXPECT_EQ(r.src_vocab_size, 40);
  EXPECT_EQ(r.tgt_vocab_size, 37);
  LoadedModel m = load_model(dir + "/model.pt");
  const auto& o = m.info.options;
  EXPECT_FALSE(o.hyper.share_all_embeddings);
  EXPECT_FALSE(o.hyper.share_decoder_input_output);
  EXPECT_TRUE(o.hyper.encoder_normalize_before && o.hyper.decoder_normalize_before);
  EXPECT_EQ(o.capacity.encoder_embed_dim, 32);
  EXPECT_EQ(o.capacity.decoder_embed_dim, 48);
  auto params = m.model->named_parameters();
  EXPECT_EQ(params["decoder.output_projection"].sizes(), (std::vector<int64_t>{37, 48}));
  EXPECT_EQ(params["decoder.layers.0.encoder_attn.k_proj.weight"].sizes(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(params["decoder.layers.0.encoder_attn.q_proj.weight"].sizes(), (std::vector<int64_t>{32, 48}));
  EXPECT_TRUE(params.contains("encoder.layer_norm.weight"));
  // A HAT SubTransformer checkpoint's args record its architecture: the "mixed" config.
  ASSERT_FALSE(r.subtransformer_yaml.empty());
  EXPECT_EQ(parse_config_yaml(r.subtransformer_yaml, "args", 32).config,
            load_config_file(dir + "/mixed.yml", 32).config);
  EXPECT_EQ(m.info.metadata.at("hat_subtransformer_yaml"), r.subtransformer_yaml);
  expect_matches_reference(dir, *m.model, 32);
}

TEST(HatImport, ExtractAndInfoWorkOnTheImportedModel) {
  SKIP_WITHOUT_TORCH_PYTHON();
  for (const std::string variant : {"shared", "separate"}) {
    SCOPED_TRACE(variant);
    const std::string dir = make_checkpoint(variant);
    import_once(dir);
    ExtractOptions e;
    e.checkpoint_path = dir + "/model.pt";
    e.config_path = dir + "/mixed.yml";
    e.out_path = dir + "/mixed_sub.pt";
    ExtractResult er = run_extract(e);
    EXPECT_LE(er.max_abs_diff, 1e-5);
    EXPECT_EQ(er.parameters, er.expected_parameters);
    LoadedModel sub = load_model(e.out_path);
    ASSERT_TRUE(sub.info.is_standalone());
    expect_matches_reference(dir, *sub.model, 32, {"mixed"});

    InfoOptions i;
    i.checkpoint_path = dir + "/model.pt";
    InfoReport info = run_info(i);
    EXPECT_TRUE(info.data.contains("space"));
  }
}

TEST(HatImport, MissingTensorInCheckpointIsNamed) {
  SKIP_WITHOUT_TORCH_PYTHON();
  const std::string dir = make_checkpoint("shared", "decoder.layers.1.fc2.weight");
  ImportHatOptions o;
  o.checkpoint_path = dir + "/checkpoint.pt";
  o.out_path = dir + "/model.pt";
  o.python = kPython;
  const std::string e = error_of([&] { run_import_hat(o); });
  EXPECT_NE(e.find("missing tensor 'decoder.layers.1.fc2.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find(dir + "/checkpoint.pt"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(o.out_path));
}

TEST(HatImport, CheckpointThatWouldRunCodeIsRefusedBeforeRunningIt) {
  SKIP_WITHOUT_TORCH_PYTHON();
  const std::string marker = temp_dir("marker_parent") + "/created_by_unpickling";
  const std::string dir = make_checkpoint("shared", "", marker);
  ImportHatOptions o;
  o.checkpoint_path = dir + "/checkpoint.pt";
  o.out_path = dir + "/model.pt";
  o.python = kPython;
  const std::string e = error_of([&] { run_import_hat(o); });
  EXPECT_NE(e.find("refused: the checkpoint's pickle names posix.mkdir"), std::string::npos) << e;
  EXPECT_NE(e.find(dir + "/checkpoint.pt"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(marker)) << "the checkpoint's code ran";
  EXPECT_FALSE(fs::exists(o.out_path));
}

TEST(HatImport, DamagedArchivesAreRefusedNamingTheTensor) {
  SKIP_WITHOUT_TORCH_PYTHON();
  const std::string dir = make_checkpoint("shared");
  import_once(dir);
  TensorArchive a = read_tensor_archive(dir + "/model.tta");
  auto rewrite = [&](const std::string& name, const std::string& drop, const std::string& add,
                     const torch::Tensor& replace_fc1) {
    std::vector<std::pair<std::string, torch::Tensor>> t;
    for (const auto& n : a.names) {
      if (n == drop) continue;
      t.emplace_back(n, n == "encoder.layers.0.fc1.weight" && replace_fc1.defined() ? replace_fc1 : a.tensors.at(n));
    }
    if (!add.empty()) t.emplace_back(add, torch::zeros({2}));
    const std::string path = dir + "/" + name + ".tta";
    write_tensor_archive(path, t, a.metadata);
    return path;
  };
  auto import_archive = [&](const std::string& path) {
    ImportHatOptions o;
    o.archive_path = path;
    o.out_path = dir + "/damaged.pt";
    return error_of([&] { run_import_hat(o); });
  };
  const std::string missing = rewrite("missing", "encoder.layers.1.self_attn.v_proj.bias", "", {});
  std::string e = import_archive(missing);
  EXPECT_NE(e.find(missing + ": missing tensor 'encoder.layers.1.self_attn.v_proj.bias'"), std::string::npos) << e;
  e = import_archive(rewrite("unknown", "", "decoder.embed_out", {}));
  EXPECT_NE(e.find("unknown tensor 'decoder.embed_out'"), std::string::npos) << e;
  e = import_archive(rewrite("shape", "", "", torch::zeros({64, 16})));
  EXPECT_NE(e.find("'encoder.layers.0.fc1.weight' has shape [64, 16], expected [64, 32]"), std::string::npos) << e;
  const std::string truncated = dir + "/truncated.tta";
  fs::copy_file(dir + "/model.tta", truncated, fs::copy_options::overwrite_existing);
  fs::resize_file(truncated, fs::file_size(truncated) - 10);
  e = import_archive(truncated);
  EXPECT_NE(e.find(truncated + ": tensor '" + a.names.back() + "'"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir + "/damaged.pt"));
}

TEST(HatImport, CommandLineImportThenExtract) {
  SKIP_WITHOUT_TORCH_PYTHON();
  const std::string dir = make_checkpoint("separate");
  auto run = [](const std::string& args) {
    const auto r = thanos::testing::run_cli(args);
    return std::make_pair(r.code, r.output);
  };
  auto [code, out] = run("import-hat --checkpoint " + shell_quote(dir + "/checkpoint.pt") + " --out " +
                         shell_quote(dir + "/cli.pt") + " --python " + kPython + " --subtransformer-out " +
                         shell_quote(dir + "/cli_sub.yml"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("SuperTransformer imported from HAT"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir + "/cli_sub.yml"));
  auto [code2, out2] = run("extract --checkpoint " + shell_quote(dir + "/cli.pt") + " --config " +
                           shell_quote(dir + "/cli_sub.yml") + " --out " + shell_quote(dir + "/cli_sub.pt"));
  EXPECT_EQ(code2, 0) << out2;
  auto [code3, out3] = run("import-hat --checkpoint " + shell_quote(dir + "/cli.pt") + " --out " +
                           shell_quote(dir + "/x.pt") + " --python " + kPython);
  EXPECT_EQ(code3, 2) << out3;  // a THANOS model file is not a HAT checkpoint
  EXPECT_NE(out3.find("thanos import-hat: error:"), std::string::npos) << out3;
}
