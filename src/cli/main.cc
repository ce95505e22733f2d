// thanos: hardware-aware Transformer search. One subcommand per pipeline step.
#include <cstdlib>
#include <thread>

#include "command.h"
#include "thanos/common/utf8.h"
#include "thanos/model/torch_runtime.h"

int main(int argc, char** argv) {
  CLI::App app{"THANOS: find the best Transformer for your hardware (HAT-style SuperTransformer search, "
               "memory-aware, NPU-ready)",
               "thanos"};
  app.require_subcommand(1);
  // Default: all cores, shared among the ranks of a distributed run on this machine.
  int local_ranks = 1;
  if (const char* l = std::getenv("LOCAL_WORLD_SIZE"); l && std::atoi(l) > 0) local_ranks = std::atoi(l);
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(local_ranks)));
  app.add_option("--threads", threads, "CPU threads for tensor work (default: all cores / LOCAL_WORLD_SIZE)")->check(CLI::PositiveNumber);

  std::vector<thanos::cli::Command> commands = {
      thanos::cli::add_info_command(app), thanos::cli::add_init_command(app), thanos::cli::add_sample_command(app),
      thanos::cli::add_extract_command(app), thanos::cli::add_corpus_command(app), thanos::cli::add_prepare_command(app),
      thanos::cli::add_train_command(app), thanos::cli::add_valid_command(app),
      thanos::cli::add_average_command(app), thanos::cli::add_import_hat_command(app),
      thanos::cli::add_translate_command(app), thanos::cli::add_eval_command(app),
      thanos::cli::add_score_command(app), thanos::cli::add_agent_command(app),
      thanos::cli::add_measure_worker_command(app), thanos::cli::add_measure_command(app), thanos::cli::add_search_command(app),
      thanos::cli::add_fit_predictor_command(app), thanos::cli::add_run_command(app)};
#ifdef THANOS_WITH_ONNX  // set by src/cli/CMakeLists.txt when Debian's libonnx-dev was found
  commands.push_back(thanos::cli::add_export_command(app));
  commands.push_back(thanos::cli::add_rknn_check_command(app));
#endif
  // Paths and names from the command line are written into JSON records (summaries, manifests,
  // stage records), which hold UTF-8 only: other bytes are refused now, not after an hour's run.
  for (int i = 1; i < argc; ++i) {
    if (!thanos::is_valid_utf8(argv[i])) {
      std::cerr << "thanos: error: argument " << i << " is not UTF-8 text (invalid byte at offset "
                << thanos::utf8_error_offset(argv[i]) << "); THANOS records paths and names in JSON, which needs UTF-8\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Debian's libtorch defaults to one thread; set both pools explicitly.
  thanos::set_torch_threads(threads);
  for (auto& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const std::invalid_argument& e) {
      std::cerr << "thanos " << c.app->get_name() << ": error: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "thanos " << c.app->get_name() << ": failed: " << e.what() << "\n";
      return 1;
    }
  }
  return 0;
}
