// Export latency (bench/README.md Table 12): the latency of the same SubTransformers in THANOS'
// libtorch inference and in ONNX Runtime, side by side with the ratio, at equal thread counts,
// batch 1 (the protocol's), beam 1 and 4, three model sizes.
//
// Both columns run HAT's latency protocol (include/thanos/hw/latency_protocol.h; default the
// "hat-wmt" preset: a 30-token dummy source, 30 incremental decoder steps for `beam` rows, 5
// warm-ups, 20 timed runs, 10% trimmed at each end) on the same network and inputs
// (build_measurement_model, measurement_tokens: random weights, fixed seeds):
//   - libtorch: an isolated `thanos measure-worker` process per measurement (what `thanos measure
//     --device cpu` does), or with --in-process measure_in_process in this process (no memory
//     figure then: a long-lived process's resident peak holds its history);
//   - ONNX Runtime: OrtBackend (`--device ort-cpu`), the SubTransformer exported to an encoder graph
//     and a decoder-step graph and timed inside a fresh ONNX Runtime runner process.
// Same intra-op threads on both sides, one inter-op thread (libtorch) / sequential execution (ORT).
// For each cell the two measurements alternate (libtorch, ORT, libtorch, ORT, ... for --rounds
// rounds) and the median of the rounds is reported, so a change of machine load hits both alike.
//
// The encoder/decoder split differs by construction: the exported encoder graph also projects the
// encoder-decoder keys/values, which libtorch's decoder does at its first step
// (docs/MEASUREMENT.md). Compare the totals; the ratio is libtorch total / ORT total.
//
// When the ONNX Runtime runner cannot start (no node, no tools/ort_runner/node_modules), the
// program says why, prints the libtorch columns only and exits 0.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

#include "bench_common.h"
#include "thanos/export/runtime_runner.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/hw/isolated_backend.h"
#include "thanos/export/ort_backend.h"
#include "thanos/model/cost_model.h"

using namespace thanos;
using namespace thanos::bench;

namespace {

struct SizeSpec {
  std::string description;
  int embed, enc_layers, dec_layers, enc_ffn, dec_ffn, heads, qkv, ende_layers;
};

// HAT-like SubTransformers (WMT'14 En-De space0 shapes, post-norm, shared embeddings).
const std::map<std::string, SizeSpec>& known_sizes() {
  static const std::map<std::string, SizeSpec> sizes = {
      {"small", {"256d, 3+1 layers, FFN 1024, 4 heads, attends 1", 256, 3, 1, 1024, 1024, 4, 256, 1}},
      {"base", {"512d, 6+3 layers, FFN 2048 enc / 1024 dec, 8 heads, attends 2", 512, 6, 3, 2048, 1024, 8, 512, 2}},
      {"big", {"640d, 6+6 layers, FFN 3072, 8 heads, QKV 512, attends 3 (space0 largest)", 640, 6, 6, 3072, 3072, 8, 512, 3}},
  };
  return sizes;
}

SubConfig config_of(const SizeSpec& s) {
  SubConfig c;
  c.encoder_embed_dim = c.decoder_embed_dim = s.embed;
  for (int l = 0; l < s.enc_layers; ++l) c.encoder_layers.push_back({s.enc_ffn, s.heads, s.qkv});
  for (int l = 0; l < s.dec_layers; ++l) c.decoder_layers.push_back({s.dec_ffn, s.heads, s.qkv, s.heads, s.qkv, s.ende_layers});
  c.check_consistent();
  return c;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR);
}

// Median over the rounds of one side of a cell.
struct Side {
  bool ok = false;
  std::string error;
  double enc = NAN, dec = NAN, total = NAN, peak = NAN, spread = 0;
  std::string versions;
};

Side summarise(const std::vector<Measurement>& ms, const std::string& error) {
  Side s;
  if (ms.empty()) {
    s.error = error;
    return s;
  }
  std::vector<double> enc, dec, total, peak;
  for (const auto& m : ms) {
    enc.push_back(m.encoder_mean_ms);
    dec.push_back(m.decoder_mean_ms);
    total.push_back(m.latency_ms());
    if (std::isfinite(m.peak_memory_mib)) peak.push_back(m.peak_memory_mib);
  }
  s.ok = true;
  s.enc = median(enc);
  s.dec = median(dec);
  s.total = median(total);
  s.peak = peak.empty() ? NAN : median(peak);
  s.spread = spread_pct(total);
  s.versions = ms.back().library_versions;
  return s;
}

