// report.html (docs/PIPELINE.md, "Output") in a real browser. write_run_report runs on a small run
// directory the test writes (two budgets, one without a memory budget; the search's candidates and
// verified front; the evaluated models; the SuperTransformer's log), then Debian's headless
// Chromium opens the file it wrote:
//   - it loads without a single console message (the page has no script, so any message is the
//     browser's: a failed load, a blocked resource), and a copy under a Content-Security-Policy that
//     blocks every fetch and every script loads without one too (nothing fetched, nothing run);
//   - the browser's DOM holds every chart of the file, each exactly as written once parsed (so a
//     malformed SVG shows: AMalformedChartIsCaught), each with its marks inside its plot area;
//   - its screenshot shows the plots (decoded here: the series' colours cover the plots' area).
// Skips when no `chromium` is on PATH (scripts/setup.sh installs Debian's). No network: the page is
// a local file and Chromium's background networking is off.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "thanos/common/csv.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/pipeline/pipeline.h"
#include "thanos/pipeline/report.h"
#include "thanos/pipeline/run_config.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// ------------------------------------------------------------------ the run directory

constexpr int kCandidatesA = 40, kFrontA = 3, kMeasuredA = 2;  // one front member of A is not verified
constexpr int kCandidatesB = 24, kFrontB = 2, kMeasuredB = 2;
constexpr int kLogLines = 20;
const char* const kRunName = "tiny <demo> & co";  // escaped in the title and the heading

std::string summary_of(int k) {
  // A config summary as SubConfig::summary() writes it: encoder and decoder separated by " | ".
  return "encoder " + std::to_string(128 + 32 * (k % 3)) + "d x" + std::to_string(2 + k % 3) + " (ffn 512..768, heads 2..4, qkv 128) | decoder " +
         std::to_string(128 + 64 * (k % 2)) + "d x" + std::to_string(1 + k % 4) +
         " (ffn 1024, heads 4, qkv 128, ende heads 2, ende qkv 128, attends 2 enc layers)";
}

json stage_record(const std::string& stage, const json& outputs) {
  return {{"stage", stage}, {"inputs_hash", "0123456789abcdef"}, {"completed", true}, {"seconds", 1.5}, {"outputs", outputs}};
}

// search/<name>/: evaluations.jsonl and candidates.csv as the search writes them (the log in
// evaluation order, the table sorted by validation loss) and search.json
// with its Pareto front, the first `measured` members verified on the device.
void write_search(const std::string& dir, int candidates, int front, int measured, double shift) {
  fs::create_directories(dir);
  std::vector<std::vector<std::string>> rows;
  for (int k = 0; k < candidates; ++k) {
    const double latency = shift + 12.0 + 1.1 * k + 3.0 * std::sin(k), memory = 16.0 + 0.6 * k + 2.0 * std::cos(k);
    const double loss = 9.80 - 0.008 * k + 0.02 * std::sin(3.0 * k);
    rows.push_back({hex64(fnv1a64("cand" + std::to_string(k) + dir)).substr(0, 16), std::to_string(loss), std::to_string(latency),
                    std::to_string(4.0 + 0.1 * k), std::to_string(memory), std::to_string(3000000 + 50000 * k),
                    std::to_string(120000000 + 900000 * k), summary_of(k)});
  }
  // evaluations.jsonl: the search's log in evaluation order (a header line, then one line per config).
  std::string log = json{{"search", "0123456789abcdef"}}.dump() + "\n";
  for (const auto& r : rows) log += json{{"hash", r[0]}, {"fitness", std::stod(r[1])}}.dump() + "\n";
  write_file_atomically(dir + "/evaluations.jsonl", log);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return std::stod(a[1]) < std::stod(b[1]); });
  std::string csv = csv_line({"config_hash", "valid_loss", "latency_ms_predicted", "latency_ms_error", "memory_mb_predicted", "params",
                              "flops", "summary"}) +
                    "\n";
  for (const auto& r : rows) csv += csv_line(r) + "\n";
  write_file_atomically(dir + "/candidates.csv", csv);

  json pareto = json::array();
  for (int k = 0; k < front; ++k) {
    const bool verified = k < measured;
    const double predicted = shift + 15.0 + 6.0 * k;
    pareto.push_back({{"hash", hex64(fnv1a64("front" + std::to_string(k))).substr(0, 16)},
                      {"summary", summary_of(k)},
                      {"valid_loss", 9.45 + 0.03 * k},
                      {"latency_ms_predicted", predicted},
                      {"latency_ms_error", 4.0},
                      {"latency_ms_measured", verified ? json(predicted * 1.15 + 1.0) : json(nullptr)},
                      {"memory_mb_predicted", 18.0 + 2.5 * k},
                      {"memory_mb_measured", verified ? json(19.0 + 2.5 * k) : json(nullptr)},
                      {"params", 3500000 + 100000 * k},
                      {"flops", 127000000 + 1000000 * k},
                      {"measurement", {{"feasible", verified}, {"reason", ""}, {"memory_kind", "rss-peak-minus-baseline"}, {"backend", "cpu"}}},
                      {"verified", verified}});
  }
  write_file_atomically(dir + "/search.json",
                        json{{"format", "thanos.search"}, {"version", 1}, {"trials", json::array()}, {"pareto_front", pareto}}.dump(2) + "\n");
}

