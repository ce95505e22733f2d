// thanos search end to end (docs/SEARCH.md): a corpus the test writes is prepared and a tiny
// SuperTransformer trained for a few updates; the search runs under a memory budget (analytic
// model), resumes, is deterministic, refuses a predictor of another protocol, says when nothing
// fits, and verifies its top candidates with real measurements.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "translation_fixture.h"
#include "thanos/commands/prepare.h"
#include "thanos/commands/train.h"
#include "thanos/common/csv.h"
#include "thanos/common/random.h"
#include "thanos/common/text.h"
#include "thanos/model/cost_model.h"
#include "thanos/predict/predictor_file.h"
#include "thanos/search/bleu_rerank.h"
#include "thanos/search/strategy.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using thanos::testing::run_cli;
namespace fs = std::filesystem;

namespace {

class SearchCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/thanos_search_" + std::to_string(::getpid()));
    const std::string& d = *dir_;
    thanos::testing::build_translation_fixture(d);  // prepared/, space.yml, super/
    space_ = new SearchSpace(load_search_space(d + "/space.yml").space);
    vocab_ = load_prepared_manifest(d + "/prepared").at("vocab_size").get<int>();
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete space_;
  }
  static std::string dir() { return *dir_; }
  static std::string base(const std::string& out) {
    return "--threads 1 search --checkpoint " + dir() + "/super/checkpoint_last.pt --data " + dir() +
           "/prepared --strategy evo --set population=12 --set parents=4 --set mutations=4 --set crossovers=4 "
           "--set iterations=3 --seed 5 --protocol quick --out " + dir() + "/" + out;
  }
  static double analytic_mb(const SubConfig& c) {
    InferenceShape shape;
    shape.src_len = shape.tgt_len = 30;
    shape.vocab_size = vocab_;
    return estimate_inference_memory(c, space_->hyper, shape).total_mib();
  }
  static nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text_file(path)); }
  // A thanos-linear latency predictor that says `ms` for everything, fitted (as far as its
  // provenance says) under the quick protocol on this CPU.
  static Predictor constant_latency_predictor(double ms) {
    LatencyProtocol protocol = latency_protocol_preset("quick");
    protocol.vocab_size = vocab_;
    Predictor p;
    p.kind = PredictorKind::kThanosLinear;
    p.target = PredictTarget::kLatency;
    p.provenance = target_provenance(protocol, "cpu", "", 0, 0);
    p.provenance.source = "thanos-measure";
    const std::size_t nf = latency_features(ArchSums{}).size();
    p.linear.mean.assign(nf, 0);
    p.linear.scale.assign(nf, 0);
    p.linear.coef.assign(nf, 0);
    p.linear.intercept = ms;
    return p;
  }

  static std::string* dir_;
  static SearchSpace* space_;
  static int vocab_;
};
int SearchCli::vocab_ = 0;
std::string* SearchCli::dir_ = nullptr;
SearchSpace* SearchCli::space_ = nullptr;

