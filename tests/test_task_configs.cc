// The shipped `thanos run` configs (issue 10, docs/DATA.md): the four tasks THANOS targets (WMT'14
// En-De, WMT'14 En-Fr, WMT'19 En-De, IWSLT'14 De-En), the demo and Multi30k. Each parses with the
// targets and budgets it promises, its space is HAT's plus QKV choices, and its dry run on a fake
// corpus of the layout it expects lists every stage with an estimate — on this CPU-only machine,
// although the task configs train on `cuda` and measure a remote RK3588: a dry run touches neither.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/run_config.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

std::string config_path(const std::string& name) { return std::string(THANOS_CONFIGS_DIR) + "/" + name + ".yml"; }

struct Task {
  std::string name;      // configs/NAME.yml
  std::string protocol;  // every target's latency protocol
  std::string preset;    // evaluate.preset
  int vocab_size;
  int hat_gpus, hat_update_freq;  // one GPU reaches HAT's batch with update_freq = their product
  std::string space, hat_space;  // THANOS' space with QKV choices, and HAT's own
};

const std::vector<Task>& tasks() {
  static const std::vector<Task> t = {
      {"wmt14-en-de", "hat-wmt", "hat-wmt", 32768, 8, 16, "thanos-wmt-qkv.yml", "hat-wmt14ende-space0.yml"},
      {"wmt14-en-fr", "hat-wmt", "hat-wmt", 40000, 8, 16, "thanos-wmt-qkv.yml", "hat-wmt14ende-space0.yml"},
      {"wmt19-en-de", "hat-wmt", "hat-wmt", 40000, 8, 16, "thanos-wmt-qkv.yml", "hat-wmt14ende-space0.yml"},
      {"iwslt14-de-en", "hat-iwslt", "hat-iwslt", 10000, 1, 1, "thanos-iwslt-qkv.yml", "hat-iwslt14deen-space1.yml"},
  };
  return t;
}

// Everything but the QKV choices.
void expect_same_choices_but_qkv(const SearchSpace& a, const SearchSpace& b) {
  EXPECT_EQ(a.super_shape(), b.super_shape());
  EXPECT_EQ(a.encoder_embed_choices, b.encoder_embed_choices);
  EXPECT_EQ(a.decoder_embed_choices, b.decoder_embed_choices);
  EXPECT_EQ(a.encoder_ffn_choices, b.encoder_ffn_choices);
  EXPECT_EQ(a.decoder_ffn_choices, b.decoder_ffn_choices);
  EXPECT_EQ(a.encoder_layer_num_choices, b.encoder_layer_num_choices);
  EXPECT_EQ(a.decoder_layer_num_choices, b.decoder_layer_num_choices);
  EXPECT_EQ(a.encoder_self_heads_choices, b.encoder_self_heads_choices);
  EXPECT_EQ(a.decoder_self_heads_choices, b.decoder_self_heads_choices);
  EXPECT_EQ(a.decoder_ende_heads_choices, b.decoder_ende_heads_choices);
  EXPECT_EQ(a.decoder_ende_layers_choices, b.decoder_ende_layers_choices);
  EXPECT_TRUE(a.hyper == b.hyper);
}

