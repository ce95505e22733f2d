#include "thanos/pipeline/stage_outputs.h"

#include <stdexcept>
#include <tuple>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

using json = OrderedJson;

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// Field readers: a missing key or a value of another type is an error naming `where.key`.
const json& field(const json& j, const std::string& where, const char* key) {
  if (!j.is_object()) throw std::invalid_argument(where + ": expected an object");
  const auto it = j.find(key);
  if (it == j.end()) throw std::invalid_argument(where + ": '" + key + "' is missing");
  return *it;
}

template <typename T>
T required(const json& j, const std::string& where, const char* key) {
  const json& v = field(j, where, key);
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(where + "." + key + ": " + v.dump() + " is not of the expected type");
  }
}

// Keys later versions added (or the record of a stage that had nothing to say) default.
template <typename T>
T optional_field(const json& j, const std::string& where, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return required<T>(j, where, key);
}

std::optional<double> optional_double(const json& j, const std::string& where, const char* key) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return required<double>(j, where, key);
}

double required_number(const json& v, const std::string& where) {
  if (!v.is_number()) throw std::invalid_argument(where + ": expected a number");
  return v.get<double>();
}

}  // namespace

int MeasuredDataset::rows() const { return summary.value("measured", 0) + summary.value("already_in_file", 0); }

// ------------------------------------------------------------------------------ to_json

json to_json(const PrepareOutput& o) { return {{"data", o.data}, {"manifest_hash", o.manifest_hash}}; }
json to_json(const SuperOutput& o) { return {{"checkpoint", o.checkpoint}}; }
json to_json(const MeasuredDataset& o) { return {{"target", o.target}, {"dataset", o.dataset}, {"summary", o.summary}}; }

json to_json(const TargetPredictors& o) {
  return {{"target", o.target},
          {"latency", {{"file", o.latency.file}, {"test", o.latency.test}}},
          {"memory", {{"file", o.memory.file}, {"test", o.memory.test}}}};
}

json to_json(const MeasurementRecord& o) {
  // An interval's end is null where the readings bound nothing (fewer than a claim takes).
  auto interval = [](const std::optional<double>& low, const std::optional<double>& high) {
    return low || high ? json::array({optional_number(low), optional_number(high)}) : json(nullptr);
  };
  return {{"feasible", o.feasible},
          {"reason", o.reason},
          {"verdict", o.verdict.empty() ? json(nullptr) : json(o.verdict)},
          {"latency_ms_median", optional_number(o.latency_ms)},
          {"latency_ms_interval", interval(o.latency_ms_low, o.latency_ms_high)},
          {"memory_mib_peak", optional_number(o.memory_mib)},
          {"memory_mib_interval", interval(o.memory_mib_low, o.memory_mib_high)},
          {"latency_ms_measurements", o.latencies_ms},
          {"memory_mib_measurements", o.memories_mib},
          {"reference_ms_measurements", o.reference_ms},
          {"reference_baseline_ms", optional_number(o.reference_baseline_ms)},
          {"reference_drift", optional_number(o.reference_drift)},
          {"drifting", o.drifting},
          {"screened", o.screened},
          {"memory_kind", o.memory_kind},
          {"backend", o.backend},
          {"runtime", o.runtime}};
}

json to_json(const BaselineChoice& o) {
  json tried = json::array();
  for (const auto& t : o.tried) {
    tried.push_back({{"config", t.config}, {"predicted_latency_ms", t.predicted_latency_ms}, {"fits", t.fits},
                     {"measurement", to_json(t.measurement)}});
  }
  if (!o.found) return {{"found", false}, {"tried", tried}};
  return {{"found", true}, {"config", o.config}, {"measurement", to_json(o.measurement)}, {"tried", tried}};
}

json to_json(const BudgetLimits& o) {
  // "memory_mb" holds MiB: the key predates the unit's name and is the summary's format.
  return {{"latency_ms", optional_number(o.latency_ms)}, {"memory_mb", optional_number(o.memory_mib)},
          {"latency_spec", o.latency_spec}, {"memory_spec", o.memory_spec}};
}

json to_json(const BudgetSearch& o) {
  return {{"target", o.target},
          {"target_label", o.target_label},
          {"name", o.name},
          {"budget", to_json(o.budget)},
          {"feasible_fraction", o.feasible_fraction},
          {"found", o.found},
          {"nothing_fits", o.nothing_fits},
          {"search", o.search},
          {"baseline", to_json(o.baseline)}};
}

json to_json(const TrainedModel& o) {
  return {{"role", o.role}, {"rank", o.rank}, {"target", o.target}, {"budget", o.budget}, {"config", o.config}, {"model", o.model}};
}