std::string fmt(double v, const char* f = "%.2f") {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"THANOS export latency: the same SubTransformers in libtorch and in ONNX Runtime, same threads"};
  std::string sizes_arg = "small,base,big", beams_arg = "1,4", threads_arg = "1", protocol_name = "hat-wmt",
              binary = THANOS_BINARY, json_out;
  int src_len = -1, tgt_len = -1, warmups = -1, repeats = -1, vocab = 8000, rounds = 1;
  bool in_process = false;
  app.add_option("--sizes", sizes_arg, "Comma-separated: small (256d 3+1), base (512d 6+3), big (640d 6+6)")
      ->capture_default_str();
  app.add_option("--beams", beams_arg, "Comma-separated beam sizes (decoder rows; batch is always 1)")->capture_default_str();
  app.add_option("--threads", threads_arg, "Comma-separated intra-op thread counts, the same for both runtimes")
      ->capture_default_str();
  app.add_option("--protocol", protocol_name, "Latency protocol preset (hat-wmt, hat-iwslt, quick)")->capture_default_str();
  app.add_option("--src-len", src_len, "Dummy source length (default: the preset's, 30)");
  app.add_option("--tgt-len", tgt_len, "Incremental decoder steps per timed run (default: the preset's, 30)");
  app.add_option("--warmups", warmups, "Untimed runs before timing (default: the preset's)");
  app.add_option("--repeats", repeats, "Timed runs per measurement (default: the preset's)");
  app.add_option("--vocab-size", vocab, "Vocabulary of the measured models")->capture_default_str();
  app.add_option("--rounds", rounds, "Alternating libtorch/ORT measurements per cell (median reported)")->capture_default_str();
  app.add_flag("--in-process", in_process, "libtorch in this process (measure_in_process) instead of isolated workers; "
                                           "no libtorch memory figure then");
  app.add_option("--thanos-binary", binary, "thanos executable for the isolated libtorch workers")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write the results as JSON here");
  CLI11_PARSE(app, argc, argv);

  LatencyProtocol protocol;
  try {
    protocol = latency_protocol_preset(protocol_name);
    if (src_len > 0) protocol.src_len = src_len;
    if (tgt_len > 0) protocol.tgt_len = tgt_len;
    if (warmups >= 0) protocol.warmups = warmups;
    if (repeats > 0) protocol.repeats = repeats;
    protocol.vocab_size = vocab;
    protocol.validate();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const std::vector<std::string> sizes = split_list(sizes_arg);
  for (const auto& s : sizes) {
    if (!known_sizes().count(s)) {
      std::fprintf(stderr, "unknown size '%s' (small, base, big)\n", s.c_str());
      return 2;
    }
  }
  const std::vector<int> beams = parse_int_list(beams_arg), thread_counts = parse_int_list(threads_arg);
  if (beams.empty() || thread_counts.empty() || rounds < 1) {
    std::fprintf(stderr, "--beams and --threads need at least one value, --rounds >= 1\n");
    return 2;
  }

  std::unique_ptr<Backend> libtorch;
  if (in_process) {
    libtorch = std::make_unique<InProcessBackend>();
  } else {
    if (!is_executable(binary)) {
      std::fprintf(stderr, "no thanos executable at %s (build the thanos target, pass --thanos-binary, or use --in-process)\n",
                   binary.c_str());
      return 2;
    }
    libtorch = std::make_unique<IsolatedBackend>(binary);
  }
  const std::string ort_unavailable = runtime_runner_unavailable_reason();
  OrtBackend ort;

  // HAT's WMT model hyper-parameters (post-norm, shared embeddings).
  const ModelHyperParams hyper = load_space("hat-wmt14ende-space0.yml").hyper;

  std::printf("Export latency: the same SubTransformers in libtorch (%s) and in ONNX Runtime (ort-cpu runner)\n",
              in_process ? "in this process" : "isolated thanos measure-worker per measurement");
  std::printf("protocol %s: %s; batch 1; %d round(s) per cell, libtorch and ORT alternating, median reported; "
              "load average %s\n",
              protocol.name.c_str(), protocol.canonical().c_str(), rounds, load_average().c_str());
  std::printf("threads: intra-op %s on both sides; libtorch 1 inter-op thread, ORT sequential execution\n",
              threads_arg.c_str());
  if (!ort_unavailable.empty()) {
    std::printf("ONNX Runtime runner unavailable: %s\n-> libtorch columns only (exit status 0)\n", ort_unavailable.c_str());
  }
  std::printf("note: the ORT encoder graph also projects the encoder-decoder keys/values, which libtorch's decoder does "
              "at its first step: the enc/dec split moves by that projection, compare totals\n\n");

  struct Row {
    std::string size;
    std::int64_t params;
    int threads, beam;
    Side lt, ort;
  };
  std::vector<Row> rows;
  const auto bench_start = Clock::now();
  for (const auto& size : sizes) {
    const SizeSpec& spec = known_sizes().at(size);
    const SubConfig config = config_of(spec);
    const std::int64_t params = count_params(config, hyper, vocab, vocab).total();
    std::printf("== %s: %s, %.1f M parameters (vocabulary %d, shared), config %s\n", size.c_str(), spec.description.c_str(),
                params / 1e6, vocab, config.hash_hex().c_str());
    for (int threads : thread_counts) {
      for (int beam : beams) {
        MeasureRequest req;
        req.config = config;
        req.hyper = hyper;
        req.protocol = protocol;
        req.protocol.beam = beam;
        req.run.device = "cpu";
        req.run.threads = threads;
        req.run.interop_threads = 1;
        std::vector<Measurement> lt_ms, ort_ms;
        std::string lt_err, ort_err;
        for (int r = 0; r < rounds; ++r) {
          try {
            const Measurement m = libtorch->measure(req);
            if (m.feasible) lt_ms.push_back(m); else lt_err = m.infeasible_reason;
          } catch (const std::exception& e) {
            lt_err = e.what();
          }
          if (!ort_unavailable.empty()) {
            ort_err = "runner unavailable";
            continue;
          }
          try {
            const Measurement m = ort.measure(req);
            if (m.feasible) ort_ms.push_back(m); else ort_err = m.infeasible_reason;
          } catch (const std::exception& e) {
            ort_err = e.what();
          }
        }
        Row row{size, params, threads, beam, summarise(lt_ms, lt_err), summarise(ort_ms, ort_err)};
        if (in_process) row.lt.peak = NAN;  // this process's resident peak holds its whole history
        std::printf("   %d thread(s), beam %d: libtorch enc %s + dec %s = %s ms (peak %s MiB)", threads, beam,
                    fmt(row.lt.enc).c_str(), fmt(row.lt.dec).c_str(), fmt(row.lt.total).c_str(),
                    fmt(row.lt.peak, "%.1f").c_str());
        if (!row.lt.ok) std::printf(" [libtorch failed: %s]", row.lt.error.c_str());
        if (row.ort.ok) {
          std::printf(" | ORT enc %s + dec %s = %s ms (peak %s MiB) | libtorch/ORT %.2f\n", fmt(row.ort.enc).c_str(),
                      fmt(row.ort.dec).c_str(), fmt(row.ort.total).c_str(), fmt(row.ort.peak, "%.1f").c_str(),
                      row.lt.total / row.ort.total);
        } else {
          std::printf(" | ORT: %s\n", row.ort.error.c_str());
        }
        std::fflush(stdout);
        rows.push_back(row);
      }
    }
  }

  std::printf("\nlibtorch: %s\nONNX Runtime: %s\n", rows.empty() ? "-" : rows.front().lt.versions.c_str(),
              rows.empty() || !rows.front().ort.ok ? "-" : rows.front().ort.versions.c_str());
  std::printf("%.0f s in all; load average at the end %s\n\n", seconds_since(bench_start), load_average().c_str());
  std::printf("| size | params | threads | beam | libtorch enc ms | dec ms | total ms | peak MiB | ORT enc ms | dec ms | "
              "total ms | peak MiB | libtorch/ORT total (>1: ORT faster) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  nlohmann::json jrows = nlohmann::json::array();
  for (const auto& r : rows) {
    const double ratio = r.lt.ok && r.ort.ok ? r.lt.total / r.ort.total : NAN;
    std::printf("| %s | %.1f M | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.size.c_str(), r.params / 1e6,
                r.threads, r.beam, fmt(r.lt.enc).c_str(), fmt(r.lt.dec).c_str(), fmt(r.lt.total).c_str(),
                fmt(r.lt.peak, "%.1f").c_str(), fmt(r.ort.enc).c_str(), fmt(r.ort.dec).c_str(), fmt(r.ort.total).c_str(),
                fmt(r.ort.peak, "%.1f").c_str(), std::isfinite(ratio) ? ("**" + fmt(ratio) + "**").c_str() : "-");
    auto side = [](const Side& s) {
      nlohmann::json j = {{"ok", s.ok}};
      if (s.ok) {
        j["encoder_ms"] = s.enc;
        j["decoder_ms"] = s.dec;
        j["total_ms"] = s.total;
        j["total_spread_percent"] = s.spread;
        if (std::isfinite(s.peak)) j["peak_mib"] = s.peak;
        j["versions"] = s.versions;
      } else {
        j["error"] = s.error;
      }
      return j;
    };
    nlohmann::json jr = {{"size", r.size}, {"params", r.params}, {"threads", r.threads}, {"beam", r.beam},
                         {"libtorch", side(r.lt)}, {"ort", side(r.ort)}};
    if (std::isfinite(ratio)) jr["ratio_libtorch_over_ort"] = ratio;
    jrows.push_back(jr);
  }
  if (rounds > 1) {
    std::printf("\nspread of the totals over the %d rounds ((max - min) / median):", rounds);
    for (const auto& r : rows) {
      std::printf(" %s/t%d/b%d libtorch %.1f%% ORT %.1f%%;", r.size.c_str(), r.threads, r.beam, r.lt.spread, r.ort.spread);
    }
    std::printf("\n");
  }
  std::printf("\nmemory: rss-peak-minus-baseline of the measuring process (libtorch worker after runtime init; ORT runner "
              "after ONNX Runtime was loaded)%s\n",
              in_process ? "; libtorch memory not reported in-process" : "");
  if (!json_out.empty()) {
    nlohmann::json j = {{"protocol", protocol.canonical()}, {"rounds", rounds}, {"in_process", in_process},
                        {"ort_unavailable", ort_unavailable}, {"rows", jrows}};
    std::ofstream(json_out) << j.dump(2) << "\n";
  }
  return 0;
}