json evaluation(const std::string& role, const std::string& budget, int k, double bleu, double latency, double memory) {
  return {{"role", role},
          {"target", ""},
          {"budget", budget},
          {"config", summary_of(k)},
          {"bleu", bleu},
          {"chrf", 2.0 * bleu + 10.0},
          // The budget claim as the evaluate stage records it (stage_outputs.cc).
          {"feasible", true},
          {"verdict", role == "largest" ? json(nullptr) : json("fits")},
          {"latency_ms_median", latency},
          {"latency_ms_interval", {latency * 0.97, latency * 1.04}},
          {"memory_mib_peak", memory},
          {"memory_mib_interval", {memory, memory + 0.2}},
          {"latency_ms_measurements", {latency * 0.97, latency, latency * 1.04, latency, latency * 0.99}},
          {"memory_mib_measurements", {memory, memory, memory + 0.2, memory, memory}},
          {"reference_ms_measurements", {4.0, 4.1, 4.0, 4.2, 4.0}},
          {"memory_kind", "rss-peak-minus-baseline"},
          {"params", 3500000 + 1000000 * k},
          {"sentences_per_second_end_to_end", 300.0 + k},
          {"sentences_per_second_decoding", 350.0 + k},
          {"test_sentences", 337}};
}

// Everything write_run_report reads, shaped as the stages write it (src/pipeline/pipeline.cc).
void write_run_dir(const std::string& w) {
  fs::create_directories(w + "/stages");
  fs::create_directories(w + "/super");
  write_search(w + "/search/p40-p60", kCandidatesA, kFrontA, kMeasuredA, 0.0);
  write_search(w + "/search/fast", kCandidatesB, kFrontB, kMeasuredB, -6.0);
  auto budget = [](const json& latency, const json& memory, const std::string& latency_spec, const std::string& memory_spec) {
    return json{{"latency_ms", latency}, {"memory_mb", memory}, {"latency_spec", latency_spec}, {"memory_spec", memory_spec}};
  };
  const json search = json::array(
      {{{"target", ""}, {"name", "p40-p60"}, {"budget", budget(40.0, 30.0, "p40", "p60")}, {"feasible_fraction", 0.4}, {"found", true},
        {"nothing_fits", ""}, {"search", w + "/search/p40-p60/search.json"}, {"baseline", {{"found", true}}}},
       {{"target", ""}, {"name", "fast"}, {"budget", budget(20.0, nullptr, "20ms", "")}, {"feasible_fraction", 0.15}, {"found", true},
        {"nothing_fits", ""}, {"search", w + "/search/fast/search.json"}, {"baseline", {{"found", true}}}}});
  write_file_atomically(w + "/stages/search.json", stage_record("search", search).dump(2));
  const json evaluated = json::array({evaluation("largest", "", 9, 4.1, 61.0, 49.9), evaluation("chosen", "p40-p60", 1, 3.2, 33.5, 24.0),
                                      evaluation("baseline", "p40-p60", 2, 2.9, 36.8, 28.5), evaluation("chosen", "fast", 3, 2.4, 17.2, 19.5),
                                      evaluation("baseline", "fast", 4, 2.0, 18.9, 21.0)});
  write_file_atomically(w + "/stages/evaluate.json", stage_record("evaluate", evaluated).dump(2));
  write_file_atomically(w + "/stages/export.json",
                        stage_record("export", json::array({{{"target", ""}, {"budget", "p40-p60"}, {"dynamic", w + "/export/p40-p60/dynamic"},
                                                              {"static", w + "/export/p40-p60/static"}},
                                                             {{"target", ""}, {"budget", "fast"}, {"dynamic", w + "/export/fast/dynamic"},
                                                              {"static", w + "/export/fast/static"}}}))
                            .dump(2));
  write_file_atomically(w + "/stages/measure.json",
                        stage_record("measure", json::array({{{"target", ""}, {"dataset", w + "/measure/latency.csv"},
                                                              {"summary", {{"measured", 24}, {"already_in_file", 0}}}}}))
                            .dump(2));
  std::string log;
  for (int i = 0; i < kLogLines; ++i) {
    log += json{{"update", 30 * (i + 1)}, {"loss", 13.0 - 3.2 * (1.0 - std::exp(-i / 4.0))}, {"lr", 1e-3}, {"epoch", 1}}.dump() + "\n";
  }
  write_file_atomically(w + "/super/train_log.jsonl", log);
}

