#include "thanos/pipeline/run_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "../space/yaml_fields.h"
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
    const std::string key = kv.first.as<std::string>();
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

int positive_int(const std::string& src, const YAML::Node& node, const std::string& key, int min = 1) {
  const int v = yaml_fields::as_int(src, node, key);
  if (v < min) throw std::invalid_argument(where(src, node, key) + ": " + std::to_string(v) + ": expected >= " + std::to_string(min));
  return v;
}

void read_train(const std::string& src, const YAML::Node& node, const std::string& section, TrainStageSettings& t) {
  check_keys(src, node, section, {"updates", "max_tokens", "lr", "warmup", "update_freq", "schedule"});
  if (node["schedule"]) t.schedule = one_of(src, node["schedule"], section + ".schedule", {"inverse_sqrt", "cosine", "fixed"});
  if (node["updates"]) t.updates = positive_int(src, node["updates"], section + ".updates");
  if (node["max_tokens"]) t.max_tokens = positive_int(src, node["max_tokens"], section + ".max_tokens");
  if (node["lr"]) {
    t.lr = yaml_fields::as_double(src, node["lr"], section + ".lr");
    if (!(t.lr > 0)) throw std::invalid_argument(where(src, node["lr"], section + ".lr") + ": expected a positive number");
  }
  if (node["warmup"]) t.warmup = positive_int(src, node["warmup"], section + ".warmup", 0);
  if (node["update_freq"]) t.update_freq = positive_int(src, node["update_freq"], section + ".update_freq");
}

}  // namespace

