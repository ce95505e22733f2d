#include "thanos/pipeline/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "thanos/commands/prepare.h"
#include "thanos/commands/score.h"
#include "thanos/common/json_input.h"
#include "thanos/common/csv.h"
#include "thanos/common/text.h"
#include "thanos/decode/significance.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v, int digits = 3) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  return buf;
}

std::string fixed(const json& v, int decimals) {
  return v.is_null() ? "-" : format_fixed(v.get<double>(), decimals);
}

json read_json(const std::string& path) { return parse_ordered_json_input(read_text_file(path), path); }

// "Nice" tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) {
    out.push_back(std::abs(t) < 1e-9 * span ? 0.0 : t);  // an accumulated 0 reads "-0" otherwise
  }
  return out;
}

}  // namespace

std::string svg_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                      const std::vector<ChartSeries>& series, const std::vector<ChartLine>& lines) {
  // The plot frame is 560 x 340 with margins L, R, T, B; the legend goes below it, in rows, so it
  // never covers data or budget labels.
  const double W = 560, HP = 340, L = 64, R = 16, T = 34, B = 48;
  std::vector<std::pair<double, double>> legend_at;  // per series: x, y of its swatch
  double legend_x = L, legend_y = HP + 4;
  for (const auto& s : series) {
    const double width = 24 + 6.2 * static_cast<double>(s.name.size());  // ~6.2 px per character at 11 px
    if (legend_x > L && legend_x + width > W - R) legend_x = L, legend_y += 16;
    legend_at.emplace_back(legend_x, legend_y);
    legend_x += width;
  }
  const double H = series.empty() ? HP : legend_y + 18;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  for (const auto& l : lines) {
    if (!std::isfinite(l.at)) continue;
    if (l.vertical) x0 = std::min(x0, l.at), x1 = std::max(x1, l.at);
    else y0 = std::min(y0, l.at), y1 = std::max(y1, l.at);
  }
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" role=\"img\" aria-label=\"" << html_escape(title) << "\">\n";
  o << "<text x=\"" << W / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" << html_escape(title)
    << "</text>\n";
  if (!std::isfinite(x0)) {
    o << "<text x=\"" << W / 2 << "\" y=\"" << H / 2 << "\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n</svg>\n";
    return o.str();
  }
  // Some room around the data.
  const double px = (x1 - x0) > 0 ? 0.05 * (x1 - x0) : std::max(1.0, std::abs(x0) * 0.1);
  const double py = (y1 - y0) > 0 ? 0.05 * (y1 - y0) : std::max(1.0, std::abs(y0) * 0.1);
  x0 -= px, x1 += px, y0 -= py, y1 += py;
  auto sx = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto sy = [&](double y) { return HP - B - (y - y0) / (y1 - y0) * (HP - T - B); };
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << HP - T - B
    << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : ticks(x0, x1)) {
    o << "<line x1=\"" << sx(t) << "\" y1=\"" << HP - B << "\" x2=\"" << sx(t) << "\" y2=\"" << HP - B + 4 << "\" stroke=\"#444\"/>"
      << "<text x=\"" << sx(t) << "\" y=\"" << HP - B + 16 << "\" text-anchor=\"middle\" font-size=\"11\">" << num(t) << "</text>\n";
  }
  for (double t : ticks(y0, y1)) {
    o << "<line x1=\"" << L - 4 << "\" y1=\"" << sy(t) << "\" x2=\"" << L << "\" y2=\"" << sy(t) << "\" stroke=\"#444\"/>"
      << "<text x=\"" << L - 6 << "\" y=\"" << sy(t) + 4 << "\" text-anchor=\"end\" font-size=\"11\">" << num(t) << "</text>\n";
  }
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << HP - 10 << "\" text-anchor=\"middle\" font-size=\"12\">" << html_escape(x_label)
    << "</text>\n";
  o << "<text x=\"14\" y=\"" << (T + HP - B) / 2 << "\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 "
    << (T + HP - B) / 2 << ")\">" << html_escape(y_label) << "</text>\n";
  for (const auto& l : lines) {
    if (!std::isfinite(l.at)) continue;
    if (l.vertical) {
      o << "<line class=\"budget\" x1=\"" << sx(l.at) << "\" y1=\"" << T << "\" x2=\"" << sx(l.at) << "\" y2=\"" << HP - B
        << "\" stroke=\"#c00\" stroke-dasharray=\"5,4\"/>";
      // The label on the side of the line with room for it.
      const bool left = sx(l.at) + 3 + 6.2 * static_cast<double>(l.label.size()) > W - R;
      o << "<text x=\"" << (left ? sx(l.at) - 3 : sx(l.at) + 3) << "\" y=\"" << T + 12 << "\" text-anchor=\""
        << (left ? "end" : "start") << "\" font-size=\"11\" fill=\"#c00\">" << html_escape(l.label) << "</text>\n";
    } else {
      o << "<line class=\"budget\" x1=\"" << L << "\" y1=\"" << sy(l.at) << "\" x2=\"" << W - R << "\" y2=\"" << sy(l.at)
        << "\" stroke=\"#c00\" stroke-dasharray=\"5,4\"/><text x=\"" << L + 3 << "\" y=\"" << sy(l.at) - 3
        << "\" font-size=\"11\" fill=\"#c00\">" << html_escape(l.label) << "</text>\n";
    }
  }
  int legend = 0;
  for (const auto& s : series) {
    auto pts = s.points;
    if (s.line) {
      std::sort(pts.begin(), pts.end());
      o << "<polyline class=\"series\" fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
      for (const auto& [x, y] : pts) {
        if (std::isfinite(x) && std::isfinite(y)) o << sx(x) << "," << sy(y) << " ";
      }
      o << "\"/>\n";
    } else {
      for (const auto& [x, y] : pts) {
        if (!std::isfinite(x) || !std::isfinite(y)) continue;
        o << "<circle class=\"point\" cx=\"" << sx(x) << "\" cy=\"" << sy(y) << "\" r=\"3.5\" fill=\"" << s.color
          << "\" fill-opacity=\"0.75\"/>\n";
      }
    }
    const auto [lx, ly] = legend_at[legend];
    o << "<rect class=\"legend\" x=\"" << lx << "\" y=\"" << ly << "\" width=\"10\" height=\"10\" fill=\"" << s.color
      << "\"/><text x=\"" << lx + 14 << "\" y=\"" << ly + 9 << "\" font-size=\"11\">" << html_escape(s.name) << "</text>\n";
    ++legend;
  }
  o << "</svg>\n";
  return o.str();
}

