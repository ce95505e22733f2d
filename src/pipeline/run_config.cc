#include "thanos/pipeline/run_config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "thanos/hw/target_device.h"
#include "thanos/space/yaml_fields.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using yaml_fields::where;

std::string keys_text(const std::set<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
  return s;
}

// Every key of `node` must be one of `allowed`.
void check_keys(const std::string& src, const YAML::Node& node, const std::string& section, const std::set<std::string>& allowed) {
  if (!node.IsMap()) throw std::invalid_argument(where(src, node, section) + ": expected a mapping of keys to values");
  for (const auto& kv : node) {
    const std::string key = yaml_fields::key_text(src, kv.first);
    if (!allowed.count(key)) {
      throw std::invalid_argument(where(src, kv.first, (section.empty() ? "" : section + ".") + key) + ": unknown key (allowed: " +
                                  keys_text(allowed) + ")");
    }
  }
}

std::string as_string(const std::string& src, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw std::invalid_argument(where(src, node, key) + ": expected a string, got " + yaml_fields::scalar_text(node));
  return node.Scalar();
}

std::string one_of(const std::string& src, const YAML::Node& node, const std::string& key, const std::set<std::string>& choices) {
  const std::string v = as_string(src, node, key);
  if (!choices.count(v)) throw std::invalid_argument(where(src, node, key) + ": '" + v + "': expected one of " + keys_text(choices));
  return v;
}

// Every number of a run config has a range: beyond it a value is a typo or an attack (2^31 - 1
// threads, 1e300 minutes), not a setting.
int positive_int(const std::string& src, const YAML::Node& node, const std::string& key, int min = 1, int max = 1000000000) {
  const int v = yaml_fields::as_int(src, node, key);
  if (v < min || v > max) {
    throw std::invalid_argument(where(src, node, key) + ": " + std::to_string(v) + ": expected " + std::to_string(min) + " to " +
                                std::to_string(max));
  }
  return v;
}

// A finite number in [lo, hi] (nan and inf are refused; `lo_open`: lo itself too).
double number_in(const std::string& src, const YAML::Node& node, const std::string& key, double lo, double hi, bool lo_open = false) {
  const double v = yaml_fields::as_double(src, node, key);
  if (!std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo)) {
    throw std::invalid_argument(where(src, node, key) + ": " + node.Scalar() + ": expected a number " + (lo_open ? "above " : "from ") +
                                format_fixed(lo, lo == static_cast<int>(lo) ? 0 : 2) + (lo_open ? " up to " : " to ") +
                                format_fixed(hi, hi == static_cast<long long>(hi) ? 0 : 2));
  }
  return v;
}

void read_train(const std::string& src, const YAML::Node& node, const std::string& section, TrainStageSettings& t) {
  check_keys(src, node, section, {"updates", "max_tokens", "lr", "warmup", "update_freq", "schedule", "clip_norm"});
  if (node["clip_norm"]) {
    t.clip_norm = number_in(src, node["clip_norm"], section + ".clip_norm", 0, 1e6);
  }
  if (node["schedule"]) t.schedule = one_of(src, node["schedule"], section + ".schedule", {"inverse_sqrt", "cosine", "fixed"});
  if (node["updates"]) t.updates = positive_int(src, node["updates"], section + ".updates");
  if (node["max_tokens"]) t.max_tokens = positive_int(src, node["max_tokens"], section + ".max_tokens", 1, 1 << 20);
  if (node["lr"]) {
    t.lr = number_in(src, node["lr"], section + ".lr", 0, 10, /*lo_open=*/true);
  }
  if (node["warmup"]) t.warmup = positive_int(src, node["warmup"], section + ".warmup", 0);
  if (node["update_freq"]) t.update_freq = positive_int(src, node["update_freq"], section + ".update_freq", 1, 1024);
}

// A target's name becomes a directory name.
bool valid_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name == "largest") return false;
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') return false;
  }
  return true;
}

