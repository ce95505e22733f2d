#include "thanos/export/calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/data/binarized.h"
#include "thanos/data/prepared_data.h"
#include "thanos/decode/beam_search.h"
#include "thanos/export/npy.h"
#include "thanos/export/ort_step_decoder.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

std::string sample_name(int index) {
  std::string n = std::to_string(index);
  return std::string(6 - std::min<std::size_t>(6, n.size()), '0') + n;
}

// One line of the toolkit's dataset list: the sample's inputs in the graph's order, each saved.
std::string save_sample(const fs::path& dir, int index, const std::vector<OrtTensor>& feed, const ExportGraphSpec& spec) {
  std::map<std::string, const OrtTensor*> by_name;
  for (const auto& t : feed) by_name[t.name] = &t;
  std::string line;
  for (const auto& input : spec.inputs) {
    const auto it = by_name.find(input.name);
    if (it == by_name.end()) throw std::runtime_error("calibration: the feed lacks graph input " + input.name);
    const fs::path file = dir / (sample_name(index) + "_" + input.name + ".npy");
    write_npy(file.string(), *it->second);
    line += (line.empty() ? "" : " ") + fs::absolute(file).string();
  }
  return line + "\n";
}

}  // namespace

CalibrationSet write_calibration_set(RuntimeRunner& runner, const std::string& export_dir, const CalibrationOptions& o) {
  if (o.sentences < 1 || o.decoder_steps_per_sentence < 1) {
    throw std::invalid_argument("calibration: sentences and decoder steps per sentence must be >= 1");
  }
  const nlohmann::json manifest = load_prepared_manifest(o.data_dir);
  const BinarizedSplit data = load_prepared_split(o.data_dir, o.split);  // names the splits there are when it is not one

  // The decoder records every feed; samples are taken per sentence afterwards.
  std::vector<std::vector<OrtTensor>> encoder_feeds, decoder_feeds;
  OrtStepDecoderOptions options;
  options.on_feed = [&](const std::string& graph, const std::vector<OrtTensor>& feed) {
    (graph == "encoder" ? encoder_feeds : decoder_feeds).push_back(feed);
  };
  OrtStepDecoder decoder(runner, export_dir, options);
  const ExportSidecar& sidecar = decoder.sidecar();
  if (sidecar.mode != "static") {
    throw std::invalid_argument(export_dir + ": calibration data are for static exports (thanos export --static SRC_LEN,TGT_LEN)");
  }
  if (prepared_vocab_size(manifest, o.data_dir) != sidecar.src_vocab_size) {
    throw std::invalid_argument(o.data_dir + ": vocabulary " + std::to_string(prepared_vocab_size(manifest, o.data_dir)) +
                                ", the export's is " + std::to_string(sidecar.src_vocab_size));
  }

  CalibrationSet set;
  const fs::path dir = fs::path(export_dir) / "calibration";
  const fs::path staging = fs::path(export_dir) / "calibration.partial";
  fs::remove_all(staging);
  fs::create_directories(staging / "encoder");
  fs::create_directories(staging / "decoder");
  std::string encoder_lines, decoder_lines;
  GenerationOptions greedy;
  greedy.beam = 1;
  greedy.max_len_b = static_cast<int>(sidecar.static_tgt_len);
  for (std::size_t i = 0; i < data.size() && set.sentences < o.sentences; ++i) {
    if (static_cast<int64_t>(data.src_len(i)) > sidecar.static_src_len) {
      ++set.skipped_too_long;
      continue;
    }
    auto src = torch::empty({1, static_cast<int64_t>(data.src_len(i))}, torch::kLong);
    for (std::size_t k = 0; k < data.src_len(i); ++k) src[0][static_cast<int64_t>(k)] = data.src(i)[k];
    encoder_feeds.clear();
    decoder_feeds.clear();
    beam_search(decoder, src, sidecar.tgt_vocab_size, greedy, decoder.max_target_positions());
    for (const auto& feed : encoder_feeds) {
      encoder_lines += save_sample(staging / "encoder", set.encoder_samples++, feed, sidecar.encoder);
    }
    // Evenly spaced steps, the first and the last included: early and late cache fillings.
    const int n = static_cast<int>(decoder_feeds.size()), k = std::min(n, o.decoder_steps_per_sentence);
    for (int j = 0; j < k; ++j) {
      const int step = k == 1 ? 0 : static_cast<int>(static_cast<int64_t>(j) * (n - 1) / (k - 1));
      decoder_lines += save_sample(staging / "decoder", set.decoder_samples++, decoder_feeds[static_cast<std::size_t>(step)], sidecar.decoder);
    }
    ++set.sentences;
  }
  if (set.sentences == 0) {
    fs::remove_all(staging);
    throw std::invalid_argument(o.data_dir + " (" + o.split + "): no sentence of at most " + std::to_string(sidecar.static_src_len) +
                                " tokens for the static export's source length");
  }
  // The lists name files under the final directory: write them for that place, then swap.
  auto relocate = [&](std::string lines) {
    const std::string from = fs::absolute(staging).string(), to = fs::absolute(dir).string();
    for (std::size_t at = lines.find(from); at != std::string::npos; at = lines.find(from, at + to.size())) lines.replace(at, from.size(), to);
    return lines;
  };
  const std::string encoder_stem = fs::path(sidecar.encoder.file).stem().string();
  const std::string decoder_stem = fs::path(sidecar.decoder.file).stem().string();
  write_file_atomically((staging / (encoder_stem + ".txt")).string(), relocate(encoder_lines));
  write_file_atomically((staging / (decoder_stem + ".txt")).string(), relocate(decoder_lines));
  fs::remove_all(dir);
  fs::rename(staging, dir);
  set.directory = dir.string();
  set.encoder_list = (dir / (encoder_stem + ".txt")).string();
  set.decoder_list = (dir / (decoder_stem + ".txt")).string();
  return set;
}

}  // namespace thanos