json compare_hypotheses(const std::string& hyps_a, const std::string& hyps_b, const std::string& refs) {
  const PairedBootstrapResult r = paired_bootstrap_bleu(read_segments(hyps_a, "hypothesis"), read_segments(hyps_b, "hypothesis"),
                                                        read_segments(refs, "reference"));
  const bool significant = r.p_value < 0.05;
  return {{"method", "paired bootstrap resampling of BLEU (Koehn 2004; sacreBLEU --paired-bs)"},
          {"bleu_delta", r.delta},
          {"ci95", {r.ci_low, r.ci_high}},
          {"p_value", r.p_value},
          {"samples", r.samples},
          {"segments", r.segments},
          {"verdict", !significant ? "level within noise" : (r.delta > 0 ? "ahead" : "behind")}};
}

namespace {

using Model = std::optional<ModelEvaluation>;

// Chosen against baseline on the test set, by paired bootstrap resampling of their BLEU (sacreBLEU's
// --paired-bs): a point-estimate gap on a few hundred segments is often noise, and the report says
// which it is. Null when a model or its hypotheses (test.hyp beside its checkpoint) are missing, and
// when the chosen model is the baseline: a model is never compared with itself.
json chosen_vs_baseline(const WorkDir& dir, const Model& chosen, const Model& baseline) {
  if (!chosen || !baseline || chosen->model.empty() || baseline->model.empty()) return nullptr;
  if (chosen->model == baseline->model) return nullptr;
  const auto hyp_of = [](const ModelEvaluation& m) { return WorkDir::hypotheses(fs::path(m.model).parent_path().string(), "test"); };
  if (!fs::exists(hyp_of(*chosen)) || !fs::exists(hyp_of(*baseline)) || !fs::exists(dir.data() + "/manifest.json")) return nullptr;
  const std::string refs_path = raw_target_path(dir.data(), "test");
  if (!fs::exists(refs_path)) return nullptr;
  return compare_hypotheses(hyp_of(*chosen), hyp_of(*baseline), refs_path);
}

// " (-0.56 BLEU; paired bootstrap 95% interval [-1.31, 0.20], p = 0.21 over 337 segments: level within noise)"
std::string significance_text(const json& c) {
  if (c.is_null()) return "";
  return " (" + std::string(c["bleu_delta"].get<double>() >= 0 ? "+" : "") + fixed(c["bleu_delta"], 2) +
         " BLEU; paired bootstrap 95% interval [" + fixed(c["ci95"][0], 2) + ", " + fixed(c["ci95"][1], 2) + "], p = " +
         fixed(c["p_value"], 3) + " over " + std::to_string(c["segments"].get<int>()) + " segments: " +
         c["verdict"].get<std::string>() + ")";
}

// " (the drift reference read +45% from its dataset reading: flagged, ...)": a device that did not
// read at its dataset's speed while the claim was measured; the claim stands on the raw readings.
std::string drift_text(const Model& model) {
  if (!model || !model->measured || !model->measured->drifting || !model->measured->reference_drift) return "";
  const double drift = *model->measured->reference_drift;
  return " (flagged: the drift reference read " + std::string(drift > 0 ? "+" : "") + format_fixed(100 * drift, 0) +
         "% from its dataset reading while it was measured; the verdict stands on the raw readings)";
}

// "13.4 [13.1, 13.9]": a claim's median and its 90% interval.
std::string claimed(const std::optional<double>& median, const std::optional<double>& low, const std::optional<double>& high) {
  if (!median) return "-";
  std::string text = format_fixed(*median, 1);
  if (low && high) text += " [" + format_fixed(*low, 1) + ", " + format_fixed(*high, 1) + "]";
  return text;
}

// " (the search's finalist 1)" / " (the baseline)": which trained model the selection chose.
std::string chosen_as_text(const Model& chosen) {
  if (!chosen || !chosen->selection) return "";
  const std::string& s = chosen->selection->selected;
  return s == "baseline" ? " (the baseline)" : " (" + std::string(s.rfind("finalist-", 0) == 0 ? "the search's finalist " + s.substr(9) : s) + ")";
}

std::string fixed(const std::optional<double>& v, int decimals) { return v ? format_fixed(*v, decimals) : "-"; }

// The selection among the trained finalists and the baseline, by valid BLEU (final.select).
std::string selection_text(const Model& chosen) {
  if (!chosen || !chosen->selection || chosen->selection->select == "search") return "";
  const ChosenModel& s = *chosen->selection;
  std::string text = "Selected on the valid split after identical training (final.select: " + s.select + "): ";
  std::string sep;
  for (const auto& f : s.candidates) {
    text += sep + f.name + " " + fixed(f.valid_bleu, 2) + " BLEU";
    sep = ", ";
  }
  const json& c = s.challenge;
  if (c.is_object()) {  // beats_baseline: the best finalist against the baseline
    text += "; " + c["finalist"].get<std::string>() + " against the baseline" + significance_text(c) +
            (c["verdict"] == "ahead" ? "" : ", so the baseline stays");
  }
  return text + "; chosen: " + s.selected + ".\n\n";
}

// The run's figures from the stages' records.
RunSummary summarize(const WorkDir& dir, const RunConfig& config, const std::vector<StagePlan>& stages,
                     const std::vector<ModelEvaluation>& evaluated) {
  const auto searches = read_stage_outputs<std::vector<BudgetSearch>>(dir.stage_record("search"));
  const auto measured = read_stage_outputs<std::vector<MeasuredDataset>>(dir.stage_record("measure"));
  RunSummary summary;
  summary.name = config.name;
  for (const auto& t : config.targets) summary.targets.push_back({t.name, t.device, t.backend, t.protocol, t.dtype, t.runtime});
  // The largest model is compared on every target; chosen and baseline belong to one target and budget.
  auto model = [&](const std::string& role, const std::string& target, const std::string& budget) -> Model {
    for (const auto& e : evaluated) {
      if (e.role == role && e.target == target && (role == "largest" || e.budget == budget)) return e;
    }
    return std::nullopt;
  };
  for (const auto& s : searches) {
    BudgetOutcome b;
    b.name = s.name;
    b.target = s.target;
    b.label = s.label();
    b.budget = s.budget;
    b.feasible_fraction = s.feasible_fraction;
    b.chosen = model("chosen", s.target, s.name);
    b.baseline = model("baseline", s.target, s.name);
    b.largest = model("largest", s.target, "");
    for (const auto& e : evaluated) {
      if (e.role == "finalist" && e.target == s.target && e.budget == s.name) b.finalists.push_back(e);
    }
    b.chosen_verdict = b.chosen && b.chosen->measured ? b.chosen->measured->verdict : "";
    b.chosen_is_baseline = b.chosen && b.baseline && b.chosen->model == b.baseline->model;
    // A model is never compared with itself.
    if (b.baseline && b.chosen && !b.chosen_is_baseline) b.chosen_at_least_baseline_bleu = b.chosen->scores.bleu >= b.baseline->scores.bleu;
    b.chosen_vs_baseline = chosen_vs_baseline(dir, b.chosen, b.baseline);
    b.nothing_fits = s.nothing_fits;
    summary.budgets.push_back(b);
  }
  if (summary.budgets.empty()) throw std::invalid_argument(dir.stage_record("search") + ": outputs: no budget was searched");
  summary.exports = read_stage_outputs<std::vector<ExportedModel>>(dir.stage_record("export"));
  for (const auto& m : measured) summary.measurement.push_back({m.target, m.dataset, m.rows()});
  for (const auto& s : stages) {
    summary.stages.push_back({s.name, s.cached, s.seconds, s.estimated_seconds, s.budget_seconds});
    summary.seconds += s.seconds;
  }
  return summary;
}

std::string markdown_report(const RunConfig& config, const RunSummary& summary) {
  std::ostringstream md;
  md << "# THANOS run: " << config.name << "\n\n";
  // What a run found, first: where the search did not beat HAT's baseline, or nothing fits, it says so.
  for (const auto& b : summary.budgets) {
    const std::string label = summary.budgets.size() > 1 ? "Budget " + b.label + ": " : "";
    if (!b.chosen) {
      md << "**" << label << "no model fits" << (b.nothing_fits.empty() ? "" : " (" + b.nothing_fits + ")") << ".**\n\n";
    } else if (b.chosen_is_baseline) {
      md << "**" << label << "the search did not beat HAT's baseline on this budget: the chosen model is the homogeneous baseline"
         << " (" << (b.chosen_verdict.empty() ? "not measured" : b.chosen_verdict) << " when measured).**\n\n";
    } else {
      md << "**" << label << "the search's model was chosen over HAT's baseline" << (b.baseline ? "" : " (no baseline fit)") << " ("
         << (b.chosen_verdict.empty() ? "not measured" : b.chosen_verdict) << " when measured).**\n\n";
    }
  }
  for (const auto& t : config.targets) {
    md << "Target" << (t.name.empty() ? "" : " " + t.name) << ": " << t.device << (t.backend.empty() ? "" : " (" + t.backend + ")")
       << ", measured in " << t.runtime << ", protocol " << t.protocol << ", " << t.dtype << ".\n\n";
  }
  auto model_row = [&](const std::string& label, const Model& m) {
    if (!m) return "| " + label + " | - | - | - | - | - | - | - | - | - |\n";
    // A config summary separates encoder and decoder with '|', the tables' cell separator.
    std::string config_text = m->config;
    for (std::size_t at = config_text.find(" | "); at != std::string::npos; at = config_text.find(" | ", at)) {
      config_text.replace(at, 3, " ; ");
    }
    const MeasurementRecord r = m->measured.value_or(MeasurementRecord{});
    const std::string verdict = !m->measured ? "-" : !r.feasible ? "does not run: " + r.reason : r.verdict.empty() ? "(no budget)" : r.verdict;
    return "| " + label + " | " + config_text + " | " + format_fixed(m->scores.bleu, 2) + " | " + format_fixed(m->scores.chrf, 2) + " | " +
           fixed(m->scores.test_ppl, 1) + " | " + claimed(r.latency_ms, r.latency_ms_low, r.latency_ms_high) + " | " +
           claimed(r.memory_mib, r.memory_mib_low, r.memory_mib_high) + " | " + verdict + " | " +
           num(static_cast<double>(m->params) / 1e6, 3) + " M | " + format_fixed(m->scores.sentences_per_second_end_to_end, 1) + " |\n";
  };
  for (const auto& b : summary.budgets) {
    // "latency 47.3 ms (p40)", or "no latency budget" for a pair that leaves one out.
    auto limit = [](const char* what, const std::optional<double>& value, const std::string& spec, const char* unit) {
      if (!value) return std::string("no ") + what + " budget";
      return std::string(what) + " " + format_fixed(*value, 1) + " " + unit + " (" + spec + ")";
    };
    md << "## Budget " << b.label << ": " << limit("latency", b.budget.latency_ms, b.budget.latency_spec, "ms") << ", "
       << limit("memory", b.budget.memory_mib, b.budget.memory_spec, "MiB") << "\n\n"
       << "Feasible fraction of the measured space: " << num(100 * b.feasible_fraction, 3) << "%. "
       << "Chosen model when measured: " << (b.chosen_verdict.empty() ? "not measured" : b.chosen_verdict) << drift_text(b.chosen);
    if (b.chosen_is_baseline) {
      md << "; it is HAT's baseline, so no comparison with the baseline applies";
    } else {
      md << "; BLEU at least the baseline's: "
         << (!b.chosen_at_least_baseline_bleu ? "no baseline to compare with (no homogeneous member fit when measured)"
                                              : *b.chosen_at_least_baseline_bleu ? "yes" : "NO")
         << significance_text(b.chosen_vs_baseline);
    }
    md << ".\n\n"
       << "Latency and memory: the median of the claim's readings with its 90% interval (docs/MEASUREMENT.md); a verdict "
          "is \"fits\" only when the whole interval is within the budget.\n\n"
       << "| model | config | BLEU | chrF | test ppl | latency ms | memory MiB | verdict | params | sentences/s end to end |\n"
       << "|---|---|---|---|---|---|---|---|---|---|\n"
       << model_row("chosen" + chosen_as_text(b.chosen), b.chosen);
    if (!b.chosen_is_baseline) md << model_row("baseline (homogeneous)", b.baseline);
    for (const auto& f : b.finalists) {
      if (!b.chosen || f.model != b.chosen->model) md << model_row("finalist " + std::to_string(f.rank) + " (not chosen)", f);
    }
    md << model_row("largest of the space", b.largest) << "\n" << selection_text(b.chosen);
  }
  md << "## Stages\n\n| stage | status | seconds | estimate | budget |\n|---|---|---|---|---|\n";
  for (const auto& s : summary.stages) {
    md << "| " << s.stage << " | " << (s.cached ? "cached" : "ran") << " | " << num(s.seconds, 3) << " | " << num(s.estimated_seconds, 3)
       << " | " << (s.budget_seconds > 0 ? num(s.budget_seconds, 3) : "-") << " |\n";
  }
  md << "\nFiles: summary.json, report.html, search/" << (config.targets.size() > 1 ? "<target>/" : "")
     << "<budget>/ (search.json, candidates.csv), final/, export/.\n";
  return md.str();
}

std::string charts_html(const WorkDir& dir, const RunConfig& config, const RunSummary& summary,
                        const std::vector<ModelEvaluation>& evaluated) {
  std::ostringstream charts;
  const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};
  for (const auto& b : summary.budgets) {
    ChartSeries cand{"candidates", palette[0], {}, false}, cand_mem{"candidates", palette[0], {}, false};
    ChartSeries front{"verified", "#d62728", {}, false}, front_mem{"verified", "#d62728", {}, false};
    const std::string candidates = dir.search_candidates(b.target, b.name);
    if (fs::exists(candidates)) {
      const auto lines = split_lines(read_text_file(candidates), false);
      for (std::size_t k = 1; k < lines.size(); ++k) {
        const auto f = split_csv_line(lines[k]);
        if (f.size() < 5 || f[1].empty()) continue;
        const double loss = std::stod(f[1]);
        if (!f[2].empty()) cand.points.emplace_back(std::stod(f[2]), loss);
        if (!f[4].empty()) cand_mem.points.emplace_back(std::stod(f[4]), loss);
      }
    }
    ChartSeries measured{"predicted vs measured", palette[2], {}, false};
    const std::string search_result = dir.search_result(b.target, b.name);
    if (fs::exists(search_result)) {
      const json result = read_json(search_result);  // alive for the loop (a temporary's member would dangle)
      for (const auto& c : result.at("pareto_front")) {
        if (c["latency_ms_predicted"].is_null()) continue;
        front.points.emplace_back(c["latency_ms_predicted"].get<double>(), c["valid_loss"].get<double>());
        front_mem.points.emplace_back(c["memory_mb_predicted"].get<double>(), c["valid_loss"].get<double>());
        if (!c["latency_ms_measured"].is_null()) {
          measured.points.emplace_back(c["latency_ms_predicted"].get<double>(), c["latency_ms_measured"].get<double>());
        }
      }
    }
    const double lat = b.budget.latency_ms.value_or(NAN);
    const double mem = b.budget.memory_mib.value_or(NAN);
    charts << "<h2>Budget " << html_escape(b.label) << "</h2>\n<div class=\"row\">\n"
           << svg_chart("Validation loss vs predicted latency", "latency (ms, predicted)", "validation loss (inherited weights)",
                        {cand, front}, {{true, lat, "latency budget"}})
           << svg_chart("Validation loss vs predicted memory", "peak memory (MiB, predicted)", "validation loss (inherited weights)",
                        {cand_mem, front_mem}, {{true, mem, "memory budget"}});
    // Predicted vs measured: the verified candidates and the identity.
    ChartSeries identity{"measured = predicted", "#999", {}, true};
    for (const auto& point : measured.points) identity.points.emplace_back(point.first, point.first);
    charts << svg_chart("Predicted vs measured latency", "predicted (ms)", "measured (ms)", {measured, identity}) << "</div>\n";
  }
  // Training curve of the SuperTransformer; BLEU against latency for every model of the run.
  ChartSeries curve{"SuperTransformer (sampled SubTransformers)", palette[0], {}, true};
  if (fs::exists(dir.super_train_log())) {
    for (const auto& line : split_lines(read_text_file(dir.super_train_log()), false)) {
      if (line.empty()) continue;
      const auto j = json::parse(line);
      if (j.contains("update") && j.contains("loss")) curve.points.emplace_back(j["update"].get<double>(), j["loss"].get<double>());
    }
  }
  // BLEU against measured latency, one chart per target (latencies of different devices do not share an axis).
  std::string bleu_charts;
  for (const auto& t : config.targets) {
    std::vector<ChartSeries> bleu_series = {{"chosen", "#d62728", {}, false}, {"baseline", palette[1], {}, false}, {"largest", palette[2], {}, false}};
    for (const auto& e : evaluated) {
      if (!e.measured || !e.measured->latency_ms || e.target != t.name) continue;
      for (auto& s : bleu_series) {
        if (e.role == s.name) s.points.emplace_back(*e.measured->latency_ms, e.scores.bleu);
      }
    }
    bleu_charts += svg_chart("BLEU vs measured latency" + (t.name.empty() ? "" : " (" + t.name + ")"), "latency (ms, measured)", "BLEU (test)",
                             bleu_series);
  }
  // The search's progress in evaluation order (evaluations.jsonl; candidates.csv is sorted by loss).
  const BudgetOutcome& first = summary.budgets.front();
  ChartSeries progress{"best validation loss so far", palette[3], {}, true};
  const std::string evaluations = dir.search_evaluations(first.target, first.name);
  if (fs::exists(evaluations)) {
    double best = std::numeric_limits<double>::infinity();
    int k = 0;
    for (const auto& line : split_lines(read_text_file(evaluations), false)) {
      if (line.empty()) continue;
      const auto j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object() || !j.contains("fitness") || !j["fitness"].is_number()) continue;  // the header line, other objectives
      best = std::min(best, j["fitness"].get<double>());
      progress.points.emplace_back(static_cast<double>(++k), best);
    }
  }
  charts << "<h2>Training and search</h2>\n<div class=\"row\">\n"
         << svg_chart("SuperTransformer training", "update", "loss (label-smoothed, base 2)", {curve})
         << svg_chart("Search progress (budget " + first.label + ")", "candidates scored", "best validation loss", {progress})
         << bleu_charts << "</div>\n";
  return charts.str();
}

