// The runner of `thanos run`: plans the stages (stage.h, stage_registry()), skips those done with
// the same inputs, runs the rest in order with progress and an ETA, and records each.
#include "thanos/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "plan.h"
#include "stage.h"
#include "stage_record.h"
#include "thanos/commands/measure.h"
#include "thanos/common/text.h"
#include "thanos/hw/host_load.h"
#include "thanos/pipeline/stage_outputs.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The index of --from's stage (the stage count when none); throws naming the stages for another name.
std::size_t from_index(const std::string& from_stage) {
  const auto& stages = stage_registry();
  if (from_stage.empty()) return stages.size();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i]->name() == from_stage) return i;
  }
  std::string names;
  for (const auto& s : stages) names += (names.empty() ? "" : ", ") + s->name();
  throw std::invalid_argument("--from " + from_stage + ": expected one of " + names);
}

// Which stages are cached: done with the same inputs, before --from's, none of their upstream
// stages running.
std::vector<StagePlan> plan_stages(const Plan& p, std::size_t from) {
  std::vector<StagePlan> out;
  std::set<std::string> runs;
  const auto& stages = stage_registry();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const Stage& stage = *stages[i];
    StagePlan sp;
    sp.name = stage.name();
    sp.inputs_hash = p.hashes.at(sp.name);
    const StageRecord rec = read_stage_record(p.dir, sp.name);
    bool upstream_runs = false;
    for (const auto& u : stage.upstream()) upstream_runs = upstream_runs || runs.count(u);
    sp.cached = rec.completed && rec.inputs_hash == sp.inputs_hash && i < from && !upstream_runs;
    if (!sp.cached) runs.insert(sp.name);
    sp.estimated_seconds = stage.estimate_seconds(p);
    const auto b = p.config.stage_budget_minutes.find(sp.name);
    sp.budget_seconds = b == p.config.stage_budget_minutes.end() ? 0 : b->second * 60;
    out.push_back(sp);
  }
  return out;
}

// The whole run's ETA: this stage's and the remaining stages' estimates, scaled by how the stages
// so far compared with theirs (a slower machine stretches every stage alike). Only a few minutes
// of estimated work say much about the machine (prepare's estimate is a fixed allowance): until
// then the estimates stand as they are.
double run_eta_seconds(const std::vector<StagePlan>& stages, std::size_t current) {
  double done_estimate = 0, done_seconds = 0, remaining = 0;
  for (std::size_t k = 0; k < stages.size(); ++k) {
    if (stages[k].cached) continue;
    if (k < current) done_estimate += stages[k].estimated_seconds, done_seconds += stages[k].seconds;
    else remaining += stages[k].estimated_seconds;
  }
  const double pace = done_estimate >= 120 && done_seconds > 0 ? std::clamp(done_seconds / done_estimate, 0.5, 3.0) : 1.0;
  return pace * remaining;
}

// A busy machine ruins measurements silently (hw/host_load.h): the stages that measure on a local
// target refuse to start on one unless allowed, and the training stages say that they will be slow.
bool measures(const std::string& stage) { return stage == "measure" || stage == "search" || stage == "evaluate"; }

void check_load_before_stage(const Plan& p, const std::string& stage, bool allow_busy, const Log& log) {
  if (measures(stage)) {
    for (const auto& t : p.targets) {
      const std::string what = "the " + stage + " stage's measurements" + (t.spec.name.empty() ? "" : " on " + t.spec.label());
      try {
        const std::string warning = check_measuring_load(t.spec.device, t.threads, allow_busy, what);
        if (!warning.empty()) log(warning);
      } catch (const BusyMachine& e) {
        throw BusyMachine(std::string(e.what()) + ". What is done is kept: the same command resumes here.");
      }
    }
  } else if (stage == "super" || stage == "final") {
    const HostLoad load = read_host_load();
    if (load.oversubscribed(p.threads)) {
      log("warning: training on a busy machine (" + load.describe(p.threads) + "): it will take longer than estimated");
    }
  }
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
  const std::size_t from = from_index(options.from_stage);
  RunResult result;
  result.stages = plan_stages(p, from);
  if (options.dry_run) return result;

  fs::create_directories(p.dir.root());
  write_file_atomically(p.dir.config_copy(), read_text_file(options.config_path));
  const auto run_start = Clock::now();
  const auto& stages = stage_registry();
  // A run that will measure on a busy machine is refused before its first stage rather than after
  // minutes of training; each measuring stage checks again as it starts.
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (!result.stages[i].cached && measures(result.stages[i].name)) {
      check_load_before_stage(p, result.stages[i].name, options.allow_busy, [](const std::string&) {});
      break;
    }
  }
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const Stage& stage = *stages[i];
    StagePlan& sp = result.stages[i];
    const std::string tag = "[" + std::to_string(i + 1) + "/" + std::to_string(stages.size()) + " " + sp.name + "] ";
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
    log(tag + "starting (estimate " + format_duration(sp.estimated_seconds) + ", run so far " + format_duration(elapsed) +
        ", run ETA " + format_duration(run_eta_seconds(result.stages, i)) + ")");
    // What the stages before this one wrote can change its inputs (the prepared vocabulary).
    hash_stages(p);
    sp.inputs_hash = p.hashes.at(sp.name);
    const Log stage_log = [&](const std::string& line) { log(tag + line); };
    // Outputs of other inputs (or forced by --from) go; an interrupted run of the same inputs resumes.
    const StageRecord before = read_stage_record(p.dir, sp.name);
    const bool forced = i >= from;
    const bool resume = before.started && !before.completed && before.inputs_hash == sp.inputs_hash && !forced;
    if (!resume && !stage.output_area().empty() && (forced || !stage.has_units())) fs::remove_all(p.dir.area(stage.output_area()));
    if (resume) log(tag + "resuming an interrupted run of the same inputs");
    write_stage_record(p.dir, sp.name, sp.inputs_hash, 0, nlohmann::ordered_json::object(), /*completed=*/false);
    const auto start = Clock::now();
    check_load_before_stage(p, sp.name, options.allow_busy, stage_log);
    const StageRun run = stage.run({p, stage_log, stop, result.stages});
    sp.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (run.interrupted || (stop && stop->load())) {
      result.interrupted = true;
      result.interrupted_at = sp.name;
      return result;
    }
    write_stage_record(p.dir, sp.name, sp.inputs_hash, sp.seconds, run.outputs, /*completed=*/true);
    log(tag + "done in " + format_duration(sp.seconds));
  }
  result.summary = read_run_summary(p.dir.summary());
  return result;
}

}  // namespace thanos
