#pragma once
// The one YAML file that describes a whole `thanos run` (docs/PIPELINE.md): corpus, search space,
// target device and protocol, budgets, the settings of every stage (training budgets in updates, so
// runs are deterministic), seeds and the stage time budget. Validation errors name the file, the
// line, the key, the value and what is allowed.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace thanos {

// A budget as written: absolute ("150ms", "150", "300MiB") or a percentile of the measured dataset
// ("p40"), resolved at run time.
struct BudgetSpec {
  std::string text;         // as written ("" = no budget)
  bool percentile = false;
  double value = 0;         // ms / MiB, or the percentile in [0, 100]
  bool empty() const { return text.empty(); }
};

// One model to find: a pair of budgets (HAT's table of models per device has one row per pair).
struct BudgetPair {
  std::string name;  // "b0", ... or as given
  BudgetSpec latency, memory;
};

// One device to find models for, with its budget pairs. A config names one (`target:` and
// `budgets:`, name "") or several (`targets:`, each named; HAT's table of models per device).
struct TargetSpec {
  std::string name;                  // "" for the single `target:` form; directory names under measure/, search/, ...
  std::string device = "cpu";        // cpu | cuda | ort-cpu | rknn | remote://HOST:PORT
  std::string backend;               // remote devices: cpu | cuda | rknn
  // What runs the model when it is measured: libtorch (cpu, cuda; an agent's cpu or cuda),
  // onnxruntime (the exported graphs on this CPU: `device: cpu, runtime: onnxruntime` is ort-cpu),
  // rknn (the NPU). Resolved when the config is read; the default for a CPU is libtorch for now.
  std::string runtime = "libtorch";
  std::string token_file;            // remote devices
  int threads = 0;                   // measurement threads; 0: the run's (--threads, default all cores)
  std::string protocol = "hat-wmt";  // latency protocol preset
  std::string dtype = "float32";
  std::vector<BudgetPair> budgets;
  bool is_npu() const { return backend == "rknn" || device == "rknn"; }
  std::string label() const { return name.empty() ? device : name; }
};

struct TrainStageSettings {
  int64_t updates = 300;
  int max_tokens = 2048;
  double lr = 1e-3;
  int64_t warmup = 100;
  int update_freq = 1;
  std::string schedule = "inverse_sqrt";  // inverse_sqrt | cosine | fixed (after the linear warm-up)
  double clip_norm = 0;                   // gradient-norm clipping (0 = off)
};

struct RunConfig {
  std::string source;  // the file it was read from (for messages)
  std::string name = "run";
  uint64_t seed = 1;

  // corpus: the bundled one (data/corpus-en-de, made by scripts/build-corpus.sh) or a folder of raw
  // parallel text with train/valid/test prefixes (relative paths: to --data, else the config's folder).
  std::string corpus = "bundled";    // "bundled" | a folder
  std::string train_prefix = "train", valid_prefix = "valid", test_prefix = "test";
  std::string src_lang = "en", tgt_lang = "de";
  int vocab_size = 8000;

  std::string space;  // search space YAML (relative to the config's folder, or the project root)

  std::vector<TargetSpec> targets;   // at least one
  // Where training (SuperTransformer, final models) and BLEU decoding run: cpu | cuda | cuda:N.
  // Independent of the targets, which are only measured.
  std::string train_device = "cpu";

  TrainStageSettings super;          // SuperTransformer
  int measure_samples = 40;
  // A budget claim (search verification, baseline, final models; hw/budget_claim.h): at least
  // claim_measurements readings, each after a drift-reference reading, and up to
  // claim_max_measurements while the median's 90% interval straddles the budget.
  int claim_measurements = 5;
  int claim_max_measurements = 11;
  // The most 30-s cool-downs waited for the drift reference: per target while the dataset is
  // measured and per evaluate stage before the final claims. Absent: 3 and 2. 0: never wait
  // (a dedicated board, the test suites).
  std::optional<int> measure_cooldowns;
  std::string strategy = "evo";
  std::map<std::string, double> strategy_settings;
  int valid_subset = 200;            // fitness: valid pairs scored per candidate (0 = all)
  // Candidates re-ranked by BLEU on the valid split, translated with inherited weights as the
  // evaluate stage translates (thanos search --rerank; search/bleu_rerank.h). 0: loss only (HAT).
  int rerank = 0;
  int top_k = 2;                     // candidates returned per budget: ones that fit when measured
  int verify_limit = 0;              // most candidates measured per budget while looking (0 = 4 x top_k)
  double search_margin = 1.0;        // safety margin in prediction errors (thanos search --margin)
  // Headroom for re-measurement noise in budget claims: the search's verification and the baseline
  // must measure within latency budget x (1 - claim_headroom), so that the evaluate stage's later
  // measurement still fits (a shared VM drifts ~5% between stages; docs/PIPELINE.md).
  double claim_headroom = 0;
  std::string final_mode = "finetune";  // finetune (inherited weights) | scratch
  TrainStageSettings final_train;    // each final model: the finalists, the largest, the baseline
  // The chosen model is selected after training, on held-out data: the search's best
  // `final_finalists` candidates (those that fit when measured) and HAT's baseline (a member of the
  // space too) are trained identically and the best valid BLEU is chosen (`valid_bleu`), or the
  // baseline unless the best finalist beats it on valid BLEU beyond noise (`beats_baseline`), or the
  // search's first as HAT does (`search`, one finalist). Inherited-weight loss and BLEU misrank
  // architectures that fine-tuning then reorders (docs/PIPELINE.md, "The final selection").
  int final_finalists = 1;
  std::string final_select = "valid_bleu";
  std::string generation_preset = "hat-wmt";
  double max_len_a = 0;  // output length limit: max_len_a * source length + max_len_b (fairseq)
  int max_len_b = 200;
  int static_src_len = 64, static_tgt_len = 64;
  // Planned minutes per stage (the demo's 15-minute promise); `--dry-run` compares its estimates.
  std::map<std::string, double> stage_budget_minutes;

  // The config folder (relative paths resolve there first).
  std::string base_dir;
};

// Parses and validates. Throws std::invalid_argument "FILE:LINE: KEY: VALUE: expected ...".
RunConfig load_run_config(const std::string& path);
RunConfig parse_run_config(const std::string& text, const std::string& source);

// "p40" | "150ms" | "150" (ms) / "300MiB" | "300MB" | "300" (MiB). Throws naming `key`.
BudgetSpec parse_budget(const std::string& text, const std::string& unit, const std::string& key);

// The stages' names, in order (from the stage registry, src/pipeline/stage_registry.cc).
const std::vector<std::string>& pipeline_stages();

}  // namespace thanos
