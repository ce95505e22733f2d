#include "thanos/pipeline/pipeline.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "thanos/commands/eval.h"
#ifdef THANOS_WITH_ONNX  // set by the folder's CMakeLists.txt when Debian's libonnx-dev was found
#include "thanos/commands/export.h"
#endif
#include "thanos/commands/fit_predictor.h"
#include "thanos/commands/measure.h"
#include "thanos/commands/prepare.h"
#include "thanos/commands/search.h"
#include "thanos/commands/train.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_protocol.h"
#include "thanos/hw/repeated_measurement.h"
#include "thanos/model/cost_model.h"
#include "thanos/pipeline/baseline.h"
#include "thanos/pipeline/budgets.h"
#include "thanos/pipeline/report.h"
#include "thanos/search/budget_claim.h"
#include "thanos/train/lr_schedule.h"
#include "thanos/predict/predictor_file.h"
#include "thanos/search/constraints.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
using Log = std::function<void(const std::string&)>;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The first of `candidates` that exists (paths as given, then under `bases`), or "" .
std::string find_path(const std::string& path, const std::vector<std::string>& bases) {
  if (fs::path(path).is_absolute()) return fs::exists(path) ? path : "";
  if (fs::exists(path)) return path;
  for (const auto& b : bases) {
    if (b.empty()) continue;
    const fs::path p = fs::path(b) / path;
    if (fs::exists(p)) return p.string();
  }
  return "";
}

// Size and modification time stand for a file's content in the stage hashes (hashing a large
// corpus on every run would cost more than the check saves); the prepared manifest's own hash
// covers the content from `prepare` on.
std::string file_stamp(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto time = fs::last_write_time(path, ec).time_since_epoch().count();
  return path + ":" + std::to_string(ec ? 0 : size) + ":" + std::to_string(ec ? 0 : time);
}

json train_json(const TrainStageSettings& t) {
  return {{"updates", t.updates}, {"max_tokens", t.max_tokens}, {"lr", t.lr}, {"warmup", t.warmup}, {"update_freq", t.update_freq},
          {"schedule", t.schedule}, {"clip_norm", t.clip_norm}};
}

// One target, resolved: its protocol, measurement threads and the hashes of its units.
struct TargetPlan {
  TargetSpec spec;
  LatencyProtocol protocol;
  int threads = 1;
  std::string measure_hash, search_hash;
  // Opened at the first single measurement and kept for the run (one agent connection per board).
  mutable std::shared_ptr<TargetMeasurer> measurer;
};

// Everything the run needs resolved once: paths, the space, the targets.
struct Plan {
  RunConfig config;
  RunOptions options;
  std::string workdir, corpus_dir, space_path;
  SearchSpace space;
  std::vector<TargetPlan> targets;
  int threads = 1;                            // training and scoring (the global --threads)
  std::string space_hash;                     // the space file's text (dropout, norms: what a model trained from scratch depends on)
  std::map<std::string, std::string> hashes;  // stage -> inputs hash
};

// WORKDIR/AREA[/TARGET][/REST]: a config with one unnamed target keeps the flat layout.
std::string under(const Plan& p, const std::string& area, const std::string& target, const std::string& rest = "") {
  fs::path d = fs::path(p.workdir) / area;
  if (!target.empty()) d /= target;
  if (!rest.empty()) d /= rest;
  return d.string();
}

std::string corpus_prefix(const Plan& p, const std::string& prefix) { return (fs::path(p.corpus_dir) / prefix).string(); }

std::string corpus_file(const Plan& p, const std::string& prefix, const std::string& lang) {
  const std::string base = corpus_prefix(p, prefix) + "." + lang;
  return fs::exists(base) ? base : base + ".gz";
}

std::string hash_of(const json& j) { return hex64(fnv1a64(j.dump())); }

// How the evaluate stage translates (and the search's BLEU re-ranking, so that it ranks by the
// BLEU the run reports).
GenerationOptions evaluate_generation(const RunConfig& c) {
  GenerationOptions g = generation_preset(c.generation_preset);
  g.max_len_a = c.max_len_a;
  g.max_len_b = c.max_len_b;
  return g;
}

Plan make_plan(const RunOptions& o) {
  Plan p;
  p.options = o;
  p.config = load_run_config(o.config_path);
  const RunConfig& c = p.config;
  if (o.workdir.empty()) throw std::invalid_argument("--workdir is required (everything the run makes goes there)");
  p.workdir = o.workdir;
  const std::string project_root = fs::path(c.base_dir).parent_path().string();
  // The corpus.
  if (c.corpus == "bundled") {
    p.corpus_dir = find_path("data/corpus-en-de", {o.data_root, project_root});
    if (p.corpus_dir.empty()) {
      throw std::invalid_argument(c.source + ": corpus: bundled: data/corpus-en-de is missing; build it with "
                                  "`bash scripts/build-corpus.sh data/corpus-en-de` (scripts/setup.sh does this)");
    }
  } else {
    p.corpus_dir = find_path(c.corpus, {o.data_root, c.base_dir, project_root});
    if (p.corpus_dir.empty()) {
      throw std::invalid_argument(c.source + ": corpus: '" + c.corpus + "' not found (looked in the current folder" +
                                  (o.data_root.empty() ? "" : ", " + o.data_root) + ", " + c.base_dir + "; give the folder with --data)");
    }
  }
  for (const auto& [prefix, what] : {std::pair{c.train_prefix, "train"}, {c.valid_prefix, "valid"}, {c.test_prefix, "test"}}) {
    for (const auto& lang : {c.src_lang, c.tgt_lang}) {
      const std::string f = corpus_file(p, prefix, lang);
      if (!fs::exists(f)) {
        throw std::invalid_argument(c.source + ": corpus." + what + ": " + corpus_prefix(p, prefix) + "." + lang + "[.gz] not found");
      }
    }
  }
  p.space_path = find_path(c.space, {c.base_dir, project_root});
  if (p.space_path.empty()) throw std::invalid_argument(c.source + ": space: '" + c.space + "' not found");
  p.space = load_search_space(p.space_path).space;
  p.threads = static_cast<int>(torch::get_num_threads());
  const std::string space_text = read_text_file(p.space_path);
  p.space_hash = hash_of(space_text);

  // Stage hashes: each stage's own settings and its upstream stage's hash. Measurement, search and
  // final training also hash each target / model on its own (units): a unit whose inputs did not
  // change keeps its outputs when its stage runs again for another one.
  json corpus = {{"dir", p.corpus_dir}, {"vocab_size", c.vocab_size}, {"langs", {c.src_lang, c.tgt_lang}}};
  for (const auto& prefix : {c.train_prefix, c.valid_prefix, c.test_prefix}) {
    for (const auto& lang : {c.src_lang, c.tgt_lang}) corpus["files"].push_back(file_stamp(corpus_file(p, prefix, lang)));
  }
  p.hashes["prepare"] = hash_of(corpus);
  p.hashes["super"] = hash_of({{"up", p.hashes["prepare"]}, {"space", space_text}, {"train", train_json(c.super)},
                               {"seed", c.seed}, {"threads", p.threads}, {"device", c.train_device}});
  json settings = json::object();
  for (const auto& [k, v] : c.strategy_settings) settings[k] = v;
  json measure_all = json::array(), search_all = json::array();
  for (const auto& spec : c.targets) {
    TargetPlan t;
    t.spec = spec;
    t.protocol = latency_protocol_preset(spec.protocol);
    t.protocol.dtype = spec.dtype;
    t.protocol.vocab_size = c.vocab_size;
    t.threads = spec.threads > 0 ? spec.threads : p.threads;
    t.measure_hash = hash_of({{"space", space_text}, {"device", spec.device}, {"backend", spec.backend},
                              {"protocol", t.protocol.canonical()}, {"samples", c.measure_samples}, {"seed", c.seed},
                              {"threads", t.threads}});
    json budgets = json::array();
    for (const auto& b : spec.budgets) budgets.push_back({b.name, b.latency.text, b.memory.text});
    t.search_hash = hash_of({{"super", p.hashes["super"]}, {"measure", t.measure_hash}, {"budgets", budgets}, {"strategy", c.strategy},
                             {"settings", settings}, {"subset", c.valid_subset}, {"top_k", c.top_k}, {"verify_limit", c.verify_limit}, {"margin", c.search_margin},
                             {"repeats", c.measure_repeats}, {"seed", c.seed}});
    if (c.claim_headroom > 0) t.search_hash = hash_of({{"search", t.search_hash}, {"claim_headroom", c.claim_headroom}});
    if (c.rerank > 0) {  // keyed only when on: runs cached before re-ranking existed stay valid
      t.search_hash = hash_of({{"search", t.search_hash}, {"rerank", c.rerank}, {"preset", c.generation_preset},
                               {"max_len_a", c.max_len_a}, {"max_len_b", c.max_len_b}});
    }
    measure_all.push_back({spec.name, t.measure_hash});
    search_all.push_back({spec.name, t.search_hash});
    p.targets.push_back(t);
  }
  p.hashes["measure"] = hash_of(measure_all);
  p.hashes["predictors"] = hash_of({{"up", p.hashes["measure"]}});
  p.hashes["search"] = hash_of(search_all);
  p.hashes["final"] = hash_of({{"up", p.hashes["search"]}, {"mode", c.final_mode}, {"train", train_json(c.final_train)},
                               {"finalists", c.final_finalists}, {"select", c.final_select}, {"preset", c.generation_preset},
                               {"max_len_a", c.max_len_a}, {"max_len_b", c.max_len_b}});
  p.hashes["evaluate"] = hash_of({{"up", p.hashes["final"]}, {"preset", c.generation_preset}, {"max_len_a", c.max_len_a}, {"max_len_b", c.max_len_b},
                                  {"repeats", c.measure_repeats}});
  p.hashes["export"] = hash_of({{"up", p.hashes["final"]}, {"static", {c.static_src_len, c.static_tgt_len}}});
  p.hashes["report"] = hash_of({{"up", p.hashes["evaluate"]}, {"export", p.hashes["export"]}});
  return p;
}