// report.html of that run directory under `w`, through the project's own writer.
std::string write_report(const std::string& w) {
  write_run_dir(w);
  RunConfig config = parse_run_config(
      "space: s.yml\nbudgets: [{name: p40-p60, latency: p40, memory: p60}, {name: fast, latency: 20ms}]\n", "run.yml");
  config.name = kRunName;
  std::vector<StagePlan> stages;
  for (const char* s : {"prepare", "super", "measure", "predictors", "search", "final", "evaluate", "export", "report"}) {
    StagePlan p;
    p.name = s;
    p.seconds = 2.5;
    p.estimated_seconds = 3.0;
    p.budget_seconds = 60.0;
    stages.push_back(p);
  }
  return write_run_report(WorkDir(w), config, stages).html;
}

// ------------------------------------------------------------------ Chromium

// `chromium` on PATH, or "".
std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    const std::string p = (d.empty() ? std::string(".") : d) + "/chromium";
    if (::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p)) return p;
  }
  return "";
}

#define REQUIRE_CHROMIUM(var)                                                                                             \
  const std::string var = find_chromium();                                                                                \
  if (var.empty()) {                                                                                                      \
    GTEST_SKIP() << "no `chromium` on PATH: this test opens report.html in Debian's headless Chromium; "                 \
                    "scripts/setup.sh installs it (apt-get install chromium)";                                            \
  }

struct BrowserRun {
  int exit_code = -1;
  std::string out;  // stdout: the DOM with --dump-dom
  std::string log;  // stderr: Chromium's log, console messages included
};

