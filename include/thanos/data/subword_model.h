#pragma once
// The joint subword vocabulary: a sentencepiece model whose special ids follow fairseq's
// dictionary (<s>=0, <pad>=1, </s>=2, <unk>=3), so token ids feed the model directly.
//
// Why through Debian's spm_train/spm_encode/spm_decode programs rather than libsentencepiece:
// Debian's libsentencepiece embeds and exports its own protobuf-lite, which clashes with the
// libprotobuf that libtorch loads (the process crashes in static initialisation when both are
// linked). A process boundary keeps the two apart; work is batched so one call handles a file.
#include <string>
#include <vector>

namespace thanos {

struct SubwordTrainingOptions {
  int vocab_size = 8000;
  std::string model_type = "unigram";  // unigram | bpe
  double character_coverage = 1.0;
  int threads = 1;                     // one thread keeps training deterministic
  int max_sentences = 2000000;         // sentencepiece's input_sentence_size
};

class SubwordModel {
 public:
  // Checks the model exists and uses fairseq's special ids.
  explicit SubwordModel(const std::string& model_path);

  // Trains on the lines of `text_file`; writes `<prefix>.model` and `<prefix>.vocab`.
  static void train(const std::string& text_file, const std::string& prefix, const SubwordTrainingOptions& options);

  std::vector<std::vector<int>> encode(const std::vector<std::string>& lines) const;
  std::vector<std::string> decode(const std::vector<std::vector<int>>& ids) const;
  int vocab_size() const { return vocab_size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int vocab_size_ = 0;
};

}  // namespace thanos