// ------------------------------------------------------------------------------------ estimates

// Rough costs on this project's 2-core machine (docs/PIPELINE.md): a training step costs about
// max_tokens x (parameters of the trained model) / R, with R ~ 1.1e10 x threads^0.7 parameter-tokens
// per second (measured on the demo space: 1.8e10 on 2 threads; small models reach less, big ones
// more); a SuperTransformer trains the average sampled member, taken as the mean of the smallest
// and the largest. A measurement ~1 s plus (warm-ups + repeats) x tgt_len x 2 ms, scoring ~4000
// valid pairs/s; the evaluate stage ~60 test sentences/s per model all in (the demo: 1,054
// sentences, beam 5, decoded in ~13 s, the test perplexity, the drift reference and the measurements:
// 66-91 s for three models in the demo runs of docs/PIPELINE.md).
double estimate_seconds(const Plan& p, const std::string& stage) {
  const RunConfig& c = p.config;
  // On a GPU: 2.7e12 parameter-tokens/s, measured by tools/gpu_check.cc on an H100 (float32,
  // HAT's WMT'14 En-De SuperTransformer, max_tokens 4096: 0.084 s per update, 43k tokens/s; the
  // same run on 16 CPU threads measured 6.8e10, which the CPU formula puts at 7.7e10).
  const bool gpu = c.train_device.rfind("cuda", 0) == 0;
  const double rate = gpu ? 2.7e12 : 1.1e10 * std::pow(std::min(p.threads, 16), 0.7);
  auto params = [&](const SubConfig& config) {
    return static_cast<double>(count_params(config, p.space.hyper, c.vocab_size, c.vocab_size).total());
  };
  const double largest = params(p.space.largest()), mean = 0.5 * (params(p.space.smallest()) + largest);
  auto train_s = [&](const TrainStageSettings& t, double model_params) {
    return static_cast<double>(t.updates) * t.max_tokens * t.update_freq * model_params / rate;
  };
  auto per_measurement = [](const TargetPlan& t) {
    return 1.0 + (t.protocol.warmups + t.protocol.repeats) * 0.002 * t.protocol.tgt_len;
  };
  double budgets = 0, measure = 0, verify = 0, evaluate = 0;
  const double models_per_budget = c.final_finalists + 1.0;  // the finalists and the baseline
  for (const auto& t : p.targets) {
    budgets += static_cast<double>(t.spec.budgets.size());
    measure += (c.measure_samples + 4) * per_measurement(t);
    // Typically about two candidates measured per returned one (half miss at margin 0), plus the
    // baseline's; candidates sit near the budget, so each is measured measure.repeats times.
    const double walked = std::min<double>(2.0 * c.top_k, c.verify_limit > 0 ? c.verify_limit : 4.0 * c.top_k);
    verify += static_cast<double>(t.spec.budgets.size()) * (walked + 4) * c.measure_repeats * per_measurement(t);
    evaluate += (1 + models_per_budget * static_cast<double>(t.spec.budgets.size())) * c.measure_repeats * per_measurement(t);
  }
  if (stage == "prepare") return 30;
  if (stage == "super") return train_s(c.super, mean);
  if (stage == "measure") return measure;
  if (stage == "predictors") return 3.0 * static_cast<double>(p.targets.size());
  if (stage == "search") {
    const double pop = c.strategy_settings.count("population") ? c.strategy_settings.at("population") : 125;
    const double it = c.strategy_settings.count("iterations") ? c.strategy_settings.at("iterations") : 30;
    const double subset = c.valid_subset > 0 ? c.valid_subset : 1000;
    // Re-ranking translates the valid split once per shortlisted candidate: ~500 sentences of
    // members near the budget, ~300 sentences/s (the demo's: 342 in 1.1-1.8 s, beam 5, 2 cores).
    return budgets * pop * it * subset / 4000.0 + budgets * c.rerank * 500.0 / 300.0 + verify;
  }
  if (stage == "final") {
    // Selection translates the valid split once per finalist and baseline (~500 sentences, ~300/s as above).
    const double select = c.final_select != "search" ? budgets * models_per_budget * 500.0 / 300.0 : 0.0;
    return train_s(c.final_train, largest) + models_per_budget * budgets * train_s(c.final_train, mean) + select;
  }
  if (stage == "evaluate") return (1 + models_per_budget * budgets) * 1000.0 / 60.0 + evaluate;
  if (stage == "export") return budgets * 5;
  return 2;
}

// ------------------------------------------------------------------------------------ units

