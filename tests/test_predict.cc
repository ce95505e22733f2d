// Predictors (docs/PREDICTORS.md): features, the fixed split, metrics against hand-computed
// values, the robust fit, HAT's MLP recipe, provenance checks and dataset errors. Small
// synthetic data only; real-data accuracy is in test_predict_tools.cc and bench/predictor_table.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "test_util.h"
#include "thanos/common/csv.h"
#include "thanos/common/random.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/predict/predictor.h"

namespace thanos {
namespace {

using thanos::testing::invalid_argument_message;

std::string temp_path(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/thanos_predict_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A HAT-format row whose latency is a known linear function of the work features.
struct SyntheticRow {
  HatFeatures hat;
  double enc_ms, dec_ms;
};

SyntheticRow synthetic_row(Rng& rng, double slow_factor) {
  const int embeds[] = {512, 640}, ffns[] = {1024, 2048, 3072}, heads[] = {4, 8};
  SubConfig c;
  c.encoder_embed_dim = embeds[rng.uniform_index(2)];
  c.decoder_embed_dim = embeds[rng.uniform_index(2)];
  for (int l = 0; l < 6; ++l) c.encoder_layers.push_back({ffns[rng.uniform_index(3)], heads[rng.uniform_index(2)], 512});
  const int dl = 1 + static_cast<int>(rng.uniform_index(6));
  for (int l = 0; l < dl; ++l) {
    c.decoder_layers.push_back({ffns[rng.uniform_index(3)], heads[rng.uniform_index(2)], 512, heads[rng.uniform_index(2)], 512,
                                1 + static_cast<int>(rng.uniform_index(3))});
  }
  const ArchSums a = arch_sums(c);
  const double enc = 1.0 + 2e-6 * a.enc_embed * a.enc_ffn;
  const double dec = 5.0 + 10.0 * a.dec_layers + 3e-6 * a.dec_embed * a.dec_ffn + 0.5 * a.dec_ende_layers;
  const double noise = 1.0 + 0.002 * (rng.uniform01() - 0.5);
  return {a.hat, enc * slow_factor * noise, dec * slow_factor * noise};
}

// `rows` rows; rows in [slow_begin, slow_end) are measured 20% slow (drift).
std::string synthetic_hat_csv(int rows, int slow_begin = 0, int slow_end = 0, std::uint64_t seed = 7) {
  Rng rng(seed);
  std::string text = csv_line(hat_dataset_columns()) + "\n";
  for (int i = 0; i < rows; ++i) {
    const SyntheticRow r = synthetic_row(rng, i >= slow_begin && i < slow_end ? 1.2 : 1.0);
    std::vector<std::string> f;
    for (double x : r.hat) f.push_back(std::to_string(x));
    for (double x : {r.enc_ms, r.dec_ms, 0.01, 0.1}) f.push_back(std::to_string(x));
    text += csv_line(f) + "\n";
  }
  return text;
}

TEST(PredictFeatures, HatAveragesGiveTheSameSumsAsTheConfig) {
  SubConfig c;
  c.encoder_embed_dim = 640;
  c.decoder_embed_dim = 512;
  c.encoder_layers = {{1024, 4, 512}, {2048, 8, 512}, {3072, 4, 512}};
  c.decoder_layers = {{2048, 4, 512, 8, 512, 1}, {1024, 8, 512, 4, 512, 3}};
  const ArchSums direct = arch_sums(c);
  const ArchSums from_hat = arch_sums_from_hat(hat_features(c));
  const auto a = latency_features(direct), b = latency_features(from_hat);
  ASSERT_EQ(a.size(), latency_feature_names().size());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-9 * std::max(1.0, std::abs(a[i]))) << latency_feature_names()[i];
  EXPECT_EQ(direct.dec_ende_layers, 4);
  EXPECT_EQ(direct.dec_ende_layers_qkv, 4 * 512);
  EXPECT_EQ(direct.enc_ffn, 6144);
  EXPECT_EQ(memory_features(direct).size(), memory_feature_names().size());
}

TEST(PredictSplit, RowsInFileOrderEightyTenTen) {
  const DataSplit s = fixed_split(2000);
  EXPECT_EQ(s.train(), 1600);
  EXPECT_EQ(s.valid(), 200);
  EXPECT_EQ(s.test(), 200);
  EXPECT_EQ(s.train_end, 1600);
  EXPECT_EQ(s.valid_end, 1800);
  const DataSplit t = fixed_split(25);
  EXPECT_EQ(t.train(), 20);
  EXPECT_EQ(t.valid(), 2);
  EXPECT_EQ(t.test(), 3);
  const DataSplit m = fixed_split(kMinPredictorRows);
  EXPECT_GE(m.valid(), 2);
  EXPECT_GE(m.test(), 2);
}

TEST(PredictMetrics, HandComputedValues) {
  const PredictionMetrics m = prediction_metrics({110, 190, 310, 400}, {100, 200, 300, 400});
  EXPECT_EQ(m.n, 4);
  EXPECT_NEAR(m.rmse, std::sqrt(75.0), 1e-12);                        // errors 10, -10, 10, 0
  EXPECT_NEAR(m.mape, 100.0 * (0.1 + 0.05 + 10.0 / 300) / 4, 1e-12);  // 4.5833%
  EXPECT_NEAR(m.r2, 1.0 - 300.0 / 50000.0, 1e-12);                   // SS_tot = 150^2+50^2+50^2+150^2
  EXPECT_NEAR(m.kendall_tau, 1.0, 1e-12);
  EXPECT_NEAR(m.within_5pct, 0.75, 1e-12);   // 10%, 5% (counts), 3.3%, 0%
  EXPECT_NEAR(m.within_10pct, 1.0, 1e-12);
  EXPECT_NEAR(m.max_abs_error, 10, 1e-12);
  // One discordant pair of three: tau = (2 - 1) / 3.
  EXPECT_NEAR(prediction_metrics({1, 3, 2}, {1, 2, 3}).kendall_tau, 1.0 / 3, 1e-12);
  EXPECT_NE(invalid_argument_message([] { prediction_metrics({1, 2}, {1}); }).find("need equal"), std::string::npos);
}

TEST(PredictRobustLinear, IgnoresADriftedStretch) {
  // y = 3 + 2 x1 + 5 x2; a quarter of the rows measured 20% slow.
  Rng rng(3);
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int i = 0; i < 400; ++i) {
    const double x1 = 10 * rng.uniform01(), x2 = 10 * rng.uniform01();
    x.push_back({1, x1, x2});
    y.push_back((3 + 2 * x1 + 5 * x2) * (i < 100 ? 1.2 : 1.0));
  }
  RobustLinearOptions o;
  const LinearModel robust = fit_robust_linear(x, y, o);
  o.robust = false;
  const LinearModel plain = fit_robust_linear(x, y, o);
  const std::vector<double> probe = {1, 5, 5};
  EXPECT_NEAR(robust.predict(probe.data()), 38.0, 0.02);
  EXPECT_GT(std::abs(plain.predict(probe.data()) - 38.0), 1.0);  // least squares is pulled ~5% up
}

TEST(PredictRobustLinear, ConstantAndDuplicateColumnsAreHarmless) {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (int i = 0; i < 50; ++i) {
    x.push_back({1, 6.0, double(i), 2.0 * i});  // a constant column and an exact duplicate
    y.push_back(1 + 3.0 * i);
  }
  const LinearModel m = fit_robust_linear(x, y, {});
  const std::vector<double> probe = {1, 6.0, 20, 40};
  EXPECT_NEAR(m.predict(probe.data()), 61.0, 1e-3);
  EXPECT_EQ(m.scale[1], 0.0);
}

TEST(PredictRobustLinear, RowsOfWeightZeroAreOutOfTheFit) {
  // A cross-validation fold's (or a bootstrap's) held-out rows: the fit equals the fit on the rest.
  Rng rng(5);
  std::vector<std::vector<double>> x, kept_x;
  std::vector<double> y, kept_y, weights;
  for (int i = 0; i < 60; ++i) {
    const double x1 = 10 * rng.uniform01(), x2 = 10 * rng.uniform01();
    x.push_back({1, x1, x2});
    y.push_back((4 + x1 + 3 * x2) * (1 + 0.2 * (rng.uniform01() - 0.5)) + (i % 7 == 0 ? 30 : 0));  // noise, outliers
    weights.push_back(i % 3 == 0 ? 0.0 : 1.0);
    if (i % 3 != 0) {
      kept_x.push_back(x.back());
      kept_y.push_back(y.back());
    }
  }
  const LinearModel held = fit_robust_linear(x, y, {}, weights), subset = fit_robust_linear(kept_x, kept_y, {});
  for (const std::vector<double>& probe : {std::vector<double>{1, 2, 8}, std::vector<double>{1, 9, 1}}) {
    EXPECT_NEAR(held.predict(probe.data()), subset.predict(probe.data()), 1e-9);
  }
}

// 30 noisy rows, 16 features of which 3 carry the signal and the rest echo them with noise (as
// per-layer work features do): cross-validation shrinks, and the shrunk fit predicts new rows
// better than the unregularised one. With exact, plentiful data it does not shrink.
TEST(PredictRobustLinear, CrossValidationPicksARidgeThatGeneralises) {
  auto make = [](Rng& rng, int rows, double noise, std::vector<std::vector<double>>* x, std::vector<double>* y,
                 std::vector<double>* truth) {
    for (int i = 0; i < rows; ++i) {
      const double a = 10 * rng.uniform01(), b = 10 * rng.uniform01(), c = 10 * rng.uniform01();
      std::vector<double> f = {1, a, b, c};
      for (int k = 0; k < 13; ++k) f.push_back((k % 3 == 0 ? a : k % 3 == 1 ? b : c) + 3 * (rng.uniform01() - 0.5));
      x->push_back(f);
      const double t = 20 + 2 * a + 3 * b + c;
      truth->push_back(t);
      y->push_back(t * (1 + noise * (rng.uniform01() - 0.5)));
    }
  };
  Rng rng(11);
  std::vector<std::vector<double>> x, fresh_x;
  std::vector<double> y, truth, fresh_y, fresh_truth;
  make(rng, 30, 0.4, &x, &y, &truth);
  make(rng, 2000, 0.0, &fresh_x, &fresh_y, &fresh_truth);
  const std::vector<double> grid = {1e-6, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0};
  RobustLinearOptions o;
  const double ridge = choose_ridge_by_cross_validation(x, y, o, grid);
  EXPECT_GT(ridge, 1e-6);
  auto fresh_mape = [&](double r) {
    RobustLinearOptions with = o;
    with.ridge = r;
    const LinearModel m = fit_robust_linear(x, y, with);
    double sum = 0;
    for (std::size_t i = 0; i < fresh_x.size(); ++i) sum += std::abs(m.predict(fresh_x[i].data()) - fresh_truth[i]) / fresh_truth[i];
    return sum / static_cast<double>(fresh_x.size());
  };
  EXPECT_LT(fresh_mape(ridge), 0.8 * fresh_mape(1e-6)) << "ridge " << ridge;

  std::vector<std::vector<double>> exact_x;
  std::vector<double> exact_y, exact_truth;
  make(rng, 300, 0.0, &exact_x, &exact_y, &exact_truth);
  EXPECT_EQ(choose_ridge_by_cross_validation(exact_x, exact_y, o, grid), 1e-6);
  EXPECT_THROW(choose_ridge_by_cross_validation(x, y, o, {}), std::invalid_argument);
  EXPECT_THROW(choose_ridge_by_cross_validation(x, y, o, grid, 1), std::invalid_argument);
}

TEST(PredictHatMlp, RecipeIsHats) {
  const MlpFitOptions r = hat_mlp_recipe(1);
  EXPECT_EQ(r.sizes, (std::vector<int>{10, 400, 400, 400, 400, 1}));
  EXPECT_EQ(r.loss, MlpLoss::kMse);
  EXPECT_DOUBLE_EQ(r.lr, 1e-5);
  EXPECT_EQ(r.steps, 5000);
  EXPECT_EQ(r.batch, 128);
  EXPECT_EQ(FitOptions{}.mlp_steps, 5000);
  const auto& norm = hat_feature_norm();
  EXPECT_EQ(std::vector<double>(norm.begin(), norm.end()), (std::vector<double>{640, 6, 2048, 6, 640, 6, 2048, 6, 6, 2}));
  EXPECT_EQ(default_lat_norm("data/wmt14ende_cpu_raspberrypi_all.csv", {}), 5000);
  EXPECT_EQ(default_lat_norm("wmt14ende_cpu_xeon_all.csv", {}), 300);
  EXPECT_EQ(default_lat_norm("iwslt14deen_gpu_titanxp_all.csv", {}), 200);
  EXPECT_EQ(default_lat_norm("board.csv", {150, 194}), 200);  // mean 172 rounded up to one digit
  EXPECT_EQ(default_lat_norm("board.csv", {6930}), 7000);
}

TEST(PredictHatMlp, BatchesAreDistinctRowsDrawnPerStep) {
  const auto a = mlp_batch_rows(1600, 128, 1, 0), b = mlp_batch_rows(1600, 128, 1, 1);
  ASSERT_EQ(a.size(), 128u);
  EXPECT_EQ(std::set<int>(a.begin(), a.end()).size(), 128u);  // without replacement
  for (int i : a) EXPECT_TRUE(i >= 0 && i < 1600);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, mlp_batch_rows(1600, 128, 1, 0));  // seeded
  EXPECT_EQ(mlp_batch_rows(50, 128, 1, 0).size(), 50u);  // fewer rows than a batch: all of them
}

