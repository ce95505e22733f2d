// The run directory's typed records (include/thanos/pipeline/stage_outputs.h, run_summary.h) and
// its layout (work_dir.h): every record survives a JSON round trip unchanged, the JSON keeps the
// keys and order of the format (docs/PIPELINE.md), a damaged record names the key, and the layout
// keeps a single unnamed target flat.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "thanos/common/text.h"
#include "thanos/pipeline/run_config.h"
#include "thanos/pipeline/run_summary.h"
#include "thanos/pipeline/stage_outputs.h"
#include "thanos/pipeline/work_dir.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

template <typename T>
T round_trip(const T& value) {
  // Through text, as the records are written and read.
  const OrderedJson j = OrderedJson::parse(to_json(value).dump(2));
  T back;
  from_json(j, "record", &back);
  EXPECT_EQ(to_json(back).dump(), to_json(value).dump());
  return back;
}

MeasurementRecord measured(double latency, double memory) {
  MeasurementRecord m;
  m.feasible = true;
  m.latency_ms = latency;
  m.memory_mib = memory;
  m.verdict = "fits";
  m.latency_ms_low = latency * 0.99;
  m.latency_ms_high = latency * 1.02;
  m.memory_mib_low = memory;
  m.memory_mib_high = memory + 0.5;
  m.latencies_ms = {latency * 1.01, latency, latency * 0.99, latency * 1.02, latency};
  m.memories_mib = {memory, memory, memory + 0.5, memory, memory};
  m.reference_ms = {4.1, 4.0, 4.2, 4.0, 4.1};
  m.reference_baseline_ms = 3.5;
  m.reference_drift = 4.1 / 3.5 - 1;
  m.drifting = true;
  m.memory_kind = "rss-peak-minus-baseline";
  m.backend = "cpu";
  m.runtime = "libtorch";
  return m;
}

BudgetSearch budget_search() {
  BudgetSearch s;
  s.target = "board";
  s.target_label = "board";
  s.name = "p40";
  s.budget.latency_ms = 12.5;  // no memory budget
  s.budget.latency_spec = "p40";
  s.feasible_fraction = 0.4;
  s.found = true;
  s.search = "/w/search/board/p40/search.json";
  s.baseline.found = true;
  s.baseline.config = "/w/search/board/p40/baseline.yml";
  s.baseline.measurement = measured(11.0, 30.0);
  MeasurementRecord infeasible;
  infeasible.reason = "out of memory";
  infeasible.verdict = "does not fit";
  s.baseline.tried = {{"enc 512x6", 12.0, false, infeasible}, {"enc 512x5", 10.0, true, measured(11.0, 30.0)}};
  return s;
}

ModelEvaluation evaluation(const std::string& role) {
  ModelEvaluation e;
  e.role = role;
  e.rank = role == "finalist" ? 2 : 0;
  e.target = "board";
  e.budget = "p40";
  e.config = "enc 512x6 | dec 512x2";
  e.config_file = "/w/search/board/p40/best-2.yml";
  e.config_hash = "0123456789abcdef";
  e.model = "/w/final/board/p40/finalist-2/checkpoint_last.pt";
  e.scores = {21.5, 50.25, "nrefs:1|case:mixed", 30.0, 40.0, 337, 2.1, 8.2};
  e.measured = measured(10.5, 29.5);
  e.reference_cooldowns = 1;
  e.params = 41000000;
  return e;
}

