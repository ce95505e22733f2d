// thanos run (issue 10, docs/PIPELINE.md): the config's validation, budgets resolved as
// percentiles of measured data (against hand-computed NumPy "linear" percentiles), HAT's
// homogeneous baseline candidates, and a tiny config through every stage on a corpus the test
// writes (no apt): the report's files, the stage cache (a re-run skips everything; --from re-runs
// from a stage on) and the dry run.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <vector>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "busy_machine.h"
#include "test_util.h"
#include "thanos/common/stats.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/baseline.h"
#include "thanos/pipeline/budgets.h"
#include "thanos/pipeline/pipeline.h"
#include "thanos/pipeline/run_config.h"
#include "thanos/space/space_yaml.h"
#include "translation_fixture.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

const char* const kTinySpace = testing::kReversalSpaceYaml;

std::string message_of(const std::string& yaml) {
  return testing::invalid_argument_message([&] { parse_run_config(yaml, "run.yml"); });
}

// A target names the runtime its models are measured in; `device: cpu, runtime: onnxruntime`
// measures the exported graphs in ONNX Runtime (ort-cpu); a runtime the device cannot run is refused.
TEST(RunConfig, TargetsNameTheirRuntime) {
  auto target_of = [](const std::string& target) {
    return parse_run_config("space: s.yml\nbudgets: {latency: p40}\ntarget: " + target + "\n", "run.yml").targets.at(0);
  };
  EXPECT_EQ(target_of("{device: cpu}").runtime, "libtorch");
  const TargetSpec ort = target_of("{device: cpu, runtime: onnxruntime}");
  EXPECT_EQ(ort.device, "ort-cpu");
  EXPECT_EQ(ort.runtime, "onnxruntime");
  EXPECT_EQ(target_of("{device: ort-cpu}").runtime, "onnxruntime");
  EXPECT_EQ(target_of("{device: cuda, runtime: libtorch}").runtime, "libtorch");
  EXPECT_EQ(target_of("{device: rknn}").runtime, "rknn");
  EXPECT_EQ(target_of("{device: 'remote://b:7000', backend: rknn}").runtime, "rknn");
  EXPECT_EQ(target_of("{device: 'remote://b:7000'}").runtime, "libtorch");
  const std::string cuda = message_of("space: s.yml\nbudgets: {latency: p40}\ntarget: {device: cuda, runtime: onnxruntime}\n");
  EXPECT_NE(cuda.find("run.yml:3: target.runtime: 'onnxruntime' cannot measure on device cuda, which measures in libtorch"),
            std::string::npos) << cuda;
  const std::string typo = message_of("space: s.yml\nbudgets: {latency: p40}\ntarget: {device: cpu, runtime: tflite}\n");
  EXPECT_NE(typo.find("'tflite': expected one of libtorch, onnxruntime, rknn"), std::string::npos) << typo;
}

TEST(RunConfig, SeveralTargetsEachWithItsBudgets) {
  const RunConfig c = parse_run_config(R"(space: s.yml
targets:
  - {name: cpu, device: cpu, protocol: hat-wmt, budgets: [{latency: p40, memory: p60}, {name: fast, latency: 50ms}]}
  - name: rk3588
    device: remote://board:7000
    backend: rknn
    token_file: agent.token
    protocol: quick
    dtype: float16
    budgets: {name: npu, latency: 200ms, memory: 500MiB}
)",
                                       "run.yml");
  ASSERT_EQ(c.targets.size(), 2u);
  EXPECT_EQ(c.targets[0].name, "cpu");
  ASSERT_EQ(c.targets[0].budgets.size(), 2u);
  EXPECT_EQ(c.targets[0].budgets[0].name, "b0");
  EXPECT_EQ(c.targets[0].budgets[1].name, "fast");
  EXPECT_FALSE(c.targets[0].is_npu());
  EXPECT_EQ(c.targets[1].name, "rk3588");
  EXPECT_EQ(c.targets[1].backend, "rknn");
  EXPECT_EQ(c.targets[1].dtype, "float16");
  EXPECT_TRUE(c.targets[1].is_npu());
  ASSERT_EQ(c.targets[1].budgets.size(), 1u);
  EXPECT_EQ(c.targets[1].budgets[0].memory.value, 500);

  const std::string both = message_of("space: s.yml\nbudgets: {latency: p40}\ntargets: [{name: a, budgets: {latency: p40}}]\n");
  EXPECT_NE(both.find("not both"), std::string::npos) << both;
  const std::string twice =
      message_of("space: s.yml\ntargets: [{name: a, budgets: {latency: p40}}, {name: a, budgets: {latency: p50}}]\n");
  EXPECT_NE(twice.find("run.yml:2"), std::string::npos) << twice;
  EXPECT_NE(twice.find("targets[1].name: 'a': used twice"), std::string::npos) << twice;
  const std::string unnamed = message_of("space: s.yml\ntargets: [{device: cpu, budgets: {latency: p40}}]\n");
  EXPECT_NE(unnamed.find("targets[0]: name: required"), std::string::npos) << unnamed;
  const std::string no_budget = message_of("space: s.yml\ntargets: [{name: a}]\n");
  EXPECT_NE(no_budget.find("targets[0]: budgets: required"), std::string::npos) << no_budget;
  const std::string folder = message_of("space: s.yml\ntargets: [{name: ../x, budgets: {latency: p40}}]\n");
  EXPECT_NE(folder.find("'../x'"), std::string::npos) << folder;
  EXPECT_NE(folder.find("names a folder"), std::string::npos) << folder;
  const std::string same_budget = message_of("space: s.yml\nbudgets: [{name: x, latency: p40}, {name: x, latency: p50}]\n");
  EXPECT_NE(same_budget.find("budgets[1].name: 'x': used twice"), std::string::npos) << same_budget;
}

