// JSON from outside the process (common/json_input.h): a nesting limit instead of a crash, and
// errors that name the input without echoing it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "thanos/common/json_input.h"
#include "test_util.h"
#include "thanos/common/text.h"
#include "thanos/export/export_sidecar.h"
#include "thanos/predict/predictor_file.h"

namespace thanos {
namespace {

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }


TEST(JsonInput, NestingBeyondTheLimitIsRefusedNotRecursedInto) {
  // 140 KB of brackets: dump() or a reader recursing per level crashed the agent with this.
  const std::string deep = nested(70000);
  const std::string error = testing::invalid_argument_message([&] { parse_json_input(deep, "frame"); });
  EXPECT_EQ(error, "frame: nested deeper than 64 levels");
  EXPECT_EQ(testing::invalid_argument_message([&] { parse_ordered_json_input(nested(65) , "x"); }), "x: nested deeper than 64 levels");
  // At the limit, and objects count alike.
  EXPECT_EQ(parse_json_input(nested(64), "x").dump(), nested(64));
  std::string objects;
  for (int i = 0; i < 80; ++i) objects += "{\"a\":";
  objects += "1" + std::string(80, '}');
  EXPECT_EQ(testing::invalid_argument_message([&] { parse_json_input(objects, "x"); }), "x: nested deeper than 64 levels");
  EXPECT_EQ(parse_json_input(objects, "x", 100)["a"]["a"]["a"].is_object(), true);
}

TEST(JsonInput, MalformedTextNamesTheInputWithoutEchoingIt) {
  const std::string huge_garbage = "{\"key\": " + std::string(100000, 'x');
  const std::string error = testing::invalid_argument_message([&] { parse_json_input(huge_garbage, "peer 127.0.0.1"); });
  EXPECT_EQ(error.rfind("peer 127.0.0.1: not JSON (", 0), 0u) << error.substr(0, 200);
  EXPECT_LT(error.size(), 400u);  // not the 100 KB input
  const nlohmann::ordered_json ordered = parse_ordered_json_input(R"({"b": 1, "a": 2})", "x");
  EXPECT_EQ(ordered.begin().key(), "b");  // the order as written
}

// The readers of files a user hands over go through it.
TEST(JsonInput, ANumberBeyondADoubleIsMalformedInputNotALibraryError) {
  // Found by fuzz/worker_request: nlohmann's out_of_range.406 escaped as a raw library exception,
  // quoting the whole literal. (fuzz/regressions/worker_request/number-overflow-1e777)
  const std::string literal = "1" + std::string(5000, '0') + "e777";
  const std::string error = testing::invalid_argument_message([&] { parse_json_input("{\"a\": " + literal + "}", "stdin"); });
  EXPECT_EQ(error, "stdin: not JSON (a number beyond the range of a double)");
  EXPECT_EQ(parse_json_input("[1e308]", "x")[0].get<double>(), 1e308);
}

TEST(JsonInput, ReadersOfUserFilesRefuseDeepNesting) {
  const std::string dir = ::testing::TempDir() + "/thanos_json_input_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  write_file_atomically(dir + "/latency.json", "{\"format\": " + nested(5000) + "}");
  EXPECT_NE(testing::invalid_argument_message([&] { load_predictor(dir + "/latency.json"); }).find("nested deeper than 64 levels"), std::string::npos);
  EXPECT_NE(testing::invalid_argument_message([&] { sidecar_from_json("{\"graphs\": " + nested(5000) + "}", "model.json"); }).find("model.json: nested deeper"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace thanos