TEST_F(SearchCli, MemoryBudgetResumeAndDeterminism) {
  const double budget = 0.5 * (analytic_mb(space_->smallest()) + analytic_mb(space_->largest()));
  const std::string args = base("run1") + " --memory-mb " + std::to_string(budget);
  const auto r = run_cli(args);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("iteration 3/3"), std::string::npos) << r.output;
  const auto j = read_json(dir() + "/run1/search.json");
  EXPECT_DOUBLE_EQ(j["constraints"]["memory_mb"].get<double>(), std::stod(std::to_string(budget)));
  ASSERT_GE(j["pareto_front"].size(), 1u);
  for (const auto& c : j["pareto_front"]) EXPECT_LE(c["memory_mb_predicted"].get<double>(), budget);
  // Nothing infeasible was scored: every candidate in candidates.csv fits.
  const auto lines = split_lines(read_text_file(dir() + "/run1/candidates.csv"), false);
  ASSERT_EQ(lines.size() - 1, j["evaluations"]["total"].get<std::size_t>());
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto f = split_csv_line(lines[i]);
    EXPECT_LE(std::stod(f[4]), budget) << lines[i];
  }
  // best.yml is the first returned candidate and fits.
  const SubConfig best = load_config_file(dir() + "/run1/best.yml", 32).config;
  EXPECT_EQ(best.hash_hex(), j["pareto_front"][0]["hash"].get<std::string>());
  EXPECT_LE(analytic_mb(best), budget);
  EXPECT_TRUE(space_->contains(best));
  // The same command again: everything comes from the evaluation log, nothing is scored again.
  const auto again = run_cli(args);
  ASSERT_EQ(again.code, 0) << again.output;
  const auto j2 = read_json(dir() + "/run1/search.json");
  EXPECT_EQ(j2["evaluations"]["this_run"].get<int>(), 0);
  EXPECT_EQ(j2["evaluations"]["total"], j["evaluations"]["total"]);
  EXPECT_EQ(j2["pareto_front"][0]["hash"], j["pareto_front"][0]["hash"]);
  // The same seed elsewhere: the same search.
  const auto other = run_cli(base("run2") + " --memory-mb " + std::to_string(budget));
  ASSERT_EQ(other.code, 0) << other.output;
  EXPECT_EQ(read_json(dir() + "/run2/search.json")["pareto_front"], j["pareto_front"]);
}

TEST_F(SearchCli, NothingFitsAndMissingPredictorAreSaidUpFront) {
  auto r = run_cli(base("none") + " --memory-mb 0.001");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("nothing in the search space"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir() + "/none/search.json"));
  r = run_cli(base("nolat") + " --latency-ms 10");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--latency-predictor"), std::string::npos) << r.output;
}

// A constant latency predictor (5 ms): accepted when fitted under the target's protocol, refused,
// naming what differs, when not.
TEST_F(SearchCli, PredictorProvenanceIsChecked) {
  Predictor p = constant_latency_predictor(5);
  save_predictor(dir() + "/same.predictor.json", p);
  auto r = run_cli(base("prov_ok") + " --latency-ms 10 --latency-predictor " + dir() + "/same.predictor.json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = read_json(dir() + "/prov_ok/search.json");
  EXPECT_NEAR(j["pareto_front"][0]["latency_ms_predicted"].get<double>(), 5.0, 1e-9);
  p.provenance.beam = 4;
  p.provenance.protocol_hash = "0123456789abcdef";
  save_predictor(dir() + "/other.predictor.json", p);
  r = run_cli(base("prov_bad") + " --latency-ms 10 --latency-predictor " + dir() + "/other.predictor.json");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("beam"), std::string::npos) << r.output;
  // A budget below the prediction: nothing fits.
  r = run_cli(base("prov_tight") + " --latency-ms 4 --latency-predictor " + dir() + "/same.predictor.json");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("nothing in the search space"), std::string::npos) << r.output;
}

// The top candidates are measured on this CPU before they are returned.
TEST_F(SearchCli, TopCandidatesAreMeasuredOnTheTarget) {
  const auto r = run_cli(base("verify") + " --verify-device cpu --top-k 2 --memory-mb 100000");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = read_json(dir() + "/verify/search.json");
  EXPECT_EQ(j["verification"]["measured"].get<int>(), 2);
  ASSERT_EQ(j["pareto_front"].size(), 2u);
  for (const auto& c : j["pareto_front"]) {
    EXPECT_GT(c["latency_ms_measured"].get<double>(), 0);
    EXPECT_GT(c["memory_mb_measured"].get<double>(), 0);
    EXPECT_TRUE(c["verified"].get<bool>());
  }
}

