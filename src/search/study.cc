#include "thanos/search/study.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace thanos {

std::string to_string(TrialState state) {
  switch (state) {
    case TrialState::kRunning:
      return "running";
    case TrialState::kComplete:
      return "complete";
    case TrialState::kPruned:
      return "pruned";
    case TrialState::kFailed:
      return "failed";
  }
  return "unknown";
}

TrialState trial_state_from_string(const std::string& name) {
  for (TrialState s : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFailed}) {
    if (to_string(s) == name) return s;
  }
  throw std::invalid_argument("trial state: expected one of running, complete, pruned, failed; got \"" + name + "\"");
}

std::string Trial::summary() const {
  std::ostringstream s;
  s.precision(17);  // round-trips a double
  s << "trial " << number << " " << to_string(state);
  if (state == TrialState::kComplete) s << " value=" << value;
  s << " evaluations=" << evaluations << " params{";
  const char* sep = "";
  for (const auto& [k, v] : params) {
    s << sep << k << "=" << v;
    sep = ",";
  }
  s << "}";
  if (state == TrialState::kPruned)
    s << " latency_excess_ms=" << latency_excess_ms << " memory_excess_mb=" << memory_excess_mib;
  if (!attrs.empty()) {
    s << " attrs{";
    sep = "";
    for (const auto& [k, v] : attrs) {
      s << sep << k << "=" << v;
      sep = ",";
    }
    s << "}";
  }
  if (!note.empty()) s << " note=" << note;
  return s.str();
}

int Study::start(std::map<std::string, int> params) {
  Trial t;
  t.number = static_cast<int>(trials_.size());
  t.params = std::move(params);
  trials_.push_back(std::move(t));
  return trials_.back().number;
}

const Trial& Study::trial(int number) const {
  if (number < 0 || number >= static_cast<int>(trials_.size())) {
    throw std::invalid_argument("study: no trial number " + std::to_string(number) + "; expected 0.." +
                                std::to_string(static_cast<int>(trials_.size()) - 1));
  }
  return trials_[number];
}

Trial& Study::running(int number, const char* action) {
  const Trial& t = trial(number);
  if (t.finished()) {
    throw std::invalid_argument(std::string("study: cannot ") + action + " trial " + std::to_string(number) +
                                ": its state is " + to_string(t.state) + ", expected running");
  }
  return trials_[number];
}

void Study::complete(int number, double value, int evaluations) {
  Trial& t = running(number, "complete");
  t.evaluations = evaluations;
  // Optuna stores a NaN/inf objective as FAIL, so no sampler ever models a non-number.
  if (!std::isfinite(value)) {
    t.state = TrialState::kFailed;
    t.note = "objective value is not finite";
    return;
  }
  t.state = TrialState::kComplete;
  t.value = value;
}

void Study::prune(int number, const std::string& note, double latency_excess_ms, double memory_excess_mib) {
  Trial& t = running(number, "prune");
  t.state = TrialState::kPruned;
  t.note = note;
  t.latency_excess_ms = latency_excess_ms;
  t.memory_excess_mib = memory_excess_mib;
}

void Study::fail(int number, const std::string& note, int evaluations) {
  Trial& t = running(number, "fail");
  t.state = TrialState::kFailed;
  t.note = note;
  t.evaluations = evaluations;
}

void Study::set_attr(int number, const std::string& key, const std::string& value) {
  trial(number);  // range check
  trials_[number].attrs[key] = value;
}

int Study::count(TrialState state) const {
  int n = 0;
  for (const auto& t : trials_) n += t.state == state;
  return n;
}

std::optional<Trial> Study::best_trial() const {
  std::optional<Trial> best;
  for (const auto& t : trials_) {
    if (t.state == TrialState::kComplete && (!best || t.value < best->value)) best = t;
  }
  return best;
}

}  // namespace thanos
