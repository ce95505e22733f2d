#include "command.h"
#include "thanos/commands/fit_predictor.h"

namespace thanos::cli {

Command add_fit_predictor_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "fit-predictor",
      "Fit a latency or memory predictor on a measured dataset (HAT's published CSVs or `thanos measure`'s), report "
      "test-split metrics (rows in file order: 80% train, 10% valid, 10% test) and save it with its provenance "
      "(docs/PREDICTORS.md)");
  auto opt = std::make_shared<FitPredictorOptions>();
  auto lat_norm = std::make_shared<double>(0);
  auto json = std::make_shared<bool>(false);
  app->add_option("--data", opt->data_path, "Dataset CSV (HAT's 14 columns or THANOS' columns)")->required();
  app->add_option("--format", opt->format, "Dataset format: auto (from the header), hat or thanos")
      ->check(CLI::IsMember({"auto", "hat", "thanos"}))->capture_default_str();
  app->add_option("--target", opt->target, "What to predict: latency (encoder + decoder, ms) or memory (peak MiB; THANOS format)")
      ->check(CLI::IsMember({"latency", "memory"}))->capture_default_str();
  app->add_option("--model", opt->model,
                  "thanos-linear (default: robust linear model over per-layer work, bootstrap error estimate) or hat-mlp "
                  "(HAT's recipe exactly)")
      ->check(CLI::IsMember({"thanos-linear", "hat-mlp"}));
  auto* norm_opt = app->add_option("--lat-norm", *lat_norm,
                                   "hat-mlp: latency normalisation (default by device in the file name: raspberrypi 5000, "
                                   "xeon 300, titanxp 200; otherwise the mean training latency rounded up to one digit)")
                       ->check(CLI::PositiveNumber);
  auto ridge = std::make_shared<double>(0);
  auto* ridge_opt = app->add_option("--ridge", *ridge,
                                    "thanos-linear: ridge on the standardised coefficients, per unit of row weight (default: "
                                    "chosen by 10-fold cross-validation when there are fewer than 20 training rows per "
                                    "feature, else 1e-6)")
                        ->check(CLI::NonNegativeNumber);
  app->add_option("--out", opt->out_path, "Save the predictor (JSON) here");
  app->add_option("--seed", opt->seed, "Seed (hat-mlp's initialisation and batches; thanos-linear's bootstrap)")->capture_default_str();
  app->add_option("--mlp-steps", opt->mlp_steps, "hat-mlp training steps (HAT: 5000)")->check(CLI::PositiveNumber)->capture_default_str();
  app->add_flag("--json", *json, "Print the test metrics (rmse_ms or rmse_mb, mape, r2, kendall_tau, within_5pct, within_10pct) as JSON");
  return {app, [=]() {
            if (*norm_opt) opt->lat_norm = *lat_norm;
            if (*ridge_opt) opt->ridge = *ridge;
            const FitPredictorReport r = run_fit_predictor(*opt);
            if (*json) {
              std::cout << r.json.dump(2) << "\n";
            } else {
              std::cout << render_fit_predictor_text(r, *opt);
            }
            return 0;
          }};
}

}  // namespace thanos::cli