TEST(PredictHatMlp, InitialisationAndOneAdamStepAtLr1e5) {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    x.push_back(std::vector<double>(10));
    for (auto& v : x.back()) v = rng.uniform01();
    y.push_back(1.0 + x.back()[0]);
  }
  MlpFitOptions o = hat_mlp_recipe(3, 0);
  const MlpWeights init = fit_mlp(x, y, o);
  ASSERT_EQ(init.weight.size(), 5u);
  EXPECT_EQ(init.weight[0].size(), 400u * 10);
  EXPECT_EQ(init.weight[4].size(), 400u);
  // nn.Linear's bound 1/sqrt(fan_in).
  for (float w : init.weight[0]) ASSERT_LE(std::abs(w), 1 / std::sqrt(10.0f) + 1e-7f);
  for (float w : init.weight[1]) ASSERT_LE(std::abs(w), 1 / std::sqrt(400.0f) + 1e-7f);
  o.steps = 1;
  const MlpWeights one = fit_mlp(x, y, o);
  // Adam's first step moves every parameter with a non-negligible gradient by lr exactly.
  double max_move = 0;
  for (std::size_t l = 0; l < one.weight.size(); ++l) {
    for (std::size_t i = 0; i < one.weight[l].size(); ++i) max_move = std::max(max_move, double(std::abs(one.weight[l][i] - init.weight[l][i])));
  }
  EXPECT_NEAR(max_move, 1e-5, 2e-7);
  // Same seed, same network.
  const MlpWeights again = fit_mlp(x, y, o);
  EXPECT_EQ(again.weight, one.weight);
}