// A unit of a stage (one target's dataset or search, one model's training or evaluation) keeps its
// outputs while its own inputs are unchanged, so adding a target or a budget to a config does not
// redo the others. DIR/FILE records the unit's inputs hash and, once complete, its outputs.
struct Unit {
  std::string dir, hash, file = "unit.json";
  std::string path() const { return dir + "/" + file; }
};

// The outputs of a completed unit with the same inputs. Otherwise nothing, after clearing the
// outputs of other inputs (an interrupted unit of the same inputs keeps them, to resume).
std::optional<json> cached_unit(const Unit& u, bool owns_dir = true) {
  if (fs::exists(u.path())) {
    try {
      const json j = json::parse(read_text_file(u.path()));
      if (j.value("inputs_hash", "") == u.hash) {
        if (j.value("completed", false)) return j.at("outputs");
        return std::nullopt;
      }
    } catch (const std::exception&) {
      // A damaged record: start the unit afresh.
    }
  }
  if (owns_dir) fs::remove_all(u.dir);
  fs::create_directories(u.dir);
  write_file_atomically(u.path(), json({{"inputs_hash", u.hash}, {"completed", false}}).dump(2) + "\n");
  return std::nullopt;
}

void complete_unit(const Unit& u, const json& outputs) {
  write_file_atomically(u.path(), json({{"inputs_hash", u.hash}, {"completed", true}, {"outputs", outputs}}).dump(2) + "\n");
}

struct StageRecord {
  bool exists = false;      // completed
  bool started = false;     // a record at all (an interrupted stage leaves completed = false)
  std::string inputs_hash;
};

// What a stage writes, removed before it runs with other inputs (an interrupted stage with the
// same inputs keeps them and resumes).
const std::map<std::string, std::string>& stage_outputs() {
  static const std::map<std::string, std::string> dirs = {
      {"super", "super"}, {"measure", "measure"}, {"predictors", "predictors"}, {"search", "search"}, {"final", "final"}, {"export", "export"}};
  return dirs;
}

// Stages whose units (targets, models) keep their outputs while their own inputs are unchanged:
// their folder is cleared only when `--from` forces them.
bool has_units(const std::string& stage) { return stage == "measure" || stage == "search" || stage == "final"; }

std::string record_path(const Plan& p, const std::string& stage) { return p.workdir + "/stages/" + stage + ".json"; }

StageRecord read_record(const Plan& p, const std::string& stage) {
  StageRecord r;
  const std::string path = record_path(p, stage);
  if (!fs::exists(path)) return r;
  try {
    const auto j = nlohmann::json::parse(read_text_file(path));
    r.started = true;
    r.exists = j.value("completed", false);
    r.inputs_hash = j.value("inputs_hash", "");
  } catch (const std::exception&) {
    // A damaged record counts as not done: the stage runs again.
  }
  return r;
}

void write_record(const Plan& p, const std::string& stage, double seconds, const json& outputs, bool completed = true) {
  fs::create_directories(p.workdir + "/stages");
  json j = {{"stage", stage}, {"inputs_hash", p.hashes.at(stage)}, {"completed", completed}, {"seconds", seconds}, {"outputs", outputs}};
  write_file_atomically(record_path(p, stage), j.dump(2) + "\n");
}

json read_json_file(const std::string& path) { return json::parse(read_text_file(path)); }

// ------------------------------------------------------------------------------------ stages

json stage_prepare(const Plan& p, const Log&) {
  PrepareOptions o;
  o.train_prefix = corpus_prefix(p, p.config.train_prefix);
  o.valid_prefix = corpus_prefix(p, p.config.valid_prefix);
  o.test_prefix = corpus_prefix(p, p.config.test_prefix);
  o.src_lang = p.config.src_lang;
  o.tgt_lang = p.config.tgt_lang;
  o.vocab_size = p.config.vocab_size;
  o.out_dir = p.workdir + "/data";
  o.overwrite = true;
  const auto manifest = run_prepare(o);
  return {{"data", o.out_dir}, {"manifest_hash", manifest.value("hash", "")}};
}

TrainOptions train_options(const Plan& p, const TrainStageSettings& t) {
  TrainOptions o;
  o.max_updates = t.updates;
  o.update_freq = t.update_freq;
  o.batching.max_tokens = t.max_tokens;
  o.batching.seed = p.config.seed;
  o.lr.lr = t.lr;
  o.lr.warmup_updates = t.warmup;
  o.lr.kind = lr_schedule_from_string(t.schedule);
  o.clip_norm = t.clip_norm;
  o.seed = p.config.seed;
  o.log_every = std::max<int64_t>(1, t.updates / 20);
  o.save_every = std::max<int64_t>(1, t.updates / 4);  // resumable within the stage
  o.device = p.config.train_device;
  return o;
}

// Runs one training to its budget, resuming an interrupted one. Returns false when interrupted.
bool train(const TrainCommandOptions& o, const Log& log) {
  TrainCommandOptions run = o;
  run.resume = fs::exists(o.save_dir + "/checkpoint_last.pt");
  const TrainCommandResult r = run_train(run, log);
  return !r.result.interrupted;
}

json stage_super(const Plan& p, const Log& log, bool* interrupted) {
  TrainCommandOptions o;
  o.data_dir = p.workdir + "/data";
  o.space_path = p.space_path;
  o.save_dir = p.workdir + "/super";
  o.train = train_options(p, p.config.super);
  *interrupted = !train(o, log);
  return {{"checkpoint", o.save_dir + "/checkpoint_last.pt"}};
}

MeasureOptions measure_options(const TargetPlan& t) {
  MeasureOptions o;
  o.device = t.spec.device;
  o.token_file = t.spec.token_file;
  o.remote_backend = t.spec.backend;
  o.job.protocol = t.protocol;
  o.job.run.threads = t.threads;
  return o;
}

std::string dataset_path(const Plan& p, const TargetPlan& t) { return under(p, "measure", t.spec.name, "latency.csv"); }
std::string predictor_path(const Plan& p, const TargetPlan& t, const std::string& what) {
  return under(p, "predictors", t.spec.name, what + ".json");
}

// Prefixes a target's log lines when the config has several.
Log target_log(const Plan& p, const TargetPlan& t, const Log& log) {
  if (p.targets.size() == 1) return log;
  const std::string tag = "target " + t.spec.label() + ": ";
  return [tag, log](const std::string& line) { log(tag + line); };
}

json stage_measure(const Plan& p, const Log& log_all, const std::atomic<bool>* stop, bool* interrupted) {
  json out = json::array();
  for (const auto& t : p.targets) {
    const Log log = target_log(p, t, log_all);
    const Unit unit{under(p, "measure", t.spec.name), t.measure_hash};
    if (auto done = cached_unit(unit)) {
      log("dataset measured already with the same settings: " + dataset_path(p, t));
      out.push_back(*done);
      continue;
    }
    MeasureOptions o = measure_options(t);
    o.space_path = p.space_path;
    o.out_path = dataset_path(p, t);
    o.job.samples = p.config.measure_samples;
    o.job.seed = p.config.seed;
    const MeasureSummary s = run_measure(o, log, stop);
    if (s.interrupted) {
      *interrupted = true;
      return out;
    }
    const json entry = {{"target", t.spec.name}, {"dataset", o.out_path}, {"summary", measure_summary_json(s, o)}};
    complete_unit(unit, entry);
    out.push_back(entry);
  }
  return out;
}

