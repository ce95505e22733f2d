// Predictor files, `thanos fit-predictor` and accuracy on HAT's published datasets (skipped when
// ../shared is absent). docs/PREDICTORS.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "thanos/commands/fit_predictor.h"
#include "thanos/common/csv.h"
#include "thanos/common/random.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/predict/predictor_file.h"

namespace thanos {
namespace {

using thanos::testing::invalid_argument_message;

std::string temp_path(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/thanos_predict_tools_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

// HAT-format rows with latency linear in the work (plus a little noise).
std::string synthetic_csv(int rows) {
  Rng rng(17);
  std::string text = csv_line(hat_dataset_columns()) + "\n";
  for (int i = 0; i < rows; ++i) {
    const double E = rng.uniform_index(2) ? 512 : 640, D = rng.uniform_index(2) ? 512 : 640;
    const double fe = 1024 + 256 * rng.uniform_index(8), fd = 1024 + 256 * rng.uniform_index(8);
    const double ld = 1 + rng.uniform_index(6), a = 1 + 2 * rng.uniform01();
    const double enc = 1 + 1e-6 * E * fe * 6, dec = 4 + 9 * ld + 2e-6 * D * fd * ld + 0.3 * a * ld;
    const double noise = 1 + 0.004 * (rng.uniform01() - 0.5);
    std::vector<std::string> f;
    for (double x : {E, 6.0, fe, 6.0, D, ld, fd, 4.0, 4.0, a, enc * noise, dec * noise, 0.01, 0.1}) f.push_back(std::to_string(x));
    text += csv_line(f) + "\n";
  }
  return text;
}

std::string synthetic_file(const std::string& name, int rows = 120) {
  const std::string path = temp_path(name);
  std::ofstream(path) << synthetic_csv(rows);
  return path;
}

void expect_same_predictions(const Predictor& a, const Predictor& b, const PredictorData& d) {
  for (const auto& row : d.rows) {
    const Prediction p = a.predict(row.arch), q = b.predict(row.arch);
    ASSERT_EQ(p.value, q.value);
    ASSERT_EQ(p.error_estimate, q.error_estimate);
  }
}

TEST(PredictorFile, RoundTripGivesEqualPredictions) {
  const std::string data_path = synthetic_file("roundtrip_xeon_all.csv");
  const PredictorData d = load_predictor_data(data_path, DataFormat::kAuto, PredictTarget::kLatency);
  for (PredictorKind kind : {PredictorKind::kThanosLinear, PredictorKind::kHatMlp}) {
    FitOptions o;
    o.kind = kind;
    o.mlp_steps = 5;
    const FitResult r = fit_predictor(d, o);
    const std::string path = temp_path(to_string(kind) + ".json");
    save_predictor(path, r.predictor, &r);
    const Predictor loaded = load_predictor(path);
    EXPECT_EQ(loaded.kind, kind);
    EXPECT_EQ(loaded.provenance.data_hash, d.provenance.data_hash);
    EXPECT_EQ(loaded.provenance.device_name, "Intel Xeon E5-2640");
    EXPECT_EQ(loaded.provenance.src_len, 30);
    EXPECT_FALSE(loaded.provenance.fitted_by.empty());
    expect_same_predictions(r.predictor, loaded, d);
    EXPECT_EQ(loaded.floor, r.predictor.floor);
    const auto j = nlohmann::json::parse(read_text_file(path));
    EXPECT_EQ(j.at("format"), "thanos.predictor");
    EXPECT_TRUE(j.at("fit").at("test").contains("rmse_ms"));
  }
}

TEST(PredictorFile, RefusesNewerVersionsAndNamesBadFields) {
  const PredictorData d = load_predictor_data(synthetic_file("fields.csv"), DataFormat::kAuto, PredictTarget::kLatency);
  const FitResult r = fit_predictor(d, {});
  auto j = nlohmann::json::parse(predictor_to_json(r.predictor, nullptr).dump());
  auto newer = j;
  newer["version"] = kPredictorFormatVersion + 1;
  EXPECT_NE(invalid_argument_message([&] { predictor_from_json(newer, "p.json"); }).find("newer than this THANOS reads"),
            std::string::npos);
  auto missing = j;
  missing["provenance"].erase("beam");
  EXPECT_NE(invalid_argument_message([&] { predictor_from_json(missing, "p.json"); }).find("p.json: field 'provenance.beam' is missing"),
            std::string::npos);
  auto short_coef = j;
  short_coef["linear"]["coef"].erase(0);
  EXPECT_NE(invalid_argument_message([&] { predictor_from_json(short_coef, "p.json"); }).find("field 'linear.coef'"),
            std::string::npos);
}

TEST(FitPredictorCommand, JsonHasTheTestMetrics) {
  FitPredictorOptions o;
  o.data_path = synthetic_file("cmd.csv");
  o.out_path = temp_path("cmd.predictor.json");
  const FitPredictorReport r = run_fit_predictor(o);
  for (const char* key : {"rmse_ms", "mape", "r2", "kendall_tau", "within_5pct", "within_10pct"}) {
    EXPECT_TRUE(r.json.contains(key)) << key;
  }
  EXPECT_EQ(r.json.at("model"), "thanos-linear");
  EXPECT_EQ(r.json.at("split").at("train"), 96);
  EXPECT_LT(r.json.at("mape").get<double>(), 1.0);
  EXPECT_TRUE(std::filesystem::exists(o.out_path));
  // 120 rows, 17 features: fewer than 20 per feature, so the ridge was cross-validated (a grid value).
  const double chosen = r.json.at("ridge").get<double>();
  EXPECT_GT(chosen, 0.0);
  o.ridge = 0.25;
  const FitPredictorReport fixed = run_fit_predictor(o);
  EXPECT_EQ(fixed.json.at("ridge").get<double>(), 0.25);
  EXPECT_EQ(nlohmann::json::parse(read_text_file(o.out_path)).at("fit").at("ridge").get<double>(), 0.25);
  o.model = "hat-mlp";
  EXPECT_NE(invalid_argument_message([&] { run_fit_predictor(o); }).find("--ridge applies to thanos-linear only"), std::string::npos);
  o.model.clear();
  o.ridge.reset();
  o.lat_norm = 10;
  EXPECT_NE(invalid_argument_message([&] { run_fit_predictor(o); }).find("hat-mlp only"), std::string::npos);
}

TEST(FitPredictorCommand, Cli) {
  const std::string data = synthetic_file("cli.csv");
  const std::string out = temp_path("cli.json");
  auto r = thanos::testing::run_cli("--threads 1 fit-predictor --data " + data + " --out " + out + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j.contains("rmse_ms"));
  EXPECT_EQ(load_predictor(out).kind, PredictorKind::kThanosLinear);
  r = thanos::testing::run_cli("fit-predictor --data " + data + " --target memory");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("THANOS-format"), std::string::npos) << r.output;
}

// HAT's published datasets: the default predictor beats the re-run HAT recipe's reference test
// RMSE (mean of 3 seeds, ../shared/data/hat-latency/README.md) on each, and predicts in
// microseconds. The full hat-mlp comparison runs in bench/predictor_table.cc.
TEST(PredictorAccuracy, HatPublishedDatasets) {
  const std::string dir = std::string(THANOS_SHARED_DATA) + "/hat-latency";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent (the shared data is not checked out)";
  const std::pair<const char*, double> reference[] = {{"iwslt14deen_gpu_titanxp_all.csv", 6.74},
                                                      {"wmt14ende_cpu_raspberrypi_all.csv", 213.2},
                                                      {"wmt14ende_cpu_xeon_all.csv", 15.52},
                                                      {"wmt14ende_gpu_titanxp_all.csv", 6.66}};
  for (const auto& [file, hat_rmse] : reference) {
    const std::string path = dir + "/" + file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
    const PredictorData d = load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency);
    ASSERT_EQ(d.rows.size(), 2000u);
    const FitResult r = fit_predictor(d, {});
    EXPECT_LT(r.test.rmse, hat_rmse) << file;
    EXPECT_GT(r.test.kendall_tau, 0.85) << file;
    EXPECT_LT(r.predict_us_per_row, 50.0) << file;
  }
}

}  // namespace
}  // namespace thanos