TEST(PredictHatMlp, ForwardIsReluMlp) {
  MlpWeights m;
  m.sizes = {2, 2, 1};
  m.weight = {{1, -1, -1, 1}, {2, 3}};
  m.bias = {{0, 0}, {0.5}};
  const double in[2] = {3, 1};  // hidden relu(2), relu(-2) = 2, 0 -> 2*2 + 0 + 0.5
  EXPECT_DOUBLE_EQ(m.forward(in), 4.5);
}

TEST(PredictHatMlp, FitPredictorUsesNormsAndLatNorm) {
  const std::string path = temp_path("board_gpu_titanxp_all.csv");
  write_text(path, synthetic_hat_csv(60));
  const PredictorData data = load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency);
  FitOptions o;
  o.kind = PredictorKind::kHatMlp;
  o.mlp_steps = 3;
  const FitResult r = fit_predictor(data, o);
  EXPECT_EQ(r.lat_norm, 200);
  EXPECT_EQ(r.predictor.output_scale, 200);
  EXPECT_EQ(r.predictor.mlp.sizes, (std::vector<int>{10, 400, 400, 400, 400, 1}));
  std::vector<double> x(10);
  for (int k = 0; k < 10; ++k) x[k] = data.rows[0].arch.hat[k] / hat_feature_norm()[k];
  EXPECT_DOUBLE_EQ(r.predictor.predict_value(data.rows[0].arch), r.predictor.mlp.forward(x.data()) * 200);
  o.lat_norm = 123;
  EXPECT_EQ(fit_predictor(data, o).predictor.output_scale, 123);
}

