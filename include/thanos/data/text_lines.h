#pragma once
// Reading corpus text: one sentence per line, plain or gzip, validated as UTF-8.
#include <string>
#include <vector>

namespace thanos {

// All lines of `path` (".gz" files are decompressed; trailing "\r" removed). Throws
// std::invalid_argument naming the file (missing, unreadable, empty) or the file and line number
// of the first invalid UTF-8 sequence.
std::vector<std::string> read_text_lines(const std::string& path);

// A file's segments as sacreBLEU reads them: split on "\n" only (a last line without "\n" still
// counts; nothing else is stripped). `role` ("hypothesis", "reference") goes into error messages.
std::vector<std::string> read_segments(const std::string& path, const std::string& role);

// The first of `prefix + "." + lang` and `prefix + "." + lang + ".gz"` that exists; throws naming
// both when neither does.
std::string find_corpus_file(const std::string& prefix, const std::string& lang);

}  // namespace thanos