TEST(RunConfig, ValidatesKeysValuesAndBudgets) {
  const RunConfig c = parse_run_config("space: s.yml\nbudgets: [{latency: p40, memory: 300MiB}, {name: fast, latency: 12.5ms}]\n"
                                       "super: {updates: 50}\nsearch: {strategy: nsga2, settings: {population: 10}}\n"
                                       "measure: {samples: 30, claim_measurements: 7, claim_max_measurements: 15}\n",
                                       "run.yml");
  ASSERT_EQ(c.targets.size(), 1u);
  EXPECT_EQ(c.targets[0].name, "");  // one target: the flat layout (measure/latency.csv, search/<budget>/)
  EXPECT_EQ(c.targets[0].device, "cpu");
  const auto& budgets = c.targets[0].budgets;
  ASSERT_EQ(budgets.size(), 2u);
  EXPECT_TRUE(budgets[0].latency.percentile);
  EXPECT_EQ(budgets[0].latency.value, 40);
  EXPECT_FALSE(budgets[0].memory.percentile);
  EXPECT_EQ(budgets[0].memory.value, 300);
  EXPECT_EQ(budgets[1].name, "fast");
  EXPECT_EQ(budgets[1].latency.value, 12.5);
  EXPECT_TRUE(budgets[1].memory.empty());
  EXPECT_EQ(c.super.updates, 50);
  EXPECT_EQ(c.strategy, "nsga2");
  EXPECT_EQ(c.strategy_settings.at("population"), 10);
  EXPECT_EQ(c.measure_samples, 30);
  EXPECT_EQ(c.claim_measurements, 7);
  EXPECT_EQ(c.claim_max_measurements, 15);
  const RunConfig claim_defaults = parse_run_config("space: s.yml\nbudgets: {latency: p40}\n", "run.yml");
  EXPECT_EQ(claim_defaults.claim_measurements, 5);  // the least that gives a 90% interval of the median
  EXPECT_EQ(claim_defaults.claim_max_measurements, 11);
  EXPECT_EQ(parse_run_config("space: s.yml\nbudgets: {latency: p40}\n", "run.yml").rerank, 0);  // off, as HAT
  EXPECT_EQ(parse_run_config("space: s.yml\nbudgets: {latency: p40}\nsearch: {rerank: 6}\n", "run.yml").rerank, 6);
  const std::string rerank = message_of("space: s.yml\nbudgets: {latency: p40}\nsearch: {rerank: -2}\n");
  EXPECT_NE(rerank.find("search.rerank"), std::string::npos) << rerank;
  EXPECT_NE(rerank.find("-2: expected 0 to 10000"), std::string::npos) << rerank;
  // The final selection: one finalist and valid BLEU by default; more finalists than the search
  // returns, or several with HAT's search-order choice, are refused naming the key.
  const RunConfig defaults = parse_run_config("space: s.yml\nbudgets: {latency: p40}\n", "run.yml");
  EXPECT_EQ(defaults.final_finalists, 1);
  EXPECT_EQ(defaults.final_select, "valid_bleu");
  const RunConfig three = parse_run_config("space: s.yml\nbudgets: {latency: p40}\nsearch: {top_k: 3}\nfinal: {finalists: 3, select: valid_bleu}\n", "run.yml");
  EXPECT_EQ(three.final_finalists, 3);
  EXPECT_EQ(parse_run_config("space: s.yml\nbudgets: {latency: p40}\nfinal: {select: search}\n", "run.yml").final_select, "search");
  EXPECT_EQ(parse_run_config("space: s.yml\nbudgets: {latency: p40}\nfinal: {select: beats_baseline}\n", "run.yml").final_select, "beats_baseline");
  const std::string too_many = message_of("space: s.yml\nbudgets: {latency: p40}\nsearch: {top_k: 2}\nfinal: {finalists: 3}\n");
  EXPECT_NE(too_many.find("final.finalists: 3: expected at most search.top_k (2)"), std::string::npos) << too_many;
  const std::string hat = message_of("space: s.yml\nbudgets: {latency: p40}\nfinal: {finalists: 2, select: search}\n");
  EXPECT_NE(hat.find("expected 1 with final.select: search"), std::string::npos) << hat;
  // Headroom for re-measurement noise in budget claims: a fraction below one half.
  EXPECT_EQ(defaults.claim_headroom, 0.0);
  EXPECT_DOUBLE_EQ(parse_run_config("space: s.yml\nbudgets: {latency: p40}\nsearch: {claim_headroom: 0.05}\n", "run.yml").claim_headroom, 0.05);
  const std::string headroom = message_of("space: s.yml\nbudgets: {latency: p40}\nsearch: {claim_headroom: 0.7}\n");
  EXPECT_NE(headroom.find("search.claim_headroom"), std::string::npos) << headroom;
  EXPECT_NE(headroom.find("expected a fraction in [0, 0.5)"), std::string::npos) << headroom;
  const std::string select = message_of("space: s.yml\nbudgets: {latency: p40}\nfinal: {select: bleu}\n");
  EXPECT_NE(select.find("final.select"), std::string::npos) << select;

  // Errors name the file, line, key, value and what is allowed.
  const std::string unknown = message_of("space: s.yml\nbudgets: {latency: p40}\nsuper: {updatez: 5}\n");
  EXPECT_NE(unknown.find("run.yml:3"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("super.updatez"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("allowed: clip_norm, lr, max_tokens, schedule, update_freq, updates, warmup"), std::string::npos) << unknown;
  const std::string pct = message_of("space: s.yml\nbudgets: {latency: p140}\n");
  EXPECT_NE(pct.find("budgets.latency"), std::string::npos) << pct;
  EXPECT_NE(pct.find("'p140'"), std::string::npos) << pct;
  EXPECT_NE(pct.find("0..100"), std::string::npos) << pct;
  // Every number has a range: nan, inf and values no run means are refused with the key and range.
  for (const auto& [line, expected] : std::vector<std::pair<std::string, std::string>>{
           {"evaluate: {max_len_a: inf}", "evaluate.max_len_a: inf: expected a number from 0 to 100"},
           {"stage_budget_minutes: {prepare: 1e300}", "stage_budget_minutes.prepare: 1e300: expected a number from 0 to 10080"},
           {"super: {lr: nan}", "super.lr: nan: expected a number above 0 up to 10"},
           {"final: {clip_norm: -1}", "final.clip_norm: -1: expected a number from 0 to 1000000"},
           {"target: {device: cpu, threads: 1000000}", "target.threads: 1000000: expected 0 to 1024"},
           {"measure: {claim_measurements: 4}", "measure.claim_measurements: 4: expected 5 to 100"},
           {"measure: {claim_measurements: 9, claim_max_measurements: 6}", "measure: claim_max_measurements (6) must be at least claim_measurements (9)"},
           {"super: {max_tokens: 4294967808}", "super.max_tokens: expected an integer, got '4294967808'"},
           {"search: {settings: {population: 1e12}}", "search.settings.population: 1e12: expected a number from -1000000000 to 1000000000"},
           {"export: {static: [64, 100000]}", "export.static: expected [SRC_LEN, TGT_LEN], both 1 to 4096"}}) {
    SCOPED_TRACE(line);
    const std::string m = message_of("space: s.yml\nbudgets: {latency: p40}\n" + line + "\n");
    EXPECT_NE(m.find("run.yml:3: " + expected), std::string::npos) << m;
  }
  // A list as a key, top level or in a section, names the line instead of yaml-cpp's "bad conversion".
  EXPECT_NE(message_of("space: s.yml\nbudgets: {latency: p40}\n? [a]\n: 1\n").find("run.yml:3: a key: expected a plain name as the key, got a list"),
            std::string::npos);
  EXPECT_NE(message_of("space: s.yml\nbudgets: {latency: p40}\nsearch: {settings: {[a]: 1}}\n").find("run.yml:3: a key: expected a plain name as the key"),
            std::string::npos);
  const std::string strategy = message_of("space: s.yml\nbudgets: {memory: p50}\nsearch: {strategy: genetic}\n");
  EXPECT_NE(strategy.find("'genetic': expected one of evo, hpo-evo, nsga2, random"), std::string::npos) << strategy;
  // measure.repeats (one reading decided far from the budget) is gone: a config naming it is told
  // what replaced it rather than having it ignored.
  const std::string repeats = message_of("space: s.yml\nbudgets: {latency: p40}\nmeasure: {repeats: 3}\n");
  EXPECT_NE(repeats.find("run.yml:3"), std::string::npos) << repeats;
  EXPECT_NE(repeats.find("measure.repeats"), std::string::npos) << repeats;
  EXPECT_NE(repeats.find("measure.claim_measurements"), std::string::npos) << repeats;
  const auto lengths = parse_run_config("space: s.yml\nbudgets: {latency: p40}\nevaluate: {max_len_a: 1.2, max_len_b: 10}\n", "run.yml");
  EXPECT_DOUBLE_EQ(lengths.max_len_a, 1.2);
  EXPECT_EQ(lengths.max_len_b, 10);
  const std::string len_a = message_of("space: s.yml\nbudgets: {latency: p40}\nevaluate: {max_len_a: -1}\n");
  EXPECT_NE(len_a.find("evaluate.max_len_a"), std::string::npos) << len_a;
  EXPECT_NE(len_a.find("-1: expected a number from 0 to 100"), std::string::npos) << len_a;
  EXPECT_NE(message_of("budgets: {memory: p50}\n").find("space: required"), std::string::npos);
  EXPECT_NE(message_of("space: s.yml\n").find("budgets: required"), std::string::npos);
  EXPECT_NE(message_of("space: s.yml\nbudgets: {latency: fast}\n").find("expected pNN"), std::string::npos);
  EXPECT_NE(message_of("space: s.yml\nbudgets: {latency: p10}\ntarget: {device: tpu}\n").find("'tpu'"), std::string::npos);
  EXPECT_NE(message_of("space: s.yml\nbudgets: {latency: p10}\nstage_budget_minutes: {training: 3}\n").find("allowed: evaluate"),
            std::string::npos);
}

TEST(RunBudgets, PercentilesAndTheFeasibleFraction) {
  // NumPy's default (linear) percentiles by hand: rank = p/100 * (n-1).
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 40), 2.2);   // rank 1.2: 2 + 0.2 * (3 - 2)
  EXPECT_DOUBLE_EQ(percentile({10, 20, 30}, 50), 20);
  EXPECT_DOUBLE_EQ(percentile({10, 20, 30}, 100), 30);
  EXPECT_DOUBLE_EQ(percentile({7}, 60), 7);
  EXPECT_THROW(percentile({}, 50), std::invalid_argument);

  const std::vector<MeasuredPoint> points = {{10, 100}, {20, 50}, {30, 300}, {40, 200}, {50, 400}};
  BudgetPair pair;
  pair.name = "b";
  pair.latency = parse_budget("p50", "ms", "latency");   // 30 ms
  pair.memory = parse_budget("250MiB", "MiB", "memory");
  const ResolvedBudgets r = resolve_budgets(pair, points);
  EXPECT_DOUBLE_EQ(r.latency_ms, 30);
  EXPECT_DOUBLE_EQ(r.memory_mib, 250);
  EXPECT_DOUBLE_EQ(r.feasible_fraction, 2.0 / 5);  // (10,100) and (20,50); (30,300) is over the memory
  BudgetPair only_memory;
  EXPECT_THROW(parse_budget("p0", "MiB", "memory"), std::invalid_argument);  // p must be > 0
  only_memory.memory = parse_budget("p25", "MiB", "memory");  // 100 MiB
  const ResolvedBudgets m = resolve_budgets(only_memory, points);
  EXPECT_TRUE(std::isinf(m.latency_ms));
  EXPECT_DOUBLE_EQ(m.feasible_fraction, 2.0 / 5);
}

