#pragma once
// JSON from outside the process (files a user hands over, records on disk, peers on a socket),
// parsed with a nesting limit. nlohmann's parser itself is iterative, but dump(), comparison and
// our readers recurse once per level, so a 140 KB `[[[[...]]]]` crashed the agent before any
// token was checked. THANOS's own formats nest a few levels; 64 leaves room.
#include <nlohmann/json.hpp>
#include <string>

namespace thanos {

inline constexpr int kMaxJsonDepth = 64;

// Throws std::invalid_argument "WHERE: not JSON (...)" or "WHERE: nested deeper than N levels".
// The text is never echoed back (it may be huge or hostile).
nlohmann::json parse_json_input(const std::string& text, const std::string& where, int max_depth = kMaxJsonDepth);
nlohmann::ordered_json parse_ordered_json_input(const std::string& text, const std::string& where, int max_depth = kMaxJsonDepth);

// `v` as a 32-bit integer, checked before narrowing (2^32 + 512 must not become 512). Throws
// std::invalid_argument "WHERE: expected an integer, got V" or "... an integer of at most 32 bits ...".
int json_to_int32(const nlohmann::json& v, const std::string& where);

}  // namespace thanos