namespace {
json candidates_json(const std::vector<SelectionCandidate>& candidates) {
  json a = json::array();
  for (const auto& c : candidates) {
    json e = {{"name", c.name}, {"config", c.config}, {"model", c.model}};
    if (c.valid_bleu) e["valid_bleu"] = *c.valid_bleu;
    if (c.valid_chrf) e["valid_chrf"] = *c.valid_chrf;
    if (c.valid_sentences) e["valid_sentences"] = *c.valid_sentences;
    if (c.valid_hypotheses) e["valid_hypotheses"] = *c.valid_hypotheses;
    a.push_back(e);
  }
  return a;
}
}  // namespace

json to_json(const ChosenModel& o) {
  return {{"role", "chosen"}, {"target", o.target}, {"budget", o.budget}, {"config", o.config}, {"model", o.model},
          {"selected", o.selected}, {"select", o.select}, {"finalists", candidates_json(o.candidates)}, {"challenge", o.challenge}};
}

json to_json(const FinalOutput& o) {
  json a = json::array();
  for (const auto& t : o.trained) a.push_back(to_json(t));
  for (const auto& c : o.chosen) a.push_back(to_json(c));
  return a;
}

json to_json(const TestScores& o) {
  json j = {{"bleu", o.bleu},
            {"chrf", o.chrf},
            {"bleu_signature", o.bleu_signature},
            {"sentences_per_second_end_to_end", o.sentences_per_second_end_to_end},
            {"sentences_per_second_decoding", o.sentences_per_second_decoding},
            {"test_sentences", o.test_sentences}};
  if (o.test_nll_loss) j["test_nll_loss"] = *o.test_nll_loss;
  if (o.test_ppl) j["test_ppl"] = *o.test_ppl;
  return j;
}

json to_json(const ModelEvaluation& o) {
  json j = {{"role", o.role},         {"rank", o.rank},   {"target", o.target},         {"budget", o.budget},
            {"config", o.config},     {"config_file", o.config_file}, {"config_hash", o.config_hash}, {"model", o.model}};
  const json scores = to_json(o.scores);  // alive for the loop (items() of a temporary would dangle)
  for (const auto& [k, v] : scores.items()) j[k] = v;
  // The claim's keys beside the scores: one flat record per model in summary.json.
  const json measured = to_json(o.measured.value_or(MeasurementRecord{}));
  for (const auto& [k, v] : measured.items()) j[k] = o.measured ? v : json(nullptr);
  j["reference_cooldowns"] = o.reference_cooldowns;
  j["params"] = o.params;
  if (o.selection) {
    j["selected"] = o.selection->selected;
    j["select"] = o.selection->select;
    j["finalists"] = candidates_json(o.selection->candidates);
    j["challenge"] = o.selection->challenge;
  }
  return j;
}

json to_json(const ExportedModel& o) {
  json j = {{"target", o.target}, {"budget", o.budget}, {"dynamic", o.dynamic_dir}, {"static", o.static_dir}};
  if (o.rknn_script) j["rknn_script"] = *o.rknn_script;
  return j;
}

json to_json(const ReportFiles& o) { return {{"summary", o.summary}, {"markdown", o.markdown}, {"html", o.html}}; }

// ------------------------------------------------------------------------------ from_json

void from_json(const json& j, const std::string& where, PrepareOutput* o) {
  o->data = required<std::string>(j, where, "data");
  o->manifest_hash = optional_field<std::string>(j, where, "manifest_hash", "");
}

void from_json(const json& j, const std::string& where, SuperOutput* o) { o->checkpoint = required<std::string>(j, where, "checkpoint"); }

void from_json(const json& j, const std::string& where, MeasuredDataset* o) {
  o->target = optional_field<std::string>(j, where, "target", "");
  o->dataset = required<std::string>(j, where, "dataset");
  o->summary = field(j, where, "summary");
}

void from_json(const json& j, const std::string& where, TargetPredictors* o) {
  o->target = optional_field<std::string>(j, where, "target", "");
  for (auto [key, fit] : {std::pair{"latency", &o->latency}, {"memory", &o->memory}}) {
    const json& f = field(j, where, key);
    fit->file = required<std::string>(f, where + "." + key, "file");
    fit->test = f.value("test", json(nullptr));
  }
}