// One headless Chromium on `file`, with HOME, XDG dirs and the profile under `scratch` (nothing of
// the user's read or written), no background networking (updates, sync, sign-in), stopped after
// 90 s. `mode`: --dump-dom, or --screenshot=PATH with --window-size.
BrowserRun run_chromium(const std::string& chromium, const std::string& scratch, const std::vector<std::string>& mode,
                        const std::string& file) {
  fs::create_directories(scratch);
  std::vector<std::string> argv = {"env",
                                   "HOME=" + scratch,
                                   "XDG_CONFIG_HOME=" + scratch + "/.config",
                                   "XDG_CACHE_HOME=" + scratch + "/.cache",
                                   "timeout",
                                   "-k",
                                   "10",
                                   "90",
                                   chromium,
                                   "--headless=new",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--user-data-dir=" + scratch + "/profile",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-extensions",
                                   "--hide-scrollbars",
                                   "--enable-logging=stderr",
                                   "--v=0"};
  argv.insert(argv.end(), mode.begin(), mode.end());
  argv.push_back("file://" + fs::absolute(file).string());
  const std::string out_path = scratch + "/stdout";
  const ProcessResult r = run_process(argv, "", out_path);
  BrowserRun b;
  b.exit_code = r.exit_code;
  b.log = r.stderr_text;
  b.out = fs::exists(out_path) ? read_text_file(out_path) : "";
  return b;
}

// The lines of Chromium's log that are about the page: any console message (report.html has no
// script, so a console line is the browser's own: a blocked or failed load, a parse problem), an
// uncaught exception, a failed load, a fatal error. What Chromium says about its surroundings in a
// container (no D-Bus, no GPU device, no OAuth keys, its launcher's /dev/shm test) is not.
std::vector<std::string> page_errors(const std::string& log) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(log, true)) {
    for (const char* mark : {":CONSOLE", "Uncaught", "Failed to load", "net::ERR_", ":FATAL:"}) {
      if (line.find(mark) != std::string::npos) {
        out.push_back(line);
        break;
      }
    }
  }
  return out;
}

std::string lines_text(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

// ------------------------------------------------------------------ the charts in the DOM

// The value of attribute `name` in the first tag of `element`, or "".
std::string attribute(const std::string& element, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const auto tag_end = element.find('>');
  const auto at = element.find(key);
  if (at == std::string::npos || at > tag_end) return "";
  const auto end = element.find('"', at + key.size());
  return element.substr(at + key.size(), end - at - key.size());
}

// The <svg>...</svg> elements of `html` in order; one that opens inside another, or is never
// closed, is a problem.
std::vector<std::string> svg_elements(const std::string& html, const std::string& where, std::vector<std::string>* problems) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = html.find("<svg", at)) != std::string::npos) {
    const std::size_t end = html.find("</svg>", at);
    if (end == std::string::npos) {
      problems->push_back(where + ": an <svg> is never closed: " + html.substr(at, 160));
      break;
    }
    const std::size_t next = html.find("<svg", at + 4);
    if (next < end) {
      problems->push_back(where + ": an <svg> opens inside chart " + std::to_string(out.size()) + " (" +
                          attribute(html.substr(at), "aria-label") + ")");
    }
    out.push_back(html.substr(at, end + 6 - at));
    at = end + 6;
  }
  return out;
}

// `svg` as an HTML parser serialises it: <x .../> becomes <x ...></x> (attribute order, values and
// text are kept).
std::string expand_self_closing(const std::string& svg) {
  std::string out;
  std::size_t i = 0;
  while (i < svg.size()) {
    if (svg[i] != '<') {
      out += svg[i++];
      continue;
    }
    std::size_t j = i + 1;
    char quote = 0;
    for (; j < svg.size(); ++j) {
      if (quote) {
        if (svg[j] == quote) quote = 0;
      } else if (svg[j] == '"' || svg[j] == '\'') {
        quote = svg[j];
      } else if (svg[j] == '>') {
        break;
      }
    }
    if (j >= svg.size()) {
      out += svg.substr(i);
      break;
    }
    const std::string tag = svg.substr(i, j + 1 - i);
    if (tag.size() > 3 && tag[tag.size() - 2] == '/') {
      std::size_t name_end = 1;
      while (name_end < tag.size() && std::isalnum(static_cast<unsigned char>(tag[name_end]))) ++name_end;
      out += tag.substr(0, tag.size() - 2) + "></" + tag.substr(1, name_end - 1) + ">";
    } else {
      out += tag;
    }
    i = j + 1;
  }
  return out;
}