TEST(PredictLinear, FitsSyntheticLatencyAndIgnoresDrift) {
  const std::string path = temp_path("synthetic_drift.csv");
  write_text(path, synthetic_hat_csv(400, 0, 80));
  const PredictorData data = load_predictor_data(path, DataFormat::kHat, PredictTarget::kLatency);
  ASSERT_EQ(data.rows.size(), 400u);
  const FitResult r = fit_predictor(data, {});
  EXPECT_EQ(r.predictor.kind, PredictorKind::kThanosLinear);
  EXPECT_LT(r.test.mape, 0.5);  // noise is +-0.1%; the drifted rows would add ~4% to a squared fit
  EXPECT_GT(r.test.kendall_tau, 0.95);
  EXPECT_EQ(r.predictor.members.size(), 8u);
  const Prediction p = r.predictor.predict(data.rows[390].arch);
  EXPECT_GT(p.error_estimate, 0);
  EXPECT_LT(p.error_estimate, 0.05 * p.value);
  // Fixed seeds: a second fit is identical.
  const FitResult again = fit_predictor(data, {});
  EXPECT_EQ(again.predictor.predict(data.rows[390].arch).error_estimate, p.error_estimate);
  EXPECT_EQ(again.test.rmse, r.test.rmse);
}

// Below the cheapest member it saw, a linear fit can go negative; thanos-linear stops at the
// cheapest training row instead (checked by extrapolating to a one-layer, 8-dim network).
TEST(PredictLinear, NeverPredictsBelowTheCheapestTrainingRow) {
  const std::string path = temp_path("synthetic_floor.csv");
  write_text(path, synthetic_hat_csv(100));
  const PredictorData data = load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency);
  FitResult r = fit_predictor(data, {});
  double cheapest = 1e300;
  for (int i = 0; i < r.split.train_end; ++i) cheapest = std::min(cheapest, data.rows[i].target(PredictTarget::kLatency));
  EXPECT_EQ(r.predictor.floor, cheapest);
  SubConfig tiny;
  tiny.encoder_embed_dim = tiny.decoder_embed_dim = 8;
  tiny.encoder_layers = {{8, 1, 8}};
  tiny.decoder_layers = {{8, 1, 8, 1, 8, 1}};
  const double clamped = r.predictor.predict(tiny).value;
  EXPECT_GE(clamped, cheapest);
  r.predictor.floor = -1e300;  // the raw linear extrapolation
  const double raw = r.predictor.predict(tiny).value;
  EXPECT_EQ(clamped, std::max(raw, cheapest));
  EXPECT_LT(raw, cheapest);  // the case the floor exists for
}