const std::vector<std::string>& pipeline_stages() {
  static const std::vector<std::string> stages = {"prepare", "super", "measure", "predictors", "search",
                                                  "final", "evaluate", "export", "report"};
  return stages;
}

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
    for (const std::string suffix : unit == "ms" ? std::vector<std::string>{"ms"} : std::vector<std::string>{"MiB", "MB", "mib", "mb"}) {
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
             {"name", "seed", "corpus", "space", "target", "budgets", "super", "measure", "search", "final", "evaluate", "export",
              "stage_budget_minutes"});
  RunConfig c;
  c.source = src;
  c.base_dir = fs::path(src).parent_path().string();
  if (root["name"]) c.name = as_string(src, root["name"], "name");
  if (root["seed"]) c.seed = static_cast<uint64_t>(positive_int(src, root["seed"], "seed", 0));

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
      if (n["vocab_size"]) c.vocab_size = positive_int(src, n["vocab_size"], "corpus.vocab_size", 16);
    }
  }
  if (!root["space"]) throw std::invalid_argument(src + ": space: required (a search space YAML, e.g. configs/spaces/demo.yml)");
  c.space = as_string(src, root["space"], "space");

  if (const auto n = root["target"]) {
    check_keys(src, n, "target", {"device", "backend", "token_file", "threads", "protocol", "dtype"});
    if (n["device"]) {
      c.device = as_string(src, n["device"], "target.device");
      if (c.device != "cpu" && c.device != "cuda" && c.device != "ort-cpu" && c.device != "rknn" && c.device.rfind("remote://", 0) != 0) {
        throw std::invalid_argument(where(src, n["device"], "target.device") + ": '" + c.device +
                                    "': expected cpu, cuda, ort-cpu, rknn or remote://HOST:PORT");
      }
    }
    if (n["backend"]) c.backend = one_of(src, n["backend"], "target.backend", {"cpu", "cuda", "rknn"});
    if (n["token_file"]) c.token_file = as_string(src, n["token_file"], "target.token_file");
    if (n["threads"]) c.threads = positive_int(src, n["threads"], "target.threads", 0);
    if (n["protocol"]) c.protocol = one_of(src, n["protocol"], "target.protocol", {"hat-wmt", "hat-iwslt", "quick"});
    if (n["dtype"]) c.dtype = one_of(src, n["dtype"], "target.dtype", {"float32", "float16", "bfloat16"});
  }

  if (const auto n = root["budgets"]) {
    auto read_pair = [&](const YAML::Node& b, const std::string& key) {
      check_keys(src, b, key, {"name", "latency", "memory"});
      BudgetPair p;
      p.name = b["name"] ? as_string(src, b["name"], key + ".name") : "b" + std::to_string(c.budgets.size());
      if (b["latency"]) p.latency = parse_budget(as_string(src, b["latency"], key + ".latency"), "ms", where(src, b["latency"], key + ".latency"));
      if (b["memory"]) p.memory = parse_budget(as_string(src, b["memory"], key + ".memory"), "MiB", where(src, b["memory"], key + ".memory"));
      if (p.latency.empty() && p.memory.empty()) throw std::invalid_argument(where(src, b, key) + ": give latency, memory or both");
      c.budgets.push_back(p);
    };
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) read_pair(n[i], "budgets[" + std::to_string(i) + "]");
    } else {
      read_pair(n, "budgets");
    }
  }
  if (c.budgets.empty()) throw std::invalid_argument(src + ": budgets: required (e.g. {latency: p40, memory: p60} or a list of such)");

  if (root["super"]) read_train(src, root["super"], "super", c.super);
  if (const auto n = root["measure"]) {
    check_keys(src, n, "measure", {"samples"});
    // With the smallest and largest members, 20 rows: the least a predictor's 80/10/10 split takes.
    if (n["samples"]) c.measure_samples = positive_int(src, n["samples"], "measure.samples", 18);
  }
  if (const auto n = root["search"]) {
    check_keys(src, n, "search", {"strategy", "settings", "valid_subset", "top_k", "margin"});
    if (n["margin"]) {
      c.search_margin = yaml_fields::as_double(src, n["margin"], "search.margin");
      if (!(c.search_margin >= 0)) throw std::invalid_argument(where(src, n["margin"], "search.margin") + ": expected a number >= 0");
    }
    if (n["strategy"]) c.strategy = one_of(src, n["strategy"], "search.strategy", {"random", "evo", "hpo-evo", "nsga2"});
    if (const auto s = n["settings"]) {
      if (!s.IsMap()) throw std::invalid_argument(where(src, s, "search.settings") + ": expected a mapping like {population: 20}");
      for (const auto& kv : s) {
        const std::string k = kv.first.as<std::string>();
        c.strategy_settings[k] = yaml_fields::as_double(src, kv.second, "search.settings." + k);
      }
    }
    if (n["valid_subset"]) c.valid_subset = positive_int(src, n["valid_subset"], "search.valid_subset", 0);
    if (n["top_k"]) c.top_k = positive_int(src, n["top_k"], "search.top_k");
  }
  if (const auto n = root["final"]) {
    std::set<std::string> keys = {"mode", "updates", "max_tokens", "lr", "warmup", "update_freq", "schedule"};
    check_keys(src, n, "final", keys);
    if (n["mode"]) c.final_mode = one_of(src, n["mode"], "final.mode", {"finetune", "scratch"});
    YAML::Node train_part(YAML::NodeType::Map);
    for (const auto& kv : n) {
      if (kv.first.as<std::string>() != "mode") train_part[kv.first] = kv.second;
    }
    read_train(src, train_part, "final", c.final_train);
  }
  if (const auto n = root["evaluate"]) {
    check_keys(src, n, "evaluate", {"preset", "max_len_b"});
    if (n["preset"]) c.generation_preset = one_of(src, n["preset"], "evaluate.preset", {"hat-wmt", "hat-iwslt"});
    if (n["max_len_b"]) c.max_len_b = positive_int(src, n["max_len_b"], "evaluate.max_len_b");
  }
  if (const auto n = root["export"]) {
    check_keys(src, n, "export", {"static"});
    if (n["static"]) {
      const auto v = yaml_fields::as_int_list(src, n["static"], "export.static");
      if (v.size() != 2 || v[0] < 1 || v[1] < 1) {
        throw std::invalid_argument(where(src, n["static"], "export.static") + ": expected [SRC_LEN, TGT_LEN], both >= 1");
      }
      c.static_src_len = v[0];
      c.static_tgt_len = v[1];
    }
  }
  if (const auto n = root["stage_budget_minutes"]) {
    std::set<std::string> stages(pipeline_stages().begin(), pipeline_stages().end());
    check_keys(src, n, "stage_budget_minutes", stages);
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      c.stage_budget_minutes[k] = yaml_fields::as_double(src, kv.second, "stage_budget_minutes." + k);
    }
  }
  return c;
}

RunConfig load_run_config(const std::string& path) {
  if (!fs::exists(path)) throw std::invalid_argument(path + ": no such config file");
  return parse_run_config(read_text_file(path), path);
}

}  // namespace thanos
