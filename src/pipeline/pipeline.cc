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

#include "thanos/commands/eval.h"
#ifdef THANOS_WITH_ONNX  // set by cmake/export.cmake when Debian's libonnx-dev was found
#include "thanos/commands/export.h"
#endif
#include "thanos/commands/fit_predictor.h"
#include "thanos/commands/measure.h"
#include "thanos/commands/prepare.h"
#include "thanos/commands/search.h"
#include "thanos/commands/train.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_protocol.h"
#include "thanos/model/cost_model.h"
#include "thanos/pipeline/baseline.h"
#include "thanos/pipeline/budgets.h"
#include "thanos/pipeline/report.h"
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
          {"schedule", t.schedule}};
}

// Everything the run needs resolved once: paths, the space, the protocol.
struct Plan {
  RunConfig config;
  RunOptions options;
  std::string workdir, corpus_dir, space_path;
  SearchSpace space;
  LatencyProtocol protocol;
  int threads = 1;
  std::map<std::string, std::string> hashes;  // stage -> inputs hash
};

std::string corpus_prefix(const Plan& p, const std::string& prefix) { return (fs::path(p.corpus_dir) / prefix).string(); }

std::string corpus_file(const Plan& p, const std::string& prefix, const std::string& lang) {
  const std::string base = corpus_prefix(p, prefix) + "." + lang;
  return fs::exists(base) ? base : base + ".gz";
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
  p.protocol = latency_protocol_preset(c.protocol);
  p.protocol.dtype = c.dtype;
  p.protocol.vocab_size = c.vocab_size;
  p.threads = c.threads > 0 ? c.threads : static_cast<int>(torch::get_num_threads());

  // Stage hashes: each stage's own settings and its upstream stage's hash.
  auto h = [](const json& j) { return hex64(fnv1a64(j.dump())); };
  json corpus = {{"dir", p.corpus_dir}, {"vocab_size", c.vocab_size}, {"langs", {c.src_lang, c.tgt_lang}}};
  for (const auto& prefix : {c.train_prefix, c.valid_prefix, c.test_prefix}) {
    for (const auto& lang : {c.src_lang, c.tgt_lang}) corpus["files"].push_back(file_stamp(corpus_file(p, prefix, lang)));
  }
  p.hashes["prepare"] = h(corpus);
  p.hashes["super"] = h({{"up", p.hashes["prepare"]}, {"space", read_text_file(p.space_path)}, {"train", train_json(c.super)},
                         {"seed", c.seed}, {"threads", p.threads}});
  p.hashes["measure"] = h({{"space", read_text_file(p.space_path)}, {"device", c.device}, {"backend", c.backend},
                           {"protocol", p.protocol.canonical()}, {"samples", c.measure_samples}, {"seed", c.seed},
                           {"threads", p.threads}});
  p.hashes["predictors"] = h({{"up", p.hashes["measure"]}});
  json budgets = json::array();
  for (const auto& b : c.budgets) budgets.push_back({b.name, b.latency.text, b.memory.text});
  json settings = json::object();
  for (const auto& [k, v] : c.strategy_settings) settings[k] = v;
  p.hashes["search"] = h({{"super", p.hashes["super"]}, {"predictors", p.hashes["predictors"]}, {"budgets", budgets},
                          {"strategy", c.strategy}, {"settings", settings}, {"subset", c.valid_subset}, {"top_k", c.top_k}, {"margin", c.search_margin},
                          {"seed", c.seed}});
  p.hashes["final"] = h({{"up", p.hashes["search"]}, {"mode", c.final_mode}, {"train", train_json(c.final_train)}});
  p.hashes["evaluate"] = h({{"up", p.hashes["final"]}, {"preset", c.generation_preset}, {"max_len_b", c.max_len_b}});
  p.hashes["export"] = h({{"up", p.hashes["final"]}, {"static", {c.static_src_len, c.static_tgt_len}}});
  p.hashes["report"] = h({{"up", p.hashes["evaluate"]}, {"export", p.hashes["export"]}});
  return p;
}

