#pragma once
// The one UTF-8 validator and codec of THANOS: strict, as Python's decoder (no overlong forms, no
// surrogates, nothing above U+10FFFF), so that text readers refuse exactly what the scorer
// (decode/tokenize.h, sacreBLEU semantics) could not read.
#include <cstddef>
#include <string>
#include <string_view>

namespace thanos {

// Decodes the code point at byte `i` into `out`; returns its length in bytes, or 0 when the
// sequence there is invalid.
std::size_t utf8_decode_one(std::string_view text, std::size_t i, char32_t& out);
// The code point at `i`, advancing `i` past it; an invalid sequence reads as U+FFFD and advances
// one byte (for text known valid, or where a replacement is the right reading).
char32_t utf8_next_or_replacement(std::string_view text, std::size_t& i);
// Throws std::invalid_argument naming the byte offset of the first bad sequence.
std::u32string utf8_decode(std::string_view text);
void append_utf8(std::string& out, char32_t c);
std::string utf8_encode(std::u32string_view text);
// The byte offset of the first invalid sequence, or npos when `text` is valid UTF-8.
std::size_t utf8_error_offset(std::string_view text);
bool is_valid_utf8(std::string_view text);

}  // namespace thanos