void from_json(const json& j, const std::string& where, MeasurementRecord* o) {
  o->feasible = required<bool>(j, where, "feasible");
  o->reason = optional_field<std::string>(j, where, "reason", "");
  o->verdict = j.contains("verdict") && !j.at("verdict").is_null() ? required<std::string>(j, where, "verdict") : "";
  o->latency_ms = optional_double(j, where, "latency_ms_median");
  o->memory_mib = optional_double(j, where, "memory_mib_peak");
  for (auto [key, low, high] : {std::tuple{"latency_ms_interval", &o->latency_ms_low, &o->latency_ms_high},
                                std::tuple{"memory_mib_interval", &o->memory_mib_low, &o->memory_mib_high}}) {
    *low = *high = std::nullopt;
    if (!j.contains(key) || j.at(key).is_null()) continue;
    const json& i = j.at(key);
    if (!i.is_array() || i.size() != 2) throw std::invalid_argument(where + "." + key + ": expected [low, high]");
    if (!i[0].is_null()) *low = required_number(i[0], where + "." + key + "[0]");
    if (!i[1].is_null()) *high = required_number(i[1], where + "." + key + "[1]");
  }
  o->latencies_ms = optional_field<std::vector<double>>(j, where, "latency_ms_measurements", {});
  o->memories_mib = optional_field<std::vector<double>>(j, where, "memory_mib_measurements", {});
  o->reference_ms = optional_field<std::vector<double>>(j, where, "reference_ms_measurements", {});
  o->reference_baseline_ms = optional_double(j, where, "reference_baseline_ms");
  o->reference_drift = optional_double(j, where, "reference_drift");
  o->drifting = optional_field<bool>(j, where, "drifting", false);
  o->screened = optional_field<bool>(j, where, "screened", false);
  o->memory_kind = optional_field<std::string>(j, where, "memory_kind", "");
  o->backend = optional_field<std::string>(j, where, "backend", "");
  o->runtime = optional_field<std::string>(j, where, "runtime", "");
}

void from_json(const json& j, const std::string& where, BaselineChoice* o) {
  o->found = required<bool>(j, where, "found");
  if (o->found) {
    o->config = optional_field<std::string>(j, where, "config", "");
    if (j.contains("measurement")) from_json(j.at("measurement"), where + ".measurement", &o->measurement);
  }
  o->tried.clear();
  if (!j.contains("tried")) return;
  const json& tried = field(j, where, "tried");
  for (std::size_t i = 0; i < tried.size(); ++i) {
    const std::string w = where + ".tried[" + std::to_string(i) + "]";
    BaselineTrial t;
    t.config = required<std::string>(tried[i], w, "config");
    t.predicted_latency_ms = required<double>(tried[i], w, "predicted_latency_ms");
    t.fits = required<bool>(tried[i], w, "fits");
    from_json(field(tried[i], w, "measurement"), w + ".measurement", &t.measurement);
    o->tried.push_back(t);
  }
}

void from_json(const json& j, const std::string& where, BudgetLimits* o) {
  o->latency_ms = optional_double(j, where, "latency_ms");
  o->memory_mib = optional_double(j, where, "memory_mb");
  o->latency_spec = optional_field<std::string>(j, where, "latency_spec", "");
  o->memory_spec = optional_field<std::string>(j, where, "memory_spec", "");
}

void from_json(const json& j, const std::string& where, BudgetSearch* o) {
  o->target = optional_field<std::string>(j, where, "target", "");
  o->target_label = optional_field<std::string>(j, where, "target_label", "");
  o->name = required<std::string>(j, where, "name");
  from_json(field(j, where, "budget"), where + ".budget", &o->budget);
  o->feasible_fraction = required<double>(j, where, "feasible_fraction");
  o->found = required<bool>(j, where, "found");
  o->nothing_fits = optional_field<std::string>(j, where, "nothing_fits", "");
  o->search = optional_field<std::string>(j, where, "search", "");
  from_json(field(j, where, "baseline"), where + ".baseline", &o->baseline);
}

void from_json(const json& j, const std::string& where, TrainedModel* o) {
  o->role = required<std::string>(j, where, "role");
  o->rank = optional_field<int>(j, where, "rank", 0);
  o->target = optional_field<std::string>(j, where, "target", "");
  o->budget = optional_field<std::string>(j, where, "budget", "");
  o->config = required<std::string>(j, where, "config");
  o->model = required<std::string>(j, where, "model");
}

namespace {
std::vector<SelectionCandidate> candidates_from_json(const json& j, const std::string& where) {
  std::vector<SelectionCandidate> out;
  if (!j.is_array()) throw std::invalid_argument(where + ": expected a list");
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    SelectionCandidate c;
    c.name = required<std::string>(j[i], w, "name");
    c.config = optional_field<std::string>(j[i], w, "config", "");
    c.model = optional_field<std::string>(j[i], w, "model", "");
    c.valid_bleu = optional_double(j[i], w, "valid_bleu");
    c.valid_chrf = optional_double(j[i], w, "valid_chrf");
    if (j[i].contains("valid_sentences")) c.valid_sentences = required<int>(j[i], w, "valid_sentences");
    if (j[i].contains("valid_hypotheses")) c.valid_hypotheses = required<std::string>(j[i], w, "valid_hypotheses");
    out.push_back(c);
  }
  return out;
}

