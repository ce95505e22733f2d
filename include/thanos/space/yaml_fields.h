#pragma once
// Typed reads from a YAML mapping whose errors name the file, the line and the key: the space,
// SubConfig and run-config readers share them.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "thanos/common/utf8.h"

namespace thanos::yaml_fields {

inline std::string where(const std::string& source, const YAML::Node& node, const std::string& key) {
  const auto mark = node.Mark();
  return source + (mark.line >= 0 ? ":" + std::to_string(mark.line + 1) : "") + ": " + key;
}

inline std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

inline int as_int(const std::string& source, const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    try {
      std::size_t used = 0;
      long long v = std::stoll(s, &used, 10);
      if (used == s.size() && v >= INT32_MIN && v <= INT32_MAX) return static_cast<int>(v);
    } catch (const std::exception&) {
    }
  }
  throw std::invalid_argument(where(source, node, key) + ": expected an integer, got " + scalar_text(node));
}

inline double as_double(const std::string& source, const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) {
    try {
      std::size_t used = 0;
      double v = std::stod(node.Scalar(), &used);
      if (used == node.Scalar().size()) return v;
    } catch (const std::exception&) {
    }
  }
  throw std::invalid_argument(where(source, node, key) + ": expected a number, got " + scalar_text(node));
}

inline bool as_bool(const std::string& source, const YAML::Node& node, const std::string& key) {
  bool v = false;
  if (node.IsScalar() && YAML::convert<bool>::decode(node, v)) return v;
  throw std::invalid_argument(where(source, node, key) + ": expected true or false, got " + scalar_text(node));
}

// A list of integers; a single integer is accepted as a one-element list.
inline std::vector<int> as_int_list(const std::string& source, const YAML::Node& node, const std::string& key) {
  std::vector<int> out;
  if (node.IsScalar()) {
    out.push_back(as_int(source, node, key));
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(as_int(source, node[i], key + "[" + std::to_string(i) + "]"));
    }
  } else {
    throw std::invalid_argument(where(source, node, key) + ": expected a list of integers, got " + scalar_text(node));
  }
  return out;
}

// A mapping's key as text. A key that is not a plain scalar (YAML's "? [a, b]" form, a list or a
// mapping as a key) is refused: as<std::string>() threw yaml-cpp's raw "bad conversion" (found by
// fuzz/model_records through a model file's embedded space).
inline std::string key_text(const std::string& source, const YAML::Node& key) {
  if (!key.IsScalar()) {
    throw std::invalid_argument(where(source, key, "a key") + ": expected a plain name as the key, got " + scalar_text(key));
  }
  return key.Scalar();
}

inline YAML::Node parse_mapping(const std::string& text, const std::string& source) {
  // YAML is UTF-8 text, and what a file names (targets, budgets, paths) ends up in JSON records,
  // which cannot hold other bytes: refused here, with the line, rather than when a record is written.
  if (const std::size_t bad = utf8_error_offset(text); bad != std::string::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    throw std::invalid_argument(source + ":" + std::to_string(line) + ": not UTF-8 text (invalid byte at offset " +
                                std::to_string(bad) + "); save the file as UTF-8");
  }
  // YAML's character set leaves out the C0 controls but tab, LF and CR, and DEL (YAML 1.2,
  // c-printable); yaml-cpp reads a NUL as the end of its input and hands back bytes that are not
  // UTF-8 (found by fuzz/space_yaml: a NUL in `arch` made the written-back YAML unreadable).
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(i), '\n');
      throw std::invalid_argument(source + ":" + std::to_string(line) + ": a control character (byte " + std::to_string(c) +
                                  " at offset " + std::to_string(i) + ") is not YAML text");
    }
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw std::invalid_argument(source + ": expected a YAML mapping of keys to values at the top level");
  return root;
}

}  // namespace thanos::yaml_fields