TEST(PredictLinear, SubConfigAndBatchPredictionsAgree) {
  const std::string path = temp_path("synthetic_sub.csv");
  write_text(path, synthetic_hat_csv(100));
  const FitResult r = fit_predictor(load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency), {});
  SubConfig c;
  c.encoder_embed_dim = 512;
  c.decoder_embed_dim = 640;
  c.encoder_layers.assign(6, {2048, 8, 512});
  c.decoder_layers = {{1024, 4, 512, 8, 512, 2}, {3072, 8, 512, 4, 512, 1}};
  SubConfig d = c;
  d.decoder_layers.pop_back();
  const auto batch = r.predictor.predict(std::vector<SubConfig>{c, d});
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].value, r.predictor.predict(c).value);
  EXPECT_EQ(batch[1].value, r.predictor.predict(arch_sums(d)).value);
  EXPECT_GT(batch[0].value, batch[1].value);  // one more decoder layer costs time
  // One prediction from a SubConfig (sums, features, 9 dot products): far under the 50 us the
  // search budgets (about 1 us here; generous for loaded CI machines).
  const auto t0 = std::chrono::steady_clock::now();
  double sink = 0;
  for (int i = 0; i < 2000; ++i) sink += r.predictor.predict(i % 2 ? c : d).error_estimate;
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 2000;
  EXPECT_LT(us, 50.0) << sink;
}