TEST(StageOutputs, EveryRecordSurvivesARoundTrip) {
  round_trip(PrepareOutput{"/w/data", "abc"});
  round_trip(SuperOutput{"/w/super/checkpoint_last.pt"});
  round_trip(MeasuredDataset{"board", "/w/measure/board/latency.csv", {{"measured", 20}, {"already_in_file", 4}}});
  round_trip(TargetPredictors{"board", {"/w/predictors/board/latency.json", {{"rmse", 0.3}}}, {"/w/predictors/board/memory.json", nullptr}});
  const BudgetSearch s = round_trip(budget_search());
  EXPECT_FALSE(s.budget.memory_mib.has_value());
  EXPECT_EQ(s.baseline.tried.size(), 2u);
  EXPECT_FALSE(s.baseline.tried[0].measurement.latency_ms.has_value());
  EXPECT_EQ(s.label(), "board/p40");

  FinalOutput final_output;
  final_output.trained = {{"largest", 0, "", "", "/w/final/largest.yml", "/w/final/largest/checkpoint_last.pt"},
                          {"finalist", 1, "board", "p40", "/w/search/board/p40/best.yml", "/w/final/board/p40/finalist-1/checkpoint_last.pt"}};
  ChosenModel chosen;
  chosen.target = "board";
  chosen.budget = "p40";
  chosen.config = "/w/search/board/p40/best.yml";
  chosen.model = "/w/final/board/p40/finalist-1/checkpoint_last.pt";
  chosen.selected = "finalist-1";
  chosen.select = "beats_baseline";
  chosen.candidates = {{"finalist-1", chosen.config, chosen.model, 20.0, 48.0, 300, std::string("/w/valid.hyp")},
                       {"baseline", "/w/b.yml", "/w/b.pt", 19.0, 47.0, 300, std::string("/w/b.hyp")}};
  chosen.challenge = {{"verdict", "ahead"}, {"finalist", "finalist-1"}};
  final_output.chosen = {chosen};
  const FinalOutput f = round_trip(final_output);
  ASSERT_EQ(f.trained.size(), 2u);
  ASSERT_EQ(f.chosen.size(), 1u);
  EXPECT_EQ(f.chosen[0].candidates[1].valid_bleu, 19.0);

  ModelEvaluation with_selection = evaluation("chosen");
  with_selection.selection = chosen;
  const ModelEvaluation e = round_trip(with_selection);
  ASSERT_TRUE(e.selection.has_value());
  EXPECT_EQ(e.selection->selected, "finalist-1");
  ModelEvaluation unmeasured = evaluation("largest");
  unmeasured.measured.reset();
  EXPECT_FALSE(round_trip(unmeasured).measured.has_value());
  ModelEvaluation unjudged = evaluation("largest");  // compared against no budget: no verdict
  unjudged.measured->verdict.clear();
  const ModelEvaluation u = round_trip(unjudged);
  ASSERT_TRUE(u.measured.has_value());
  EXPECT_TRUE(u.measured->verdict.empty());
  EXPECT_TRUE(to_json(unjudged)["verdict"].is_null());
  EXPECT_EQ(u.measured->reference_ms.size(), 5u);
  EXPECT_DOUBLE_EQ(*u.measured->latency_ms_high, 10.5 * 1.02);

  round_trip(ExportedModel{"board", "p40", "/w/export/board/p40/dynamic", "/w/export/board/p40/static", std::string("/w/convert_rknn.sh")});
  round_trip(ExportedModel{"", "p40", "/w/export/p40/dynamic", "/w/export/p40/static", std::nullopt});
  round_trip(ReportFiles{"/w/summary.json", "/w/report.md", "/w/report.html"});
}

// The keys and their order are the run directory's format: a run made before the records were
// typed stays readable and its summary.json keeps its shape.
TEST(StageOutputs, TheJsonKeepsTheFormatsKeysInOrder) {
  auto keys = [](const OrderedJson& j) {
    std::vector<std::string> k;
    for (const auto& item : j.items()) k.push_back(item.key());
    return k;
  };
  EXPECT_EQ(keys(to_json(budget_search())), (std::vector<std::string>{"target", "target_label", "name", "budget", "feasible_fraction", "found",
                                                                      "nothing_fits", "search", "baseline"}));
  EXPECT_EQ(keys(to_json(budget_search().budget)), (std::vector<std::string>{"latency_ms", "memory_mb", "latency_spec", "memory_spec"}));
  EXPECT_TRUE(to_json(budget_search().budget)["memory_mb"].is_null());  // no memory budget
  EXPECT_EQ(keys(to_json(evaluation("baseline"))),
            (std::vector<std::string>{"role", "rank", "target", "budget", "config", "config_file", "config_hash", "model", "bleu", "chrf",
                                      "bleu_signature", "sentences_per_second_end_to_end", "sentences_per_second_decoding",
                                      "test_sentences", "test_nll_loss", "test_ppl", "feasible", "reason", "verdict",
                                      "latency_ms_median", "latency_ms_interval", "memory_mib_peak", "memory_mib_interval",
                                      "latency_ms_measurements", "memory_mib_measurements", "reference_ms_measurements",
                                      "reference_baseline_ms", "reference_drift", "drifting", "screened", "memory_kind", "backend", "runtime",
                                      "reference_cooldowns", "params"}));
  BaselineChoice none;
  EXPECT_EQ(keys(to_json(none)), (std::vector<std::string>{"found", "tried"}));
}

TEST(StageOutputs, ADamagedRecordNamesTheKey) {
  OrderedJson j = to_json(budget_search());
  j.erase("feasible_fraction");
  BudgetSearch s;
  try {
    from_json(j, "stages/search.json: outputs[0]", &s);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stages/search.json: outputs[0]: 'feasible_fraction' is missing"), std::string::npos) << e.what();
  }
  j = to_json(budget_search());
  j["found"] = "yes";
  try {
    from_json(j, "r", &s);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("r.found"), std::string::npos) << e.what();
  }
  std::vector<BudgetSearch> list;
  EXPECT_THROW(from_json(OrderedJson::object(), "r", &list), std::invalid_argument);
}