TEST(RunBudgets, ARemeasuredConfigCountsOnceWithItsLastRow) {
  // The drift guard appends a config's new row; the percentiles and the feasible fraction see one
  // point per config, the last (a burst-slowed 40 ms reading of `a`, re-measured at 10 ms, and an
  // infeasible config `d` that stays out).
  const std::string path = ::testing::TempDir() + "/thanos_points_" + std::to_string(::getpid()) + ".csv";
  std::ofstream(path) << "config_hash,latency_mean_encoder,latency_mean_decoder,peak_memory_mib,feasible\n"
                         "a,10,30,5,1\nb,5,15,6,1\nc,10,20,7,1\nd,0,0,0,0\na,2,8,5,1\n";
  const std::vector<MeasuredPoint> points = read_measured_points(path);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_DOUBLE_EQ(points[0].latency_ms, 10);  // a: its last row, in its first row's place
  EXPECT_DOUBLE_EQ(points[1].latency_ms, 20);
  EXPECT_DOUBLE_EQ(points[2].latency_ms, 30);
  fs::remove(path);
}

// The evaluate stage's drift baseline: the median reference reading of the dataset's rows (rows
// without one left out); a file without the column is refused, naming it.
TEST(RunBudgets, TheDatasetsReferenceIsTheMedianReading) {
  const std::string path = ::testing::TempDir() + "/thanos_reference_" + std::to_string(::getpid()) + ".csv";
  std::ofstream(path) << "config_hash,reference_latency_ms\na,12.5\nb,10\nc,\nd,11\ne,30\n";
  EXPECT_DOUBLE_EQ(dataset_reference_ms(path), 11.75);  // median of 12.5, 10, 11, 30
  std::ofstream(path) << "config_hash,feasible\na,1\n";
  const std::string message = testing::invalid_argument_message([&] { dataset_reference_ms(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("reference_latency_ms"), std::string::npos) << message;
  fs::remove(path);
}

TEST(RunBaseline, HomogeneousMembersOfTheSpace) {
  const SearchSpace space = parse_search_space(kTinySpace, "tiny.yml").space;
  const auto members = homogeneous_members(space);
  // 2 embeddings x 2 FFN widths x 2 head counts x 1 QKV width (32) x 1 x 2 layer counts.
  EXPECT_EQ(members.size(), 2u * 2 * 2 * 1 * 1 * 2);
  for (const auto& c : members) {
    EXPECT_TRUE(space.contains(c)) << c.summary();
    EXPECT_EQ(c.encoder_embed_dim, c.decoder_embed_dim);
    for (const auto& l : c.encoder_layers) EXPECT_EQ(l, c.encoder_layers[0]);
    for (const auto& l : c.decoder_layers) {
      EXPECT_EQ(l.ffn_dim, c.encoder_layers[0].ffn_dim);
      EXPECT_EQ(l.self_heads, c.encoder_layers[0].self_heads);
      EXPECT_EQ(l.ende_heads, l.self_heads);
      EXPECT_EQ(l.self_qkv_dim, c.encoder_layers[0].self_qkv_dim);
      EXPECT_EQ(l.ende_qkv_dim, l.self_qkv_dim);
      EXPECT_EQ(l.ende_attn_layers, 1);
    }
  }
}

// ------------------------------------------------------------------ the whole pipeline

// The tiny run every RunPipeline test starts from. ctest runs each test in a process of its own,
// so the run is shared between them: the first process to take the lock runs it into a folder keyed
// by the `thanos` binary and this config, the others wait for it and read it (it took a minute or
// two per process, six times over, on a 2-core CI). The tests only read it or work on copies.
const char* const kTinyRunYaml = R"(name: tiny
seed: 3
corpus: {path: corpus, vocab_size: 400}
space: space.yml
target: {device: cpu, threads: 1, protocol: quick}
budgets: [{name: tight, latency: 1000ms, memory: 1000MiB}]
super: {updates: 30, max_tokens: 300, lr: 0.003, warmup: 5}
measure: {samples: 18, cooldowns: 0}  # a busy test machine: no 30-s waits for the drift reference
search: {strategy: evo, settings: {population: 8, parents: 3, mutations: 3, crossovers: 2, iterations: 2}, valid_subset: 20, rerank: 2, top_k: 2, margin: 0}
final: {mode: finetune, finalists: 2, updates: 10, max_tokens: 300, lr: 0.001, warmup: 2}
evaluate: {max_len_a: 0.5, max_len_b: 12}
export: {static: [40, 16]}
stage_budget_minutes: {prepare: 1, super: 2, measure: 2, predictors: 1, search: 2, final: 2, evaluate: 1, export: 1, report: 1}
)";

class RunPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::error_code ec;
    const std::string binary = THANOS_BINARY;
    const auto stamp = fs::last_write_time(binary, ec).time_since_epoch().count();
    const std::string key = hex64(fnv1a64(std::string(kTinyRunYaml) + kTinySpace + binary + std::to_string(stamp) +
                                          std::to_string(fs::file_size(binary, ec))));
    const std::string prefix = ::testing::TempDir() + "/thanos_run_shared_";
    dir_ = new std::string(prefix + key);
    // Without the lock (it cannot fail on a local /tmp) each process would still get a run.
    const int lock = ::open((*dir_ + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock >= 0) ::flock(lock, LOCK_EX);
    const std::string done = *dir_ + "/first_run.json";
    if (fs::exists(done)) {
      const auto j = nlohmann::json::parse(read_text_file(done));
      first_ = new testing::CliResult{j.at("code").get<int>(), j.at("output").get<std::string>()};
    } else {
      fs::remove_all(*dir_);
      fs::create_directories(*dir_ + "/corpus");
      testing::write_reversal_corpus(*dir_ + "/corpus/train", 300, 1);
      testing::write_reversal_corpus(*dir_ + "/corpus/valid", 30, 2);
      testing::write_reversal_corpus(*dir_ + "/corpus/test", 20, 3);
      std::ofstream(*dir_ + "/space.yml") << kTinySpace;
      std::ofstream(*dir_ + "/tiny.yml") << kTinyRunYaml;
      first_ = new testing::CliResult(run_cli("--threads 1 run " + *dir_ + "/tiny.yml --workdir " + *dir_ + "/work"));
      write_file_atomically(done, nlohmann::json{{"code", first_->code}, {"output", first_->output}}.dump() + "\n");
      // Runs of earlier builds are not read again.
      for (const auto& e : fs::directory_iterator(::testing::TempDir(), ec)) {
        const std::string path = e.path().string();
        if (path.rfind(prefix, 0) == 0 && path != *dir_ && path != *dir_ + ".lock") fs::remove_all(path, ec);
      }
    }
    if (lock >= 0) ::close(lock);  // releases the lock
  }
  static void TearDownTestSuite() {
    delete dir_;  // the shared run stays for the suite's other processes
    delete first_;
  }
  static std::string dir() { return *dir_; }
  // A copy of the first run's directory under `name`, for a re-run with a changed config.
  static std::string copy_of_first_run(const std::string& name) {
    const std::string w = dir() + "/" + name;
    fs::remove_all(w);
    fs::copy(dir() + "/work", w, fs::copy_options::recursive);
    return w;
  }
  static std::string* dir_;
  static testing::CliResult* first_;
};
std::string* RunPipeline::dir_ = nullptr;
testing::CliResult* RunPipeline::first_ = nullptr;

