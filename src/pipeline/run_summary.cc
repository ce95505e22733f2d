#include "thanos/pipeline/run_summary.h"

#include <stdexcept>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

using json = OrderedJson;

json model_json(const std::optional<ModelEvaluation>& m) { return m ? to_json(*m) : json(nullptr); }

std::optional<ModelEvaluation> model_from_json(const json& j, const std::string& where) {
  if (j.is_null()) return std::nullopt;
  ModelEvaluation m;
  from_json(j, where, &m);
  return m;
}

json target_json(const TargetSummary& t) {
  return {{"name", t.name},         {"device", t.device}, {"backend", t.backend}, {"runtime", t.runtime},
          {"protocol", t.protocol}, {"dtype", t.dtype}};
}

const json& member(const json& j, const std::string& where, const char* key) {
  if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(where + ": '" + key + "' is missing");
  return j.at(key);
}

}  // namespace

json to_json(const RunSummary& s) {
  json j;
  j["format"] = "thanos.run-summary";
  // 2: budget claims (verdicts, intervals, raw readings) replace figures at the dataset's speed.
  j["version"] = 2;
  j["name"] = s.name;
  j["target"] = s.targets.empty() ? json(nullptr) : target_json(s.targets.front());
  j["targets"] = json::array();
  for (const auto& t : s.targets) j["targets"].push_back(target_json(t));
  json budgets = json::array();
  for (const auto& b : s.budgets) {
    json e = {{"name", b.name},
              {"target", b.target},
              {"label", b.label},
              {"budget", to_json(b.budget)},
              {"feasible_fraction", b.feasible_fraction},
              {"chosen", model_json(b.chosen)},
              {"baseline", model_json(b.baseline)},
              {"largest", model_json(b.largest)},
              {"finalists", to_json(b.finalists)},
              {"chosen_verdict", b.chosen_verdict.empty() ? json(nullptr) : json(b.chosen_verdict)},
              {"chosen_is_baseline", b.chosen_is_baseline},
              {"chosen_at_least_baseline_bleu", b.chosen_at_least_baseline_bleu ? json(*b.chosen_at_least_baseline_bleu) : json(nullptr)},
              {"chosen_vs_baseline", b.chosen_vs_baseline},
              {"nothing_fits", b.nothing_fits}};
    budgets.push_back(e);
  }
  if (!s.budgets.empty()) {
    const BudgetOutcome& first = s.budgets.front();
    j["budget"] = to_json(first.budget);
    j["feasible_fraction"] = first.feasible_fraction;
    j["chosen"] = model_json(first.chosen);
    j["largest"] = model_json(first.largest);
    j["baseline"] = model_json(first.baseline);
  }
  j["budgets"] = budgets;
  j["exports"] = to_json(s.exports);
  j["measurement"] = json::array();
  for (const auto& m : s.measurement) j["measurement"].push_back({{"target", m.target}, {"dataset", m.dataset}, {"rows", m.rows}});
  j["stages"] = json::array();
  for (const auto& st : s.stages) {
    j["stages"].push_back({{"stage", st.stage}, {"cached", st.cached}, {"seconds", st.seconds}, {"estimated_seconds", st.estimated_seconds},
                           {"budget_seconds", st.budget_seconds}});
  }
  j["seconds"] = s.seconds;
  return j;
}

void from_json(const json& j, const std::string& where, RunSummary* s) {
  try {
    s->name = member(j, where, "name").get<std::string>();
    s->targets.clear();
    for (const auto& t : member(j, where, "targets")) {
      s->targets.push_back({t.value("name", ""), t.value("device", ""), t.value("backend", ""), t.value("protocol", ""), t.value("dtype", ""),
                            t.value("runtime", "")});
    }
    s->budgets.clear();
    const json& budgets = member(j, where, "budgets");
    for (std::size_t i = 0; i < budgets.size(); ++i) {
      const json& e = budgets[i];
      const std::string w = where + ".budgets[" + std::to_string(i) + "]";
      BudgetOutcome b;
      b.name = member(e, w, "name").get<std::string>();
      b.target = e.value("target", "");
      b.label = e.value("label", b.name);
      from_json(member(e, w, "budget"), w + ".budget", &b.budget);
      b.feasible_fraction = e.value("feasible_fraction", 0.0);
      b.chosen = model_from_json(member(e, w, "chosen"), w + ".chosen");
      b.baseline = model_from_json(e.value("baseline", json(nullptr)), w + ".baseline");
      b.largest = model_from_json(e.value("largest", json(nullptr)), w + ".largest");
      if (e.contains("finalists")) from_json(e.at("finalists"), w + ".finalists", &b.finalists);
      const json verdict = e.value("chosen_verdict", json(nullptr));
      b.chosen_verdict = verdict.is_string() ? verdict.get<std::string>() : "";
      b.chosen_is_baseline = e.value("chosen_is_baseline", false);
      const json at_least = e.value("chosen_at_least_baseline_bleu", json(nullptr));
      if (!at_least.is_null()) b.chosen_at_least_baseline_bleu = at_least.get<bool>();
      b.chosen_vs_baseline = e.value("chosen_vs_baseline", json(nullptr));
      b.nothing_fits = e.value("nothing_fits", "");
      s->budgets.push_back(b);
    }
    if (j.contains("exports")) from_json(j.at("exports"), where + ".exports", &s->exports);
    s->measurement.clear();
    for (const auto& m : j.value("measurement", json::array())) {
      s->measurement.push_back({m.value("target", ""), m.value("dataset", ""), m.value("rows", 0)});
    }
    s->stages.clear();
    for (const auto& st : j.value("stages", json::array())) {
      s->stages.push_back({st.value("stage", ""), st.value("cached", false), st.value("seconds", 0.0), st.value("estimated_seconds", 0.0),
                           st.value("budget_seconds", 0.0)});
    }
    s->seconds = j.value("seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
}

RunSummary read_run_summary(const std::string& path) {
  const json j = parse_ordered_json_input(read_text_file(path), path);
  RunSummary s;
  from_json(j, path, &s);
  return s;
}

}  // namespace thanos
