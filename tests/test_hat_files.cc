// HAT's own files: the four search spaces and all 37 published SubTransformers, against the
// #Params and FLOPs HAT publishes for them (tests/data/hat/published.csv).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "test_util.h"
#include "thanos/model/cost_model.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using thanos::testing::test_data;

namespace {

struct Published {
  std::string task, model;
  double params_m, flops_g;
};

std::vector<Published> published() {
  std::ifstream in(test_data("hat/published.csv"));
  std::vector<Published> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("task,", 0) == 0) continue;
    std::stringstream ss(line);
    Published p;
    std::string a, b;
    std::getline(ss, p.task, ',');
    std::getline(ss, p.model, ',');
    std::getline(ss, a, ',');
    std::getline(ss, b, ',');
    p.params_m = std::stod(a);
    p.flops_g = std::stod(b);
    out.push_back(p);
  }
  return out;
}

std::string space_file(const std::string& task) {
  return test_data("hat/supertransformer/" + task + (task == "iwslt14.de-en" ? "/space1.yml" : "/space0.yml"));
}

std::string two_decimals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

}  // namespace

TEST(HatFiles, SpacesLoadWithWarningsForTrainingKeys) {
  for (const char* task : {"wmt14.en-de", "wmt14.en-fr", "wmt19.en-de", "iwslt14.de-en"}) {
    LoadedSpace ls = load_search_space(space_file(task));
    EXPECT_FALSE(ls.warnings.empty()) << task;
    EXPECT_NE(ls.warnings[0].find("adam-betas"), std::string::npos) << ls.warnings[0];
    const SearchSpace expected = std::string(task) == "iwslt14.de-en" ? hat_iwslt14deen_space1() : hat_wmt14ende_space0();
    EXPECT_EQ(ls.space.size(), expected.size()) << task;
    EXPECT_EQ(ls.space.largest(), expected.largest()) << task;
    EXPECT_EQ(ls.space.super_shape(), expected.super_shape()) << task;
    EXPECT_EQ(ls.space.hat_profile_length(), std::string(task) == "iwslt14.de-en" ? 23 : 30);
  }
  EXPECT_EQ(load_search_space(space_file("wmt14.en-de")).space.size().to_string(), "417846678672384");
}

TEST(HatFiles, PublishedModelsHaveHatsParamsAndFlops) {
  const auto rows = published();
  ASSERT_EQ(rows.size(), 37u);
  for (const auto& p : rows) {
    const SearchSpace space = load_search_space(space_file(p.task)).space;
    const LoadedConfig lc =
        load_config_yaml(test_data("hat/subtransformer/" + p.task + "/" + p.model + ".yml"), space.qkv_dim);
    EXPECT_NO_THROW(space.check_config(lc.config)) << p.model;
    const ParamCount params = count_params(lc.config, space.hyper, 32000, 32000);
    const int len = space.hat_profile_length();
    const FlopCount flops = count_flops(lc.config, space.hyper, len, len);
    EXPECT_EQ(two_decimals(params.no_embed() / 1e6), two_decimals(p.params_m)) << p.model;
    EXPECT_EQ(two_decimals(flops.total() / 1e9), two_decimals(p.flops_g)) << p.model;
  }
}

TEST(HatFiles, PublishedConfigsSurviveOurYamlWriter) {
  for (const auto& p : published()) {
    const auto path = test_data("hat/subtransformer/" + p.task + "/" + p.model + ".yml");
    const SubConfig c = load_config_yaml(path, 512).config;
    EXPECT_EQ(parse_config_yaml(config_to_yaml(c), "rewritten", 1).config, c) << p.model;
  }
}
