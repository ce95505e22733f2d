// The target device forms (hw/target_device.h), parsed once for measure, search, the run config
// and the pipeline.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "test_util.h"
#include "thanos/hw/target_device.h"

namespace thanos {
namespace {

using testing::invalid_argument_message;

TEST(TargetDevice, ParsesEveryFormAndWritesItBack) {
  using Kind = TargetDevice::Kind;
  const struct {
    const char* text;
    Kind kind;
    const char* local;
  } cases[] = {{"cpu", Kind::kCpu, "cpu"},
               {"cuda", Kind::kCuda, "cuda"},
               {"ort-cpu", Kind::kOrtCpu, "cpu"},
               {"rknn", Kind::kRknn, "rknn"},
               {"remote://board:7070", Kind::kRemote, "cpu"}};
  for (const auto& c : cases) {
    const TargetDevice d = TargetDevice::parse(c.text);
    EXPECT_EQ(d.kind, c.kind) << c.text;
    EXPECT_EQ(d.text(), c.text);
    EXPECT_EQ(d.local_device(), c.local) << c.text;
    EXPECT_EQ(d.is_remote(), c.kind == Kind::kRemote) << c.text;
  }
}

TEST(TargetDevice, APoolKeepsItsAgentsInOrder) {
  const TargetDevice d = TargetDevice::parse("remote://a:1,remote://b:2,remote://c:3");
  ASSERT_EQ(d.agents.size(), 3u);
  EXPECT_EQ(d.agents[0], "remote://a:1");
  EXPECT_EQ(d.agents[2], "remote://c:3");
  EXPECT_EQ(d.text(), "remote://a:1,remote://b:2,remote://c:3");
}

TEST(TargetDevice, RefusesWhatIsNotADeviceSayingWhatIsExpected) {
  const std::string gpu = invalid_argument_message([] { TargetDevice::parse("gpu"); });
  EXPECT_NE(gpu.find("expected cpu, cuda, ort-cpu, rknn or remote://HOST:PORT"), std::string::npos) << gpu;
  EXPECT_EQ(gpu.rfind("'gpu': ", 0), 0u) << gpu;
  const std::string pool = invalid_argument_message([] { TargetDevice::parse("remote://a:1,cpu"); });
  EXPECT_NE(pool.find("'cpu' in a pool"), std::string::npos) << pool;
  const std::string empty = invalid_argument_message([] { TargetDevice::parse("remote://"); });
  EXPECT_NE(empty.find("every member must be remote://HOST:PORT"), std::string::npos) << empty;
  EXPECT_THROW(TargetDevice::parse("remote://a:1,"), std::invalid_argument);
  EXPECT_THROW(TargetDevice::parse(""), std::invalid_argument);
  EXPECT_THROW(TargetDevice::parse("CPU"), std::invalid_argument);
}

TEST(TargetDevice, RuntimeOfABackendNamesWhatRanTheModel) {
  EXPECT_EQ(runtime_of_backend("cpu"), "libtorch");
  EXPECT_EQ(runtime_of_backend("cuda"), "libtorch");
  EXPECT_EQ(runtime_of_backend("ort-cpu"), "onnxruntime");
  EXPECT_EQ(runtime_of_backend("rknn"), "rknn");
  EXPECT_EQ(runtime_of_backend("remote://board:7070/rknn"), "rknn");
  EXPECT_EQ(runtime_of_backend("remote://board:7070/cpu"), "libtorch");
  EXPECT_EQ(runtime_of_backend("remote://board:7070"), "");
  EXPECT_EQ(runtime_of_backend(""), "");
}

}  // namespace
}  // namespace thanos