TEST_F(RunPipeline, EveryStageRunsAndTheReportHasWhatItPromises) {
  ASSERT_TRUE(first_->code == 0 || first_->code == 3) << first_->output;
  const std::string w = dir() + "/work";
  // The config asks for more pieces than sentencepiece makes of this corpus: the dataset, the
  // predictors and the search must all use the prepared vocabulary (they once disagreed, and the
  // search refused the predictors as "fitted under a different measurement protocol").
  EXPECT_LT(nlohmann::json::parse(read_text_file(w + "/data/manifest.json"))["vocab_size"].get<int>(), 400);
  const auto s = nlohmann::json::parse(read_text_file(w + "/summary.json"));
  EXPECT_TRUE(s["budget"]["latency_ms"].is_number());
  EXPECT_TRUE(s["budget"]["memory_mb"].is_number());
  EXPECT_GT(s["feasible_fraction"].get<double>(), 0.0);
  EXPECT_LE(s["feasible_fraction"].get<double>(), 1.0);
  for (const char* role : {"chosen", "largest", "baseline"}) {
    SCOPED_TRACE(role);
    if (s[role].is_null()) {
      EXPECT_NE(std::string(role), "largest");  // the largest always exists
      continue;
    }
    for (const char* key : {"config", "bleu", "chrf", "test_ppl", "test_nll_loss", "latency_ms_median", "latency_ms_interval",
                            "memory_mib_peak", "verdict", "params", "sentences_per_second_end_to_end"}) {
      EXPECT_TRUE(s[role].contains(key)) << key;
    }
    EXPECT_GT(s[role]["params"].get<double>(), 0);
    EXPECT_GT(s[role]["test_ppl"].get<double>(), 1.0);
    // The reported latency is the median of at least 5 readings, each after one of the drift
    // reference, and its interval is the sign-test interval of those readings.
    std::vector<double> taken = s[role]["latency_ms_measurements"].get<std::vector<double>>();
    ASSERT_GE(taken.size(), 5u);
    EXPECT_EQ(s[role]["reference_ms_measurements"].size(), taken.size());
    EXPECT_DOUBLE_EQ(s[role]["latency_ms_median"].get<double>(), median_of(taken));
    const Interval interval = median_interval(taken, 0.90);
    EXPECT_DOUBLE_EQ(s[role]["latency_ms_interval"][0].get<double>(), interval.low);
    EXPECT_DOUBLE_EQ(s[role]["latency_ms_interval"][1].get<double>(), interval.high);
    // The largest is compared against no budget: no verdict; the others have one.
    EXPECT_EQ(s[role]["verdict"].is_null(), std::string(role) == "largest") << s[role]["verdict"];
  }
  // Chosen vs baseline by paired bootstrap: recomputed from the test.hyp files, its BLEU gap equals
  // the gap of the two evaluations' own scores.
  if (!s["chosen"].is_null() && !s["baseline"].is_null()) {
    const auto& cmp = s["budgets"][0]["chosen_vs_baseline"];
    if (s["chosen"]["model"] == s["baseline"]["model"]) {  // the selection chose the baseline itself
      // No comparison of a model with itself; the report's first line says the search did not beat it.
      EXPECT_TRUE(cmp.is_null()) << cmp.dump();
      EXPECT_TRUE(s["budgets"][0]["chosen_is_baseline"].get<bool>());
      EXPECT_TRUE(s["budgets"][0]["chosen_at_least_baseline_bleu"].is_null());
      const std::string report = read_text_file(w + "/report.md");
      EXPECT_NE(report.find("the search did not beat HAT's baseline"), std::string::npos) << report;
      EXPECT_EQ(report.find("BLEU at least the baseline's"), std::string::npos) << report;
    } else {
      ASSERT_TRUE(cmp.is_object()) << s["budgets"][0].dump(2);
      EXPECT_NEAR(cmp["bleu_delta"].get<double>(), s["chosen"]["bleu"].get<double>() - s["baseline"]["bleu"].get<double>(), 1e-9);
      EXPECT_EQ(cmp["segments"].get<int>(), s["chosen"]["test_sentences"].get<int>());
      EXPECT_LE(cmp["ci95"][0].get<double>(), cmp["ci95"][1].get<double>());
      EXPECT_GT(cmp["p_value"].get<double>(), 0.0);
      EXPECT_LE(cmp["p_value"].get<double>(), 1.0);
      EXPECT_NE(read_text_file(w + "/report.md").find("paired bootstrap 95% interval"), std::string::npos);
    }
  }
  // Budgets far above these ~5 ms, ~5 MiB models keep a chosen model whatever the machine's load
  // (measurements of so small models vary by 2x under load; percentiles are tested above).
  ASSERT_FALSE(s["chosen"].is_null()) << first_->output;
  EXPECT_DOUBLE_EQ(s["budget"]["latency_ms"].get<double>(), 1000.0);
  EXPECT_EQ(s["budget"]["memory_spec"], "1000MiB");
  // Claims are judged on the raw readings: the chosen model fits, so its whole interval is within
  // the budget; nothing is divided by a drift.
  EXPECT_EQ(s["chosen"]["verdict"], "fits");
  EXPECT_EQ(s["budgets"][0]["chosen_verdict"], "fits");
  EXPECT_LE(s["chosen"]["latency_ms_interval"][1].get<double>(), s["budget"]["latency_ms"].get<double>());
  // The evaluate stage read the drift reference before each model's figures (cool-downs at most 2 a stage).
  int cooldowns = 0;
  for (const char* role : {"chosen", "largest", "baseline"}) {
    if (s[role].is_null()) continue;
    cooldowns += s[role]["reference_cooldowns"].get<int>();
    EXPECT_FALSE(s[role].contains("latency_ms_at_dataset_speed")) << role;
    EXPECT_TRUE(s[role]["drifting"].is_boolean()) << role;
  }
  EXPECT_LE(cooldowns, 2);
  // The search's claims too: each baseline candidate's fit is its verdict on raw readings, and a
  // verdict of "fits" means the whole interval is within the budget.
  const auto search_record = nlohmann::json::parse(read_text_file(w + "/stages/search.json"));
  for (const auto& b : search_record["outputs"]) {
    EXPECT_FALSE(b.contains("slowdown"));
    for (const auto& tried : b["baseline"]["tried"]) {
      const auto& m = tried["measurement"];
      EXPECT_EQ(tried["fits"].get<bool>(), m["verdict"] == "fits") << tried.dump();
      if (!tried["fits"].get<bool>()) continue;
      const auto& limit = b["budget"];  // search.claim_headroom is 0 here: the claims are against the budget itself
      if (!limit["latency_ms"].is_null()) EXPECT_LE(m["latency_ms_interval"][1].get<double>(), limit["latency_ms"].get<double>());
      if (!limit["memory_mb"].is_null()) EXPECT_LE(m["memory_mib_interval"][1].get<double>(), limit["memory_mb"].get<double>());
    }
    if (!b["found"].get<bool>()) continue;
    const auto verified = nlohmann::json::parse(read_text_file(b["search"].get<std::string>()));
    EXPECT_FALSE(verified["verification"].contains("slowdown"));
    EXPECT_EQ(verified["verification"]["claim"]["measurements"], 5);
    for (const auto& c : verified["pareto_front"]) EXPECT_EQ(c["measurement"]["verdict"], "fits") << c.dump();
  }
  // search.rerank: 2 shortlisted candidates translated as the evaluate stage translates; under these
  // budgets the best BLEU of them fits and is the chosen model.
  const auto searched = nlohmann::json::parse(read_text_file(w + "/search/tight/search.json"));
  const auto& rerank = searched["rerank"];
  ASSERT_EQ(rerank["candidates"].size(), 2u) << rerank.dump(2);
  EXPECT_DOUBLE_EQ(rerank["generation"]["max_len_a"].get<double>(), 0.5);
  EXPECT_EQ(rerank["generation"]["max_len_b"].get<int>(), 12);
  const auto& finalists = s["budgets"][0]["finalists"];
  ASSERT_FALSE(finalists.empty()) << s["budgets"][0].dump(2);
  EXPECT_EQ(finalists[0]["rank"], 1);
  EXPECT_EQ(rerank["candidates"][0]["hash"], finalists[0]["config_hash"]);  // the search's first is finalist 1
  // final.finalists: 2 — the search's two returned candidates and the baseline trained alike; the
  // chosen is the best valid BLEU (then chrF) of them, each equal to `thanos eval --split valid` of that model.
  const auto& selection = s["chosen"]["finalists"];
  ASSERT_EQ(selection.size(), finalists.size() + (s["baseline"].is_null() ? 0 : 1)) << s["chosen"].dump(2);
  EXPECT_EQ(finalists.size(), 2u);
  EXPECT_EQ(selection[0]["name"], "finalist-1");
  std::pair<double, double> best{-1, -1};  // BLEU, then chrF
  std::string best_model;
  for (const auto& f : selection) {
    SCOPED_TRACE(f.dump());
    const auto e = run_cli("--threads 1 eval --model " + f["model"].get<std::string>() + " --data " + w +
                           "/data --split valid --json --preset hat-wmt --max-len-a 0.5 --max-len-b 12");
    ASSERT_EQ(e.code, 0) << e.output;
    const auto eval = nlohmann::json::parse(e.output.substr(e.output.find('{')));
    EXPECT_NEAR(f["valid_bleu"].get<double>(), eval["bleu"]["score"].get<double>(), 1e-9);
    EXPECT_NEAR(f["valid_chrf"].get<double>(), eval["chrf"]["score"].get<double>(), 1e-9);
    const std::pair<double, double> score{eval["bleu"]["score"].get<double>(), eval["chrf"]["score"].get<double>()};
    if (score > best) best = score, best_model = f["model"];
  }
  EXPECT_EQ(s["chosen"]["model"], best_model);
  EXPECT_EQ(s["chosen"]["select"], "valid_bleu");
  EXPECT_NE(read_text_file(w + "/report.md").find("Selected on the valid split after identical training"), std::string::npos);
  // Exports: dynamic and static graphs, file names saying which.
  const std::string ex = w + "/export/tight";
  for (const char* f : {"/dynamic/encoder_dynamic.onnx", "/dynamic/decoder_step_dynamic.onnx", "/static/encoder_static.onnx",
                        "/static/decoder_step_static.onnx", "/static/thanos_export.json"}) {
    EXPECT_TRUE(fs::exists(ex + f)) << f;
  }
  const std::string html = read_text_file(w + "/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("http://") == std::string::npos || html.find("http://www.w3.org/2000/svg") != std::string::npos, true);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, nothing to fetch or run
  // Every table row of report.md has the header's 10 cells (a config's own '|' is not a separator).
  const std::string md = read_text_file(w + "/report.md");
  EXPECT_NE(md.find("| chosen ("), std::string::npos);
  for (const auto& line : split_lines(md, false)) {
    if (line.rfind("| chosen", 0) == 0 || line.rfind("| baseline", 0) == 0 || line.rfind("| largest", 0) == 0 || line.rfind("| finalist", 0) == 0) {
      EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 11) << line;
    }
  }
  for (const char* stage : {"prepare", "super", "measure", "predictors", "search", "final", "evaluate", "export", "report"}) {
    EXPECT_TRUE(fs::exists(w + "/stages/" + std::string(stage) + ".json")) << stage;
  }
}