json stage_predictors(const Plan& p, const Log& log_all) {
  json out = json::array();
  for (const auto& t : p.targets) {
    const Log log = target_log(p, t, log_all);
    json entry = {{"target", t.spec.name}};
    fs::create_directories(under(p, "predictors", t.spec.name));
    for (const std::string what : {"latency", "memory"}) {
      FitPredictorOptions o;
      o.data_path = dataset_path(p, t);
      o.format = "thanos";
      o.target = what;
      o.out_path = predictor_path(p, t, what);
      o.seed = p.config.seed;
      const FitPredictorReport r = run_fit_predictor(o);
      log(what + " predictor: " + r.json.dump());
      entry[what] = {{"file", o.out_path}, {"test", r.json}};
    }
    out.push_back(entry);
  }
  return out;
}

// Measures `config` on the target (random weights: the architecture is what is measured).
// Measured measure.repeats times when it reads near `latency_budget_ms` (or `always`); the median
// (hw/repeated_measurement.h).
TargetMeasurer& measurer_of(const Plan& p, const TargetPlan& t) {
  if (!t.measurer) t.measurer = std::make_shared<TargetMeasurer>(measure_options(t), p.space);
  return *t.measurer;
}

RepeatedMeasurement measure_on_target(const Plan& p, const TargetPlan& t, const SubConfig& config, double latency_budget_ms,
                                      bool always) {
  TargetMeasurer& measurer = measurer_of(p, t);
  RepeatPolicy repeat;
  repeat.repeats = p.config.measure_repeats;
  repeat.always = always;
  return measure_repeatedly([&] { return measurer.measure(config); }, latency_budget_ms, repeat);
}

json measurement_json(const RepeatedMeasurement& r) {
  const Measurement& m = r.median;
  return {{"feasible", m.feasible}, {"reason", m.infeasible_reason}, {"latency_ms", m.feasible ? json(m.latency_ms()) : json(nullptr)},
          {"latencies_ms", r.latencies_ms}, {"memory_mib", m.feasible ? json(m.peak_memory_mib) : json(nullptr)},
          {"memory_kind", m.memory_kind}};
}

// The drift reference (the space's smallest member, as in the measure stage), read as the search's
// verification starts (no cool-down: slowdown_factor) and before each final model is measured: a
// slow spell of a shared machine during the evaluate stage made a model verified at 19.8 ms read
// 29.3 ms against its 21.4 ms budget (docs/MEASUREMENT.md). Slowness beyond the measure stage's 10%
// tolerance is waited out 30 s at a time, at most `*cooldowns_left` times per stage run (the
// demo's 15 minutes), and the drift left is reported beside the figures.
ReferenceCheck settle_target(const Plan& p, const TargetPlan& t, int* cooldowns_left, const Log& log) {
  const double baseline = dataset_reference_ms(dataset_path(p, t));
  if (!(baseline > 0)) return {};
  auto read = [&] {
    const Measurement m = measure_on_target(p, t, p.space.smallest(), 0, false).median;
    return m.feasible ? m.latency_ms() : baseline;
  };
  auto sleep = [](double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); };
  const ReferenceCheck c = settle_reference(read, baseline, kDriftTolerance, 30, std::max(0, *cooldowns_left), sleep, log);
  *cooldowns_left -= c.cooldowns;
  return c;
}

// How much slower the target reads now than while its dataset was measured, as a factor for the
// budget claims (1 within the measure stage's 10% tolerance, or faster). The dataset, its percentile
// budgets and the predictors describe the device at its dataset's speed; in a lasting slow spell of
// a shared machine (the reference read +31..48% for minutes) every measurement reads slower alike,
// and a demo run in such a spell found no homogeneous baseline under budget (docs/PIPELINE.md).
// Claims are judged at the dataset's speed (measured / factor); the raw figures are kept beside.
double slowdown_factor(const ReferenceCheck& c) { return slowdown_for_drift(c.drift); }

