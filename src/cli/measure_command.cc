#include <atomic>
#include <cstdio>

#include "command.h"
#include "thanos/commands/measure.h"
#include "thanos/common/signal_scope.h"
#include "thanos/common/text.h"
#include "thanos/hw/measurement_json.h"
#include "thanos/model/torch_runtime.h"

namespace thanos::cli {
namespace {

std::string ms(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", x);
  return buf;
}

}  // namespace

Command add_measure_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "measure",
      "Measure latency and peak memory of SubTransformers on a device (HAT's protocol by default): a dataset of "
      "--samples configs sampled from --space, appended to --out (re-runs resume), or one --config "
      "(docs/MEASUREMENT.md). Intra-op threads: the global --threads.");
  auto o = std::make_shared<MeasureOptions>();
  auto protocol = std::make_shared<std::string>("hat-wmt");
  auto p = std::make_shared<LatencyProtocol>();
  auto json = std::make_shared<bool>(false);
  auto no_extremes = std::make_shared<bool>(false);
  app->add_option("--space", o->space_path, "Search space YAML (HAT's format plus THANOS' QKV keys)");
  app->add_option("--config", o->config_path, "Measure this one SubConfig (YAML or JSON) and print the result");
  app->add_option("--device", o->device, "cpu, cuda, ort-cpu (ONNX Runtime on this CPU, docs/ORT.md), rknn (this board's NPU, docs/DEPLOY.md), or remote://HOST:PORT (a `thanos agent`); a comma-separated "
                                         "list of agents measures in parallel")
      ->capture_default_str();
  app->add_option("--token-file", o->token_file, "The agents' shared token (remote devices)");
  app->add_option("--backend", o->remote_backend, "Remote devices: what the agent measures with: cpu (default), cuda, or rknn "
                                                   "(the board's NPU; an agent started with --rknn, docs/DEPLOY.md)");
  app->add_option("--samples", o->job.samples, "Random SubTransformers (after the smallest and largest)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app->add_option("--out", o->out_path, "Dataset CSV: HAT's columns, then THANOS' (appended; rows already there are skipped)");
  app->add_option("--seed", o->job.seed, "Sampling seed (the same seed gives the same list)")->capture_default_str();
  app->add_flag("--no-extremes", *no_extremes, "Do not add the space's smallest and largest members");
  app->add_option("--protocol", *protocol, "Preset: hat-wmt (30 tokens), hat-iwslt (23), quick (1 warm-up, 5 repeats)")
      ->check(CLI::IsMember(latency_protocol_presets()))->capture_default_str();
  auto* src_len = app->add_option("--src-len", p->src_len, "Dummy source length");
  auto* tgt_len = app->add_option("--tgt-len", p->tgt_len, "Incremental decoder steps");
  auto* beam = app->add_option("--beam", p->beam, "Decoder rows (beam)");
  auto* warmups = app->add_option("--warmups", p->warmups, "Untimed runs");
  auto* repeats = app->add_option("--repeats", p->repeats, "Timed runs (HAT's latiter)");
  auto* vocab = app->add_option("--vocab-size", p->vocab_size, "Vocabulary of the measured model (default 32768)");
  auto* dtype = app->add_option("--dtype", p->dtype, "float32, or float16/bfloat16 on cuda")
                    ->check(CLI::IsMember({"float32", "float16", "bfloat16"}));
  app->add_option("--interop-threads", o->job.run.interop_threads, "Inter-op threads of the worker")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--memory-cap-mib", o->job.run.memory_cap_mib,
                  "Kill a worker above this resident memory: the candidate is infeasible (0 = no cap)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app->add_option("--timeout-s", o->job.run.timeout_s, "Kill a worker after this many seconds (0 = none)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app->add_option("--reference", o->reference_path, "Drift reference SubConfig (default: the space's smallest)");
  app->add_option("--reference-every", o->job.reference_every, "Re-measure the reference every N rows per device")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--drift-tolerance", o->job.drift_tolerance, "Relative change of the reference that counts as drift")
      ->capture_default_str();
  app->add_option("--cooldown-s", o->job.cooldown_s, "Wait before re-checking a drifted reference")->capture_default_str();
  app->add_option("--thanos-binary", o->thanos_binary, "The thanos executable for workers (default: this one)");
  app->add_flag("--json", *json, "Print the result (or the run's summary) as JSON");
  app->add_flag("--allow-busy", o->allow_busy,
                "Measure even when other runnable tasks + --threads exceed this machine's cores (refused otherwise: "
                "the figures would read slow and noisy; THANOS_ALLOW_BUSY=1 does the same)");
  return {app, [=]() {
            MeasureOptions opts = *o;
            opts.job.include_extremes = !*no_extremes;
            LatencyProtocol chosen = latency_protocol_preset(*protocol);
            if (*src_len) chosen.src_len = p->src_len;
            if (*tgt_len) chosen.tgt_len = p->tgt_len;
            if (*beam) chosen.beam = p->beam;
            if (*warmups) chosen.warmups = p->warmups;
            if (*repeats) chosen.repeats = p->repeats;
            if (*vocab) chosen.vocab_size = p->vocab_size;
            if (*dtype) chosen.dtype = p->dtype;
            opts.job.protocol = chosen;
            opts.job.run.threads = torch_threads();
            if (!opts.config_path.empty()) {
              const std::string warning = check_measuring_load(opts.device, opts.job.run.threads, opts.allow_busy, "thanos measure");
              if (!warning.empty()) std::cerr << warning << "\n";
              const Measurement m = run_measure_one(opts);
              if (*json) {
                std::cout << measurement_to_json(m).dump(2) << "\n";
              } else if (!m.feasible) {
                std::cout << "infeasible: " << m.infeasible_reason << "\n";
              } else {
                std::cout << "encoder " << ms(m.encoder_mean_ms) << " ms (std " << ms(m.encoder_std_ms) << "), decoder "
                          << ms(m.decoder_mean_ms) << " ms (std " << ms(m.decoder_std_ms) << "), peak memory "
                          << ms(m.peak_memory_mib) << " MiB [" << m.memory_kind << "] on " << m.backend << " ("
                          << m.device_name << ", " << m.threads << " threads, " << m.dtype << ")\n";
              }
              return m.feasible ? 0 : 3;
            }
            std::atomic<bool> stop{false};
            MeasureSummary s;
            {
              const StopSignalScope signals(stop);
              s = run_measure(opts, [](const std::string& line) { std::cerr << line << "\n"; }, &stop);
            }
            print_warnings(s.warnings);
            if (*json) {
              std::cout << measure_summary_json(s, opts).dump(2) << "\n";
            } else {
              std::cout << "measure: " << s.measured << " rows written to " << opts.out_path << " (" << s.already_in_file
                        << " of " << s.planned << " were already there; " << s.infeasible << " infeasible, "
                        << s.remeasured << " re-measured after drift, " << s.flagged << " flagged) in "
                        << format_duration(s.seconds) << ", " << ms(s.seconds_per_row) << " s/row\n"
                        << "measure: repeatability: reference measured " << s.reference_measurements << " times, mean "
                        << ms(s.reference_mean_ms) << " ms, std/mean " << ms(100 * s.reference_cv) << "%\n"
                        << "measure: analytic memory estimate vs measured peak: mean abs error "
                        << ms(s.memory_estimate_mape) << "%\n";
            }
            if (s.interrupted) {
              std::cerr << "thanos measure: interrupted; the file holds every finished row. Run the same command again "
                           "to continue.\n";
              return 130;
            }
            return 0;
          }};
}

}  // namespace thanos::cli
