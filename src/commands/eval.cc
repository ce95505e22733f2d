#include "thanos/commands/eval.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "thanos/commands/prepare.h"
#include "thanos/commands/score.h"
#include "thanos/commands/translate.h"
#include "thanos/common/text.h"
#include "thanos/data/binarized.h"
#include "thanos/data/subword_model.h"
#include "thanos/decode/batch_decoder.h"
#include "thanos/decode/chrf.h"
#include "thanos/train/trainer.h"
#ifdef THANOS_WITH_ONNX  // set by the folder's CMakeLists.txt when Debian's libonnx-dev was found
#include "thanos/export/export_runtime.h"
#endif

namespace thanos {

EvalResult run_eval(const EvalOptions& o, const std::function<void(const std::string&)>& log) {
  o.generation.validate();
  const auto start = std::chrono::steady_clock::now();
  auto say = [&](const std::string& s) {
    if (log) log(s);
  };
  const ScoringSplit scoring = load_scoring_split(o.data_dir, o.split);
  const nlohmann::json& manifest = scoring.manifest;
  const BinarizedSplit& data = scoring.data;
  const std::vector<std::string>& refs = scoring.refs;
  const int vocab = scoring.vocab_size;
  const SubwordModel spm(scoring.spm_path);
  EvalResult r;
  r.generation = o.generation;
  r.sentences = data.size();
  auto report = [&](const DecodeProgress& p) { say(format_progress(p)); };
  DecodeOutput decoded;
  if (!o.export_dir.empty()) {
#ifdef THANOS_WITH_ONNX
    // Exported graphs in a runtime, translated by the same beam search (docs/DEPLOY.md).
    ExportRuntimeOptions ro;
    ro.runtime = o.runtime;
    ro.rknn_dtype = o.rknn_dtype;
    ro.core_mask = o.core_mask;
    ro.python = o.python;
    ro.threads = o.threads > 0 ? o.threads : static_cast<int>(torch::get_num_threads());  // as libtorch's (--threads)
    ExportSidecar sidecar;
    const BatchTranslator translate = make_export_translator(o.export_dir, ro, o.generation, &sidecar);
    if (sidecar.src_vocab_size != vocab || sidecar.tgt_vocab_size != vocab) {
      throw std::invalid_argument(o.export_dir + ": vocabulary " + std::to_string(sidecar.src_vocab_size) + "/" +
                                  std::to_string(sidecar.tgt_vocab_size) + " (source/target), but " + o.data_dir + " has " +
                                  std::to_string(vocab));
    }
    r.config_summary = sidecar.config.summary() + " [" + o.runtime + (o.runtime == "rknn-sim" ? " " + o.rknn_dtype : "") + ", " +
                       sidecar.mode + " " + sidecar.dtype + " export]";
    decoded = decode_in_batches(translate, data, o.max_tokens, report);
#else
    throw std::invalid_argument("--export: this build has no ONNX export (install libonnx-dev and rebuild; scripts/setup.sh)");
#endif
  } else {
    TranslationModel tm = load_translation_model(o.model_path, o.config_path);
    for (const auto& w : tm.warnings) say("warning: " + w);
    if (const std::string w = other_data_warning(tm.loaded.info, o.model_path, manifest, o.data_dir); !w.empty()) {
      say("warning: " + w);
    }
    SuperTransformer model = tm.loaded.model;
    if (model->options().src_vocab_size != vocab || model->options().tgt_vocab_size != vocab) {
      throw std::invalid_argument(o.model_path + ": vocabulary " + std::to_string(model->options().src_vocab_size) + "/" +
                                  std::to_string(model->options().tgt_vocab_size) + " (source/target), but " + o.data_dir +
                                  " has " + std::to_string(vocab));
    }
    model->to(parse_device(o.device));
    r.config_summary = tm.config.summary();
    Generator generator(model, tm.config, o.generation);
    decoded = decode_in_batches(generator, data, o.max_tokens, report);
  }
  r.decode_seconds = decoded.seconds;
  r.generated_tokens = decoded.generated_tokens;
  const std::vector<std::string> hyps = data.size() ? spm.decode(decoded.tokens) : std::vector<std::string>{};
  if (!o.output_path.empty()) {
    std::string joined;
    for (const auto& h : hyps) joined += h + "\n";
    write_file_atomically(o.output_path, joined);
  }

  r.bleu = corpus_bleu(hyps, {refs}, o.bleu);
  r.bleu_signature = bleu_signature(o.bleu, 1);
  const ChrfOptions chrf_options;
  r.chrf = corpus_chrf(hyps, {refs}, chrf_options);
  r.chrf_signature = chrf_signature(chrf_options, 1);
  if (o.fairseq_bleu) {
    FairseqBleuOptions fo;
    fo.lowercase = o.bleu.lowercase;
    fo.compound_split = o.compound_split;
    r.fairseq = fairseq_bleu(hyps, refs, fo);
    r.fairseq_signature = fairseq_bleu_signature(fo);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

nlohmann::ordered_json EvalResult::to_json() const {
  nlohmann::ordered_json j;
  j["sentences"] = sentences;
  j["config"] = config_summary;
  j["generation"] = {{"beam", generation.beam},
                     {"lenpen", generation.lenpen},
                     {"max_len_a", generation.max_len_a},
                     {"max_len_b", generation.max_len_b},
                     {"min_len", generation.min_len}};
  j["bleu"] = bleu_json(bleu);
  j["bleu"]["signature"] = bleu_signature;
  j["chrf"] = chrf_json(chrf);
  j["chrf"]["signature"] = chrf_signature;
  if (fairseq) {
    j["fairseq_bleu"] = fairseq_json(*fairseq);
    j["fairseq_bleu"]["signature"] = fairseq_signature;
  }
  j["decode_seconds"] = decode_seconds;
  j["sentences_per_second"] = decode_seconds > 0 ? static_cast<double>(sentences) / decode_seconds : 0.0;
  j["tokens_per_second"] = decode_seconds > 0 ? static_cast<double>(generated_tokens) / decode_seconds : 0.0;
  j["seconds"] = seconds;
  return j;
}

std::string EvalResult::to_text() const {
  std::string s = bleu.format() + "\n  signature: " + bleu_signature + "\n" + chrf.format() +
                  "\n  signature: " + chrf_signature + "\n";
  if (fairseq) s += fairseq->format() + "\n  signature: " + fairseq_signature + "\n";
  char line[256];
  std::snprintf(line, sizeof(line),
                "decoding: %zu sentences in %.1f s (%.1f sentences/s, %.1f ms/sentence, %.0f tokens/s), beam %d, "
                "lenpen %g\n",
                sentences, decode_seconds, decode_seconds > 0 ? sentences / decode_seconds : 0.0,
                sentences ? 1000.0 * decode_seconds / static_cast<double>(sentences) : 0.0,
                decode_seconds > 0 ? static_cast<double>(generated_tokens) / decode_seconds : 0.0, generation.beam,
                generation.lenpen);
  return s + line;
}

}  // namespace thanos