// The markdown's tables as HTML tables (the same numbers), then the charts.
std::string html_report(const RunConfig& config, const std::string& md_text, const std::string& charts) {
  std::ostringstream tables;
  for (const auto& line : split_lines(md_text, false)) {
    if (line.rfind("|", 0) == 0) {
      if (line.rfind("|---", 0) == 0) continue;
      tables << "<tr>";
      std::stringstream cells(line.substr(1));
      std::string cell;
      while (std::getline(cells, cell, '|')) tables << "<td>" << html_escape(cell) << "</td>";
      tables << "</tr>\n";
    } else if (line.rfind("## ", 0) == 0) {
      tables << "</table>\n<h3>" << html_escape(line.substr(3)) << "</h3>\n<table>\n";
    } else if (line.rfind("# ", 0) == 0) {
      tables << "<h1>" << html_escape(line.substr(2)) << "</h1>\n<table>\n";
    } else if (!line.empty()) {
      tables << "</table>\n<p>" << html_escape(line) << "</p>\n<table>\n";
    }
  }
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>THANOS run: " << html_escape(config.name)
       << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1800px}table{border-collapse:collapse;margin:0.5em 0}"
          "td{border:1px solid #ccc;padding:3px 8px}.row{display:flex;flex-wrap:wrap;gap:12px}</style>\n</head>\n<body>\n"
       << tables.str() << "</table>\n" << charts << "</body>\n</html>\n";
  return html.str();
}

}  // namespace

ReportFiles write_run_report(const WorkDir& dir, const RunConfig& config, const std::vector<StagePlan>& stages) {
  // Every model's evaluation, read once for the tables and the charts.
  const auto evaluated = read_stage_outputs<std::vector<ModelEvaluation>>(dir.stage_record("evaluate"));
  const RunSummary summary = summarize(dir, config, stages, evaluated);
  const std::string md = markdown_report(config, summary);
  const std::string html = html_report(config, md, charts_html(dir, config, summary, evaluated));
  write_file_atomically(dir.summary(), to_json(summary).dump(2) + "\n");
  write_file_atomically(dir.report_markdown(), md);
  write_file_atomically(dir.report_html(), html);
  return {dir.summary(), dir.report_markdown(), dir.report_html()};
}

}  // namespace thanos