// Verification walks down the ranking: a latency predictor that says everything takes 1 µs and a
// 2 µs budget that no real measurement meets. Candidates are measured best first, past --top-k,
// until --verify-limit is spent, every miss recorded in ranking order. Nothing is returned.
TEST_F(SearchCli, VerificationWalksDownTheRankingUpToItsLimit) {
  const Predictor p = constant_latency_predictor(0.001);
  save_predictor(dir() + "/fast.predictor.json", p);
  const auto r = run_cli(base("walk") + " --latency-ms 0.002 --latency-predictor " + dir() +
                         "/fast.predictor.json --verify-device cpu --top-k 1 --verify-limit 4");
  EXPECT_EQ(r.code, 3) << r.output;  // searched, nothing fits when measured
  const auto j = read_json(dir() + "/walk/search.json");
  const auto& v = j["verification"];
  EXPECT_EQ(v["measured"].get<int>(), 4);
  EXPECT_EQ(v["limit"].get<int>(), 4);
  EXPECT_EQ(v["claim"]["measurements"].get<int>(), 5);
  EXPECT_EQ(v["undecided"].get<int>(), 0);
  EXPECT_EQ(v["screened"].get<int>(), 4);
  EXPECT_EQ(v["predicted_feasible_but_failed"].get<int>(), 4);
  EXPECT_GT(v["latency_ratio_median"].get<double>(), 2.0);  // measured / predicted
  ASSERT_EQ(v["rejected"].size(), 4u);
  double previous = -1;
  for (const auto& c : v["rejected"]) {
    EXPECT_GT(c["latency_ms_measured"].get<double>(), 0.002);
    // Hundreds of times the budget: screened out after one reading (and its drift reference
    // reading), without a verdict.
    EXPECT_EQ(c["measurement"]["latencies_ms"].size(), 1u);
    EXPECT_EQ(c["measurement"]["reference_ms"].size(), 1u);
    EXPECT_TRUE(c["measurement"]["screened"].get<bool>());
    EXPECT_EQ(c["measurement"]["verdict"], "undecided");
    EXPECT_GE(c["valid_loss"].get<double>(), previous);  // best-ranked first
    previous = c["valid_loss"].get<double>();
  }
  EXPECT_TRUE(j["pareto_front"].empty());
  EXPECT_FALSE(fs::exists(dir() + "/walk/best.yml"));
}

// A device reading slower than during its dataset is flagged, never divided away: the walk above's
// 2 µs budget with the drift reference said to have read 1 ns then. Every reading of the reference
// now is a million times that, the candidate's raw readings are far over the budget, and it does
// not fit (the former --verify-slowdown 1e6 admitted it at its reading / 10^6).
TEST_F(SearchCli, ADriftingDeviceIsFlaggedAndItsClaimsStayRaw) {
  save_predictor(dir() + "/fast.predictor.json", constant_latency_predictor(0.001));
  const std::string args = base("slow") + " --latency-ms 0.002 --latency-predictor " + dir() +
                           "/fast.predictor.json --verify-device cpu --top-k 1 --verify-limit 1";
  const auto r = run_cli(args + " --verify-reference-ms 0.000001 --verify-screen 0");  // the full claim, no screening
  EXPECT_EQ(r.code, 3) << r.output;  // nothing fits when measured
  const auto j = read_json(dir() + "/slow/search.json");
  EXPECT_TRUE(j["pareto_front"].empty());
  const auto& v = j["verification"];
  EXPECT_EQ(v["drifting"].get<int>(), 1);
  ASSERT_EQ(v["rejected"].size(), 1u);
  const auto& m = v["rejected"][0]["measurement"];
  EXPECT_TRUE(m["drifting"].get<bool>());
  EXPECT_GT(m["reference_drift"].get<double>(), 1000.0);
  EXPECT_EQ(m["verdict"], "does not fit");
  EXPECT_FALSE(v["rejected"][0].contains("latency_ms_at_dataset_speed"));
  // Fewer than five readings cannot make a 90% interval: refused before anything is searched.
  const auto few = run_cli(args + " --verify-measurements 4");
  EXPECT_EQ(few.code, 2) << few.output;
  EXPECT_NE(few.output.find("at least 5"), std::string::npos) << few.output;
  const auto gone = run_cli(args + " --verify-slowdown 2");
  EXPECT_NE(gone.code, 0);
}