// Rough costs on this kind of machine (docs/PIPELINE.md says how they were calibrated): training
// ~1700 target+source tokens/s per thread on the demo space, a measurement ~1 s per protocol repeat
// set plus a worker start, scoring ~400 valid sentences/s, decoding ~150 test sentences/s.
double estimate_seconds(const Plan& p, const std::string& stage) {
  const RunConfig& c = p.config;
  const double tokens_per_second = 1700.0 * std::min(p.threads, 8);
  auto train_s = [&](const TrainStageSettings& t) {
    return static_cast<double>(t.updates) * t.max_tokens * t.update_freq / tokens_per_second;
  };
  const double per_measurement = 1.0 + (p.protocol.warmups + p.protocol.repeats) * 0.002 * p.protocol.tgt_len;
  const double budgets = static_cast<double>(c.budgets.size());
  if (stage == "prepare") return 30;
  if (stage == "super") return train_s(c.super);
  if (stage == "measure") return (c.measure_samples + 4) * per_measurement;
  if (stage == "predictors") return 3;
  if (stage == "search") {
    const double pop = c.strategy_settings.count("population") ? c.strategy_settings.at("population") : 125;
    const double it = c.strategy_settings.count("iterations") ? c.strategy_settings.at("iterations") : 30;
    const double subset = c.valid_subset > 0 ? c.valid_subset : 1000;
    return budgets * (pop * it * subset / 4000.0 + (c.top_k + 4) * per_measurement);
  }
  if (stage == "final") return (1 + 2 * budgets) * train_s(c.final_train);
  if (stage == "evaluate") return (1 + 2 * budgets) * (1000.0 / 150.0 + per_measurement);
  if (stage == "export") return budgets * 5;
  return 2;
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
  o.seed = p.config.seed;
  o.log_every = std::max<int64_t>(1, t.updates / 20);
  o.save_every = std::max<int64_t>(1, t.updates / 4);  // resumable within the stage
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

MeasureOptions measure_options(const Plan& p) {
  MeasureOptions o;
  o.device = p.config.device;
  o.token_file = p.config.token_file;
  o.remote_backend = p.config.backend;
  o.job.protocol = p.protocol;
  o.job.run.threads = p.threads;
  return o;
}

json stage_measure(const Plan& p, const Log& log, const std::atomic<bool>* stop, bool* interrupted) {
  MeasureOptions o = measure_options(p);
  o.space_path = p.space_path;
  o.out_path = p.workdir + "/measure/latency.csv";
  o.job.samples = p.config.measure_samples;
  o.job.seed = p.config.seed;
  fs::create_directories(p.workdir + "/measure");
  const MeasureSummary s = run_measure(o, log, stop);
  *interrupted = s.interrupted;
  return {{"dataset", o.out_path}, {"summary", measure_summary_json(s, o)}};
}

json stage_predictors(const Plan& p, const Log& log) {
  json out;
  fs::create_directories(p.workdir + "/predictors");
  for (const std::string target : {"latency", "memory"}) {
    FitPredictorOptions o;
    o.data_path = p.workdir + "/measure/latency.csv";
    o.format = "thanos";
    o.target = target;
    o.out_path = p.workdir + "/predictors/" + target + ".json";
    o.seed = p.config.seed;
    const FitPredictorReport r = run_fit_predictor(o);
    log(target + " predictor: " + r.json.dump());
    out[target] = {{"file", o.out_path}, {"test", r.json}};
  }
  return out;
}

// Measures `config` on the target (random weights: the architecture is what is measured).
Measurement measure_on_target(const Plan& p, const SubConfig& config, const std::string& path) {
  write_file_atomically(path, config_to_yaml(config));
  MeasureOptions o = measure_options(p);
  o.config_path = path;
  o.space_path = p.space_path;
  return run_measure_one(o);
}

json measurement_json(const Measurement& m) {
  return {{"feasible", m.feasible}, {"reason", m.infeasible_reason}, {"latency_ms", m.feasible ? json(m.latency_ms()) : json(nullptr)},
          {"memory_mib", m.feasible ? json(m.peak_memory_mib) : json(nullptr)}, {"memory_kind", m.memory_kind}};
}

// HAT's baseline under `b`: the homogeneous member with the largest measured latency that fits.
// Candidates predicted to fit (with 25% slack) are measured from the slowest predicted down; the
// first few that fit are compared by measured latency.
json choose_baseline(const Plan& p, const ResolvedBudgets& b, const std::string& dir, const Log& log) {
  const Predictor lat = load_predictor(p.workdir + "/predictors/latency.json");
  const Predictor mem = load_predictor(p.workdir + "/predictors/memory.json");
  std::vector<std::pair<double, SubConfig>> ranked;
  for (const auto& c : homogeneous_members(p.space)) {
    const double l = lat.predict(c).value, m = mem.predict(c).value;
    if (l <= 1.25 * b.latency_ms && m <= 1.25 * b.memory_mib) ranked.emplace_back(l, c);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
  json tried = json::array();
  std::optional<std::pair<Measurement, SubConfig>> best;
  int fitting = 0;
  for (std::size_t i = 0; i < ranked.size() && fitting < 3 && tried.size() < 8; ++i) {
    const Measurement m = measure_on_target(p, ranked[i].second, dir + "/baseline_candidate.yml");
    const bool fits = m.feasible && m.latency_ms() <= b.latency_ms && m.peak_memory_mib <= b.memory_mib;
    tried.push_back({{"config", ranked[i].second.summary()}, {"predicted_latency_ms", ranked[i].first}, {"fits", fits},
                     {"measurement", measurement_json(m)}});
    if (!fits) continue;
    ++fitting;
    if (!best || m.latency_ms() > best->first.latency_ms()) best = std::make_pair(m, ranked[i].second);
  }
  fs::remove(dir + "/baseline_candidate.yml");
  if (!best) {
    log("no homogeneous Transformer of the space fits budget " + b.name + " (" + std::to_string(ranked.size()) + " predicted to)");
    return {{"found", false}, {"tried", tried}};
  }
  write_file_atomically(dir + "/baseline.yml", config_to_yaml(best->second));
  return {{"found", true}, {"config", dir + "/baseline.yml"}, {"measurement", measurement_json(best->first)}, {"tried", tried}};
}

json stage_search(const Plan& p, const Log& log) {
  const auto points = read_measured_points(p.workdir + "/measure/latency.csv");
  json out = json::array();
  for (const auto& pair : p.config.budgets) {
    const ResolvedBudgets b = resolve_budgets(pair, points);
    const std::string dir = p.workdir + "/search/" + pair.name;
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
    o.budgets.latency_ms = b.latency_ms;
    o.budgets.memory_mb = b.memory_mib;
    o.latency_predictor_path = p.workdir + "/predictors/latency.json";
    o.memory_predictor_path = p.workdir + "/predictors/memory.json";
    o.protocol = p.protocol;
    o.fitness.subset = static_cast<std::size_t>(p.config.valid_subset);
    o.verify_device = p.config.device;
    o.verify_backend = p.config.backend;
    o.token_file = p.config.token_file;
    o.target_threads = 0;
    o.top_k = p.config.top_k;
    o.out_dir = dir;
    o.budgets.margin_errors = p.config.search_margin;
    SearchReport r;
    std::string nothing_fits;
    try {
      r = run_search(o, log);
    } catch (const NothingFits& e) {
      nothing_fits = e.what();  // no model for this budget; the others go on (exit code 3 at the end)
      log("budget " + pair.name + ": " + nothing_fits);
    }
    json entry = {{"name", pair.name},
                  {"budget", {{"latency_ms", std::isfinite(b.latency_ms) ? json(b.latency_ms) : json(nullptr)},
                              {"memory_mb", std::isfinite(b.memory_mib) ? json(b.memory_mib) : json(nullptr)},
                              {"latency_spec", b.latency_text}, {"memory_spec", b.memory_text}}},
                  {"feasible_fraction", b.feasible_fraction},
                  {"found", r.found},
                  {"nothing_fits", nothing_fits},
                  {"search", dir + "/search.json"}};
    entry["baseline"] = choose_baseline(p, b, dir, log);
    out.push_back(entry);
  }
  return out;
}

// The models each budget compares: chosen and baseline per budget, the largest once.
struct ModelJob {
  std::string role, budget, config_path, dir;
};

std::vector<ModelJob> model_jobs(const Plan& p) {
  std::vector<ModelJob> jobs;
  const json search = read_json_file(record_path(p, "search")).at("outputs");
  fs::create_directories(p.workdir + "/final");
  const std::string largest = p.workdir + "/final/largest.yml";
  if (!fs::exists(largest)) write_file_atomically(largest, config_to_yaml(p.space.largest()));
  jobs.push_back({"largest", "", largest, p.workdir + "/final/largest"});
  for (const auto& s : search) {
    const std::string name = s.at("name").get<std::string>();
    if (s.at("found").get<bool>()) {
      jobs.push_back({"chosen", name, p.workdir + "/search/" + name + "/best.yml", p.workdir + "/final/" + name + "/chosen"});
    }
    if (s.at("baseline").at("found").get<bool>()) {
      jobs.push_back({"baseline", name, s.at("baseline").at("config").get<std::string>(), p.workdir + "/final/" + name + "/baseline"});
    }
  }
  return jobs;
}

json stage_final(const Plan& p, const Log& log, bool* interrupted) {
  json out = json::array();
  for (const auto& job : model_jobs(p)) {
    log("training the " + job.role + (job.budget.empty() ? "" : " model of budget " + job.budget) + " (" + p.config.final_mode + ", " +
        std::to_string(p.config.final_train.updates) + " updates)");
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
    out.push_back({{"role", job.role}, {"budget", job.budget}, {"config", job.config_path}, {"model", job.dir + "/checkpoint_last.pt"}});
  }
  return out;
}

json stage_evaluate(const Plan& p, const Log& log) {
  json out = json::array();
  const auto manifest = load_prepared_manifest(p.workdir + "/data");
  const int vocab = manifest.at("vocab_size").get<int>();
  for (const auto& job : model_jobs(p)) {
    const std::string model = job.dir + "/checkpoint_last.pt";
    EvalOptions e;
    e.model_path = model;
    e.data_dir = p.workdir + "/data";
    e.generation = generation_preset(p.config.generation_preset);
    e.generation.max_len_b = p.config.max_len_b;
    e.output_path = job.dir + "/test.hyp";
    const auto eval_start = Clock::now();
    const EvalResult r = run_eval(e, nullptr);
    const double eval_seconds = std::chrono::duration<double>(Clock::now() - eval_start).count();
    const SubConfig config = load_config_file(job.config_path, p.space.qkv_dim > 0 ? p.space.qkv_dim : kHatQkvDim).config;
    const Measurement m = measure_on_target(p, config, job.dir + "/measured.yml");
    log(job.role + (job.budget.empty() ? "" : " (" + job.budget + ")") + ": BLEU " + std::to_string(r.bleu.score) + ", " +
        (m.feasible ? std::to_string(m.latency_ms()) + " ms, " + std::to_string(m.peak_memory_mib) + " MiB" : "not measurable: " + m.infeasible_reason));
    json entry = {{"role", job.role},
                  {"budget", job.budget},
                  {"config", config.summary()},
                  {"config_file", job.config_path},
                  {"config_hash", config.hash_hex()},
                  {"model", model},
                  {"bleu", r.bleu.score},
                  {"chrf", r.chrf.score},
                  {"bleu_signature", r.bleu_signature},
                  {"latency_ms_measured", m.feasible ? json(m.latency_ms()) : json(nullptr)},
                  {"memory_mb_measured", m.feasible ? json(m.peak_memory_mib) : json(nullptr)},
                  {"memory_kind", m.memory_kind},
                  {"params", count_params(config, p.space.hyper, vocab, vocab).total()},
                  // End to end: loading, sentencepiece, beam bookkeeping, detokenisation, scoring.
                  {"sentences_per_second_end_to_end", eval_seconds > 0 ? static_cast<double>(r.sentences) / eval_seconds : 0.0},
                  {"sentences_per_second_decoding", r.decode_seconds > 0 ? static_cast<double>(r.sentences) / r.decode_seconds : 0.0},
                  {"test_sentences", r.sentences}};
    write_file_atomically(job.dir + "/evaluation.json", entry.dump(2) + "\n");
    out.push_back(entry);
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
  for (const auto& job : model_jobs(p)) {
    if (job.role != "chosen") continue;
    const std::string base = p.workdir + "/export/" + job.budget;
    json entry = {{"budget", job.budget}};
    for (const bool is_static : {false, true}) {
      ExportCommandOptions o;
      o.checkpoint_path = job.dir + "/checkpoint_last.pt";
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
    if (p.config.backend == "rknn" || p.config.device == "rknn") {
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
    log(tag + "starting (estimate " + format_duration(sp.estimated_seconds) + ", run so far " + format_duration(elapsed) + ")");
    const Log stage_log = [&](const std::string& line) { log(tag + line); };
    // Outputs of other inputs (or forced by --from) go; an interrupted run of the same inputs resumes.
    const StageRecord before = read_record(p, sp.name);
    const bool resume = before.started && !before.exists && before.inputs_hash == sp.inputs_hash && static_cast<int>(i) < from_index;
    const auto out_dir = stage_outputs().find(sp.name);
    if (!resume && out_dir != stage_outputs().end()) fs::remove_all(p.workdir + "/" + out_dir->second);
    if (resume) log(tag + "resuming an interrupted run of the same inputs");
    write_record(p, sp.name, 0, json::object(), /*completed=*/false);
    const auto start = Clock::now();
    bool interrupted = false;
    json outputs;
    if (sp.name == "prepare") outputs = stage_prepare(p, stage_log);
    if (sp.name == "super") outputs = stage_super(p, stage_log, &interrupted);
    if (sp.name == "measure") outputs = stage_measure(p, stage_log, stop, &interrupted);
    if (sp.name == "predictors") outputs = stage_predictors(p, stage_log);
    if (sp.name == "search") outputs = stage_search(p, stage_log);
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