// HAT's baseline under `b`: the homogeneous member with the largest measured latency that fits.
// Measured in this order: those predicted to fit, slowest first (the baseline sits just under the
// latency budget), then those predicted up to 25% over it, closest first (predictions of small
// models err by milliseconds); members predicted over the memory budget by more than 5% are left
// out (memory predictions err by ~2%). Of the first three that fit when measured (at most twelve
// measured), the slowest. Measured latencies count at the dataset's speed (divided by `slowdown`).
json choose_baseline(const Plan& p, const TargetPlan& t, const ResolvedBudgets& b, double slowdown, const std::string& dir, const Log& log) {
  const Predictor lat = load_predictor(predictor_path(p, t, "latency"));
  const Predictor mem = load_predictor(predictor_path(p, t, "memory"));
  std::vector<std::pair<double, SubConfig>> under_budget, over_budget;
  for (const auto& c : homogeneous_members(p.space)) {
    const double l = lat.predict(c).value, m = mem.predict(c).value;
    if (m > 1.05 * b.memory_mib) continue;
    if (l <= b.latency_ms) under_budget.emplace_back(l, c);
    else if (l <= 1.25 * b.latency_ms) over_budget.emplace_back(l, c);
  }
  std::sort(under_budget.begin(), under_budget.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
  std::sort(over_budget.begin(), over_budget.end(), [](const auto& a, const auto& c) { return a.first < c.first; });
  std::vector<std::pair<double, SubConfig>> ranked = under_budget;
  ranked.insert(ranked.end(), over_budget.begin(), over_budget.end());
  json tried = json::array();
  std::optional<std::pair<RepeatedMeasurement, SubConfig>> best;
  int fitting = 0;
  for (std::size_t i = 0; i < ranked.size() && fitting < 3 && tried.size() < 12; ++i) {
    const RepeatedMeasurement r = measure_on_target(p, t, ranked[i].second, b.latency_ms * slowdown, false);
    const Measurement& m = r.median;
    const bool fits = judge_claim(m.feasible, m.latency_ms(), m.peak_memory_mib, slowdown, b.latency_ms, b.memory_mib).fits();
    tried.push_back({{"config", ranked[i].second.summary()}, {"predicted_latency_ms", ranked[i].first}, {"fits", fits},
                     {"measurement", measurement_json(r)}, {"slowdown", slowdown}});
    if (!fits) continue;
    ++fitting;
    if (!best || m.latency_ms() > best->first.median.latency_ms()) best = std::make_pair(r, ranked[i].second);
  }
  if (!best) {
    log("no homogeneous Transformer of the space fits budget " + b.name + " (" + std::to_string(ranked.size()) + " predicted to)");
    return {{"found", false}, {"tried", tried}};
  }
  write_file_atomically(dir + "/baseline.yml", config_to_yaml(best->second));
  return {{"found", true}, {"config", dir + "/baseline.yml"}, {"measurement", measurement_json(best->first)}, {"slowdown", slowdown}, {"tried", tried}};
}

// Ctrl-C during a target's search: its evaluations are on disk (resumed next time); its unit is
// left incomplete.
struct SearchInterrupted {};

json search_target(const Plan& p, const TargetPlan& t, const Log& log, const std::atomic<bool>* stop) {
  const auto points = read_measured_points(dataset_path(p, t));
  json out = json::array();
  for (const auto& pair : t.spec.budgets) {
    const ResolvedBudgets b = resolve_budgets(pair, points);
    const std::string dir = under(p, "search", t.spec.name, pair.name);
    fs::create_directories(dir);
    log("budget " + pair.name + ": latency " + (std::isfinite(b.latency_ms) ? std::to_string(b.latency_ms) + " ms" : "none") +
        " (" + b.latency_text + "), memory " + (std::isfinite(b.memory_mib) ? std::to_string(b.memory_mib) + " MiB" : "none") + " (" +
        b.memory_text + "); " + std::to_string(b.feasible_fraction * 100) + "% of the measured dataset fits");
    SearchOptions o;
    o.checkpoint_path = p.workdir + "/super/checkpoint_last.pt";
    o.data_dir = p.workdir + "/data";
    o.strategy = p.config.strategy;
    o.settings = p.config.strategy_settings;
    o.seed = p.config.seed;
    // Claims (verification, baseline) with headroom for re-measurement noise; reported: the budget itself.
    ResolvedBudgets claim = b;
    claim.latency_ms = b.latency_ms * (1 - p.config.claim_headroom);
    o.budgets.latency_ms = claim.latency_ms;
    o.budgets.memory_mib = b.memory_mib;
    o.latency_predictor_path = predictor_path(p, t, "latency");
    o.memory_predictor_path = predictor_path(p, t, "memory");
    o.protocol = t.protocol;
    o.fitness.subset = static_cast<std::size_t>(p.config.valid_subset);
    o.verify_device = t.spec.device;
    o.verify_with = &measurer_of(p, t).backend();
    o.verify_backend = t.spec.backend;
    o.token_file = t.spec.token_file;
    o.target_threads = t.spec.threads;
    o.top_k = p.config.top_k;
    o.verify_limit = p.config.verify_limit;
    o.rerank = p.config.rerank;
    o.rerank_generation = evaluate_generation(p.config);  // re-ranked by BLEU as the evaluate stage scores
    o.verify_repeats = p.config.measure_repeats;
    o.fitness_device = p.config.train_device;  // scoring inherited weights is training-side work
    o.out_dir = dir;
    o.budgets.margin_errors = p.config.search_margin;
    o.stop = stop;
    // The device's speed now against its dataset's, read once per budget as verification starts
    // (after the search's minutes) and used again for the baseline right after.
    std::optional<double> slowdown;
    const auto current_slowdown = [&] {
      if (!slowdown) {
        int no_cooldowns = 0;  // read, not waited out: the factor accounts for it
        slowdown = slowdown_factor(settle_target(p, t, &no_cooldowns, log));
        if (*slowdown != 1.0) {
          log("the device reads " + format_fixed(100 * (*slowdown - 1), 0) + "% slower than while its dataset was measured: budget " + pair.name +
              "'s claims judged at the dataset's speed (measured latency / " + format_fixed(*slowdown, 2) + ")");
        }
      }
      return *slowdown;
    };
    o.verify_slowdown = current_slowdown;
    SearchReport r;
    std::string nothing_fits;
    try {
      r = run_search(o, log);
      if (r.interrupted) throw SearchInterrupted{};
    } catch (const NothingFits& e) {
      nothing_fits = e.what();  // no model for this budget; the others go on (exit code 3 at the end)
      log("budget " + pair.name + ": " + nothing_fits);
    }
    json entry = {{"target", t.spec.name},
                  {"target_label", t.spec.label()},
                  {"name", pair.name},
                  {"budget", {{"latency_ms", std::isfinite(b.latency_ms) ? json(b.latency_ms) : json(nullptr)},
                              {"memory_mb", std::isfinite(b.memory_mib) ? json(b.memory_mib) : json(nullptr)},
                              {"latency_spec", b.latency_text}, {"memory_spec", b.memory_text}}},
                  {"feasible_fraction", b.feasible_fraction},
                  {"found", r.found},
                  {"nothing_fits", nothing_fits},
                  {"search", dir + "/search.json"}};
    entry["baseline"] = choose_baseline(p, t, claim, current_slowdown(), dir, log);
    entry["slowdown"] = *slowdown;
    out.push_back(entry);
  }
  return out;
}

json stage_search(const Plan& p, const Log& log_all, const std::atomic<bool>* stop, bool* interrupted) {
  json out = json::array();
  for (const auto& t : p.targets) {
    const Log log = target_log(p, t, log_all);
    const Unit unit{under(p, "search", t.spec.name), t.search_hash};
    json entries;
    if (auto done = cached_unit(unit)) {
      log("searched already with the same inputs");
      entries = *done;
    } else {
      try {
        entries = search_target(p, t, log, stop);
      } catch (const SearchInterrupted&) {
        *interrupted = true;
        return out;
      }
      complete_unit(unit, entries);
    }
    for (const auto& e : entries) out.push_back(e);
  }
  return out;
}

// The models the run trains and compares: per target and budget the search's finalists and the
// baseline, the largest once. The chosen model is one of the finalists or the baseline (selection).
struct ModelJob {
  std::string role, target, budget, config_path, dir;
  int rank = 0;  // a finalist's place in the search's order (1: its best)
  std::string name() const { return role == "finalist" ? "finalist-" + std::to_string(rank) : role; }
  std::string label() const { return name() + (budget.empty() ? "" : " (" + (target.empty() ? "" : target + "/") + budget + ")"); }
};

std::vector<ModelJob> model_jobs(const Plan& p) {
  std::vector<ModelJob> jobs;
  const json search = read_json_file(record_path(p, "search")).at("outputs");
  fs::create_directories(p.workdir + "/final");
  const std::string largest = p.workdir + "/final/largest.yml";
  if (!fs::exists(largest)) write_file_atomically(largest, config_to_yaml(p.space.largest()));
  jobs.push_back({"largest", "", "", largest, p.workdir + "/final/largest"});
  for (const auto& s : search) {
    const std::string target = s.value("target", ""), name = s.at("name").get<std::string>();
    if (s.at("found").get<bool>()) {
      // best.yml, then the runners-up best-2.yml, ... as many as the search returned.
      for (int k = 1; k <= p.config.final_finalists; ++k) {
        const std::string config = under(p, "search", target, name + (k == 1 ? "/best.yml" : "/best-" + std::to_string(k) + ".yml"));
        if (!fs::exists(config)) break;
        jobs.push_back({"finalist", target, name, config, under(p, "final", target, name + "/finalist-" + std::to_string(k)), k});
      }
    }
    if (s.at("baseline").at("found").get<bool>()) {
      jobs.push_back({"baseline", target, name, s.at("baseline").at("config").get<std::string>(), under(p, "final", target, name + "/baseline")});
    }
  }
  return jobs;
}

// A model's training inputs: the data, the architecture, the space's settings, the start (the
// SuperTransformer only when fine-tuned from it), the training settings. A model trained from
// scratch is kept when only the SuperTransformer's settings change.
std::string job_hash(const Plan& p, const ModelJob& job) {
  return hash_of({{"data", p.hashes.at("prepare")}, {"config", read_text_file(job.config_path)}, {"mode", p.config.final_mode},
                  {"super", p.config.final_mode == "finetune" ? p.hashes.at("super") : ""}, {"train", train_json(p.config.final_train)},
                  {"space", p.space_hash}, {"seed", p.config.seed}, {"threads", p.threads}, {"device", p.config.train_device}});
}

// How a trained model translates `split` for scoring (the evaluate stage's settings), its
// hypotheses kept beside the checkpoint as <split>.hyp.
EvalOptions translation_of(const Plan& p, const ModelJob& job, const std::string& split) {
  EvalOptions e;
  e.model_path = job.dir + "/checkpoint_last.pt";
  e.device = p.config.train_device;
  e.data_dir = p.workdir + "/data";
  e.split = split;
  e.generation = evaluate_generation(p.config);
  e.output_path = job.dir + "/" + split + ".hyp";
  return e;
}

// What a translation of translation_of() depends on: the trained model and the generation settings
// (the key of the cached valid and test scores beside the checkpoint).
json translation_inputs(const Plan& p, const ModelJob& job) {
  return {{"model", job_hash(p, job)}, {"preset", p.config.generation_preset}, {"max_len_a", p.config.max_len_a}, {"max_len_b", p.config.max_len_b}};
}

// A trained model's BLEU and chrF on the valid split, translated as the evaluate stage translates
// (kept in its folder while the model and the generation settings are unchanged).
json valid_scores(const Plan& p, const ModelJob& job) {
  json inputs = translation_inputs(p, job);
  inputs["hypotheses"] = "valid.hyp";
  const Unit unit{job.dir, hash_of(inputs), "valid-unit.json"};
  if (auto done = cached_unit(unit, /*owns_dir=*/false)) return *done;
  const EvalOptions e = translation_of(p, job, "valid");  // valid.hyp: for the paired comparison with the baseline
  const EvalResult r = run_eval(e, nullptr);
  const json scores = {{"valid_bleu", r.bleu.score}, {"valid_chrf", r.chrf.score}, {"valid_sentences", r.sentences},
                       {"valid_hypotheses", e.output_path}};
  complete_unit(unit, scores);
  return scores;
}

// The chosen model of one target and budget, selected among `finalists` (the search's, best first,
// then the baseline) after their identical training, on the valid split (the test split stays
// unseen until the evaluate stage), by final.select:
// - valid_bleu: the best valid BLEU, then chrF, an earlier one on a tie;
// - beats_baseline: the baseline, unless the best finalist by valid BLEU beats it beyond noise
//   (paired bootstrap on the valid hypotheses, p < 0.05): between models this close a valid BLEU
//   lead of a tenth of a point said nothing of the test split (a demo run: valid +0.10, test
//   -0.62; docs/PIPELINE.md), and the homogeneous design is the safer model to ship when nothing says
//   the search's is better;
// - search: the search's first, as HAT.
// Written to final/[<target>/]<budget>/selection.json.
json select_chosen(const Plan& p, const std::vector<ModelJob>& finalists, const Log& log) {
  const std::string& rule = p.config.final_select;
  json candidates = json::array();
  std::size_t best = 0;  // the best by valid BLEU, then chrF
  std::optional<std::size_t> baseline;
  std::pair<double, double> best_score{-1, -1};
  for (std::size_t i = 0; i < finalists.size(); ++i) {
    const ModelJob& job = finalists[i];
    json c = {{"name", job.name()}, {"config", job.config_path}, {"model", job.dir + "/checkpoint_last.pt"}};
    if (job.role == "baseline") baseline = i;
    if (rule != "search") {
      const json v = valid_scores(p, job);
      for (const auto& [k, value] : v.items()) c[k] = value;
      log(job.label() + ": valid BLEU " + format_fixed(v.at("valid_bleu").get<double>(), 2) + ", chrF " + format_fixed(v.at("valid_chrf").get<double>(), 2));
      const std::pair<double, double> score{v.at("valid_bleu").get<double>(), v.at("valid_chrf").get<double>()};
      // beats_baseline: the best *finalist* challenges the baseline.
      if ((rule == "valid_bleu" || job.role != "baseline") && score > best_score) best = i, best_score = score;
    }
    candidates.push_back(c);
  }
  std::size_t chosen_index = best;
  json challenge = nullptr;
  if (rule == "beats_baseline" && baseline && best != *baseline) {
    challenge = compare_hypotheses(candidates[best].at("valid_hypotheses").get<std::string>(),
                                   candidates[*baseline].at("valid_hypotheses").get<std::string>(),
                                   raw_target_path(p.workdir + "/data", "valid"));
    challenge["finalist"] = finalists[best].name();
    const bool ahead = challenge.at("verdict") == "ahead";
    if (!ahead) chosen_index = *baseline;
    log(finalists[best].name() + " vs the baseline on the valid split: " + format_fixed(challenge.at("bleu_delta").get<double>(), 2) +
        " BLEU, p = " + format_fixed(challenge.at("p_value").get<double>(), 3) + (ahead ? ": ahead" : ": not ahead beyond noise; the baseline stays"));
  }
  const ModelJob& chosen = finalists.at(chosen_index);
  json entry = {{"role", "chosen"}, {"target", chosen.target}, {"budget", chosen.budget}, {"config", chosen.config_path},
                {"model", chosen.dir + "/checkpoint_last.pt"}, {"selected", chosen.name()}, {"select", rule},
                {"finalists", candidates}, {"challenge", challenge}};
  log("chosen (" + chosen.budget + "): " + chosen.name());
  write_file_atomically(fs::path(chosen.dir).parent_path().string() + "/selection.json", entry.dump(2) + "\n");
  return entry;
}

json stage_final(const Plan& p, const Log& log, bool* interrupted) {
  json out = json::array();
  const std::vector<ModelJob> jobs = model_jobs(p);
  for (const auto& job : jobs) {
    const Unit unit{job.dir, job_hash(p, job)};
    const json entry = {{"role", job.role}, {"rank", job.rank}, {"target", job.target}, {"budget", job.budget},
                        {"config", job.config_path}, {"model", job.dir + "/checkpoint_last.pt"}};
    if (cached_unit(unit)) {
      log("the " + job.label() + " model: trained already with the same inputs");
      out.push_back(entry);
      continue;
    }
    log("training the " + job.label() + " model (" + p.config.final_mode + ", " + std::to_string(p.config.final_train.updates) + " updates)");
    TrainCommandOptions o;
    o.data_dir = p.workdir + "/data";
    o.space_path = p.space_path;
    o.config_path = job.config_path;
    if (p.config.final_mode == "finetune") o.init_from = p.workdir + "/super/checkpoint_last.pt";
    o.save_dir = job.dir;
    o.train = train_options(p, p.config.final_train);
    if (!train(o, log)) {
      *interrupted = true;
      return out;
    }
    complete_unit(unit, entry);
    out.push_back(entry);
  }
  // One chosen model per target and budget whose search found one: its finalists and baseline.
  for (const auto& job : jobs) {
    if (job.role != "finalist" || job.rank != 1) continue;
    std::vector<ModelJob> finalists;
    for (const auto& other : jobs) {
      if (other.role != "largest" && other.target == job.target && other.budget == job.budget && (other.role == "finalist" || p.config.final_select != "search")) {
        finalists.push_back(other);  // in jobs' order: the finalists by rank, then the baseline
      }
    }
    out.push_back(select_chosen(p, finalists, log));
  }
  return out;
}

// The chosen models, as the final stage selected them.
std::vector<json> chosen_models(const Plan& p) {
  std::vector<json> chosen;
  const json record = read_json_file(record_path(p, "final"));  // alive for the loop (a temporary's member would dangle)
  for (const auto& e : record.at("outputs")) {
    if (e.at("role") == "chosen") chosen.push_back(e);
  }
  return chosen;
}

json stage_evaluate(const Plan& p, const Log& log) {
  json out = json::array();
  int cooldowns_left = 2;
  const auto manifest = load_prepared_manifest(p.workdir + "/data");
  const int vocab = manifest.at("vocab_size").get<int>();
  for (const auto& job : model_jobs(p)) {
    const std::string model = job.dir + "/checkpoint_last.pt";
    const SubConfig config = load_config_file(job.config_path, p.space.qkv_dim > 0 ? p.space.qkv_dim : kHatQkvDim).config;
    // BLEU once per model (the largest serves every target); latency and memory on each target it is compared on.
    const Unit unit{job.dir, hash_of(translation_inputs(p, job)), "evaluation-unit.json"};
    json scores;
    if (auto done = cached_unit(unit, /*owns_dir=*/false)) {
      scores = *done;
    } else {
      const EvalOptions e = translation_of(p, job, "test");
      const auto eval_start = Clock::now();
      const EvalResult r = run_eval(e, nullptr);
      const double eval_seconds = std::chrono::duration<double>(Clock::now() - eval_start).count();
      scores = {{"bleu", r.bleu.score},
                {"chrf", r.chrf.score},
                {"bleu_signature", r.bleu_signature},
                // End to end: loading, sentencepiece, beam bookkeeping, detokenisation, scoring.
                {"sentences_per_second_end_to_end", eval_seconds > 0 ? static_cast<double>(r.sentences) / eval_seconds : 0.0},
                {"sentences_per_second_decoding", r.decode_seconds > 0 ? static_cast<double>(r.sentences) / r.decode_seconds : 0.0},
                {"test_sentences", r.sentences}};
      // The test split's perplexity beside BLEU: at the demo's few minutes of training BLEU moves
      // with a handful of degenerate outputs, while the loss over every reference token is steadier.
      ValidCommandOptions v;
      v.checkpoint_path = model;
      v.data_dir = p.workdir + "/data";
      v.split = "test";
      v.device = p.config.train_device;
      const json test_loss = run_valid(v).at("results").at(0);
      scores["test_nll_loss"] = test_loss.at("nll_loss");
      scores["test_ppl"] = test_loss.at("ppl");
      complete_unit(unit, scores);
    }
    json per_target = json::array();
    for (const auto& t : p.targets) {
      if (job.role != "largest" && t.spec.name != job.target) continue;
      // Cool-downs only before the models whose fit is claimed (a finalist or the baseline): the
      // largest is measured for comparison, its drift read and reported without waiting (a demo run
      // once spent both of its cool-downs, a minute, before the largest).
      int no_cooldowns = 0;
      const ReferenceCheck reference = settle_target(p, t, job.role == "largest" ? &no_cooldowns : &cooldowns_left, log);
      // Reported side by side: every model's figures are the median of measure.repeats.
      const RepeatedMeasurement taken = measure_on_target(p, t, config, 0, /*always=*/true);
      const Measurement& m = taken.median;
      log(job.label() + (p.targets.size() > 1 ? " on " + t.spec.label() : "") + ": BLEU " + std::to_string(scores["bleu"].get<double>()) +
          ", " + (m.feasible ? std::to_string(m.latency_ms()) + " ms, " + std::to_string(m.peak_memory_mib) + " MiB"
                             : "not measurable: " + m.infeasible_reason));
      json entry = {{"role", job.role},
                    {"rank", job.rank},
                    {"target", t.spec.name},
                    {"budget", job.budget},
                    {"config", config.summary()},
                    {"config_file", job.config_path},
                    {"config_hash", config.hash_hex()},
                    {"model", model}};
      for (const auto& [k, v] : scores.items()) entry[k] = v;
      entry["latency_ms_measured"] = m.feasible ? json(m.latency_ms()) : json(nullptr);
      entry["reference_drift"] = reference.drift;  // how much slower the device read than during its dataset
      // What the fit is judged on (slowdown_factor: as in the search's verification).
      entry["latency_ms_at_dataset_speed"] = m.feasible ? json(m.latency_ms() / slowdown_factor(reference)) : json(nullptr);
      entry["reference_cooldowns"] = reference.cooldowns;
      entry["latency_ms_measurements"] = taken.latencies_ms;
      entry["memory_mb_measured"] = m.feasible ? json(m.peak_memory_mib) : json(nullptr);
      entry["memory_kind"] = m.memory_kind;
      entry["params"] = count_params(config, p.space.hyper, vocab, vocab).total();
      per_target.push_back(entry);
      out.push_back(entry);
    }
    write_file_atomically(job.dir + "/evaluation.json", (job.role == "largest" ? per_target : per_target.at(0)).dump(2) + "\n");
  }
  // The chosen model is one of those just evaluated (a finalist or the baseline): its figures under
  // role "chosen", with how it was selected.
  for (const json& chosen : chosen_models(p)) {
    for (const json& e : json(out)) {
      if (e.at("role") == "largest" || e.at("model") != chosen.at("model") || e.at("target") != chosen.at("target")) continue;
      json entry = e;
      entry["role"] = "chosen";
      for (const char* k : {"selected", "select", "finalists", "challenge"}) entry[k] = chosen.at(k);
      out.push_back(entry);
      break;
    }
  }
  return out;
}

json stage_export(const Plan& p, const Log& log) {
  json out = json::array();
#ifndef THANOS_WITH_ONNX
  (void)p;
  log("this build has no ONNX export (libonnx-dev): nothing exported");
  return out;
#endif
#ifdef THANOS_WITH_ONNX
  for (const json& chosen : chosen_models(p)) {
    const std::string target = chosen.at("target"), budget = chosen.at("budget");
    const std::string base = under(p, "export", target, budget);
    json entry = {{"target", target}, {"budget", budget}};
    for (const bool is_static : {false, true}) {
      ExportCommandOptions o;
      o.checkpoint_path = chosen.at("model").get<std::string>();
      o.out_dir = base + (is_static ? "/static" : "/dynamic");
      if (is_static) o.static_lengths = std::to_string(p.config.static_src_len) + "," + std::to_string(p.config.static_tgt_len);
      const ExportCommandResult r = run_export(o);
      // File names say which graphs are which, also outside their folders.
      for (const auto& [from, to] : {std::pair{r.encoder_path, o.out_dir + (is_static ? "/encoder_static.onnx" : "/encoder_dynamic.onnx")},
                                      {r.decoder_path, o.out_dir + (is_static ? "/decoder_step_static.onnx" : "/decoder_step_dynamic.onnx")}}) {
        fs::copy_file(from, to, fs::copy_options::overwrite_existing);
      }
      entry[is_static ? "static" : "dynamic"] = o.out_dir;
      log("exported " + o.out_dir);
    }
    const bool npu = std::any_of(p.targets.begin(), p.targets.end(), [&](const TargetPlan& t) { return t.spec.name == target && t.spec.is_npu(); });
    if (npu) {
      const std::string script = base + "/convert_rknn.sh";
      write_file_atomically(script, "#!/bin/sh\n# Convert for the RK3588 where rknn-toolkit2 is installed (docs/DEPLOY.md).\nset -e\n"
                                    "python3 tools/rknn/convert.py " + base + "/static --dtype fp16\n");
      entry["rknn_script"] = script;
    }
    out.push_back(entry);
  }
#endif
  return out;
}

}  // namespace

