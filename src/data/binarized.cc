#include "thanos/data/binarized.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "thanos/common/text.h"

namespace thanos {
namespace {
constexpr char kMagic[8] = {'T', 'H', 'N', 'S', 'B', 'I', 'N', '1'};

template <typename T>
void append_raw(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
}  // namespace

void BinarizedSplit::add(const std::vector<std::int32_t>& src, const std::vector<std::int32_t>& tgt) {
  src_tokens.insert(src_tokens.end(), src.begin(), src.end());
  tgt_tokens.insert(tgt_tokens.end(), tgt.begin(), tgt.end());
  src_offsets.push_back(src_tokens.size());
  tgt_offsets.push_back(tgt_tokens.size());
}

BinarizedSplit BinarizedSplit::subset(const std::vector<std::size_t>& indices) const {
  BinarizedSplit out;
  for (std::size_t i : indices) {
    out.add(std::vector<std::int32_t>(src(i), src(i) + src_len(i)), std::vector<std::int32_t>(tgt(i), tgt(i) + tgt_len(i)));
  }
  return out;
}

void save_binarized(const std::string& path, const BinarizedSplit& s) {
  std::string out(kMagic, sizeof(kMagic));
  const std::uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof(n));
  append_raw(out, s.src_offsets);
  append_raw(out, s.tgt_offsets);
  append_raw(out, s.src_tokens);
  append_raw(out, s.tgt_tokens);
  write_file_atomically(path, out);
}

BinarizedSplit load_binarized(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::invalid_argument(path + ": binarized split not found (run thanos prepare)");
  // A directory opens too, and its size reads as -1 (which would be a request for 2^64 bytes).
  const std::streamoff end = in.tellg();
  if (end < 0 || !std::filesystem::is_regular_file(path)) {
    throw std::invalid_argument(path + ": not a binarized split (expected a regular file)");
  }
  const std::uint64_t bytes = static_cast<std::uint64_t>(end);
  in.seekg(0);
  std::vector<char> data(bytes);
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  auto truncated = [&]() { return std::invalid_argument(path + ": truncated binarized split (" + std::to_string(bytes) + " bytes)"); };
  if (bytes < 16 || std::memcmp(data.data(), kMagic, 8) != 0) {
    throw std::invalid_argument(path + ": not a THANOS binarized split (bad magic)");
  }
  std::uint64_t n;
  std::memcpy(&n, data.data() + 8, 8);
  // Two offset tables of n + 1 entries must fit in what follows the header (checked before n + 1
  // can wrap around).
  if (n > (bytes - 16) / (2 * sizeof(std::uint64_t)) - 1 || bytes < 32) throw truncated();
  std::size_t pos = 16;
  BinarizedSplit s;
  auto take = [&](auto& vec, std::uint64_t count) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    if (count > (bytes - pos) / sizeof(T)) throw truncated();
    vec.resize(count);
    if (count > 0) std::memcpy(vec.data(), data.data() + pos, count * sizeof(T));  // an empty vector's data() may be null
    pos += count * sizeof(T);
  };
  take(s.src_offsets, n + 1);
  take(s.tgt_offsets, n + 1);
  // Every pair's tokens lie inside the token arrays only when each table starts at 0 and never
  // decreases; the readers (collate, the decoders) index by these offsets without checks.
  for (const auto* offsets : {&s.src_offsets, &s.tgt_offsets}) {
    const char* side = offsets == &s.src_offsets ? "source" : "target";
    if (offsets->front() != 0) throw std::invalid_argument(path + ": damaged binarized split: the " + std::string(side) + " offsets do not start at 0");
    for (std::size_t i = 1; i < offsets->size(); ++i) {
      if ((*offsets)[i] < (*offsets)[i - 1]) {
        throw std::invalid_argument(path + ": damaged binarized split: " + side + " offset " + std::to_string(i) + " (" +
                                    std::to_string((*offsets)[i]) + ") is below the one before (" + std::to_string((*offsets)[i - 1]) + ")");
      }
    }
  }
  take(s.src_tokens, s.src_offsets.back());
  take(s.tgt_tokens, s.tgt_offsets.back());
  if (pos != bytes) throw std::invalid_argument(path + ": binarized split has trailing bytes");
  for (const auto* tokens : {&s.src_tokens, &s.tgt_tokens}) {
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      if ((*tokens)[i] < 0) {
        throw std::invalid_argument(path + ": damaged binarized split: token " + std::to_string(i) + " of the " +
                                    (tokens == &s.src_tokens ? "source" : "target") + " side is negative (" +
                                    std::to_string((*tokens)[i]) + ")");
      }
    }
  }
  return s;
}

}  // namespace thanos
