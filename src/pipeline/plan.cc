#include "plan.h"

#include <filesystem>
#include <stdexcept>

#include "stage.h"
#include "thanos/common/text.h"
#include "thanos/data/prepared_data.h"
#include "thanos/model/torch_runtime.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

// The first of `path` as given, then under each of `bases`, that exists; "" when none.
std::string find_path(const std::string& path, const std::vector<std::string>& bases) {
  if (fs::path(path).is_absolute()) return fs::exists(path) ? path : "";
  if (fs::exists(path)) return path;
  for (const auto& b : bases) {
    if (b.empty()) continue;
    const fs::path p = fs::path(b) / path;
    if (fs::exists(p)) return p.string();
  }
  return "";
}

}  // namespace

std::string hash_of(const nlohmann::ordered_json& j) { return hex64(fnv1a64(j.dump())); }

std::string corpus_prefix(const Plan& p, const std::string& prefix) { return (fs::path(p.corpus_dir) / prefix).string(); }

std::string corpus_file(const Plan& p, const std::string& prefix, const std::string& lang) {
  const std::string base = corpus_prefix(p, prefix) + "." + lang;
  return fs::exists(base) ? base : base + ".gz";
}

nlohmann::ordered_json train_json(const TrainStageSettings& t) {
  return {{"updates", t.updates}, {"max_tokens", t.max_tokens}, {"lr", t.lr}, {"warmup", t.warmup}, {"update_freq", t.update_freq},
          {"schedule", t.schedule}, {"clip_norm", t.clip_norm}};
}

GenerationOptions evaluate_generation(const RunConfig& c) {
  GenerationOptions g = generation_preset(c.generation_preset);
  g.max_len_a = c.max_len_a;
  g.max_len_b = c.max_len_b;
  return g;
}

int models_vocab(const Plan& p) {
  if (!fs::exists(p.dir.data() + "/manifest.json")) return p.config.vocab_size;
  try {
    return prepared_vocab_size(load_prepared_manifest(p.dir.data()), p.dir.data());
  } catch (const std::invalid_argument&) {
    return p.config.vocab_size;  // a damaged manifest: `prepare` runs again, the readers after it say what is wrong
  }
}

LatencyProtocol measured_protocol(const Plan& p, const TargetPlan& t) {
  LatencyProtocol protocol = t.protocol;
  protocol.vocab_size = models_vocab(p);
  return protocol;
}

void hash_stages(Plan& p) {
  p.hashes.clear();
  for (const auto& stage : stage_registry()) p.hashes[stage->name()] = stage->inputs_hash(p);
}

Log target_log(const Plan& p, const TargetPlan& t, const Log& log) {
  if (p.targets.size() == 1) return log;
  const std::string tag = "target " + t.spec.label() + ": ";
  return [tag, log](const std::string& line) { log(tag + line); };
}

Plan make_plan(const RunOptions& o) {
  Plan p;
  p.options = o;
  p.config = load_run_config(o.config_path);
  const RunConfig& c = p.config;
  if (o.workdir.empty()) throw std::invalid_argument("--workdir is required (everything the run makes goes there)");
  p.dir = WorkDir(o.workdir);
  const std::string project_root = fs::path(c.base_dir).parent_path().string();
  if (c.corpus == "bundled") {
    p.corpus_dir = find_path("data/corpus-en-de", {o.data_root, project_root});
    if (p.corpus_dir.empty()) {
      throw std::invalid_argument(c.source + ": corpus: bundled: data/corpus-en-de is missing; build it with "
                                  "`bash scripts/build-corpus.sh data/corpus-en-de` (scripts/setup.sh does this)");
    }
  } else {
    p.corpus_dir = find_path(c.corpus, {o.data_root, c.base_dir, project_root});
    if (p.corpus_dir.empty()) {
      throw std::invalid_argument(c.source + ": corpus: '" + c.corpus + "' not found (looked in the current folder" +
                                  (o.data_root.empty() ? "" : ", " + o.data_root) + ", " + c.base_dir + "; give the folder with --data)");
    }
  }
  for (const auto& [prefix, what] : {std::pair{c.train_prefix, "train"}, {c.valid_prefix, "valid"}, {c.test_prefix, "test"}}) {
    for (const auto& lang : {c.src_lang, c.tgt_lang}) {
      const std::string f = corpus_file(p, prefix, lang);
      if (!fs::exists(f)) {
        throw std::invalid_argument(c.source + ": corpus." + what + ": " + corpus_prefix(p, prefix) + "." + lang + "[.gz] not found");
      }
    }
  }
  p.space_path = find_path(c.space, {c.base_dir, project_root});
  if (p.space_path.empty()) throw std::invalid_argument(c.source + ": space: '" + c.space + "' not found");
  p.space = load_search_space(p.space_path).space;
  p.threads = torch_threads();
  p.space_text = read_text_file(p.space_path);
  p.space_hash = hash_of(p.space_text);
  for (const auto& spec : c.targets) {
    TargetPlan t;
    t.spec = spec;
    t.protocol = latency_protocol_preset(spec.protocol);
    t.protocol.dtype = spec.dtype;
    t.protocol.vocab_size = c.vocab_size;
    t.threads = spec.threads > 0 ? spec.threads : p.threads;
    p.targets.push_back(t);
  }
  // Each stage hashes its own settings and its upstream stages' hashes, in stage order.
  hash_stages(p);
  return p;
}

}  // namespace thanos