void selection_from_json(const json& j, const std::string& where, ChosenModel* o) {
  o->selected = required<std::string>(j, where, "selected");
  o->select = optional_field<std::string>(j, where, "select", "");
  o->candidates = j.contains("finalists") ? candidates_from_json(j.at("finalists"), where + ".finalists") : std::vector<SelectionCandidate>{};
  o->challenge = j.value("challenge", json(nullptr));
}
}  // namespace

void from_json(const json& j, const std::string& where, ChosenModel* o) {
  o->target = optional_field<std::string>(j, where, "target", "");
  o->budget = optional_field<std::string>(j, where, "budget", "");
  o->config = required<std::string>(j, where, "config");
  o->model = required<std::string>(j, where, "model");
  selection_from_json(j, where, o);
}

void from_json(const json& j, const std::string& where, FinalOutput* o) {
  if (!j.is_array()) throw std::invalid_argument(where + ": expected a list");
  o->trained.clear();
  o->chosen.clear();
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    if (required<std::string>(j[i], w, "role") == "chosen") {
      ChosenModel c;
      from_json(j[i], w, &c);
      o->chosen.push_back(c);
    } else {
      TrainedModel t;
      from_json(j[i], w, &t);
      o->trained.push_back(t);
    }
  }
}

void from_json(const json& j, const std::string& where, TestScores* o) {
  o->bleu = required<double>(j, where, "bleu");
  o->chrf = optional_field<double>(j, where, "chrf", 0.0);
  o->bleu_signature = optional_field<std::string>(j, where, "bleu_signature", "");
  o->sentences_per_second_end_to_end = optional_field<double>(j, where, "sentences_per_second_end_to_end", 0.0);
  o->sentences_per_second_decoding = optional_field<double>(j, where, "sentences_per_second_decoding", 0.0);
  o->test_sentences = optional_field<int>(j, where, "test_sentences", 0);
  o->test_nll_loss = optional_double(j, where, "test_nll_loss");
  o->test_ppl = optional_double(j, where, "test_ppl");
}

void from_json(const json& j, const std::string& where, ModelEvaluation* o) {
  o->role = required<std::string>(j, where, "role");
  o->rank = optional_field<int>(j, where, "rank", 0);
  o->target = optional_field<std::string>(j, where, "target", "");
  o->budget = optional_field<std::string>(j, where, "budget", "");
  o->config = required<std::string>(j, where, "config");
  o->config_file = optional_field<std::string>(j, where, "config_file", "");
  o->config_hash = optional_field<std::string>(j, where, "config_hash", "");
  o->model = optional_field<std::string>(j, where, "model", "");
  from_json(j, where, &o->scores);
  o->measured.reset();
  if (j.contains("feasible") && !j.at("feasible").is_null()) {
    MeasurementRecord m;
    from_json(j, where, &m);
    o->measured = m;
  }
  o->reference_cooldowns = optional_field<int>(j, where, "reference_cooldowns", 0);
  o->params = optional_field<std::int64_t>(j, where, "params", 0);
  o->selection.reset();
  if (j.contains("selected")) {
    ChosenModel c;
    c.target = o->target, c.budget = o->budget, c.model = o->model, c.config = o->config_file;
    selection_from_json(j, where, &c);
    o->selection = c;
  }
}

void from_json(const json& j, const std::string& where, ExportedModel* o) {
  o->target = optional_field<std::string>(j, where, "target", "");
  o->budget = required<std::string>(j, where, "budget");
  o->dynamic_dir = required<std::string>(j, where, "dynamic");
  o->static_dir = required<std::string>(j, where, "static");
  if (j.contains("rknn_script")) o->rknn_script = required<std::string>(j, where, "rknn_script");
}

void from_json(const json& j, const std::string& where, ReportFiles* o) {
  o->summary = required<std::string>(j, where, "summary");
  o->markdown = required<std::string>(j, where, "markdown");
  o->html = required<std::string>(j, where, "html");
}

json read_stage_outputs_json(const std::string& record_path) {
  const json record = parse_ordered_json_input(read_text_file(record_path), record_path + " (a stage record)");
  if (!record.is_object() || !record.value("completed", false)) {
    throw std::invalid_argument(record_path + ": the stage has not completed (run `thanos run` again to finish it)");
  }
  return field(record, record_path, "outputs");
}

}  // namespace thanos
