#pragma once
// The thin CLI: each subcommand file declares its options on a CLI11 subcommand and returns the
// function that calls the library once parsing succeeded.
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace thanos::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_info_command(CLI::App& parent);
Command add_init_command(CLI::App& parent);
Command add_sample_command(CLI::App& parent);
Command add_extract_command(CLI::App& parent);
Command add_corpus_command(CLI::App& parent);
Command add_import_hat_command(CLI::App& parent);
Command add_prepare_command(CLI::App& parent);
Command add_train_command(CLI::App& parent);
Command add_valid_command(CLI::App& parent);
Command add_average_command(CLI::App& parent);
Command add_score_command(CLI::App& parent);
Command add_translate_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_agent_command(CLI::App& parent);
Command add_measure_worker_command(CLI::App& parent);
Command add_measure_command(CLI::App& parent);
Command add_search_command(CLI::App& parent);
Command add_fit_predictor_command(CLI::App& parent);
Command add_run_command(CLI::App& parent);
Command add_export_command(CLI::App& parent);  // only with libonnx-dev (THANOS_WITH_ONNX)
Command add_rknn_check_command(CLI::App& parent);  // only with libonnx-dev (THANOS_WITH_ONNX)

inline void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::cerr << "thanos: warning: " << w << "\n";
}

}  // namespace thanos::cli
