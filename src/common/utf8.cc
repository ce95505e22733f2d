// Strict UTF-8 as Python's decoder reads it: the scorer must match sacreBLEU, and every text
// reader of THANOS rejects what the scorer could not read.
#include "thanos/common/utf8.h"

#include <stdexcept>
#include <string>

namespace thanos {

std::size_t utf8_decode_one(std::string_view s, std::size_t i, char32_t& out) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    out = b0;
    return 1;
  }
  std::size_t len;
  char32_t cp, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;  // continuation byte, or a lead byte that can only start an overlong/too-large form
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  out = cp;
  return len;
}

std::size_t utf8_error_offset(std::string_view text) {
  char32_t c;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_decode_one(text, i, c);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::u32string utf8_decode(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  char32_t c;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_decode_one(text, i, c);
    if (n == 0) throw std::invalid_argument("invalid UTF-8 at byte " + std::to_string(i));
    out.push_back(c);
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string utf8_encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

char32_t utf8_next_or_replacement(std::string_view text, std::size_t& i) {
  char32_t c;
  const std::size_t n = utf8_decode_one(text, i, c);
  if (n == 0) {
    ++i;
    return 0xFFFD;
  }
  i += n;
  return c;
}

bool is_valid_utf8(std::string_view text) { return utf8_error_offset(text) == std::string_view::npos; }

}  // namespace thanos