std::vector<BudgetPair> read_budgets(const std::string& src, const YAML::Node& n, const std::string& key) {
  std::vector<BudgetPair> budgets;
  std::set<std::string> names;
  auto read_pair = [&](const YAML::Node& b, const std::string& k) {
    check_keys(src, b, k, {"name", "latency", "memory"});
    BudgetPair p;
    p.name = b["name"] ? as_string(src, b["name"], k + ".name") : "b" + std::to_string(budgets.size());
    if (!valid_name(p.name)) {
      throw std::invalid_argument(where(src, b["name"], k + ".name") + ": '" + p.name +
                                  "': expected letters, digits, '-', '_' or '.' (it names a folder; not 'largest')");
    }
    if (!names.insert(p.name).second) throw std::invalid_argument(where(src, b["name"], k + ".name") + ": '" + p.name + "': used twice");
    if (b["latency"]) p.latency = parse_budget(as_string(src, b["latency"], k + ".latency"), "ms", where(src, b["latency"], k + ".latency"));
    if (b["memory"]) p.memory = parse_budget(as_string(src, b["memory"], k + ".memory"), "MiB", where(src, b["memory"], k + ".memory"));
    if (p.latency.empty() && p.memory.empty()) throw std::invalid_argument(where(src, b, k) + ": give latency, memory or both");
    budgets.push_back(p);
  };
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i) read_pair(n[i], key + "[" + std::to_string(i) + "]");
  } else {
    read_pair(n, key);
  }
  if (budgets.empty()) throw std::invalid_argument(where(src, n, key) + ": expected at least one budget pair");
  return budgets;
}

// The runtime a target measures in (TargetSpec::runtime): from `runtime:` when given, checked
// against the device, else from the device. `device: cpu, runtime: onnxruntime` becomes ort-cpu.
void resolve_runtime(const std::string& src, const YAML::Node& n, const std::string& section, TargetSpec& t) {
  const TargetDevice d = TargetDevice::parse(t.device);
  std::string implied;  // what the device alone measures in
  switch (d.kind) {
    case TargetDevice::Kind::kCpu: implied = "libtorch"; break;
    case TargetDevice::Kind::kCuda: implied = "libtorch"; break;
    case TargetDevice::Kind::kOrtCpu: implied = "onnxruntime"; break;
    case TargetDevice::Kind::kRknn: implied = "rknn"; break;
    case TargetDevice::Kind::kRemote: implied = t.backend == "rknn" ? "rknn" : "libtorch"; break;
  }
  if (!n["runtime"]) {
    t.runtime = implied;
    return;
  }
  const std::string wanted = one_of(src, n["runtime"], section + ".runtime", {"libtorch", "onnxruntime", "rknn"});
  if (wanted == implied) {
    t.runtime = wanted;
    return;
  }
  if (d.kind == TargetDevice::Kind::kCpu && wanted == "onnxruntime") {  // the exported graphs on this CPU
    t.device = "ort-cpu";
    t.runtime = wanted;
    return;
  }
  const std::string device = t.device + (t.backend.empty() ? "" : " (backend " + t.backend + ")");
  throw std::invalid_argument(where(src, n["runtime"], section + ".runtime") + ": '" + wanted + "' cannot measure on device " + device +
                              ", which measures in " + implied +
                              " (onnxruntime: device cpu; rknn: device rknn or an agent with backend rknn; libtorch: cpu, cuda or an "
                              "agent with backend cpu or cuda)");
}

// `target:` (named = false: no name, no budgets inside) or one entry of `targets:` (named, with its budgets).
TargetSpec read_target(const std::string& src, const YAML::Node& n, const std::string& section, bool named) {
  std::set<std::string> keys = {"device", "backend", "runtime", "token_file", "threads", "protocol", "dtype"};
  if (named) keys.insert({"name", "budgets"});
  check_keys(src, n, section, keys);
  TargetSpec t;
  if (named) {
    if (!n["name"]) throw std::invalid_argument(where(src, n, section) + ": name: required (it names the target's folders)");
    t.name = as_string(src, n["name"], section + ".name");
    if (!valid_name(t.name)) {
      throw std::invalid_argument(where(src, n["name"], section + ".name") + ": '" + t.name +
                                  "': expected letters, digits, '-', '_' or '.' (it names a folder; not 'largest')");
    }
    if (!n["budgets"]) throw std::invalid_argument(where(src, n, section) + ": budgets: required (e.g. [{latency: p40, memory: p60}])");
    t.budgets = read_budgets(src, n["budgets"], section + ".budgets");
  }
  if (n["device"]) {
    t.device = as_string(src, n["device"], section + ".device");
    try {
      TargetDevice::parse(t.device);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where(src, n["device"], section + ".device") + ": " + e.what());
    }
  }
  if (n["backend"]) t.backend = one_of(src, n["backend"], section + ".backend", {"cpu", "cuda", "rknn"});
  resolve_runtime(src, n, section, t);
  if (n["token_file"]) t.token_file = as_string(src, n["token_file"], section + ".token_file");
  if (n["threads"]) t.threads = positive_int(src, n["threads"], section + ".threads", 0, 1024);
  if (n["protocol"]) t.protocol = one_of(src, n["protocol"], section + ".protocol", {"hat-wmt", "hat-iwslt", "quick"});
  if (n["dtype"]) t.dtype = one_of(src, n["dtype"], section + ".dtype", {"float32", "float16", "bfloat16"});
  return t;
}

}  // namespace

