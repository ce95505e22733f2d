#pragma once
// The CSV subset THANOS writes and reads (RFC 4180 quoting on one line: a field holding a comma
// or a quote is quoted, quotes doubled; newlines are never written). Our own ~40 lines because
// the files are simple and Debian's CSV libraries would add a dependency for no gain.
#include <string>
#include <vector>

namespace thanos {

// `field` quoted when needed; newlines become spaces.
std::string csv_field(const std::string& field);
// Fields joined with commas (each through csv_field), no line end.
std::string csv_line(const std::vector<std::string>& fields);
// One line split into fields. Throws std::invalid_argument("unterminated quoted field") on a
// malformed quote; callers prefix the file and line.
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace thanos
