#include "thanos/data/text_lines.h"

#include <zlib.h>

#include <fstream>
#include <sstream>
#include <cstring>
#include <cerrno>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/common/utf8.h"

namespace thanos {

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
    const std::size_t bad = utf8_error_offset(lines[i]);
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

std::vector<std::string> read_segments(const std::string& path, const std::string& role) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(role + " file '" + path + "': cannot open (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::invalid_argument(role + " file '" + path + "': read error");
  const std::vector<std::string> lines = split_lines(ss.str(), /*strip_cr=*/false);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t bad = utf8_error_offset(lines[i]);
    if (bad != std::string::npos)
      throw std::invalid_argument(role + " file '" + path + "' line " + std::to_string(i + 1) +
                                  ": invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
  }
  return lines;
}

}  // namespace thanos