// What differs between the charts of the file and those of the page Chromium built from it: the
// page must be the report (not an error page or nothing), with as many charts, each of them what
// the file says once parsed. A malformed chart (an unclosed quote or element, a raw '<' or '&')
// is parsed into something else and shows here.
std::vector<std::string> dom_problems(const std::string& file_html, const std::string& dom) {
  std::vector<std::string> problems;
  if (dom.rfind("<!DOCTYPE html>", 0) != 0 || dom.find("<title>THANOS run: ") == std::string::npos) {
    problems.push_back("the page is not the report (an error page, or nothing): " + dom.substr(0, 300));
    return problems;
  }
  const auto file_svgs = svg_elements(file_html, "file", &problems);
  const auto dom_svgs = svg_elements(dom, "page", &problems);
  if (file_svgs.size() != dom_svgs.size()) {
    problems.push_back("the file has " + std::to_string(file_svgs.size()) + " charts, the page " + std::to_string(dom_svgs.size()));
  }
  for (std::size_t i = 0; i < std::min(file_svgs.size(), dom_svgs.size()); ++i) {
    const std::string written = expand_self_closing(file_svgs[i]);
    if (written == dom_svgs[i]) continue;
    std::size_t d = 0;
    while (d < written.size() && d < dom_svgs[i].size() && written[d] == dom_svgs[i][d]) ++d;
    const std::size_t from = d > 60 ? d - 60 : 0;
    problems.push_back("chart " + std::to_string(i) + " (" + attribute(file_svgs[i], "aria-label") +
                       ") is not what the file says once the browser parsed it; from offset " + std::to_string(d) + ":\n    file: " +
                       written.substr(from, 160) + "\n    page: " + dom_svgs[i].substr(from, 160));
  }
  return problems;
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Every element `tag` of `svg` (its opening tag).
std::vector<std::string> elements(const std::string& svg, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + " ";
  for (std::size_t at = svg.find(open); at != std::string::npos; at = svg.find(open, at + 1)) {
    out.push_back(svg.substr(at, svg.find('>', at) + 1 - at));
  }
  return out;
}

// The plot area of svg_chart (src/pipeline/report.cc): 560 x 340 with margins L 64, R 16, T 34, B 48.
bool inside_plot(double x, double y) {
  const double eps = 0.5;
  return std::isfinite(x) && std::isfinite(y) && x >= 64 - eps && x <= 560 - 16 + eps && y >= 34 - eps && y <= 340 - 48 + eps;
}

struct ExpectedChart {
  std::string title;
  int circles;
  std::vector<int> polyline_points;  // one entry per polyline
  int budget_lines;
};

// ------------------------------------------------------------------ PNG

struct Rgb {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // RGB, row by row
};

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

// An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into RGB; "" or why not.
std::string decode_png(const std::string& png, Rgb* img) {
  if (png.size() < 33 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return "not a PNG";
  std::string idat;
  int depth = 0, color = 0, interlace = 0;
  for (std::size_t at = 8; at + 8 <= png.size();) {
    const std::uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (at + 12 + len > png.size()) return "truncated chunk " + type;
    if (type == "IHDR") {
      img->width = static_cast<int>(be32(png, at + 8));
      img->height = static_cast<int>(be32(png, at + 12));
      depth = std::uint8_t(png[at + 16]);
      color = std::uint8_t(png[at + 17]);
      interlace = std::uint8_t(png[at + 20]);
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
    return "unsupported PNG: depth " + std::to_string(depth) + ", colour type " + std::to_string(color) + ", interlace " + std::to_string(interlace);
  }
  const std::size_t bpp = color == 6 ? 4 : 3, stride = bpp * static_cast<std::size_t>(img->width);
  std::vector<std::uint8_t> raw((stride + 1) * static_cast<std::size_t>(img->height));
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK || raw_size != raw.size()) {
    return "the image data does not inflate to " + std::to_string(raw.size()) + " bytes";
  }
  std::vector<std::uint8_t> prev(stride, 0), row(stride);
  img->pixels.clear();
  img->pixels.reserve(3 * static_cast<std::size_t>(img->width) * img->height);
  for (int y = 0; y < img->height; ++y) {
    const std::uint8_t* in = raw.data() + static_cast<std::size_t>(y) * (stride + 1);
    const int filter = in[0];
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: return "bad filter type " + std::to_string(filter) + " in row " + std::to_string(y);
      }
      row[i] = static_cast<std::uint8_t>(in[1 + i] + pred);
    }
    for (int x = 0; x < img->width; ++x) {
      for (int ch = 0; ch < 3; ++ch) img->pixels.push_back(row[x * bpp + ch]);
    }
    prev = row;
  }
  return "";
}

