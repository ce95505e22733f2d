#pragma once
// Model files: one archive holding the weights, the options needed to rebuild the network, the
// SubConfig a standalone model runs, free-form metadata, and a format version.
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <torch/serialize/archive.h>

#include "thanos/model/model_records.h"
#include "thanos/model/super_transformer.h"

namespace thanos {

struct LoadedModel {
  SuperTransformer model{nullptr};
  ModelFileInfo info;
};

// Writes to "<path>.tmp.<pid>" and renames, so an existing file is never half-overwritten.
// `extra` may add more entries (a training checkpoint adds optimizer and trainer state).
using ArchiveWriter = std::function<void(torch::serialize::OutputArchive&)>;
using ArchiveReader = std::function<void(torch::serialize::InputArchive&)>;
void save_model(const std::string& path, SuperTransformerImpl& model, const ModelFileInfo& info,
                const ArchiveWriter& extra = nullptr);
// Throws std::invalid_argument naming the file when it is missing, not a THANOS model file, or of
// a newer format version. `extra` reads what a writer added.
LoadedModel load_model(const std::string& path, const ArchiveReader& extra = nullptr);

}  // namespace thanos
