#pragma once
// Int8 calibration data for rknn-toolkit2 (docs/DEPLOY.md): real inputs of each static graph.
// Encoder inputs are corpus sentences (a prepared split, padded to the export's source length);
// decoder-step inputs — previous token, step, padding mask, encoder keys/values, past keys/values —
// are recorded while the float32 graphs translate those sentences greedily in ONNX Runtime (the
// values the int8 model will see, caches filled as they really fill). Written as one .npy per
// input and sample, and one list per graph in the toolkit's dataset format: a line per sample,
// the sample's .npy paths in the graph's input order, space-separated.
#include <string>

#include "thanos/export/runtime_runner.h"

namespace thanos {

struct CalibrationOptions {
  std::string data_dir;              // `thanos prepare` output
  std::string split = "valid";
  int sentences = 32;                // sentences translated (those longer than the export are skipped)
  int decoder_steps_per_sentence = 4;  // decoder samples per sentence, evenly spaced over its steps
};

struct CalibrationSet {
  std::string directory;             // <export>/calibration
  std::string encoder_list, decoder_list;  // <directory>/<graph stem>.txt
  int sentences = 0, skipped_too_long = 0;
  int encoder_samples = 0, decoder_samples = 0;
};

// Writes <export_dir>/calibration/ for a static export (its sidecar says so), replacing an older
// one. Throws std::invalid_argument for a dynamic export, a missing split or no sentence that fits.
CalibrationSet write_calibration_set(RuntimeRunner& runner, const std::string& export_dir, const CalibrationOptions& options);

}  // namespace thanos