TEST(PredictData, BadCsvsNameFileLineAndColumn) {
  const std::string good = synthetic_hat_csv(30);
  const auto lines = split_lines(good, true);
  // Missing column.
  {
    std::string text = "encoder_embed_dim,encoder_layer_num\n512,6\n";
    const std::string path = temp_path("missing.csv");
    write_text(path, text);
    const std::string msg = invalid_argument_message([&] { load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency); });
    EXPECT_NE(msg.find(path + ":1: missing column 'encoder_ffn_embed_dim_avg'"), std::string::npos) << msg;
  }
  // Non-numeric value on line 5 (the header is line 1), column 3.
  {
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string l = lines[i];
      if (i == 4) {
        auto f = split_csv_line(l);
        f[2] = "abc";
        l = csv_line(f);
      }
      text += l + "\n";
    }
    const std::string path = temp_path("nonnumeric.csv");
    write_text(path, text);
    const std::string msg = invalid_argument_message([&] { load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency); });
    EXPECT_NE(msg.find(path + ":5: column 3 'encoder_ffn_embed_dim_avg': expected a number, got 'abc'"), std::string::npos) << msg;
  }
  // Too few rows.
  {
    const std::string path = temp_path("few.csv");
    write_text(path, synthetic_hat_csv(kMinPredictorRows - 1));
    const std::string msg = invalid_argument_message([&] { load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency); });
    EXPECT_NE(msg.find(path + ": 19 usable rows"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at least 20"), std::string::npos) << msg;
  }
  // A short row.
  {
    const std::string path = temp_path("short.csv");
    write_text(path, lines[0] + "\n" + lines[1] + "\n512,6,1024\n");
    const std::string msg = invalid_argument_message([&] { load_predictor_data(path, DataFormat::kAuto, PredictTarget::kLatency); });
    EXPECT_NE(msg.find(path + ":3: expected 14 fields (as the header), got 3"), std::string::npos) << msg;
  }
  // Memory needs THANOS' columns.
  {
    const std::string path = temp_path("hat_memory.csv");
    write_text(path, good);
    const std::string msg = invalid_argument_message([&] { load_predictor_data(path, DataFormat::kAuto, PredictTarget::kMemory); });
    EXPECT_NE(msg.find("THANOS-format"), std::string::npos) << msg;
  }
  EXPECT_NE(invalid_argument_message([] { data_format_from_string("csv"); }).find("auto, hat or thanos"), std::string::npos);
  EXPECT_NE(invalid_argument_message([] { predictor_kind_from_string("xgboost"); }).find("thanos-linear or hat-mlp"),
            std::string::npos);
}

// A THANOS-format dataset: infeasible rows skipped, the last row of a config wins, provenance read.
TEST(PredictData, ThanosFormatRulesAndProvenance) {
  const LatencyProtocol quick = latency_protocol_preset("quick");
  std::string text = csv_line(dataset_columns()) + "\n";
  Rng rng(11);
  std::vector<SubConfig> configs;
  for (int i = 0; i < 30; ++i) {
    SubConfig c;
    c.encoder_embed_dim = c.decoder_embed_dim = i % 2 ? 512 : 640;
    c.encoder_layers.assign(6, {1024 * (1 + i % 3), 8, i % 4 ? 512 : 256});
    c.decoder_layers.assign(1 + i % 6, {2048, 4, 512, 8, i % 5 ? 512 : 256, 1 + i % 3});
    c.encoder_layers[0].ffn_dim = 512 + 64 * i;  // every config distinct
    configs.push_back(c);
  }
  auto row = [&](const SubConfig& c, double ms, bool feasible) {
    DatasetRow r;
    r.config = c;
    r.measurement.feasible = feasible;
    r.measurement.encoder_mean_ms = 1;
    r.measurement.decoder_mean_ms = ms;
    r.measurement.encoder_std_ms = r.measurement.decoder_std_ms = 0.1;
    r.measurement.peak_memory_mib = 100 + ms;
    r.measurement.memory_kind = memory_kind::kRssPeak;
    r.measurement.backend = "cpu";
    r.measurement.device_name = "Test CPU";
    r.measurement.threads = 1;
    r.measurement.interop_threads = 1;
    r.measurement.dtype = "float32";
    r.measurement.host = "testhost";
    r.measurement.library_versions = "libtorch 2.1; thanos 0.1.0";
    r.analytic_memory_mib = 90 + ms;
    r.protocol_hash = quick.hash_hex();
    return csv_line(dataset_row_fields(r)) + "\n";
  };
  for (int i = 0; i < 30; ++i) text += row(configs[i], 10 + i, true);
  text += row(configs[0], 999, false);  // infeasible: skipped, does not supersede
  text += row(configs[3], 77, true);    // re-measured: supersedes row 3, placed last
  const std::string path = temp_path("thanos.csv");
  write_text(path, text);
  const PredictorData d = load_predictor_data(path, DataFormat::kAuto, PredictTarget::kMemory);
  EXPECT_EQ(d.format, DataFormat::kThanos);
  ASSERT_EQ(d.rows.size(), 30u);
  EXPECT_EQ(d.rows[0].latency_ms(), 11);
  EXPECT_EQ(d.rows[3].latency_ms(), 1 + 14);  // config 4 moved up; config 3's old row is gone
  EXPECT_EQ(d.rows.back().latency_ms(), 78);
  EXPECT_EQ(d.rows.back().memory_mib, 177);
  EXPECT_EQ(d.rows[0].arch.enc_qkv, 6 * 256);  // per-layer QKV read exactly
  const Provenance& v = d.provenance;
  EXPECT_EQ(v.source, "thanos-measure");
  EXPECT_EQ(v.protocol_name, "quick");
  EXPECT_EQ(v.src_len, 30);
  EXPECT_EQ(v.beam, 5);
  EXPECT_EQ(v.threads, 1);
  EXPECT_EQ(v.backend, "cpu");
  EXPECT_EQ(v.device_name, "Test CPU");
  EXPECT_EQ(v.thanos_version, "0.1.0");
  EXPECT_EQ(v.data_rows, 30);
  EXPECT_EQ(v.data_hash.size(), 16u);
  FitOptions o;
  o.target = PredictTarget::kMemory;
  const FitResult r = fit_predictor(d, o);
  EXPECT_EQ(r.predictor.target, PredictTarget::kMemory);
  o.kind = PredictorKind::kHatMlp;
  EXPECT_NE(invalid_argument_message([&] { fit_predictor(d, o); }).find("latency only"), std::string::npos);
}