std::string format_plan(const std::vector<StagePlan>& stages) {
  std::string s = "stage        status     estimate   took       budget\n";
  double total = 0, took = 0, budget = 0;
  char line[200];
  for (const auto& st : stages) {
    const bool ran = st.seconds > 0;
    const double est = st.cached ? 0.0 : st.estimated_seconds;
    total += est;
    took += st.seconds;
    budget += st.budget_seconds;
    const double compared = ran ? st.seconds : est;
    std::snprintf(line, sizeof(line), "%-12s %-10s %-10s %-10s %s%s\n", st.name.c_str(), st.cached ? "cached" : ran ? "ran" : "to run",
                  format_duration(est).c_str(), ran ? format_duration(st.seconds).c_str() : "-",
                  st.budget_seconds > 0 ? format_duration(st.budget_seconds).c_str() : "-",
                  st.budget_seconds > 0 && compared > st.budget_seconds ? (ran ? "  (over budget)" : "  (estimate over budget)") : "");
    s += line;
  }
  std::snprintf(line, sizeof(line), "%-12s %-10s %-10s %-10s %s\n", "total", "", format_duration(total).c_str(),
                took > 0 ? format_duration(took).c_str() : "-", budget > 0 ? format_duration(budget).c_str() : "-");
  return s + line;
}