// ------------------------------------------------------------------ the tests

class ReportHtml : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("report-html");
    html_path_ = write_report(dir_->path() + "/run");
    html_ = read_text_file(html_path_);
  }
  std::string scratch(const std::string& tag) const { return dir_->path() + "/chromium-" + tag; }

  std::unique_ptr<TempDir> dir_;
  std::string html_path_, html_;
};

TEST_F(ReportHtml, LoadsWithoutErrorsInChromiumAndTheDomHoldsEveryPlotWithItsMarks) {
  REQUIRE_CHROMIUM(chromium);
  const BrowserRun run = run_chromium(chromium, scratch("dom"), {"--dump-dom"}, html_path_);
  ASSERT_EQ(run.exit_code, 0) << "chromium --dump-dom failed (124: timed out)\n" << run.log;
  EXPECT_EQ(page_errors(run.log), std::vector<std::string>{}) << "Chromium reported problems with the page:\n"
                                                               << lines_text(page_errors(run.log)) << "its whole log:\n"
                                                               << run.log;
  const std::string& dom = run.out;
  const auto problems = dom_problems(html_, dom);
  ASSERT_EQ(problems, std::vector<std::string>{}) << lines_text(problems);

  // The page is the report: its title escaped, both budgets' tables, no error text of Chromium's.
  EXPECT_NE(dom.find("<title>THANOS run: tiny &lt;demo&gt; &amp; co</title>"), std::string::npos);
  EXPECT_NE(dom.find("<h3>Budget p40-p60: latency 40.0 ms (p40), memory 30.0 MiB (p60)</h3>"), std::string::npos);
  EXPECT_NE(dom.find("<h3>Budget fast: latency 20.0 ms (20ms)"), std::string::npos);
  EXPECT_EQ(count_of(dom, "<tr><td> chosen </td>"), 2);
  for (const char* bad : {"no data", "<script", "ERR_", "=\"nan", "=\"-nan", "=\"inf", "=\"-inf"}) {
    EXPECT_EQ(dom.find(bad), std::string::npos) << bad;
  }

  // Every chart in the page, each with what this run directory puts in it, inside its plot area.
  const std::vector<ExpectedChart> expected = {
      {"Validation loss vs predicted latency", kCandidatesA + kFrontA, {}, 1},
      {"Validation loss vs predicted memory", kCandidatesA + kFrontA, {}, 1},
      {"Predicted vs measured latency", kMeasuredA, {kMeasuredA}, 0},
      {"Validation loss vs predicted latency", kCandidatesB + kFrontB, {}, 1},
      {"Validation loss vs predicted memory", kCandidatesB + kFrontB, {}, 0},  // budget "fast" has no memory budget
      {"Predicted vs measured latency", kMeasuredB, {kMeasuredB}, 0},
      {"SuperTransformer training", 0, {kLogLines}, 0},
      {"Search progress (budget p40-p60)", 0, {kCandidatesA}, 0},
      {"BLEU vs measured latency", 5, {}, 0},
  };
  std::vector<std::string> ignored;
  const auto charts = svg_elements(dom, "page", &ignored);
  ASSERT_EQ(charts.size(), expected.size());
  for (std::size_t i = 0; i < charts.size(); ++i) {
    const std::string& svg = charts[i];
    const ExpectedChart& want = expected[i];
    SCOPED_TRACE("chart " + std::to_string(i) + ": " + want.title);
    EXPECT_EQ(attribute(svg, "aria-label"), want.title);
    // The plot frame is 560 x 340; the legend rows below it make the chart taller.
    EXPECT_EQ(attribute(svg, "viewBox").rfind("0 0 560 ", 0), 0u) << attribute(svg, "viewBox");
    EXPECT_GT(std::atof(attribute(svg, "height").c_str()), 340.0);
    for (const auto& r : elements(svg, "rect")) {
      if (attribute(r, "class") == "legend") {
        EXPECT_GE(std::atof(attribute(r, "y").c_str()), 340.0) << "legend below the plot: " << r;
      }
    }
    EXPECT_NE(svg.find(">" + want.title + "</text>"), std::string::npos);  // the title is drawn, not only labelled
    const auto circles = elements(svg, "circle");
    EXPECT_EQ(static_cast<int>(circles.size()), want.circles);
    for (const auto& c : circles) {
      EXPECT_TRUE(inside_plot(std::atof(attribute(c, "cx").c_str()), std::atof(attribute(c, "cy").c_str()))) << c;
      EXPECT_EQ(attribute(c, "r"), "3.5") << c;
    }
    const auto polylines = elements(svg, "polyline");
    ASSERT_EQ(polylines.size(), want.polyline_points.size());
    for (std::size_t k = 0; k < polylines.size(); ++k) {
      std::stringstream points(attribute(polylines[k], "points"));
      std::string pair;
      int n = 0;
      while (points >> pair) {
        const auto comma = pair.find(',');
        ASSERT_NE(comma, std::string::npos) << polylines[k];
        EXPECT_TRUE(inside_plot(std::atof(pair.substr(0, comma).c_str()), std::atof(pair.substr(comma + 1).c_str()))) << pair;
        ++n;
      }
      EXPECT_EQ(n, want.polyline_points[k]) << polylines[k];
    }
    const auto lines = elements(svg, "line");
    int budget_lines = 0;
    for (const auto& l : lines) {
      if (attribute(l, "class") != "budget") continue;
      ++budget_lines;
      EXPECT_TRUE(inside_plot(std::atof(attribute(l, "x1").c_str()), std::atof(attribute(l, "y1").c_str()))) << l;
    }
    EXPECT_EQ(budget_lines, want.budget_lines);
    EXPECT_GE(static_cast<int>(lines.size()) - budget_lines, 4) << "axis ticks";
  }
}