BudgetSpec parse_budget(const std::string& text, const std::string& unit, const std::string& key) {
  BudgetSpec b;
  b.text = text;
  auto bad = [&]() {
    return std::invalid_argument(key + ": '" + text + "': expected pNN (a percentile of the measured dataset, 0..100), or " +
                                 (unit == "ms" ? "a latency like 150ms" : "a memory like 300MiB") + " (a plain number is " + unit + ")");
  };
  if (text.empty()) throw bad();
  std::string number = text;
  if (text[0] == 'p' || text[0] == 'P') {
    b.percentile = true;
    number = text.substr(1);
  } else {
    for (const std::string& suffix : unit == "ms" ? std::vector<std::string>{"ms"} : std::vector<std::string>{"MiB", "MB", "mib", "mb"}) {
      if (number.size() > suffix.size() && number.compare(number.size() - suffix.size(), suffix.size(), suffix) == 0) {
        number = number.substr(0, number.size() - suffix.size());
        break;
      }
    }
  }
  try {
    std::size_t used = 0;
    b.value = std::stod(number, &used);
    if (used != number.size()) throw bad();
  } catch (const std::invalid_argument&) {
    throw bad();
  } catch (const std::out_of_range&) {
    throw bad();
  }
  if (!std::isfinite(b.value) || b.value <= 0 || (b.percentile && b.value > 100)) throw bad();
  return b;
}