// --rerank: the shortlist (the best of each depth pair first) is translated from the valid split
// with inherited weights and walked by BLEU. Each BLEU equals what `thanos eval` gives the same
// config of the same SuperTransformer (another code path: model loaded from its file, the split
// re-read); the returned candidates follow the BLEU order; best.yml is the best BLEU.
TEST_F(SearchCli, RerankOrdersTheShortlistByValidBleu) {
  const std::string decoding = " --beam 2 --max-len-a 1.2 --max-len-b 5 --max-tokens 4096";
  const auto r = run_cli(base("rerank") + " --memory-mb 100000 --rerank 3 --top-k 3" + decoding);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("re-rank 3/3"), std::string::npos) << r.output;
  const auto j = read_json(dir() + "/rerank/search.json");
  const auto& rr = j["rerank"];
  ASSERT_EQ(rr["candidates"].size(), 3u) << rr.dump(2);
  EXPECT_EQ(rr["sentences"].get<int>(), 20);
  EXPECT_EQ(rr["generation"]["beam"].get<int>(), 2);
  const auto& front = j["pareto_front"];
  ASSERT_EQ(front.size(), 3u);
  std::set<int> decoder_depths;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& c = rr["candidates"][i];
    if (i > 0) {
      EXPECT_LE(c["bleu"].get<double>(), rr["candidates"][i - 1]["bleu"].get<double>());
    }
    decoder_depths.insert(c["decoder_layers"].get<int>());
    ASSERT_EQ(front[i]["hash"], c["hash"]);  // returned in BLEU order
    EXPECT_EQ(front[i]["valid_bleu"], c["bleu"]);
    const std::string config = dir() + "/rerank/candidate" + std::to_string(i) + ".json";
    write_file_atomically(config, front[i]["config"].dump());
    const auto e = run_cli("--threads 1 eval --model " + dir() + "/super/checkpoint_last.pt --config " + config + " --data " +
                           dir() + "/prepared --split valid --json" + decoding);
    ASSERT_EQ(e.code, 0) << e.output;
    const auto eval = nlohmann::json::parse(e.output.substr(e.output.find('{')));
    EXPECT_NEAR(c["bleu"].get<double>(), eval["bleu"]["score"].get<double>(), 1e-9) << c.dump();
    EXPECT_NEAR(c["chrf"].get<double>(), eval["chrf"]["score"].get<double>(), 1e-9) << c.dump();
  }
  // The space has decoders of one and two layers: both are on the shortlist.
  EXPECT_EQ(decoder_depths, (std::set<int>{1, 2}));
  EXPECT_EQ(load_config_file(dir() + "/rerank/best.yml", 32).config.hash_hex(), rr["candidates"][0]["hash"].get<std::string>());
}

// The shortlist: the best of each (encoder, decoder) depth pair in the order of their best member,
// then the second best of each, ...
TEST_F(SearchCli, RerankShortlistTakesTheBestOfEachDepthPairInTurn) {
  auto with_depths = [&](int enc, int dec) {
    SubConfig c = space_->largest();
    c.encoder_layers.resize(enc);
    c.decoder_layers.resize(dec);
    return c;
  };
  const std::vector<SubConfig> ranked = {with_depths(2, 1), with_depths(2, 1), with_depths(3, 1),
                                         with_depths(2, 2), with_depths(2, 1), with_depths(3, 2)};
  EXPECT_EQ(rerank_shortlist(ranked, 4), (std::vector<std::size_t>{0, 2, 3, 5}));
  EXPECT_EQ(rerank_shortlist(ranked, 5), (std::vector<std::size_t>{0, 2, 3, 5, 1}));
  EXPECT_EQ(rerank_shortlist(ranked, 10), (std::vector<std::size_t>{0, 2, 3, 5, 1, 4}));
  EXPECT_EQ(rerank_shortlist(ranked, 0), std::vector<std::size_t>{});
  EXPECT_EQ(rerank_shortlist({}, 3), std::vector<std::size_t>{});
}