RunResult run_pipeline(const RunOptions& options, const Log& log_in, const std::atomic<bool>* stop) {
  const Log log = log_in ? log_in : [](const std::string&) {};
  Plan p = make_plan(options);
  const auto& stages = pipeline_stages();
  int from = static_cast<int>(stages.size());
  if (!options.from_stage.empty()) {
    const auto it = std::find(stages.begin(), stages.end(), options.from_stage);
    if (it == stages.end()) {
      std::string names;
      for (const auto& s : stages) names += (names.empty() ? "" : ", ") + s;
      throw std::invalid_argument("--from " + options.from_stage + ": expected one of " + names);
    }
    from = static_cast<int>(it - stages.begin());
  }
  RunResult result;
  // What each stage reads from others: a stage runs again when one of them does.
  static const std::map<std::string, std::vector<std::string>> upstream = {
      {"prepare", {}},         {"super", {"prepare"}}, {"measure", {}},        {"predictors", {"measure"}},
      {"search", {"super", "predictors"}}, {"final", {"search"}}, {"evaluate", {"final"}}, {"export", {"final"}},
      {"report", {"evaluate", "export"}}};
  std::set<std::string> runs;
  for (int i = 0; i < static_cast<int>(stages.size()); ++i) {
    StagePlan sp;
    sp.name = stages[i];
    sp.inputs_hash = p.hashes.at(sp.name);
    const StageRecord rec = read_record(p, sp.name);
    bool upstream_runs = false;
    for (const auto& u : upstream.at(sp.name)) upstream_runs = upstream_runs || runs.count(u);
    sp.cached = rec.exists && rec.inputs_hash == sp.inputs_hash && i < from && !upstream_runs;
    if (!sp.cached) runs.insert(sp.name);
    sp.estimated_seconds = estimate_seconds(p, sp.name);
    const auto b = p.config.stage_budget_minutes.find(sp.name);
    sp.budget_seconds = b == p.config.stage_budget_minutes.end() ? 0 : b->second * 60;
    result.stages.push_back(sp);
  }
  if (options.dry_run) return result;
  const int from_index = from;

  fs::create_directories(p.workdir);
  write_file_atomically(p.workdir + "/config.yml", read_text_file(options.config_path));
  const auto run_start = Clock::now();
  for (std::size_t i = 0; i < result.stages.size(); ++i) {
    StagePlan& sp = result.stages[i];
    const std::string tag = "[" + std::to_string(i + 1) + "/" + std::to_string(result.stages.size()) + " " + sp.name + "] ";
    if (sp.cached) {
      log(tag + "done already with the same inputs (" + sp.inputs_hash + "): skipped");
      continue;
    }
    if (stop && stop->load()) {
      result.interrupted = true;
      result.interrupted_at = sp.name;
      return result;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
    // The whole run's ETA: this stage's and the remaining stages' estimates, scaled by how the
    // stages so far compared with theirs (a slower machine stretches every stage alike).
    double done_estimate = 0, done_seconds = 0, remaining = 0;
    for (std::size_t k = 0; k < result.stages.size(); ++k) {
      const StagePlan& other = result.stages[k];
      if (other.cached) continue;
      if (k < i) done_estimate += other.estimated_seconds, done_seconds += other.seconds;
      else remaining += other.estimated_seconds;
    }
    // Only a few minutes of estimated work say much about the machine (prepare's estimate is a
    // fixed allowance): until then the estimates stand as they are.
    const double pace = done_estimate >= 120 && done_seconds > 0 ? std::clamp(done_seconds / done_estimate, 0.5, 3.0) : 1.0;
    log(tag + "starting (estimate " + format_duration(sp.estimated_seconds) + ", run so far " + format_duration(elapsed) +
        ", run ETA " + format_duration(pace * remaining) + ")");
    const Log stage_log = [&](const std::string& line) { log(tag + line); };
    // Outputs of other inputs (or forced by --from) go; an interrupted run of the same inputs resumes.
    const StageRecord before = read_record(p, sp.name);
    const bool resume = before.started && !before.exists && before.inputs_hash == sp.inputs_hash && static_cast<int>(i) < from_index;
    const auto out_dir = stage_outputs().find(sp.name);
    const bool forced = static_cast<int>(i) >= from_index;
    if (!resume && out_dir != stage_outputs().end() && (forced || !has_units(sp.name))) fs::remove_all(p.workdir + "/" + out_dir->second);
    if (resume) log(tag + "resuming an interrupted run of the same inputs");
    write_record(p, sp.name, 0, json::object(), /*completed=*/false);
    const auto start = Clock::now();
    bool interrupted = false;
    json outputs;
    if (sp.name == "prepare") outputs = stage_prepare(p, stage_log);
    if (sp.name == "super") outputs = stage_super(p, stage_log, &interrupted);
    if (sp.name == "measure") outputs = stage_measure(p, stage_log, stop, &interrupted);
    if (sp.name == "predictors") outputs = stage_predictors(p, stage_log);
    if (sp.name == "search") outputs = stage_search(p, stage_log, stop, &interrupted);
    if (sp.name == "final") outputs = stage_final(p, stage_log, &interrupted);
    if (sp.name == "evaluate") outputs = stage_evaluate(p, stage_log);
    if (sp.name == "export") outputs = stage_export(p, stage_log);
    if (sp.name == "report") outputs = write_run_report(p.workdir, p.config, result.stages);
    sp.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (interrupted || (stop && stop->load())) {
      result.interrupted = true;
      result.interrupted_at = sp.name;
      return result;
    }
    write_record(p, sp.name, sp.seconds, outputs);
    log(tag + "done in " + format_duration(sp.seconds));
  }
  result.summary = read_json_file(p.workdir + "/summary.json");
  return result;
}

}  // namespace thanos
