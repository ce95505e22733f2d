#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "thanos/common/signal_scope.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/pipeline/pipeline.h"

namespace thanos::cli {

Command add_run_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("run", "The whole pipeline from one YAML config: prepare, SuperTransformer, measurement, "
                                           "predictors, search under the budgets, final training of the chosen, largest and "
                                           "baseline models, BLEU, export, report (docs/PIPELINE.md)");
  auto o = std::make_shared<RunOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto log_format = std::make_shared<std::string>("text");
  app->add_option("config", o->config_path, "Run config (YAML), e.g. configs/demo.yml")->required()->check(CLI::ExistingFile);
  app->add_option("--workdir", o->workdir, "Where everything goes (re-runs skip what is done and resume what was interrupted)")
      ->required();
  app->add_option("--data", o->data_root, "Where the config's corpus folder is looked for first (e.g. ../shared/data)")
      ->check(CLI::ExistingDirectory);
  app->add_option("--from", o->from_stage, "Re-run from this stage on: prepare, super, measure, predictors, search, final, "
                                           "evaluate, export or report");
  app->add_flag("--allow-busy", o->allow_busy,
                "Measure even when other runnable tasks + a target's threads exceed this machine's cores (the measure, "
                "search and evaluate stages refuse otherwise; THANOS_ALLOW_BUSY=1 does the same)");
  app->add_flag("--dry-run", o->dry_run, "Validate the config, list the stages, what is cached and the estimated cost of each");
  app->add_flag("--quiet", *quiet, "Only stage starts and ends, errors and the result");
  app->add_option("--log-format", *log_format, "text or json (one JSON object per line on stderr)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app->footer("Exit codes: 0 done; 1 a stage failed; 2 bad config or usage; 3 no model fits a budget; 130 interrupted "
              "(Ctrl-C stops at the next safe point; the same command resumes).");
  return {app, [=]() {
            auto log = [=](const std::string& line) {
              const bool stage_line = line.find("] starting") != std::string::npos || line.find("] done") != std::string::npos;
              if (*quiet && !stage_line) return;
              if (*log_format == "json") {
                std::cerr << nlohmann::json{{"time", utc_timestamp()}, {"message", line}}.dump() << std::endl;
              } else {
                std::cerr << "thanos run: " << line << std::endl;
              }
            };
            std::atomic<bool> stop{false};
            const StopSignalScope signals(stop);
            const RunResult r = run_pipeline(*o, log, &stop);
            if (o->dry_run) {
              std::cout << format_plan(r.stages);
              return 0;
            }
            if (r.interrupted) {
              std::cerr << "thanos run: interrupted during stage " << r.interrupted_at << "; what was done is kept. Resume with:\n  thanos run "
                        << o->config_path << (o->data_root.empty() ? "" : " --data " + o->data_root) << " --workdir "
                        << o->workdir << "\n";
              return kRunExitInterrupted;
            }
            std::cout << format_plan(r.stages) << "\nresult: " << o->workdir << "/report.html, " << o->workdir << "/report.md, "
                      << o->workdir << "/summary.json\n";
            for (const BudgetOutcome& b : r.summary.budgets) {
              std::cout << "budget " << b.name << ": ";
              if (!b.chosen) {
                std::cout << "no model fits\n";
                continue;
              }
              const ModelEvaluation& c = *b.chosen;
              char line[512];
              // "chosen (finalist-1)" or "chosen (baseline)": which trained model the selection kept.
              const std::string selected = c.selection ? " (" + c.selection->selected + ")" : "";
              const MeasurementRecord m = c.measured.value_or(MeasurementRecord{});
              std::snprintf(line, sizeof(line), "chosen%s BLEU %.2f at %.1f ms [%.1f, %.1f], %.1f MiB measured: %s (%s)\n",
                            selected.c_str(), c.scores.bleu, m.latency_ms.value_or(0.0), m.latency_ms_low.value_or(0.0),
                            m.latency_ms_high.value_or(0.0), m.memory_mib.value_or(0.0), b.chosen_verdict.empty() ? "not measured" : b.chosen_verdict.c_str(),
                            c.config.c_str());
              std::cout << line;
            }
            for (const BudgetOutcome& b : r.summary.budgets) {
              if (!b.chosen) return kRunExitNothingFits;
            }
            return 0;
          }};
}

}  // namespace thanos::cli