// nsga2: its hypervolume over (loss, memory) — no latency predictor — is recomputed here by a 2-D
// sweep from the bounds in the file; with verification, the whole front is measured on this CPU.
TEST_F(SearchCli, Nsga2ReturnsAVerifiedFrontWithItsHypervolume) {
  if (std::find(strategy_names().begin(), strategy_names().end(), "nsga2") == strategy_names().end()) {
    GTEST_SKIP() << "built without pagmo2";
  }
  const double budget = 0.6 * analytic_mb(space_->smallest()) + 0.4 * analytic_mb(space_->largest());
  const std::string args = "--threads 1 search --checkpoint " + dir() + "/super/checkpoint_last.pt --data " + dir() +
                           "/prepared --strategy nsga2 --set population=8 --set iterations=3 --seed 2 --protocol quick ";
  const auto r = run_cli(args + "--memory-mb " + std::to_string(budget) + " --out " + dir() + "/nsga2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("feasible "), std::string::npos) << r.output;
  const auto j = read_json(dir() + "/nsga2/search.json");
  const auto& front = j["pareto_front"];
  ASSERT_GE(front.size(), 1u);
  std::vector<std::pair<double, double>> points;  // (loss, memory), normalised
  const auto& hv = j["hypervolume"];
  ASSERT_TRUE(hv.is_object()) << j.dump(2);
  EXPECT_EQ(hv["objectives"], nlohmann::json({"valid_loss", "memory_mb"}));
  EXPECT_DOUBLE_EQ(hv["reference_point"][1].get<double>(), std::stod(std::to_string(budget)));
  EXPECT_NEAR(hv["lower_bounds"][1].get<double>(), analytic_mb(space_->smallest()), 1e-6);
  const double l0 = hv["lower_bounds"][0], l1 = hv["lower_bounds"][1], r0 = hv["reference_point"][0], r1 = hv["reference_point"][1];
  for (const auto& c : front) {
    EXPECT_LE(c["memory_mb_predicted"].get<double>(), budget);
    points.push_back({(c["valid_loss"].get<double>() - l0) / (r0 - l0), (c["memory_mb_predicted"].get<double>() - l1) / (r1 - l1)});
  }
  // Mutually non-dominated, then the area they dominate up to (1, 1) by a sweep in loss order.
  for (const auto& a : points) {
    for (const auto& b : points) EXPECT_FALSE(a != b && a.first <= b.first && a.second <= b.second) << "a front point is dominated";
  }
  std::sort(points.begin(), points.end());
  double area = 0, ceiling = 1;
  for (const auto& [x, y] : points) {
    if (x >= 1 || y >= ceiling) continue;
    area += (1 - x) * (ceiling - y);
    ceiling = y;
  }
  EXPECT_NEAR(hv["value"].get<double>(), area, 1e-9);
  EXPECT_GT(area, 0);
  const auto& feas = j["feasibility"];
  EXPECT_GE(feas["draws"].get<long>(), j["evaluations"]["total"].get<long>());
  EXPECT_GT(feas["fraction"].get<double>(), 0);
  EXPECT_LE(feas["fraction"].get<double>(), 1);
  EXPECT_LT(feas["fraction"].get<double>(), 1);  // the budget cuts the space
  // Verified (a generous budget: a tiny model's measured RSS is far above its analytic memory).
  const auto v = run_cli(args + "--memory-mb 100000 --verify-device cpu --out " + dir() + "/nsga2_verified");
  ASSERT_EQ(v.code, 0) << v.output;
  const auto jv = read_json(dir() + "/nsga2_verified/search.json");
  EXPECT_GE(jv["pareto_front"].size(), 1u);
  EXPECT_EQ(jv["verification"]["measured"].get<std::size_t>(), jv["pareto_front"].size());
  for (const auto& c : jv["pareto_front"]) {
    EXPECT_TRUE(c["verified"].get<bool>());
    EXPECT_GT(c["latency_ms_measured"].get<double>(), 0);
  }
}

}  // namespace