RunConfig parse_run_config(const std::string& text, const std::string& src) {
  const YAML::Node root = yaml_fields::parse_mapping(text, src);
  check_keys(src, root, "",
             {"name", "seed", "corpus", "space", "target", "targets", "budgets", "train_device", "super", "measure", "search", "final", "evaluate", "export",
              "stage_budget_minutes"});
  RunConfig c;
  c.source = src;
  c.base_dir = fs::path(src).parent_path().string();
  if (root["name"]) c.name = as_string(src, root["name"], "name");
  if (root["seed"]) c.seed = static_cast<uint64_t>(positive_int(src, root["seed"], "seed", 0, 2147483647));

  if (const auto n = root["corpus"]) {
    if (n.IsScalar()) {
      c.corpus = n.Scalar();
    } else {
      check_keys(src, n, "corpus", {"path", "train", "valid", "test", "src_lang", "tgt_lang", "vocab_size"});
      if (n["path"]) c.corpus = as_string(src, n["path"], "corpus.path");
      if (n["train"]) c.train_prefix = as_string(src, n["train"], "corpus.train");
      if (n["valid"]) c.valid_prefix = as_string(src, n["valid"], "corpus.valid");
      if (n["test"]) c.test_prefix = as_string(src, n["test"], "corpus.test");
      if (n["src_lang"]) c.src_lang = as_string(src, n["src_lang"], "corpus.src_lang");
      if (n["tgt_lang"]) c.tgt_lang = as_string(src, n["tgt_lang"], "corpus.tgt_lang");
      if (n["vocab_size"]) c.vocab_size = positive_int(src, n["vocab_size"], "corpus.vocab_size", 16, 1 << 20);
    }
  }
  if (!root["space"]) throw std::invalid_argument(src + ": space: required (a search space YAML, e.g. configs/spaces/demo.yml)");
  c.space = as_string(src, root["space"], "space");

  if (root["targets"] && (root["target"] || root["budgets"])) {
    throw std::invalid_argument(where(src, root["targets"], "targets") +
                                ": give either `targets:` (a list, each with its budgets) or `target:` and `budgets:`, not both");
  }
  if (const auto n = root["targets"]) {
    if (!n.IsSequence() || n.size() == 0) throw std::invalid_argument(where(src, n, "targets") + ": expected a non-empty list of targets");
    std::set<std::string> names;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string key = "targets[" + std::to_string(i) + "]";
      TargetSpec t = read_target(src, n[i], key, /*named=*/true);
      if (!names.insert(t.name).second) throw std::invalid_argument(where(src, n[i]["name"], key + ".name") + ": '" + t.name + "': used twice");
      c.targets.push_back(std::move(t));
    }
  } else {
    TargetSpec t = root["target"] ? read_target(src, root["target"], "target", /*named=*/false) : TargetSpec{};
    if (!root["budgets"]) throw std::invalid_argument(src + ": budgets: required (e.g. {latency: p40, memory: p60} or a list of such)");
    t.budgets = read_budgets(src, root["budgets"], "budgets");
    c.targets.push_back(std::move(t));
  }

  if (const auto n = root["train_device"]) {
    c.train_device = as_string(src, n, "train_device");
    const bool cuda_n = c.train_device.rfind("cuda:", 0) == 0 && c.train_device.size() > 5 &&
                        c.train_device.find_first_not_of("0123456789", 5) == std::string::npos;
    if (c.train_device != "cpu" && c.train_device != "cuda" && !cuda_n) {
      throw std::invalid_argument(where(src, n, "train_device") + ": '" + c.train_device + "': expected cpu, cuda or cuda:N");
    }
  }
  if (root["super"]) read_train(src, root["super"], "super", c.super);
  if (const auto n = root["measure"]) {
    if (n.IsMap() && n["repeats"]) {
      throw std::invalid_argument(where(src, n["repeats"], "measure.repeats") +
                                  ": no longer read: a budget claim takes measure.claim_measurements (>= 5, default 5) readings "
                                  "and up to measure.claim_max_measurements (default 11) while undecided (docs/MEASUREMENT.md)");
    }
    check_keys(src, n, "measure", {"samples", "claim_measurements", "claim_max_measurements", "cooldowns"});
    if (n["cooldowns"]) c.measure_cooldowns = positive_int(src, n["cooldowns"], "measure.cooldowns", 0, 10);
    // With the smallest and largest members, 20 rows: the least a predictor's 80/10/10 split takes.
    if (n["samples"]) c.measure_samples = positive_int(src, n["samples"], "measure.samples", 18, 1000000);
    // Five: fewer readings cannot give a 90% interval of the median (hw/budget_claim.h).
    if (n["claim_measurements"]) {
      c.claim_measurements = positive_int(src, n["claim_measurements"], "measure.claim_measurements", 5, 100);
    }
    if (n["claim_max_measurements"]) {
      c.claim_max_measurements = positive_int(src, n["claim_max_measurements"], "measure.claim_max_measurements", 5, 200);
    }
    if (c.claim_max_measurements < c.claim_measurements) {
      throw std::invalid_argument(where(src, n, "measure") + ": claim_max_measurements (" + std::to_string(c.claim_max_measurements) +
                                  ") must be at least claim_measurements (" + std::to_string(c.claim_measurements) + ")");
    }
  }
  if (const auto n = root["search"]) {
    check_keys(src, n, "search", {"strategy", "settings", "valid_subset", "rerank", "top_k", "verify_limit", "margin", "claim_headroom"});
    if (n["claim_headroom"]) {
      c.claim_headroom = yaml_fields::as_double(src, n["claim_headroom"], "search.claim_headroom");
      if (!(c.claim_headroom >= 0 && c.claim_headroom < 0.5)) {  // nan fails too
        throw std::invalid_argument(where(src, n["claim_headroom"], "search.claim_headroom") + ": expected a fraction in [0, 0.5)");
      }
    }
    if (n["margin"]) {
      c.search_margin = number_in(src, n["margin"], "search.margin", 0, 10);
    }
    if (n["strategy"]) c.strategy = one_of(src, n["strategy"], "search.strategy", {"random", "evo", "hpo-evo", "nsga2"});
    if (const auto s = n["settings"]) {
      if (!s.IsMap()) throw std::invalid_argument(where(src, s, "search.settings") + ": expected a mapping like {population: 20}");
      for (const auto& kv : s) {
        const std::string k = yaml_fields::key_text(src, kv.first);
        c.strategy_settings[k] = number_in(src, kv.second, "search.settings." + k, -1e9, 1e9);
      }
    }
    if (n["valid_subset"]) c.valid_subset = positive_int(src, n["valid_subset"], "search.valid_subset", 0, 10000000);
    if (n["rerank"]) c.rerank = positive_int(src, n["rerank"], "search.rerank", 0, 10000);
    if (n["top_k"]) c.top_k = positive_int(src, n["top_k"], "search.top_k", 1, 10000);
    if (n["verify_limit"]) c.verify_limit = positive_int(src, n["verify_limit"], "search.verify_limit", 0, 1000000);
  }
  if (const auto n = root["final"]) {
    std::set<std::string> keys = {"mode", "finalists", "select", "updates", "max_tokens", "lr", "warmup", "update_freq", "schedule", "clip_norm"};
    check_keys(src, n, "final", keys);
    if (n["mode"]) c.final_mode = one_of(src, n["mode"], "final.mode", {"finetune", "scratch"});
    if (n["select"]) c.final_select = one_of(src, n["select"], "final.select", {"valid_bleu", "beats_baseline", "search"});
    if (n["finalists"]) {
      c.final_finalists = positive_int(src, n["finalists"], "final.finalists");
      if (c.final_finalists > c.top_k) {
        throw std::invalid_argument(where(src, n["finalists"], "final.finalists") + ": " + std::to_string(c.final_finalists) +
                                    ": expected at most search.top_k (" + std::to_string(c.top_k) + "), the candidates the search returns");
      }
      if (c.final_finalists > 1 && c.final_select == "search") {
        throw std::invalid_argument(where(src, n["finalists"], "final.finalists") + ": " + std::to_string(c.final_finalists) +
                                    ": expected 1 with final.select: search (the search's first is chosen; more finalists need valid_bleu)");
      }
    }
    YAML::Node train_part(YAML::NodeType::Map);
    for (const auto& kv : n) {
      const std::string k = yaml_fields::key_text(src, kv.first);
      if (k != "mode" && k != "finalists" && k != "select") train_part[kv.first] = kv.second;
    }
    read_train(src, train_part, "final", c.final_train);
  }
  if (const auto n = root["evaluate"]) {
    check_keys(src, n, "evaluate", {"preset", "max_len_a", "max_len_b"});
    if (n["max_len_a"]) {
      c.max_len_a = number_in(src, n["max_len_a"], "evaluate.max_len_a", 0, 100);
    }
    if (n["preset"]) c.generation_preset = one_of(src, n["preset"], "evaluate.preset", {"hat-wmt", "hat-iwslt"});
    if (n["max_len_b"]) c.max_len_b = positive_int(src, n["max_len_b"], "evaluate.max_len_b", 1, 100000);
  }
  if (const auto n = root["export"]) {
    check_keys(src, n, "export", {"static"});
    if (n["static"]) {
      const auto v = yaml_fields::as_int_list(src, n["static"], "export.static");
      if (v.size() != 2 || v[0] < 1 || v[1] < 1 || v[0] > 4096 || v[1] > 4096) {
        throw std::invalid_argument(where(src, n["static"], "export.static") + ": expected [SRC_LEN, TGT_LEN], both 1 to 4096");
      }
      c.static_src_len = v[0];
      c.static_tgt_len = v[1];
    }
  }
  if (const auto n = root["stage_budget_minutes"]) {
    std::set<std::string> stages(pipeline_stages().begin(), pipeline_stages().end());
    check_keys(src, n, "stage_budget_minutes", stages);
    for (const auto& kv : n) {
      const std::string k = yaml_fields::key_text(src, kv.first);
      c.stage_budget_minutes[k] = number_in(src, kv.second, "stage_budget_minutes." + k, 0, 10080);  // a week
    }
  }
  return c;
}

RunConfig load_run_config(const std::string& path) {
  if (!fs::exists(path)) throw std::invalid_argument(path + ": no such config file");
  return parse_run_config(read_text_file(path), path);
}

}  // namespace thanos
