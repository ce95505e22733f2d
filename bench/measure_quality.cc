// Measurement quality (docs/MEASUREMENT.md, bench/README.md Table 8): for SubTransformers of a
// space (its smallest, its largest, then seeded samples), each measured --repeats times in fresh
// isolated workers under one protocol:
//   - repeatability: std/mean of the latency over the repeats, per config;
//   - cost per measured row: wall time of an isolated measurement (process start, model build,
//     protocol) next to the same measurement in-process (the peer), and their ratio;
//   - the analytic memory estimate against the measured peak (ratio), per config;
//   - how well FLOPs, parameters and the analytic memory rank the measured figures (Kendall tau).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "bench_common.h"
#include "thanos/common/stats.h"
#include "thanos/hw/dataset_builder.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/hw/isolated_backend.h"
#include "thanos/model/cost_model.h"
#include "thanos/space/sampler.h"

using namespace thanos;
using namespace thanos::bench;

int main(int argc, char** argv) {
  CLI::App app{"THANOS measurement quality: repeatability, cost per row, analytic memory error, FLOPs vs latency"};
  std::string space_arg = "hat-wmt14ende-space0.yml", protocol_name = "quick", binary = THANOS_BINARY, json_out;
  int configs_n = 8, repeats = 10, threads = 1, vocab = 32768;
  app.add_option("--space", space_arg, "Search space (file under configs/spaces or a path)")->capture_default_str();
  app.add_option("--configs", configs_n, "SubTransformers: smallest, largest, then seeded samples")->capture_default_str();
  app.add_option("--repeats", repeats, "Isolated measurements per config")->capture_default_str();
  app.add_option("--protocol", protocol_name, "Latency protocol preset")->capture_default_str();
  app.add_option("--threads", threads, "Intra-op threads of each measurement")->capture_default_str();
  app.add_option("--vocab", vocab, "Vocabulary of the measured models")->capture_default_str();
  app.add_option("--thanos-binary", binary, "thanos executable for the workers")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write the results as JSON here");
  CLI11_PARSE(app, argc, argv);

  const SearchSpace space = load_space(space_arg);
  MeasureJob plan_job;
  plan_job.space = space;
  plan_job.samples = std::max(0, configs_n - 2);
  plan_job.seed = 11;
  std::vector<SubConfig> configs = planned_configs(plan_job);
  if (static_cast<int>(configs.size()) > configs_n) configs.resize(configs_n);

  MeasureRequest req;
  req.hyper = space.hyper;
  req.protocol = latency_protocol_preset(protocol_name);
  req.protocol.vocab_size = vocab;
  req.run.threads = threads;
  IsolatedBackend isolated(binary);
  InferenceShape shape;
  shape.src_len = req.protocol.src_len;
  shape.tgt_len = req.protocol.tgt_len;
  shape.beam = req.protocol.beam;
  shape.vocab_size = vocab;

  std::printf("Measurement quality: %zu SubTransformers of %s, protocol %s (%s), %d threads, %d isolated measurements "
              "each; load average %s\n\n",
              configs.size(), space_arg.c_str(), protocol_name.c_str(), req.protocol.canonical().c_str(), threads, repeats,
              load_average().c_str());
  std::printf("%-16s %4s %4s %9s %9s %7s %9s %9s %6s %9s %8s %8s %6s\n", "config", "enc", "dec", "enc ms", "dec ms",
              "cv %", "peak MiB", "est MiB", "est/m", "GFLOPs", "iso s", "inproc s", "ratio");
  std::vector<double> lat, flops, params, mem, est, cvs, iso_s, inproc_s, ratios;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : configs) {
    req.config = c;
    std::vector<double> latencies, peaks, walls, enc, dec;
    for (int r = 0; r < repeats; ++r) {
      const Measurement m = isolated.measure(req);
      if (!m.feasible) {
        std::printf("%s infeasible: %s\n", c.hash_hex().c_str(), m.infeasible_reason.c_str());
        break;
      }
      latencies.push_back(m.latency_ms());
      enc.push_back(m.encoder_mean_ms);
      dec.push_back(m.decoder_mean_ms);
      peaks.push_back(m.peak_memory_mib);
      walls.push_back(m.wall_s);
    }
    if (latencies.empty()) continue;
    // The peer: the same measurement without a worker process (timing only; its memory figure
    // would include this process's history).
    const auto t0 = Clock::now();
    measure_in_process(req);
    const double inproc = seconds_since(t0);
    const double cv = 100 * stddev_of(latencies) / mean_of(latencies);
    const double estimate = estimate_inference_memory(c, space.hyper, shape).total_mib();
    const double f = count_flops(c, space.hyper, shape.src_len, shape.tgt_len).total() / 1e9;
    const double iso = mean_of(walls);
    std::printf("%-16s %4d %4d %9.2f %9.2f %7.2f %9.1f %9.1f %6.3f %9.3f %8.2f %8.2f %6.2f\n", c.hash_hex().c_str(),
                c.encoder_layer_num(), c.decoder_layer_num(), mean_of(enc), mean_of(dec), cv, mean_of(peaks), estimate,
                estimate / mean_of(peaks), f, iso, inproc, iso / inproc);
    lat.push_back(mean_of(latencies));
    flops.push_back(f);
    params.push_back(static_cast<double>(count_params(c, space.hyper, vocab, vocab).total()));
    mem.push_back(mean_of(peaks));
    est.push_back(estimate);
    cvs.push_back(cv);
    iso_s.push_back(iso);
    inproc_s.push_back(inproc);
    ratios.push_back(estimate / mean_of(peaks));
    rows.push_back({{"config", c.hash_hex()}, {"latency_ms", mean_of(latencies)}, {"cv_percent", cv},
                    {"peak_mib", mean_of(peaks)}, {"estimate_mib", estimate}, {"gflops", f},
                    {"isolated_s", iso}, {"in_process_s", inproc}});
  }
  std::vector<double> abs_err;
  for (double r : ratios) abs_err.push_back(std::abs(r - 1));
  std::printf("\nrepeatability: median std/mean of latency over %d isolated measurements: %.2f%% (max %.2f%%)\n", repeats,
              median(cvs), cvs.empty() ? 0 : *std::max_element(cvs.begin(), cvs.end()));
  std::printf("cost per row: isolated %.2f s, in-process %.2f s, ratio %.2f (process start + runtime init)\n",
              mean_of(iso_s), mean_of(inproc_s), mean_of(iso_s) / std::max(mean_of(inproc_s), 1e-9));
  std::printf("analytic memory: mean |estimate/measured - 1| = %.1f%% (estimate/measured from %.3f to %.3f)\n",
              100 * mean_of(abs_err), ratios.empty() ? 0 : *std::min_element(ratios.begin(), ratios.end()),
              ratios.empty() ? 0 : *std::max_element(ratios.begin(), ratios.end()));
  std::printf("Kendall tau: FLOPs vs latency %.3f, parameters vs latency %.3f, analytic vs measured memory %.3f\n",
              kendall_tau(flops, lat), kendall_tau(params, lat), kendall_tau(est, mem));
  if (!json_out.empty()) {
    nlohmann::json j = {{"space", space_arg}, {"protocol", req.protocol.canonical()}, {"threads", threads},
                        {"repeats", repeats}, {"rows", rows},
                        {"kendall_flops_latency", kendall_tau(flops, lat)},
                        {"kendall_memory", kendall_tau(est, mem)}};
    std::ofstream(json_out) << j.dump(2) << "\n";
  }
  return 0;
}
