#include "thanos/hw/dataset_builder.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "thanos/common/text.h"
#include "thanos/hw/drift_reference.h"
#include "thanos/hw/target_device.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/model/cost_model.h"
#include "thanos/space/sampler.h"

namespace thanos {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Everything the builder's threads share.
struct Shared {
  Shared(const MeasureJob& j, std::vector<SubConfig> t, DatasetAppender& a, const std::function<void(const std::string&)>& l,
         const std::atomic<bool>* s)
      : job(j), todo(std::move(t)), appender(a), log(l), stop(s) {}
  const MeasureJob& job;
  std::vector<SubConfig> todo;
  std::size_t next = 0;
  std::vector<SubConfig> returned;  // taken by a backend that failed; another one measures them
  DatasetAppender& appender;
  const std::function<void(const std::string&)>& log;
  const std::atomic<bool>* stop;
  std::mutex mu;
  MeasureSummary summary;
  Clock::time_point start = Clock::now();
  int rows_done = 0;
  std::vector<double> memory_errors;  // |estimate - measured| / measured
  std::vector<double> reference_cvs;  // per backend
  std::vector<double> reference_means;

  bool stopping() const { return stop && stop->load(); }

  bool take(SubConfig& out) {
    std::lock_guard<std::mutex> lock(mu);
    if (!returned.empty()) {
      out = returned.back();
      returned.pop_back();
      return true;
    }
    if (next >= todo.size()) return false;
    out = todo[next++];
    return true;
  }
};

DatasetRow make_row(const MeasureJob& job, const SubConfig& config, const Measurement& m) {
  DatasetRow row;
  row.config = config;
  row.measurement = m;
  const auto& p = job.protocol;
  InferenceShape shape;
  shape.src_len = p.src_len;
  shape.tgt_len = p.tgt_len;
  shape.beam = p.beam;
  shape.vocab_size = p.vocab_size;
  shape.bytes_per_value = p.dtype == "float32" ? 4 : 2;
  row.analytic_memory_mib = estimate_inference_memory(config, job.space.hyper, shape).total_mib();
  const auto params = count_params(config, job.space.hyper, p.vocab_size, p.vocab_size);
  row.params = params.total();
  row.params_no_embed = params.no_embed();
  row.flops = count_flops(config, job.space.hyper, p.src_len, p.tgt_len).total();
  row.protocol_hash = p.hash_hex();
  row.measured_at = utc_timestamp();
  return row;
}

// One backend's loop: its own reference baseline, drift checks and window of recent rows.
void run_backend(Shared& s, Backend& backend) {
  const MeasureJob& job = s.job;
  MeasureRequest request;
  request.hyper = job.space.hyper;
  request.protocol = job.protocol;
  request.run = job.run;
  const SubConfig reference = job.reference.value_or(job.space.smallest());
  std::vector<double> reference_ms;

  auto measure_reference = [&]() {
    request.config = reference;
    const Measurement m = backend.measure(request);
    if (!m.feasible) {
      throw std::runtime_error(backend.name() + ": the reference SubTransformer cannot be measured: " + m.infeasible_reason);
    }
    reference_ms.push_back(m.latency_ms());
    return m.latency_ms();
  };
  const double baseline = measure_reference();
  double reference_now = baseline;
  auto drift_of = [&](double ms) { return (ms - baseline) / baseline; };
  bool out_of_tolerance = false;

  auto write = [&](const SubConfig& config, const Measurement& m, bool remeasured) {
    DatasetRow row = make_row(job, config, m);
    row.reference_latency_ms = reference_now;
    row.drift = drift_of(reference_now);
    row.drift_flag = out_of_tolerance;
    row.remeasured = remeasured;
    std::lock_guard<std::mutex> lock(s.mu);
    s.appender.append(row);
    auto& sum = s.summary;
    ++sum.measured;
    ++s.rows_done;
    if (!m.feasible) ++sum.infeasible;
    if (remeasured) ++sum.remeasured;
    if (row.drift_flag) ++sum.flagged;
    if (m.feasible && m.peak_memory_mib > 0) {
      s.memory_errors.push_back(std::abs(row.analytic_memory_mib - m.peak_memory_mib) / m.peak_memory_mib);
    }
    const double elapsed = seconds_since(s.start);
    const int total = static_cast<int>(s.todo.size());
    const int done = std::min(s.rows_done, total);
    const double rate = s.rows_done / std::max(elapsed, 1e-9);
    std::ostringstream line;
    line << "measure: [" << done << "/" << total << "] " << config.hash_hex() << " on " << (m.backend.empty() ? backend.name() : m.backend) << ": ";
    if (m.feasible) {
      line << "enc " << format_fixed(m.encoder_mean_ms, 2) << " ms, dec " << format_fixed(m.decoder_mean_ms, 2) << " ms, peak "
           << format_fixed(m.peak_memory_mib, 1) << " MiB (estimate " << format_fixed(row.analytic_memory_mib, 1) << ")";
    } else {
      line << "infeasible: " << m.infeasible_reason;
    }
    if (remeasured) line << " [re-measured]";
    if (row.drift_flag) line << " [drift " << format_fixed(100 * row.drift, 1) << "%]";
    line << " | " << format_fixed(rate * 60, 1) << " rows/min, ETA " << format_duration((total - done) / std::max(rate, 1e-9));
    s.log(line.str());
  };

  // Sleeps in short slices so that Ctrl-C is not held up by a cool-down.
  auto interruptible_sleep = [&](double seconds) {
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until && !s.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };

  // Slower than the baseline: a disturbance (a neighbour's burst, heat) that a cool-down lets pass.
  // Faster: cooling cannot slow a device down, so the reference is read again at once. A shared
  // VM reads both ways: in one demo run the reference read 12.6 ms at the start, 9.0 ms at its first
  // check and 13.5 ms after three 30 s cool-downs (1.5 of its 15 minutes spent waiting).
  auto pause_text = [&](double drift) {
    return drift > 0 ? "cooling down " + format_fixed(job.cooldown_s, 0) + " s" : std::string("reading it again at once (faster: no cool-down)");
  };
  auto pause_for = [&](double drift) {
    if (drift > 0) interruptible_sleep(job.cooldown_s);
  };

  std::vector<SubConfig> window;  // rows since the last good reference check
  int since_check = 0;
  SubConfig config;
  while (!s.stopping() && s.take(config)) {
    request.config = config;
    Measurement m;
    try {
      m = backend.measure(request);
    } catch (...) {
      std::lock_guard<std::mutex> lock(s.mu);
      s.returned.push_back(config);
      throw;
    }
    if (s.stopping()) break;  // the row in flight is dropped: its worker may have been hit by Ctrl-C
    write(config, m, false);
    window.push_back(config);
    if (++since_check < job.reference_every) continue;
    since_check = 0;
    reference_now = measure_reference();
    double drift = drift_of(reference_now);
    if (std::abs(drift) <= job.drift_tolerance) {
      out_of_tolerance = false;
      window.clear();
      continue;
    }
    // The reference moved beyond the tolerance since the last check: wait for the device to
    // recover, then re-measure the rows of this window (they may have been taken slow or fast).
    for (int k = 0; std::abs(drift) > job.drift_tolerance && k < job.max_cooldowns && !s.stopping(); ++k) {
      s.log("measure: " + backend.name() + ": reference " + format_fixed(reference_now, 2) + " ms drifted " +
            format_fixed(100 * drift, 1) + "% from " + format_fixed(baseline, 2) + " ms (tolerance " + format_fixed(100 * job.drift_tolerance, 0) +
            "%); " + pause_text(drift));
      pause_for(drift);
      if (s.stopping()) break;
      const double before = reference_now;
      reference_now = measure_reference();
      drift = drift_of(reference_now);
      if (drift > job.drift_tolerance && cooldown_changed_nothing(before, reference_now)) {
        s.log("measure: " + backend.name() + ": reference " + format_fixed(reference_now, 2) +
              " ms: the cool-down changed nothing (a lasting slowdown, not a burst); no more waiting");
        break;
      }
    }
    if (s.stopping()) break;
    out_of_tolerance = std::abs(drift) > job.drift_tolerance;
    if (out_of_tolerance) {
      s.log("measure: " + backend.name() + ": the reference stays " + format_fixed(100 * drift, 1) +
            "% off; rows are flagged (drift_flag = 1) until it comes back");
    } else {
      // Re-measure the window, then check the reference again: a disturbance that came back while
      // the window was re-measured (seen on a shared VM: a burst doubled one row) would otherwise
      // replace good rows with bad ones. Repeated after a cool-down, up to max_cooldowns times.
      for (int attempt = 1;; ++attempt) {
        for (const auto& c : window) {
          if (s.stopping()) break;
          request.config = c;
          const Measurement again = backend.measure(request);
          if (s.stopping()) break;
          write(c, again, true);
        }
        if (s.stopping()) break;
        reference_now = measure_reference();
        drift = drift_of(reference_now);
        if (std::abs(drift) <= job.drift_tolerance) break;
        if (attempt >= job.max_cooldowns) {
          out_of_tolerance = true;
          s.log("measure: " + backend.name() + ": the reference drifted " + format_fixed(100 * drift, 1) +
                "% again while the window was re-measured; rows are flagged (drift_flag = 1) until it comes back");
          break;
        }
        s.log("measure: " + backend.name() + ": the reference drifted " + format_fixed(100 * drift, 1) +
              "% again while the window was re-measured; " + pause_text(drift) + ", then again");
        pause_for(drift);
        if (s.stopping()) break;
      }
    }
    window.clear();
  }
  std::lock_guard<std::mutex> lock(s.mu);
  s.summary.reference_measurements += static_cast<int>(reference_ms.size());
  double mean = 0, sq = 0;
  for (double x : reference_ms) mean += x;
  mean /= reference_ms.size();
  for (double x : reference_ms) sq += (x - mean) * (x - mean);
  s.reference_means.push_back(mean);
  s.reference_cvs.push_back(std::sqrt(sq / reference_ms.size()) / mean);
}

}  // namespace