TEST(PredictProvenance, HatFilesAndRefusal) {
  const Provenance pi = hat_published_provenance("/x/wmt14ende_cpu_raspberrypi_all.csv");
  EXPECT_EQ(pi.source, "hat-published");
  EXPECT_EQ(pi.src_len, 30);
  EXPECT_EQ(pi.beam, 5);
  EXPECT_EQ(pi.backend, "cpu");
  EXPECT_NE(pi.device_name.find("Raspberry Pi"), std::string::npos);
  const Provenance iwslt = hat_published_provenance("iwslt14deen_gpu_titanxp_all.csv");
  EXPECT_EQ(iwslt.src_len, 23);
  EXPECT_EQ(iwslt.backend, "cuda");

  LatencyProtocol p = latency_protocol_preset("hat-wmt");
  Provenance same = target_provenance(p, "cpu", pi.device_name, 4, 1);
  EXPECT_TRUE(provenance_differences(pi, same).empty());  // HAT's threads unknown: not compared
  EXPECT_NO_THROW(check_predictor_provenance(pi, same, "pi.json"));

  p.beam = 4;
  const Provenance other = target_provenance(p, "remote://board:7070/cpu", "Rockchip RK3588", 4, 1);
  const std::string msg = invalid_argument_message([&] { check_predictor_provenance(pi, other, "pi.json"); });
  EXPECT_NE(msg.find("predictor pi.json was fitted under a different measurement protocol"), std::string::npos) << msg;
  EXPECT_NE(msg.find("beam: predictor 5, target 4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("device_name: predictor 'Raspberry Pi 4 (ARM Cortex-A72)', target 'Rockchip RK3588'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("protocol_hash"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("backend"), std::string::npos) << msg;  // both CPUs

  Provenance threads = same;
  threads.threads = 2;
  Provenance fitted = same;
  fitted.threads = 1;
  EXPECT_EQ(provenance_differences(fitted, threads), std::vector<std::string>{"threads: predictor 1, target 2"});

  // A predictor from one runtime is refused for a target measured in another, naming both.
  const Provenance libtorch = target_provenance(latency_protocol_preset("hat-wmt"), "cpu", pi.device_name, 2, 1);
  const Provenance ort = target_provenance(latency_protocol_preset("hat-wmt"), "ort-cpu", pi.device_name, 2, 1);
  const std::string runtimes = invalid_argument_message([&] { check_predictor_provenance(libtorch, ort, "lat.json"); });
  EXPECT_NE(runtimes.find("runtime: predictor 'libtorch', target 'onnxruntime'"), std::string::npos) << runtimes;
  EXPECT_EQ(provenance_differences(libtorch, ort).front(), "runtime: predictor 'libtorch', target 'onnxruntime'");
}

}  // namespace
}  // namespace thanos