TEST_F(ReportHtml, NothingIsFetchedAndNoScriptRunsUnderAPolicyThatForbidsBoth) {
  REQUIRE_CHROMIUM(chromium);
  // The same page with a policy that blocks every fetch (files included) and every script, inline
  // styles allowed: Chromium logs each blocked attempt as a console message.
  const auto head = html_.find("<head>");
  ASSERT_NE(head, std::string::npos);
  std::string strict = html_;
  strict.insert(head + 6, "\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
  const std::string strict_path = dir_->path() + "/report-strict.html";
  write_file_atomically(strict_path, strict);
  const BrowserRun run = run_chromium(chromium, scratch("csp"), {"--dump-dom"}, strict_path);
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_EQ(page_errors(run.log), std::vector<std::string>{}) << lines_text(page_errors(run.log));
  EXPECT_EQ(dom_problems(strict, run.out), std::vector<std::string>{});
}

TEST_F(ReportHtml, TheScreenshotShowsThePlots) {
  REQUIRE_CHROMIUM(chromium);
  const int width = 1800, height = 2600;  // three 560-pixel charts a row; the whole page
  const std::string png_path = dir_->path() + "/report.png";
  const BrowserRun run = run_chromium(
      chromium, scratch("png"), {"--window-size=" + std::to_string(width) + "," + std::to_string(height), "--screenshot=" + png_path},
      html_path_);
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_EQ(page_errors(run.log), std::vector<std::string>{}) << lines_text(page_errors(run.log));
  ASSERT_TRUE(fs::exists(png_path)) << run.log;
  Rgb img;
  const std::string why = decode_png(read_text_file(png_path), &img);
  ASSERT_EQ(why, "");
  ASSERT_EQ(img.width, width);
  ASSERT_EQ(img.height, height);
  // Count the pixels of the series' colours (dots at 75% opacity on white): the candidates' blue
  // (#1f77b4), the verified points', chosen models' and budget lines' red (#d62728, #c00), the
  // search progress' purple (#9467bd). Legend swatches are 100 pixels each (5 blue, 5 red, 1
  // purple); this page measured 6289 blue (138 candidate dots, the training curve), 2064 red and
  // 972 purple pixels: the bounds below are about half of that, far above the swatches alone.
  long blue = 0, red = 0, purple = 0, ink = 0;
  for (std::size_t p = 0; p + 2 < img.pixels.size(); p += 3) {
    const int r = img.pixels[p], g = img.pixels[p + 1], b = img.pixels[p + 2];
    if (std::min({r, g, b}) < 200) ++ink;
    if (b > r + 60 && b > g + 20 && g > r + 20) ++blue;
    if (r > g + 90 && r > b + 90) ++red;
    if (b > g + 40 && r > g + 20 && b > r) ++purple;
  }
  std::cout << "screenshot " << width << "x" << height << ": ink " << ink << ", blue " << blue << ", red " << red << ", purple " << purple
            << " pixels\n";
  EXPECT_GT(ink, 50000);
  EXPECT_GT(blue, 3000);
  EXPECT_GT(red, 1000);
  EXPECT_GT(purple, 400);
  // The last row of charts is on the page: its lower half has ink.
  long lower = 0;
  for (std::size_t p = img.pixels.size() / 2; p + 2 < img.pixels.size(); p += 3) {
    if (std::min({img.pixels[p], img.pixels[p + 1], img.pixels[p + 2]}) < 200) ++lower;
  }
  EXPECT_GT(lower, 10000);
}

TEST_F(ReportHtml, AMalformedChartIsCaught) {
  REQUIRE_CHROMIUM(chromium);
  // Three mistakes a writer could make, in three charts: an attribute's quote left open (chart 0),
  // a raw '<' in a label (chart 3), a chart never closed (chart 6).
  std::vector<std::size_t> starts;
  for (std::size_t at = html_.find("<svg"); at != std::string::npos; at = html_.find("<svg", at + 1)) starts.push_back(at);
  ASSERT_GE(starts.size(), 7u);
  std::string bad = html_;
  // Work from the back so that the earlier offsets stay valid.
  const auto close6 = bad.find("</svg>", starts[6]);
  bad.erase(close6, 6);
  const auto label3 = bad.find(">latency (ms, predicted)</text>", starts[3]);
  ASSERT_NE(label3, std::string::npos);
  bad.replace(label3, 1, ">latency < budget ");
  const auto circle0 = bad.find("<circle class=\"point\" cx=\"", starts[0]);
  ASSERT_NE(circle0, std::string::npos);
  bad.erase(bad.find('"', circle0 + 26), 1);  // cx="123.4 cy="...
  const std::string bad_path = dir_->path() + "/report-bad.html";
  write_file_atomically(bad_path, bad);
  const BrowserRun run = run_chromium(chromium, scratch("bad"), {"--dump-dom"}, bad_path);
  ASSERT_EQ(run.exit_code, 0) << run.log;
  const std::string all = lines_text(dom_problems(bad, run.out));
  EXPECT_NE(all.find("chart 0 (Validation loss vs predicted latency)"), std::string::npos) << all;
  EXPECT_NE(all.find("chart 3 (Validation loss vs predicted latency)"), std::string::npos) << all;
  EXPECT_NE(all.find("page: an <svg> opens inside chart 6"), std::string::npos) << all;
}

}  // namespace
}  // namespace thanos
