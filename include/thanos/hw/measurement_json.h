#pragma once
// JSON forms of measurement requests and results: the worker's stdin/stdout, the agent's wire
// messages and reports all use these (docs/MEASUREMENT.md lists the fields).
#include <nlohmann/json.hpp>
#include <string>

#include "thanos/hw/measurement.h"

namespace thanos {

// The most threads a measurement request may ask for (a request may come from a peer).
inline constexpr int kMaxRequestThreads = 1024;

nlohmann::json protocol_to_json(const LatencyProtocol& protocol);
nlohmann::json hyper_to_json(const ModelHyperParams& hyper);
nlohmann::json request_to_json(const MeasureRequest& request);
nlohmann::json measurement_to_json(const Measurement& m);  // NaN fields are written as null

// Throw std::invalid_argument naming `source` and the JSON path of a missing or mistyped field.
LatencyProtocol protocol_from_json(const nlohmann::json& j, const std::string& source);
ModelHyperParams hyper_from_json(const nlohmann::json& j, const std::string& source);
MeasureRequest request_from_json(const nlohmann::json& j, const std::string& source);
// A request as text (`thanos measure-worker`'s stdin): one JSON object, parsed with the nesting
// limit (common/json_input.h). Throws std::invalid_argument naming `source`, also for empty text.
MeasureRequest request_from_text(const std::string& text, const std::string& source);
Measurement measurement_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace thanos