std::vector<SubConfig> planned_configs(const MeasureJob& job) {
  std::vector<SubConfig> plan;
  std::set<std::string> seen;
  auto add = [&](const SubConfig& c) {
    if (seen.insert(c.hash_hex()).second) plan.push_back(c);
  };
  if (job.include_extremes) {
    add(job.space.smallest());
    add(job.space.largest());
  }
  for (const auto& c : sample_configs(job.space, job.seed, job.samples)) add(c);
  return plan;
}

MeasureSummary build_latency_dataset(const MeasureJob& job, const std::vector<Backend*>& backends,
                                     const std::string& csv_path, const std::function<void(const std::string&)>& log,
                                     const std::atomic<bool>* stop) {
  if (backends.empty()) throw std::invalid_argument("measure: no backend to measure with");
  job.protocol.validate();
  if (job.reference_every < 1) throw std::invalid_argument("measure: reference_every must be >= 1");
  if (!(job.drift_tolerance > 0)) throw std::invalid_argument("measure: drift_tolerance must be > 0");
  if (job.reference) job.space.check_config(*job.reference);

  const auto plan = planned_configs(job);
  const DatasetScan scan = scan_dataset(csv_path);
  MeasureSummary summary;
  if (scan.dropped_partial_line) {
    summary.warnings.push_back(csv_path + ": cut an unfinished last line (an interrupted write); its config is measured again");
  }
  const std::string protocol_hash = job.protocol.hash_hex();
  for (const auto& h : scan.protocol_hashes) {
    if (h != protocol_hash) {
      throw std::invalid_argument(csv_path + ": holds rows measured under protocol " + h + "; this run's protocol is " +
                                  protocol_hash + " (" + job.protocol.canonical() +
                                  "): rows of two protocols do not compare; use another --out or the same settings");
    }
  }
  // Rows of two runtimes do not compare either: a predictor fitted on them would describe neither.
  if (!backends.empty()) {
    const std::string name = backends.front()->name();
    const std::string runtime = runtime_of_backend(name.rfind("remote://", 0) == 0 ? name + "/" + job.run.device : name);
    for (const auto& r : scan.runtimes) {
      if (!runtime.empty() && r != runtime) {
        throw std::invalid_argument(csv_path + ": holds rows measured in " + r + "; this run measures in " + runtime + " (" + name +
                                    "): rows of two runtimes do not compare; use another --out");
      }
    }
  }
  std::vector<SubConfig> todo;
  for (const auto& c : plan) {
    if (!scan.config_hashes.count(c.hash_hex())) todo.push_back(c);
  }
  summary.planned = static_cast<int>(plan.size());
  summary.already_in_file = summary.planned - static_cast<int>(todo.size());

  DatasetAppender appender(csv_path);
  Shared shared(job, todo, appender, log, stop);
  shared.summary = summary;
  if (summary.already_in_file > 0) {
    log("measure: " + std::to_string(summary.already_in_file) + " of " + std::to_string(summary.planned) + " configs already in " +
        csv_path + "; measuring the other " + std::to_string(todo.size()));
  }

  std::vector<std::exception_ptr> errors(backends.size());
  std::vector<std::thread> threads;
  if (!todo.empty()) {
    for (std::size_t i = 0; i < backends.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          run_backend(shared, *backends[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  MeasureSummary result = shared.summary;
  // A backend that failed gave its config back; if every backend failed, nothing measured it.
  std::size_t failed = 0;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (!errors[i]) continue;
    ++failed;
    try {
      std::rethrow_exception(errors[i]);
    } catch (const std::exception& e) {
      result.warnings.push_back(backends[i]->name() + " stopped: " + e.what());
    }
  }
  if (!todo.empty() && failed == backends.size()) std::rethrow_exception(errors.front());
  result.interrupted = shared.stopping();
  result.seconds = seconds_since(shared.start);
  result.seconds_per_row = result.measured > 0 ? result.seconds / result.measured : 0;
  if (!shared.memory_errors.empty()) {
    double sum = 0;
    for (double e : shared.memory_errors) sum += e;
    result.memory_estimate_mape = 100 * sum / shared.memory_errors.size();
  }
  if (!shared.reference_cvs.empty()) {
    double cv = 0, mean = 0;
    for (double x : shared.reference_cvs) cv += x;
    for (double x : shared.reference_means) mean += x;
    result.reference_cv = cv / shared.reference_cvs.size();
    result.reference_mean_ms = mean / shared.reference_means.size();
  }
  return result;
}

}  // namespace thanos
