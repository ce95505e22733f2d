#include "thanos/decode/batch_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "thanos/common/text.h"
#include "thanos/data/batcher.h"

namespace thanos {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

double DecodeProgress::sentences_per_second() const {
  return elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
}

double DecodeProgress::eta_seconds() const {
  const double rate = sentences_per_second();
  return rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
}

std::string format_progress(const DecodeProgress& p, const char* verb) {
  char line[192];
  std::snprintf(line, sizeof(line), "%s %zu/%zu sentences | %.1f sentences/s | elapsed %s | eta %s", verb, p.done,
                p.total, p.sentences_per_second(), format_duration(p.elapsed_seconds).c_str(),
                format_duration(p.eta_seconds()).c_str());
  return line;
}

DecodeOutput decode_in_batches(Generator& generator, const BinarizedSplit& sources, int max_tokens,
                               const std::function<void(const DecodeProgress&)>& progress,
                               double report_every_seconds) {
  return decode_in_batches([&](const torch::Tensor& src) { return generator.generate(src); }, sources, max_tokens,
                           progress, report_every_seconds);
}

DecodeOutput decode_in_batches(const BatchTranslator& translate, const BinarizedSplit& sources, int max_tokens,
                               const std::function<void(const DecodeProgress&)>& progress,
                               double report_every_seconds) {
  if (max_tokens < 1) throw std::invalid_argument("max tokens per batch must be >= 1, got " + std::to_string(max_tokens));
  // Batches are sized by the sources alone: the targets are what is being generated.
  BinarizedSplit src_only;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    src_only.add(std::vector<std::int32_t>(sources.src(i), sources.src(i) + sources.src_len(i)), {kEosId});
  }
  BatchingOptions bo;
  bo.max_tokens = max_tokens;
  BatchIndices batches = make_batches(src_only, bo);
  std::reverse(batches.begin(), batches.end());

  DecodeOutput out;
  out.tokens.resize(sources.size());
  DecodeProgress p;
  p.total = sources.size();
  const auto start = Clock::now();
  auto last_report = start;
  for (const auto& batch : batches) {
    std::size_t longest = 0;
    for (std::size_t j : batch) longest = std::max(longest, src_only.src_len(j));
    torch::Tensor src =
        torch::full({static_cast<int64_t>(batch.size()), static_cast<int64_t>(longest)}, kPadId, torch::kLong);
    auto acc = src.accessor<int64_t, 2>();
    for (std::size_t r = 0; r < batch.size(); ++r) {
      for (std::size_t k = 0; k < src_only.src_len(batch[r]); ++k) acc[r][k] = src_only.src(batch[r])[k];
    }
    const auto hyps = translate(src);
    for (std::size_t r = 0; r < batch.size(); ++r) {
      std::vector<int>& row = out.tokens[batch[r]];
      for (int64_t t : hyps[r].front().tokens) {
        ++out.generated_tokens;
        if (t != kEosId) row.push_back(static_cast<int>(t));
      }
    }
    p.done += batch.size();
    const auto now = Clock::now();
    p.elapsed_seconds = std::chrono::duration<double>(now - start).count();
    if (progress && (std::chrono::duration<double>(now - last_report).count() >= report_every_seconds ||
                     p.done == p.total)) {
      last_report = now;
      progress(p);
    }
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace thanos
