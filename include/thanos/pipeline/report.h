#pragma once
// What `thanos run` leaves for a person (docs/PIPELINE.md): summary.json (the machine-readable
// result), report.md (the same tables) and report.html (self-contained: inline SVG plots, no
// script, no network) in the run directory.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "thanos/pipeline/pipeline.h"
#include "thanos/pipeline/run_config.h"
#include "thanos/pipeline/stage_outputs.h"
#include "thanos/pipeline/work_dir.h"

namespace thanos {

// Reads the stage outputs under `dir` (stages/*.json, search/, final/, super/train_log.jsonl) and
// writes the three files atomically. Returns the paths written.
ReportFiles write_run_report(const WorkDir& dir, const RunConfig& config, const std::vector<StagePlan>& stages);

// Two systems' hypotheses (files, one line per segment) against the references, by paired bootstrap
// resampling of BLEU (decode/significance.h): {method, bleu_delta (a - b), ci95, p_value, samples,
// segments, verdict: "ahead" | "behind" (p < 0.05) | "level within noise"}.
nlohmann::ordered_json compare_hypotheses(const std::string& hyps_a, const std::string& hyps_b, const std::string& refs);

// A scatter/line chart as an SVG element (axes, ticks, labels, legend; optional threshold lines).
struct ChartSeries {
  std::string name;
  std::string color;  // CSS colour
  std::vector<std::pair<double, double>> points;
  bool line = false;  // joined in x order instead of dots
};
struct ChartLine {
  bool vertical = true;
  double at = 0;
  std::string label;
};
std::string svg_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                      const std::vector<ChartSeries>& series, const std::vector<ChartLine>& lines = {});

}  // namespace thanos
