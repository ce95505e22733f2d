#include <sstream>
#include <stdexcept>

#include "thanos/search/hpo_evolution.h"
#include "thanos/search/nsga2.h"
#include "thanos/search/random_search.h"
#include "thanos/search/strategy.h"

namespace thanos {
namespace {

struct Entry {
  const char* name;
  StrategyFactory make;
  bool needs_pagmo = false;  // offered only when multi_objective_available()
};

// One line per strategy.
const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {"random", make_random_search},
      {"evo", make_evolution_strategy},
      {"hpo-evo", make_hpo_evolution},
      {"nsga2", make_nsga2, true},
  };
  return entries;
}

bool offered(const Entry& e) { return !e.needs_pagmo || multi_objective_available(); }

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const auto& e : registry()) {
    if (offered(e)) names.push_back(e.name);
  }
  return names;
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, const StrategyContext& context) {
  for (const auto& e : registry()) {
    if (name == e.name && offered(e)) return e.make(context);
  }
  std::ostringstream s;
  s << "unknown search strategy \"" << name << "\"; expected one of";
  for (const auto& n : strategy_names()) s << " " << n;
  for (const auto& e : registry()) {
    if (name == e.name) s << " (" << name << " needs pagmo2, which this build lacks)";
  }
  throw std::invalid_argument(s.str());
}

double take_setting(StrategySettings& left, const std::string& key, double fallback) {
  auto it = left.find(key);
  if (it == left.end()) return fallback;
  const double v = it->second;
  left.erase(it);
  return v;
}

void check_settings_used(const StrategySettings& left, const std::string& strategy) {
  if (left.empty()) return;
  std::ostringstream s;
  s << "strategy " << strategy << " has no setting";
  for (const auto& [k, v] : left) s << " \"" << k << "\"";
  throw std::invalid_argument(s.str());
}

}  // namespace thanos