TEST(TaskConfigs, EachHasHatsSettingsAndThreeTargetsWithTheirBudgets) {
  for (const Task& task : tasks()) {
    SCOPED_TRACE(task.name);
    const RunConfig c = load_run_config(config_path(task.name));
    // The header says how to run it.
    EXPECT_NE(read_text_file(config_path(task.name))
                  .find("thanos run configs/" + task.name + ".yml --data DIR --workdir runs/" + task.name),
              std::string::npos);
    EXPECT_EQ(c.corpus, task.name);
    EXPECT_EQ(c.vocab_size, task.vocab_size);
    EXPECT_EQ(c.train_device, "cuda");
    EXPECT_EQ(c.generation_preset, task.preset);
    EXPECT_EQ(fs::path(c.space).filename().string(), task.space);

    // One GPU with HAT's effective batch (GPUs x update-freq x max-tokens).
    for (const TrainStageSettings* t : {&c.super, &c.final_train}) {
      EXPECT_EQ(t->max_tokens, 4096);
      EXPECT_EQ(t->update_freq, task.hat_gpus * task.hat_update_freq);
      EXPECT_EQ(t->updates, task.protocol == "hat-wmt" ? 40000 : 50000);
      EXPECT_EQ(t->schedule, task.protocol == "hat-wmt" ? "cosine" : "inverse_sqrt");
      EXPECT_DOUBLE_EQ(t->lr, task.protocol == "hat-wmt" ? 1e-3 : 5e-4);
      EXPECT_DOUBLE_EQ(t->clip_norm, task.protocol == "hat-wmt" ? 0.0 : 25.0);  // WMT files set clip-norm 0; IWSLT keeps fairseq's 25
    }
    EXPECT_EQ(c.super.warmup, 10000);
    EXPECT_EQ(c.final_train.warmup, 4000);
    EXPECT_EQ(c.final_mode, "scratch");  // HAT retrains the searched SubTransformer from scratch

    // HAT's evolutionary search.
    EXPECT_EQ(c.strategy, "evo");
    const std::map<std::string, double> hat_evo = {{"population", 125}, {"parents", 25}, {"mutations", 50},
                                                   {"crossovers", 50},  {"mutation_prob", 0.3}, {"iterations", 30}};
    EXPECT_EQ(c.strategy_settings, hat_evo);

    // cpu, gpu, rk3588: each with its budget pairs.
    ASSERT_EQ(c.targets.size(), 3u);
    EXPECT_EQ(c.targets[0].name, "cpu");
    EXPECT_EQ(c.targets[0].device, "cpu");
    EXPECT_EQ(c.targets[1].name, "gpu");
    EXPECT_EQ(c.targets[1].device, "cuda");
    EXPECT_EQ(c.targets[2].name, "rk3588");
    EXPECT_EQ(c.targets[2].device.rfind("remote://", 0), 0u) << c.targets[2].device;
    EXPECT_EQ(c.targets[2].backend, "rknn");
    EXPECT_TRUE(c.targets[2].is_npu());
    EXPECT_EQ(c.targets[2].dtype, "float16");
    EXPECT_FALSE(c.targets[2].token_file.empty());
    for (const TargetSpec& t : c.targets) {
      SCOPED_TRACE(t.name);
      EXPECT_FALSE(t.is_npu() && t.name != "rk3588");
      EXPECT_EQ(t.protocol, task.protocol);
      ASSERT_EQ(t.budgets.size(), 2u);
      for (const BudgetPair& b : t.budgets) EXPECT_FALSE(b.latency.empty()) << b.name;
    }
    // HAT's TITAN Xp comparison point on the GPU; the board's memory is capped absolutely.
    EXPECT_EQ(c.targets[1].budgets[0].latency.text, "100ms");
    for (const BudgetPair& b : c.targets[2].budgets) {
      EXPECT_TRUE(b.latency.percentile) << b.name;
      EXPECT_FALSE(b.memory.percentile) << b.name;
      EXPECT_EQ(b.memory.value, 1024) << b.name;
    }
    // HAT's Xeon search constraint where HAT has Xeon models (WMT'14 only).
    const bool hat_has_xeon = task.name.rfind("wmt14", 0) == 0;
    EXPECT_EQ(!c.targets[0].budgets[0].latency.percentile, hat_has_xeon);
    if (hat_has_xeon) {
      EXPECT_EQ(c.targets[0].budgets[0].latency.value, 200);
    }
  }
}

// The task spaces are HAT's spaces choice for choice, plus QKV widths that divide by every head
// count; WMT'14 En-Fr and WMT'19 En-De use WMT'14 En-De's space0 (HAT's files are identical).
TEST(TaskConfigs, SpacesAreHatsPlusQkvChoices) {
  const std::string spaces = std::string(THANOS_CONFIGS_DIR) + "/spaces/";
  for (const Task& task : tasks()) {
    SCOPED_TRACE(task.name);
    const SearchSpace ours = load_search_space(spaces + task.space).space;
    const SearchSpace hat = load_search_space(spaces + task.hat_space).space;
    expect_same_choices_but_qkv(ours, hat);
    EXPECT_EQ(hat.encoder_self_qkv_choices, std::vector<int>{512});  // HAT: fixed at qkv-dim
    for (const auto* q : {&ours.encoder_self_qkv_choices, &ours.decoder_self_qkv_choices, &ours.decoder_ende_qkv_choices}) {
      ASSERT_EQ(q->size(), 3u);
      for (int w : *q) {
        for (int h : ours.encoder_self_heads_choices) EXPECT_EQ(w % h, 0) << w << " / " << h;
        for (int h : ours.decoder_self_heads_choices) EXPECT_EQ(w % h, 0) << w << " / " << h;
      }
    }
    EXPECT_TRUE(hat.size() < ours.size());
  }
  // The CLI takes the new IWSLT space as it takes the WMT one.
  const auto info = run_cli("info --space " + spaces + "thanos-iwslt-qkv.yml --vocab 10000");
  EXPECT_EQ(info.code, 0) << info.output;
  EXPECT_NE(info.output.find("encoder-self-attention-qkv-dim-choice: [512,384,256]"), std::string::npos) << info.output;
}

