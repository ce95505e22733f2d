#include "thanos/data/text_lines.h"

#include <zlib.h>

#include <fstream>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/decode/tokenize.h"

namespace thanos {

std::size_t find_invalid_utf8(const std::string& s) {
  // One UTF-8 validator for the whole project (strict: no overlongs, surrogates or values past
  // U+10FFFF), the one the scorer uses.
  return utf8_error_offset(s);
}

std::vector<std::string> read_text_lines(const std::string& path) {
  if (!std::ifstream(path).good()) throw std::invalid_argument(path + ": file not found or unreadable");
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files transparently too
  if (f == nullptr) throw std::invalid_argument(path + ": cannot open");
  std::string data;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) data.append(buf, static_cast<std::size_t>(n));
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string message = msg ? msg : "";
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) throw std::invalid_argument(path + ": read error: " + message);
  if (data.empty()) throw std::invalid_argument(path + ": file is empty");
  std::vector<std::string> lines = split_lines(data, /*strip_cr=*/true);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t bad = find_invalid_utf8(lines[i]);
    if (bad != std::string::npos) {
      throw std::invalid_argument(path + ":" + std::to_string(i + 1) + ": invalid UTF-8 at byte " +
                                  std::to_string(bad + 1) + " of the line");
    }
  }
  return lines;
}

std::string find_corpus_file(const std::string& prefix, const std::string& lang) {
  const std::string plain = prefix + "." + lang, gz = plain + ".gz";
  if (std::ifstream(plain).good()) return plain;
  if (std::ifstream(gz).good()) return gz;
  throw std::invalid_argument("no corpus file " + plain + " or " + gz);
}

}  // namespace thanos