TEST_F(RunPipeline, ARerunSkipsWhatIsDoneAndFromReRunsFromAStage) {
  ASSERT_TRUE(first_->code == 0 || first_->code == 3) << first_->output;
  const std::string w = copy_of_first_run("work_rerun");  // the shared run itself is only read
  const std::string cmd = "--threads 1 run " + dir() + "/tiny.yml --workdir " + w;
  const auto dry = run_cli(cmd + " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.output;
  int cached = 0;
  for (const auto& line : split_lines(dry.output, false)) cached += line.find(" cached ") != std::string::npos;
  EXPECT_EQ(cached, 9) << dry.output;
  const auto again = run_cli(cmd);
  ASSERT_EQ(again.code, first_->code) << again.output;
  int skipped = 0;
  for (const auto& line : split_lines(again.output, false)) skipped += line.find("skipped") != std::string::npos;
  EXPECT_EQ(skipped, 9) << again.output;
  const auto from = run_cli(cmd + " --from evaluate --quiet");
  ASSERT_EQ(from.code, first_->code) << from.output;
  int started = 0;
  for (const auto& line : split_lines(from.output, false)) started += line.find("] starting") != std::string::npos;
  EXPECT_EQ(started, 3) << from.output;  // evaluate, export, report

  // Other SuperTransformer settings: the corpus, the measurement and the predictors stay cached.
  std::string changed = read_text_file(dir() + "/tiny.yml");
  changed.replace(changed.find("updates: 30"), 11, "updates: 31");
  write_file_atomically(dir() + "/tiny2.yml", changed);
  const auto plan = run_cli("--threads 1 run " + dir() + "/tiny2.yml --workdir " + w + " --dry-run");
  ASSERT_EQ(plan.code, 0) << plan.output;
  std::vector<std::string> still_cached;
  for (const auto& line : split_lines(plan.output, false)) {
    if (line.find(" cached ") != std::string::npos) still_cached.push_back(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(still_cached, (std::vector<std::string>{"prepare", "measure", "predictors"})) << plan.output;
}

// Ctrl-C during the search (the stop flag raised at its first progress line): the run returns
// interrupted at "search" without completing that stage; the same command then resumes it, the
// search replaying the configs it had scored instead of scoring them again.
TEST_F(RunPipeline, InterruptedSearchResumes) {
  ASSERT_TRUE(first_->code == 0 || first_->code == 3) << first_->output;
  const std::string w = copy_of_first_run("work_stop");
  ::setenv("THANOS_WORKER_BINARY", THANOS_BINARY, 1);  // in-process: this test binary has no worker mode
  RunOptions o;
  o.config_path = dir() + "/tiny.yml";
  o.workdir = w;
  o.from_stage = "search";
  std::atomic<bool> stop{false};
  std::vector<std::string> lines;
  auto log = [&](const std::string& line) {
    lines.push_back(line);
    if (line.find("iteration 1/") != std::string::npos) stop = true;  // what SIGINT's handler does
  };
  const RunResult stopped = run_pipeline(o, log, &stop);
  ASSERT_TRUE(stopped.interrupted);
  EXPECT_EQ(stopped.interrupted_at, "search");
  EXPECT_FALSE(nlohmann::json::parse(read_text_file(w + "/stages/search.json")).value("completed", true));
  EXPECT_FALSE(fs::exists(w + "/search/tight/search.json"));  // nothing but the evaluations log
  ASSERT_TRUE(fs::exists(w + "/search/tight/evaluations.jsonl"));

  o.from_stage.clear();
  stop = false;
  lines.clear();
  const RunResult resumed = run_pipeline(o, [&](const std::string& line) { lines.push_back(line); }, &stop);
  EXPECT_FALSE(resumed.interrupted);
  const auto search = nlohmann::json::parse(read_text_file(w + "/search/tight/search.json"));
  EXPECT_GT(search["evaluations"]["replayed"].get<int>(), 0);
  ASSERT_EQ(resumed.summary.budgets.size(), 1u);
  EXPECT_EQ(resumed.summary.budgets[0].name, "tight");
  EXPECT_EQ(resumed.summary.stages.size(), pipeline_stages().size());
}

// Two targets in one config: the SuperTransformer, the corpus and the largest model are reused;
// each target gets its own dataset, predictors, search, chosen and baseline models and exports.
// Changing one target's budget redoes only that target's search and models.
TEST_F(RunPipeline, SeveralTargetsReuseWhatTheyShare) {
  ASSERT_TRUE(first_->code == 0 || first_->code == 3) << first_->output;
  const std::string w = copy_of_first_run("work_targets");
  std::string config = read_text_file(dir() + "/tiny.yml");
  const std::string single = "target: {device: cpu, threads: 1, protocol: quick}\nbudgets: [{name: tight, latency: 1000ms, memory: 1000MiB}]\n";
  ASSERT_NE(config.find(single), std::string::npos);
  const std::string targets =
      "targets:\n"
      "  - {name: a, device: cpu, threads: 1, protocol: quick, budgets: [{name: tight, latency: 1000ms, memory: 1000MiB}]}\n"
      "  - {name: b, device: cpu, threads: 1, protocol: quick, budgets: [{name: loose, latency: 2000ms}]}\n";
  config.replace(config.find(single), single.size(), targets);
  write_file_atomically(dir() + "/targets.yml", config);
  const std::string cmd = "--threads 1 run " + dir() + "/targets.yml --workdir " + w;
  const auto r = run_cli(cmd);
  ASSERT_TRUE(r.code == 0 || r.code == 3) << r.output;
  EXPECT_NE(r.output.find("[2/9 super] done already with the same inputs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the largest model: trained already with the same inputs"), std::string::npos) << r.output;
  const auto s = nlohmann::json::parse(read_text_file(w + "/summary.json"));
  ASSERT_EQ(s["targets"].size(), 2u);
  ASSERT_EQ(s["budgets"].size(), 2u);
  EXPECT_EQ(s["budgets"][0]["label"], "a/tight");
  EXPECT_EQ(s["budgets"][1]["label"], "b/loose");
  EXPECT_TRUE(s["budgets"][1]["budget"]["memory_mb"].is_null());
  for (const char* t : {"a", "b"}) {
    EXPECT_TRUE(fs::exists(w + "/measure/" + std::string(t) + "/latency.csv")) << t;
    EXPECT_TRUE(fs::exists(w + "/predictors/" + std::string(t) + "/latency.json")) << t;
  }
  EXPECT_TRUE(fs::exists(w + "/search/a/tight/search.json"));
  EXPECT_TRUE(fs::exists(w + "/search/b/loose/search.json"));
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& b = s["budgets"][i];
    ASSERT_FALSE(b["chosen"].is_null()) << r.output;
    EXPECT_EQ(b["chosen"]["target"], i == 0 ? "a" : "b");
    // The largest is compared on each target with that target's own measurement.
    ASSERT_FALSE(b["largest"].is_null());
    EXPECT_EQ(b["largest"]["target"], i == 0 ? "a" : "b");
    EXPECT_GT(b["largest"]["latency_ms_median"].get<double>(), 0);
    const std::string label = b["label"];
    EXPECT_TRUE(fs::exists(w + "/final/" + label + "/selection.json")) << label;
    EXPECT_EQ(b["chosen"]["model"].get<std::string>().rfind(w + "/final/" + label + "/", 0), 0u) << b["chosen"]["model"];
    EXPECT_TRUE(fs::exists(b["chosen"]["model"].get<std::string>())) << label;
    EXPECT_TRUE(fs::exists(w + "/export/" + label + "/static/encoder_static.onnx")) << label;
  }
  EXPECT_EQ(s["budgets"][0]["largest"]["bleu"], s["budgets"][1]["largest"]["bleu"]);  // one model, scored once
  const std::string html = read_text_file(w + "/report.html");
  EXPECT_NE(html.find("BLEU vs measured latency (a)"), std::string::npos);
  EXPECT_NE(html.find("BLEU vs measured latency (b)"), std::string::npos);

  // Another budget for b: a's dataset, search and models stay.
  std::string changed = config;
  changed.replace(changed.find("latency: 2000ms"), 15, "latency: 1999ms");
  write_file_atomically(dir() + "/targets2.yml", changed);
  const auto again = run_cli("--threads 1 run " + dir() + "/targets2.yml --workdir " + w);
  ASSERT_TRUE(again.code == 0 || again.code == 3) << again.output;
  EXPECT_NE(again.output.find("[3/9 measure] done already with the same inputs"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("target a: searched already with the same inputs"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("target b: searched already"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("the finalist-1 (a/tight) model: trained already"), std::string::npos) << again.output;
  const auto s2 = nlohmann::json::parse(read_text_file(w + "/summary.json"));
  EXPECT_DOUBLE_EQ(s2["budgets"][1]["budget"]["latency_ms"].get<double>(), 1999.0);
}

// final.select: beats_baseline on the same trained models (a re-run: only the selection and the
// evaluation run again): the best finalist by valid BLEU challenges the baseline by paired bootstrap
// on the valid hypotheses, and the baseline stays unless the finalist is ahead beyond noise.
TEST_F(RunPipeline, BeatsBaselineKeepsTheBaselineUnlessAFinalistIsAheadOnValid) {
  ASSERT_TRUE(first_->code == 0 || first_->code == 3) << first_->output;
  const std::string w = copy_of_first_run("work_beats");
  std::string config = read_text_file(dir() + "/tiny.yml");
  const std::string from = "final: {mode: finetune, finalists: 2,";
  ASSERT_NE(config.find(from), std::string::npos);
  config.replace(config.find(from), from.size(), "final: {mode: finetune, finalists: 2, select: beats_baseline,");
  write_file_atomically(dir() + "/beats.yml", config);
  const auto r = run_cli("--threads 1 run " + dir() + "/beats.yml --workdir " + w);
  ASSERT_TRUE(r.code == 0 || r.code == 3) << r.output;
  EXPECT_NE(r.output.find("the finalist-1 (tight) model: trained already"), std::string::npos) << r.output;
  const auto s = nlohmann::json::parse(read_text_file(w + "/summary.json"));
  ASSERT_FALSE(s["chosen"].is_null());
  ASSERT_FALSE(s["baseline"].is_null());
  const auto& chosen = s["chosen"];
  EXPECT_EQ(chosen["select"], "beats_baseline");
  const auto& finalists = chosen["finalists"];
  ASSERT_EQ(finalists.size(), 3u);
  // The challenger: the better finalist by (valid BLEU, chrF); its bootstrap delta is the two
  // models' corpus valid BLEU difference (scored apart by the selection's evaluation).
  const auto key = [](const nlohmann::json& f) { return std::make_pair(f["valid_bleu"].get<double>(), f["valid_chrf"].get<double>()); };
  const auto& challenger = key(finalists[1]) > key(finalists[0]) ? finalists[1] : finalists[0];
  const auto& c = chosen["challenge"];
  ASSERT_TRUE(c.is_object()) << chosen.dump(2);
  EXPECT_EQ(c["finalist"], challenger["name"]);
  EXPECT_NEAR(c["bleu_delta"].get<double>(), challenger["valid_bleu"].get<double>() - finalists[2]["valid_bleu"].get<double>(), 1e-9);
  EXPECT_EQ(c["segments"].get<int>(), finalists[2]["valid_sentences"].get<int>());
  EXPECT_EQ(chosen["selected"], c["verdict"] == "ahead" ? challenger["name"] : nlohmann::json("baseline"));
  if (chosen["selected"] == "baseline") {
    EXPECT_EQ(chosen["model"], s["baseline"]["model"]);
    EXPECT_EQ(chosen["bleu"], s["baseline"]["bleu"]);
    // The baseline is never compared with itself: the report's first line after the title says
    // the search did not beat it, and no "at least the baseline's" verdict appears.
    EXPECT_TRUE(s["budgets"][0]["chosen_is_baseline"].get<bool>());
    EXPECT_TRUE(s["budgets"][0]["chosen_at_least_baseline_bleu"].is_null());
    EXPECT_TRUE(s["budgets"][0]["chosen_vs_baseline"].is_null());
    const std::string md = read_text_file(w + "/report.md");
    const auto lines = split_lines(md, false);
    ASSERT_GE(lines.size(), 3u);
    EXPECT_EQ(lines[2].rfind("**the search did not beat HAT's baseline on this budget", 0), 0u) << md;
    EXPECT_NE(md.find("| chosen (the baseline) |"), std::string::npos) << md;
    EXPECT_NE(md.find("so the baseline stays"), std::string::npos) << md;
    EXPECT_EQ(md.find("BLEU at least the baseline's"), std::string::npos) << md;
    EXPECT_EQ(md.find("| baseline (homogeneous) |"), std::string::npos) << md;  // one row, not two of one model
  }
}

// A run that will measure is refused on a busy machine before its first stage, not after minutes
// of training; --allow-busy lets it start.
TEST(RunPipelineConfig, ABusyMachineIsRefusedBeforeTheFirstStage) {
  const TempDir tmp("thanos_busyrun");
  const std::string dir = tmp.path();
  std::ofstream(dir + "/space.yml") << kTinySpace;
  fs::create_directories(dir + "/corpus");
  testing::write_reversal_corpus(dir + "/corpus/train", 40, 1);
  testing::write_reversal_corpus(dir + "/corpus/valid", 10, 2);
  testing::write_reversal_corpus(dir + "/corpus/test", 10, 3);
  std::ofstream(dir + "/run.yml") << "corpus: {path: corpus, vocab_size: 100}\nspace: space.yml\n"
                                     "target: {device: cpu, threads: 1, protocol: quick}\nbudgets: {latency: p40}\n";
  const testing::MachineMadeBusy busy;
  const auto r = run_cli("--threads 1 run " + dir + "/run.yml --workdir " + dir + "/work");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("the measure stage's measurements: refused, the machine is busy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--allow-busy"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/work/stages/prepare.json")) << "a stage ran before the refusal";
  const auto dry = run_cli("--threads 1 run " + dir + "/run.yml --workdir " + dir + "/work --dry-run");  // plans only
  EXPECT_EQ(dry.code, 0) << dry.output;
}

// Without RunPipeline's fixture: its whole run (a minute or two) is not needed to refuse a config.
TEST(RunPipelineConfig, BadConfigSaysWhatIsWrong) {
  const TempDir tmp("thanos_badconfig");
  const std::string dir = tmp.path();
  std::ofstream(dir + "/space.yml") << kTinySpace;
  std::ofstream(dir + "/bad.yml") << "space: space.yml\nbudgets: {latency: p40}\nfinal: {mode: distill}\n";
  const auto r = run_cli("run " + dir + "/bad.yml --workdir " + dir + "/badwork");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("final.mode"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'distill'"), std::string::npos) << r.output;
  std::ofstream(dir + "/nocorpus.yml") << "space: space.yml\ncorpus: {path: nowhere}\nbudgets: {latency: p40}\n";
  const auto nc = run_cli("run " + dir + "/nocorpus.yml --workdir " + dir + "/badwork");
  EXPECT_EQ(nc.code, 2);
  EXPECT_NE(nc.output.find("'nowhere' not found"), std::string::npos) << nc.output;
}

}  // namespace
}  // namespace thanos