// "H:MM:SS" (hours may exceed 24) or "M:SS" in seconds; -1 if it is not a duration.
double duration_seconds(const std::string& text) {
  double total = 0;
  int fields = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t colon = text.find(':', start);
    const std::string part = text.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (part.empty() || part.find_first_not_of("0123456789.") != std::string::npos) return -1;
    total = total * 60 + std::stod(part);
    ++fields;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return fields >= 2 ? total : -1;
}

// For each shipped config: a fake corpus of the layout it expects (its folder under --data, each
// split's PREFIX.SRC and PREFIX.TGT), then `thanos run --dry-run`: exit 0, the nine stages each
// "to run" with an estimate, and nothing written; then the estimates against each other.
TEST(TaskConfigs, DryRunOfEveryShippedConfigListsEveryStageWithItsCost) {
  const std::string dir = ::testing::TempDir() + "/thanos_task_configs_" + std::to_string(::getpid());
  fs::remove_all(dir);
  std::map<std::string, std::map<std::string, double>> estimates;
  std::vector<std::string> names = {"demo", "multi30k"};
  for (const Task& t : tasks()) names.push_back(t.name);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const RunConfig c = load_run_config(config_path(name));
    const std::string data = dir + "/data-" + name;
    const fs::path corpus = fs::path(data) / (c.corpus == "bundled" ? "data/corpus-en-de" : c.corpus);
    fs::create_directories(corpus);
    for (const std::string& prefix : {c.train_prefix, c.valid_prefix, c.test_prefix}) {
      std::ofstream(corpus / (prefix + "." + c.src_lang)) << "a b c\n";
      std::ofstream(corpus / (prefix + "." + c.tgt_lang)) << "x y z\n";
    }
    const std::string workdir = dir + "/work-" + name;
    const auto r = run_cli("run " + config_path(name) + " --data " + data + " --workdir " + workdir + " --dry-run");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_FALSE(fs::exists(workdir)) << "a dry run writes nothing";
    for (const std::string& line : split_lines(r.output, false)) {
      std::istringstream in(line);
      std::string stage, status, estimate;
      in >> stage >> status;
      if (status != "to") continue;  // "to run"
      in >> status >> estimate;
      estimates[name][stage] = duration_seconds(estimate);
    }
    ASSERT_EQ(estimates[name].size(), pipeline_stages().size()) << r.output;
    for (const std::string& stage : pipeline_stages()) {
      ASSERT_TRUE(estimates[name].count(stage)) << stage << "\n" << r.output;
      EXPECT_GT(estimates[name][stage], 0) << stage << "\n" << r.output;
    }
  }
  // The estimates follow the settings: HAT's WMT SuperTransformer (40000 updates of 128 x 4096
  // tokens) costs far more than its IWSLT one (50000 of 4096), and both more than the demo's.
  EXPECT_GT(estimates["wmt14-en-de"]["super"], 50 * estimates["iwslt14-de-en"]["super"]);
  EXPECT_GT(estimates["iwslt14-de-en"]["super"], estimates["demo"]["super"]);
  // WMT'14 En-Fr and WMT'19 En-De: the same space and updates, a larger vocabulary (40000).
  EXPECT_GT(estimates["wmt14-en-fr"]["super"], estimates["wmt14-en-de"]["super"]);
  EXPECT_DOUBLE_EQ(estimates["wmt14-en-fr"]["super"], estimates["wmt19-en-de"]["super"]);
  // Three targets measure three datasets: more than the demo's one.
  EXPECT_GT(estimates["wmt14-en-de"]["measure"], 3 * estimates["demo"]["measure"]);
  if (!std::getenv("THANOS_KEEP_TEST_DIR")) fs::remove_all(dir);
}

}  // namespace
}  // namespace thanos
