#include "thanos/common/csv.h"

#include <stdexcept>

namespace thanos {

std::string csv_field(const std::string& field) {
  std::string f = field;
  for (char& c : f) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (f.find_first_of(",\"") == std::string::npos) return f;
  std::string q = "\"";
  for (char c : f) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += csv_field(fields[i]);
  }
  return line;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string cur;
  std::size_t i = 0;
  const std::size_t n = (!line.empty() && line.back() == '\r') ? line.size() - 1 : line.size();
  while (true) {
    cur.clear();
    if (i < n && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= n) throw std::invalid_argument("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            cur += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cur += line[i++];
      }
      if (i < n && line[i] != ',') throw std::invalid_argument("text after a closing quote");
    } else {
      while (i < n && line[i] != ',') cur += line[i++];
    }
    fields.push_back(cur);
    if (i >= n) break;
    ++i;  // the comma
  }
  return fields;
}

}  // namespace thanos
