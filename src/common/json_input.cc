#include "thanos/common/json_input.h"

#include <climits>
#include <cstdint>
#include <stdexcept>

namespace thanos {
namespace {

struct TooDeep {};

template <typename Json>
Json parse_bounded(const std::string& text, const std::string& where, int max_depth) {
  // The callback sees every value with its depth as it is parsed; stopping at the first one too
  // deep keeps what was built shallow.
  const auto limit = [max_depth](int depth, typename Json::parse_event_t, Json&) {
    if (depth >= max_depth) throw TooDeep{};  // depth counts from 0 at the outermost value
    return true;
  };
  try {
    return Json::parse(text, limit);
  } catch (const TooDeep&) {
    throw std::invalid_argument(where + ": nested deeper than " + std::to_string(max_depth) + " levels");
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() quotes at most the last few characters read, never the whole input.
    throw std::invalid_argument(where + ": not JSON (" + e.what() + ")");
  } catch (const nlohmann::json::out_of_range&) {
    // "number overflow parsing '1e999'" (out_of_range.406) quotes the whole literal, which can be
    // as long as the input.
    throw std::invalid_argument(where + ": not JSON (a number beyond the range of a double)");
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(where + ": not JSON (" + std::string(e.what()).substr(0, 200) + ")");
  }
}

}  // namespace

int json_to_int32(const nlohmann::json& v, const std::string& where) {
  if (!v.is_number_integer()) throw std::invalid_argument(where + ": expected an integer, got " + v.dump().substr(0, 40));
  const bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT32_MAX)
                                           : v.get<std::int64_t>() >= INT32_MIN && v.get<std::int64_t>() <= INT32_MAX;
  if (!fits) throw std::invalid_argument(where + ": expected an integer of at most 32 bits, got " + v.dump());
  return v.get<int>();
}

nlohmann::json parse_json_input(const std::string& text, const std::string& where, int max_depth) {
  return parse_bounded<nlohmann::json>(text, where, max_depth);
}

nlohmann::ordered_json parse_ordered_json_input(const std::string& text, const std::string& where, int max_depth) {
  return parse_bounded<nlohmann::ordered_json>(text, where, max_depth);
}

}  // namespace thanos