TEST(StageOutputs, AnIncompleteStageRecordIsNotReadAsDone) {
  const std::string dir = ::testing::TempDir() + "/thanos_stage_outputs_" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string path = dir + "/search.json";
  write_file_atomically(path, R"({"stage": "search", "completed": false, "outputs": {}})");
  try {
    read_stage_outputs<std::vector<BudgetSearch>>(path);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": the stage has not completed"), std::string::npos) << e.what();
  }
  write_file_atomically(path, "{\"completed\": true, \"outputs\": [" + to_json(budget_search()).dump() + "]}");
  const auto read = read_stage_outputs<std::vector<BudgetSearch>>(path);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(to_json(read[0]).dump(), to_json(budget_search()).dump());
  write_file_atomically(path, "{\"completed\": tr");
  EXPECT_THROW(read_stage_outputs<std::vector<BudgetSearch>>(path), std::invalid_argument);
  fs::remove_all(dir);
}

TEST(RunSummaryFile, RoundTripsWithTheFirstBudgetAtTheTop) {
  RunSummary s;
  s.name = "demo";
  s.targets = {{"", "cpu", "", "hat-wmt", "float32", "libtorch"}};
  BudgetOutcome b;
  b.name = "p40";
  b.label = "p40";
  b.budget.latency_ms = 12.0;
  b.budget.memory_mib = 30.0;
  b.feasible_fraction = 0.4;
  b.chosen = evaluation("chosen");
  b.baseline = evaluation("baseline");
  b.largest = evaluation("largest");
  b.finalists = {evaluation("finalist")};
  b.chosen_verdict = "fits";
  b.chosen_at_least_baseline_bleu = true;
  b.chosen_vs_baseline = {{"verdict", "level within noise"}};
  BudgetOutcome none;
  none.name = "tiny";
  none.label = "tiny";
  none.nothing_fits = "nothing of the space fits";
  s.budgets = {b, none};
  s.exports = {{"", "p40", "/w/export/p40/dynamic", "/w/export/p40/static", std::nullopt}};
  s.measurement = {{"", "/w/measure/latency.csv", 24}};
  s.stages = {{"prepare", true, 0, 30, 60}, {"super", false, 12.5, 10, 0}};
  s.seconds = 12.5;
  const OrderedJson j = to_json(s);
  EXPECT_EQ(j["format"], "thanos.run-summary");
  EXPECT_EQ(j["chosen"].dump(), to_json(*b.chosen).dump());  // the README's headline: the first budget
  EXPECT_EQ(j["budget"]["latency_ms"], 12.0);
  EXPECT_TRUE(j["budgets"][1]["chosen"].is_null());
  EXPECT_TRUE(j["budgets"][1]["chosen_at_least_baseline_bleu"].is_null());
  EXPECT_EQ(j["budgets"][0]["chosen_verdict"], "fits");
  EXPECT_TRUE(j["budgets"][1]["chosen_verdict"].is_null());
  RunSummary back;
  from_json(OrderedJson::parse(j.dump()), "summary.json", &back);
  EXPECT_EQ(to_json(back).dump(), j.dump());
  EXPECT_FALSE(back.budgets[1].chosen.has_value());
}

TEST(WorkDirLayout, OneUnnamedTargetStaysFlatNamedTargetsGetAFolder) {
  const WorkDir w("/runs/a");
  EXPECT_EQ(w.dataset(""), "/runs/a/measure/latency.csv");
  EXPECT_EQ(w.dataset("board"), "/runs/a/measure/board/latency.csv");
  EXPECT_EQ(w.predictor("board", "memory"), "/runs/a/predictors/board/memory.json");
  EXPECT_EQ(w.search_best("", "p40", 1), "/runs/a/search/p40/best.yml");
  EXPECT_EQ(w.search_best("board", "p40", 3), "/runs/a/search/board/p40/best-3.yml");
  EXPECT_EQ(w.model_dir("board", "p40", "baseline"), "/runs/a/final/board/p40/baseline");
  EXPECT_EQ(w.selection("", "p40"), "/runs/a/final/p40/selection.json");
  EXPECT_EQ(WorkDir::checkpoint(w.largest_dir()), "/runs/a/final/largest/checkpoint_last.pt");
  EXPECT_EQ(w.super_checkpoint(), "/runs/a/super/checkpoint_last.pt");
  EXPECT_EQ(w.export_dir("", "p40"), "/runs/a/export/p40");
  EXPECT_EQ(w.stage_record("final"), "/runs/a/stages/final.json");
}

TEST(StageRegistry, StagesRunInThePipelinesOrder) {
  EXPECT_EQ(pipeline_stages(), (std::vector<std::string>{"prepare", "super", "measure", "predictors", "search", "final", "evaluate",
                                                         "export", "report"}));
}

}  // namespace
}  // namespace thanos
