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
#include "thanos/common/csv.h"
#include "thanos/common/text.h"
#include "thanos/decode/significance.h"
#include "thanos/search/budget_claim.h"

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

json read_json(const std::string& path) { return json::parse(read_text_file(path)); }

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

// Chosen against baseline on the test set, by paired bootstrap resampling of their BLEU (sacreBLEU's
// --paired-bs): a point-estimate gap on a few hundred segments is often noise, and the report says
// which it is. Null when a model or its hypotheses (test.hyp beside its checkpoint) are missing.
json chosen_vs_baseline(const std::string& workdir, const json& chosen, const json& baseline) {
  if (chosen.is_null() || baseline.is_null() || !chosen.contains("model") || !baseline.contains("model")) return nullptr;
  if (chosen["model"] == baseline["model"]) return {{"same_model", true}, {"bleu_delta", 0.0}, {"verdict", "the same model"}};
  const auto hyp_of = [](const json& m) { return (fs::path(m.at("model").get<std::string>()).parent_path() / "test.hyp").string(); };
  if (!fs::exists(hyp_of(chosen)) || !fs::exists(hyp_of(baseline)) || !fs::exists(workdir + "/data/manifest.json")) return nullptr;
  const std::string refs_path = raw_target_path(workdir + "/data", "test");
  if (!fs::exists(refs_path)) return nullptr;
  return compare_hypotheses(hyp_of(chosen), hyp_of(baseline), refs_path);
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

// " (-0.56 BLEU; paired bootstrap 95% interval [-1.31, 0.20], p = 0.21 over 337 segments: level within noise)"
std::string significance_text(const json& c) {
  if (c.is_null()) return "";
  if (c.value("same_model", false)) return " (the chosen model is the baseline)";
  return " (" + std::string(c["bleu_delta"].get<double>() >= 0 ? "+" : "") + fixed(c["bleu_delta"], 2) +
         " BLEU; paired bootstrap 95% interval [" + fixed(c["ci95"][0], 2) + ", " + fixed(c["ci95"][1], 2) + "], p = " +
         fixed(c["p_value"], 3) + " over " + std::to_string(c["segments"].get<int>()) + " segments: " +
         c["verdict"].get<std::string>() + ")";
}

// " (measured while the device read 45% slower than during its dataset)": a slow spell the
// evaluate stage's cool-downs did not wait out (pipeline.cc, settle_target).
// The evaluate stage's record of a model judged against the budget (null budgets: none), at the
// dataset's speed: the evaluate stage recorded that latency already (pipeline.cc), so it is judged
// as it stands.
BudgetClaim claim_of(const json& model, const json& budget) {
  const double inf = std::numeric_limits<double>::infinity();
  const double measured = model["latency_ms_measured"].get<double>();
  return judge_claim(true, model.value("latency_ms_at_dataset_speed", measured), model["memory_mb_measured"].get<double>(), 1.0,
                     budget["latency_ms"].is_null() ? inf : budget["latency_ms"].get<double>(),
                     budget["memory_mb"].is_null() ? inf : budget["memory_mb"].get<double>());
}

std::string slow_device_text(const json& model) {
  if (model.is_null() || !model.contains("reference_drift") || !(model["reference_drift"].get<double>() > kDriftTolerance)) return "";
  std::string at_speed;
  if (model.contains("latency_ms_at_dataset_speed") && !model["latency_ms_at_dataset_speed"].is_null()) {
    at_speed = ": " + fixed(model["latency_ms_measured"], 1) + " ms measured is " + fixed(model["latency_ms_at_dataset_speed"], 1) +
               " ms at the dataset's speed, which the fit is judged on";
  }
  return " (measured while the device read " + fixed(100 * model["reference_drift"].get<double>(), 0) +
         "% slower than during its dataset" + at_speed + ")";
}

// " (the search's finalist 1)" / " (the baseline)": which trained model the selection chose.
std::string chosen_as_text(const json& chosen) {
  if (chosen.is_null() || !chosen.contains("selected")) return "";
  const std::string s = chosen["selected"].get<std::string>();
  return s == "baseline" ? " (the baseline)" : " (" + std::string(s.rfind("finalist-", 0) == 0 ? "the search's finalist " + s.substr(9) : s) + ")";
}

// The selection among the trained finalists and the baseline, by valid BLEU (final.select).
std::string selection_text(const json& chosen) {
  if (chosen.is_null() || !chosen.contains("finalists") || chosen["select"] == "search") return "";
  std::string text = "Selected on the valid split after identical training (final.select: " + chosen["select"].get<std::string>() + "): ";
  std::string sep;
  for (const auto& f : chosen["finalists"]) {
    text += sep + f["name"].get<std::string>() + " " + fixed(f["valid_bleu"], 2) + " BLEU";
    sep = ", ";
  }
  const json& c = chosen["challenge"];
  if (c.is_object()) {  // beats_baseline: the best finalist against the baseline
    text += "; " + c["finalist"].get<std::string>() + " against the baseline" + significance_text(c) +
            (c["verdict"] == "ahead" ? "" : ", so the baseline stays");
  }
  return text + "; chosen: " + chosen["selected"].get<std::string>() + ".\n\n";
}

json write_run_report(const std::string& workdir, const RunConfig& config, const std::vector<StagePlan>& stages) {
  const json search = read_json(workdir + "/stages/search.json").at("outputs");
  const json evaluated = read_json(workdir + "/stages/evaluate.json").at("outputs");
  const json exported = read_json(workdir + "/stages/export.json").at("outputs");
  const json measure = read_json(workdir + "/stages/measure.json").at("outputs");

  // The largest model is compared on every target; chosen and baseline belong to one target and budget.
  auto model_entry = [&](const std::string& role, const std::string& target, const std::string& budget) {
    for (const auto& e : evaluated) {
      if (e.at("role") == role && e.value("target", "") == target && (role == "largest" || e.at("budget") == budget)) return json(e);
    }
    return json(nullptr);
  };
  auto target_json = [](const TargetSpec& t) {
    return json{{"name", t.name}, {"device", t.device}, {"backend", t.backend}, {"protocol", t.protocol}, {"dtype", t.dtype}};
  };
  json summary;
  summary["format"] = "thanos.run-summary";
  summary["version"] = 1;
  summary["name"] = config.name;
  summary["target"] = target_json(config.targets.at(0));
  summary["targets"] = json::array();
  for (const auto& t : config.targets) summary["targets"].push_back(target_json(t));
  json budgets = json::array();
  for (const auto& s : search) {
    const std::string name = s.at("name").get<std::string>(), target = s.value("target", "");
    json b = {{"name", name},
              {"target", target},
              {"label", target.empty() ? name : target + "/" + name},
              {"budget", s.at("budget")},
              {"feasible_fraction", s.at("feasible_fraction")},
              {"chosen", model_entry("chosen", target, name)},
              {"baseline", model_entry("baseline", target, name)},
              {"largest", model_entry("largest", target, "")}};
    json finalists = json::array();
    for (const auto& e : evaluated) {
      if (e.at("role") == "finalist" && e.value("target", "") == target && e.at("budget") == name) finalists.push_back(e);
    }
    b["finalists"] = finalists;
    // Copies: adding keys to `b` (an ordered map: a vector) moves its values.
    const json c = b["chosen"];
    const json bl = b["baseline"];
    // At the dataset's speed, as the search verified it (pipeline.cc, slowdown_factor).
    b["chosen_fits_measured"] = !c.is_null() && !c["latency_ms_measured"].is_null() && claim_of(c, s["budget"]).fits();
    // Null without a baseline (no homogeneous member fit when measured): nothing was compared.
    b["chosen_at_least_baseline_bleu"] = bl.is_null() ? json(nullptr) : json(!c.is_null() && c["bleu"].get<double>() >= bl["bleu"].get<double>());
    b["chosen_vs_baseline"] = chosen_vs_baseline(workdir, c, bl);
    b["nothing_fits"] = s.value("nothing_fits", "");
    budgets.push_back(b);
  }
  // The first budget's figures at the top level (the README's headline), every budget below.
  const json& first = budgets.at(0);
  summary["budget"] = {{"latency_ms", first["budget"]["latency_ms"]}, {"memory_mb", first["budget"]["memory_mb"]},
                       {"latency_spec", first["budget"]["latency_spec"]}, {"memory_spec", first["budget"]["memory_spec"]}};
  summary["feasible_fraction"] = first["feasible_fraction"];
  summary["chosen"] = first["chosen"];
  summary["largest"] = first["largest"];
  summary["baseline"] = first["baseline"];
  summary["budgets"] = budgets;
  summary["exports"] = exported;
  summary["measurement"] = json::array();
  for (const auto& m : measure) {
    summary["measurement"].push_back({{"target", m.value("target", "")}, {"dataset", m.at("dataset")},
                                      {"rows", m.at("summary").value("measured", 0) + m.at("summary").value("already_in_file", 0)}});
  }
  json st = json::array();
  double total = 0;
  for (const auto& s : stages) {
    st.push_back({{"stage", s.name}, {"cached", s.cached}, {"seconds", s.seconds}, {"estimated_seconds", s.estimated_seconds},
                  {"budget_seconds", s.budget_seconds}});
    total += s.seconds;
  }
  summary["stages"] = st;
  summary["seconds"] = total;

  // ---------------------------------------------------------------- report.md
  std::ostringstream md;
  md << "# THANOS run: " << config.name << "\n\n";
  for (const auto& t : config.targets) {
    md << "Target" << (t.name.empty() ? "" : " " + t.name) << ": " << t.device << (t.backend.empty() ? "" : " (" + t.backend + ")")
       << ", protocol " << t.protocol << ", " << t.dtype << ".\n\n";
  }
  auto model_row = [&](const std::string& label, const json& m) {
    if (m.is_null()) return "| " + label + " | - | - | - | - | - | - | - | - |\n";
    // A config summary separates encoder and decoder with '|', the tables' cell separator.
    std::string config_text = m["config"].get<std::string>();
    for (std::size_t at = config_text.find(" | "); at != std::string::npos; at = config_text.find(" | ", at)) {
      config_text.replace(at, 3, " ; ");
    }
    return "| " + label + " | " + config_text + " | " + fixed(m["bleu"], 2) + " | " + fixed(m["chrf"], 2) + " | " +
           fixed(m.value("test_ppl", json(nullptr)), 1) + " | " +
           fixed(m["latency_ms_measured"], 1) + " | " + fixed(m["memory_mb_measured"], 1) + " | " +
           num(m["params"].get<double>() / 1e6, 3) + " M | " + fixed(m["sentences_per_second_end_to_end"], 1) + " |\n";
  };
  for (const auto& b : budgets) {
    // "latency 47.3 ms (p40)", or "no latency budget" for a pair that leaves one out.
    auto limit = [&](const char* what, const char* value, const char* spec, const char* unit) {
      const json& budget = b["budget"];
      if (budget[value].is_null()) return std::string("no ") + what + " budget";
      return std::string(what) + " " + fixed(budget[value], 1) + " " + unit + " (" + budget[spec].get<std::string>() + ")";
    };
    md << "## Budget " << b["label"].get<std::string>() << ": " << limit("latency", "latency_ms", "latency_spec", "ms") << ", "
       << limit("memory", "memory_mb", "memory_spec", "MiB") << "\n\n"
       << "Feasible fraction of the measured space: " << num(100 * b["feasible_fraction"].get<double>(), 3) << "%. "
       << "Chosen model fits when measured: " << (b["chosen_fits_measured"].get<bool>() ? "yes" : "NO") << slow_device_text(b["chosen"])
       << "; BLEU at least the baseline's: "
       << (b["chosen_at_least_baseline_bleu"].is_null() ? "no baseline to compare with (no homogeneous member fit when measured)"
                                                          : b["chosen_at_least_baseline_bleu"].get<bool>() ? "yes" : "NO")
       << significance_text(b["chosen_vs_baseline"]) << ".\n\n"
       << "| model | config | BLEU | chrF | test ppl | latency ms (measured) | memory MiB (measured) | params | sentences/s end to end |\n"
       << "|---|---|---|---|---|---|---|---|---|\n"
       << model_row("chosen" + chosen_as_text(b["chosen"]), b["chosen"]) << model_row("baseline (homogeneous)", b["baseline"]);
    for (const auto& f : b["finalists"]) {
      if (b["chosen"].is_null() || f["model"] != b["chosen"]["model"]) md << model_row("finalist " + std::to_string(f["rank"].get<int>()) + " (not chosen)", f);
    }
    md << model_row("largest of the space", b["largest"]) << "\n" << selection_text(b["chosen"]);
  }
  md << "## Stages\n\n| stage | status | seconds | estimate | budget |\n|---|---|---|---|---|\n";
  for (const auto& s : st) {
    md << "| " << s["stage"].get<std::string>() << " | " << (s["cached"].get<bool>() ? "cached" : "ran") << " | "
       << num(s["seconds"].get<double>(), 3) << " | " << num(s["estimated_seconds"].get<double>(), 3) << " | "
       << (s["budget_seconds"].get<double>() > 0 ? num(s["budget_seconds"].get<double>(), 3) : "-") << " |\n";
  }
  md << "\nFiles: summary.json, report.html, search/" << (config.targets.size() > 1 ? "<target>/" : "")
     << "<budget>/ (search.json, candidates.csv), final/, export/.\n";

  // ---------------------------------------------------------------- report.html
  std::ostringstream charts;
  const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    const std::string name = budgets[i]["label"];
    const std::string dir = workdir + "/search/" + name;  // search/[TARGET/]BUDGET
    ChartSeries cand{"candidates", palette[0], {}, false}, cand_mem{"candidates", palette[0], {}, false};
    ChartSeries front{"verified", "#d62728", {}, false}, front_mem{"verified", "#d62728", {}, false};
    if (fs::exists(dir + "/candidates.csv")) {
      const auto lines = split_lines(read_text_file(dir + "/candidates.csv"), false);
      for (std::size_t k = 1; k < lines.size(); ++k) {
        const auto f = split_csv_line(lines[k]);
        if (f.size() < 5 || f[1].empty()) continue;
        const double loss = std::stod(f[1]);
        if (!f[2].empty()) cand.points.emplace_back(std::stod(f[2]), loss);
        if (!f[4].empty()) cand_mem.points.emplace_back(std::stod(f[4]), loss);
      }
    }
    ChartSeries measured{"predicted vs measured", palette[2], {}, false};
    if (fs::exists(dir + "/search.json")) {
      const json result = read_json(dir + "/search.json");  // alive for the loop (a temporary's member would dangle)
      for (const auto& c : result.at("pareto_front")) {
        if (c["latency_ms_predicted"].is_null()) continue;
        front.points.emplace_back(c["latency_ms_predicted"].get<double>(), c["valid_loss"].get<double>());
        front_mem.points.emplace_back(c["memory_mb_predicted"].get<double>(), c["valid_loss"].get<double>());
        if (!c["latency_ms_measured"].is_null()) {
          measured.points.emplace_back(c["latency_ms_predicted"].get<double>(), c["latency_ms_measured"].get<double>());
        }
      }
    }
    const json& b = budgets[i]["budget"];
    const double lat = b["latency_ms"].is_null() ? NAN : b["latency_ms"].get<double>();
    const double mem = b["memory_mb"].is_null() ? NAN : b["memory_mb"].get<double>();
    charts << "<h2>Budget " << html_escape(name) << "</h2>\n<div class=\"row\">\n"
           << svg_chart("Validation loss vs predicted latency", "latency (ms, predicted)", "validation loss (inherited weights)",
                        {cand, front}, {{true, lat, "latency budget"}})
           << svg_chart("Validation loss vs predicted memory", "peak memory (MiB, predicted)", "validation loss (inherited weights)",
                        {cand_mem, front_mem}, {{true, mem, "memory budget"}});
    // Predicted vs measured: the verified candidates and the identity.
    ChartSeries identity{"measured = predicted", "#999", {}, true};
    for (const auto& [x, y] : measured.points) {
      identity.points.emplace_back(x, x);
      (void)y;
    }
    charts << svg_chart("Predicted vs measured latency", "predicted (ms)", "measured (ms)", {measured, identity}) << "</div>\n";
  }
  // Training curve of the SuperTransformer; BLEU against latency for every model of the run.
  ChartSeries curve{"SuperTransformer (sampled SubTransformers)", palette[0], {}, true};
  if (fs::exists(workdir + "/super/train_log.jsonl")) {
    for (const auto& line : split_lines(read_text_file(workdir + "/super/train_log.jsonl"), false)) {
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
      if (e["latency_ms_measured"].is_null() || e.value("target", "") != t.name) continue;
      for (auto& s : bleu_series) {
        if (e["role"] == s.name) s.points.emplace_back(e["latency_ms_measured"].get<double>(), e["bleu"].get<double>());
      }
    }
    bleu_charts += svg_chart("BLEU vs measured latency" + (t.name.empty() ? "" : " (" + t.name + ")"), "latency (ms, measured)", "BLEU (test)",
                             bleu_series);
  }
  // The search's progress in evaluation order (evaluations.jsonl; candidates.csv is sorted by loss).
  ChartSeries progress{"best validation loss so far", palette[3], {}, true};
  const std::string evaluations = workdir + "/search/" + budgets[0]["label"].get<std::string>() + "/evaluations.jsonl";
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
         << svg_chart("Search progress (budget " + budgets[0]["label"].get<std::string>() + ")", "candidates scored", "best validation loss",
                      {progress})
         << bleu_charts << "</div>\n";

  std::string md_text = md.str();
  // The markdown tables, as HTML tables (the same numbers).
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
       << tables.str() << "</table>\n" << charts.str() << "</body>\n</html>\n";

  write_file_atomically(workdir + "/summary.json", summary.dump(2) + "\n");
  write_file_atomically(workdir + "/report.md", md_text);
  write_file_atomically(workdir + "/report.html", html.str());
  return {{"summary", workdir + "/summary.json"}, {"markdown", workdir + "/report.md"}, {"html", workdir + "/report.html"}};
}

}  // namespace thanos
