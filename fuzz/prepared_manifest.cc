// The prepared-data directory's manifest.json (thanos prepare): read as train, eval and search
// read it (load_prepared_manifest, prepared_vocab_size, load_prepared_split, load_scoring_split),
// next to a small valid split and reference file, so that names the manifest gives are followed
// (and names that leave the directory refused).
#include <filesystem>

#include "fuzz_target.h"
#include "thanos/data/binarized.h"
#include "thanos/data/prepared_data.h"

using namespace thanos;
using namespace thanos::fuzz;

namespace {

const std::string& prepared_dir() {
  static const std::string dir = [] {
    const std::string d = scratch() + "/prepared";
    std::filesystem::create_directories(d);
    BinarizedSplit split;
    split.add({5, 6, kEosId}, {7, kEosId});
    split.add({8, kEosId}, {9, 10, 11, kEosId});
    save_binarized(d + "/valid.bin", split);
    write_file("prepared/valid.raw.de", "eins\nzwei drei\n");
    return d;
  }();
  return dir;
}

}  // namespace

THANOS_FUZZ_TARGET(prepared_manifest) {
  const std::string& dir = prepared_dir();
  write_file("prepared/manifest.json", as_text(data, size));
  nlohmann::json manifest;
  if (!expect_documented([&] { manifest = load_prepared_manifest(dir); }, kInvalidArgument, dir)) return 0;
  expect_documented([&] { (void)prepared_vocab_size(manifest, dir); }, kInvalidArgument, dir);
  for (const char* split : {"valid", "train"}) {
    expect_documented([&] { (void)load_prepared_split(dir, split); }, kInvalidArgument, dir);
    expect_documented([&] { (void)load_scoring_split(dir, split); }, kInvalidArgument, dir);
  }
  return 0;
}
