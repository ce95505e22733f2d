#include "thanos/data/text_lines.h"

#include <zlib.h>

#include <fstream>
#include <stdexcept>

namespace thanos {

std::size_t find_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::string::npos;
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
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    std::string line = data.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos) {
      throw std::invalid_argument(path + ":" + std::to_string(lines.size() + 1) + ": invalid UTF-8 at byte " +
                                  std::to_string(bad + 1) + " of the line");
    }
    lines.push_back(std::move(line));
    start = end + 1;
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
