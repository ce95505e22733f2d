// The layer order of docs/ARCHITECTURE.md holds in the sources: no file includes a header of a
// folder above its own, and no file reaches into another folder by a relative path. The order is
// read from the document itself ("Layer order: common < space < ..."), so it is written once.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kSource = THANOS_SOURCE_DIR;

std::vector<std::string> layer_order() {
  std::ifstream in(kSource / "docs" / "ARCHITECTURE.md");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Layer order: ", 0) != 0) continue;
    std::vector<std::string> layers;
    std::istringstream words(line.substr(13));
    std::string word;
    while (words >> word) {
      if (word != "<") layers.push_back(word);
    }
    return layers;
  }
  return {};
}

struct Violation {
  std::string where, what;
};

// Every `#include "..."` of `file` (a file of folder `layer`) that breaks the order.
std::vector<Violation> check_file(const fs::path& file, const std::string& layer,
                                  const std::map<std::string, int>& rank) {
  static const std::regex include_line(R"(^\s*#\s*include\s*"([^"]+)\")");
  static const std::regex thanos_header(R"(^thanos/([a-z_]+)/)");
  std::vector<Violation> found;
  std::ifstream in(file);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::smatch m;
    if (!std::regex_search(line, m, include_line)) continue;
    const std::string header = m[1];
    const std::string where = fs::relative(file, kSource).string() + ":" + std::to_string(number);
    std::smatch h;
    if (std::regex_search(header, h, thanos_header)) {
      const auto it = rank.find(h[1]);
      if (it == rank.end()) {
        found.push_back({where, "includes " + header + " of a folder the layer order does not name"});
      } else if (it->second > rank.at(layer)) {
        found.push_back({where, layer + " includes " + header + " (" + std::string(h[1]) + " is above " + layer + ")"});
      }
    } else if (header.find("..") != std::string::npos) {
      found.push_back({where, "reaches into another folder by a relative path: " + header});
    }
  }
  return found;
}

TEST(LayerOrder, IsWrittenInTheArchitectureDocument) {
  const std::vector<std::string> order = layer_order();
  ASSERT_FALSE(order.empty()) << "docs/ARCHITECTURE.md has no line starting with 'Layer order: '";
  EXPECT_EQ(order.front(), "common");
  EXPECT_EQ(order.back(), "cli");
}

TEST(LayerOrder, LowerLayersNeverIncludeHigherOnes) {
  const std::vector<std::string> order = layer_order();
  ASSERT_FALSE(order.empty());
  std::map<std::string, int> rank;
  for (std::size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<int>(i);

  std::vector<Violation> violations;
  int files = 0;
  for (const fs::path& root : {kSource / "src", kSource / "include" / "thanos"}) {
    for (const auto& folder : fs::directory_iterator(root)) {
      if (!folder.is_directory()) continue;
      const std::string layer = folder.path().filename().string();
      if (!rank.count(layer)) {
        violations.push_back({fs::relative(folder.path(), kSource).string(), "a folder the layer order does not name"});
        continue;
      }
      for (const auto& entry : fs::recursive_directory_iterator(folder.path())) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".cc" && ext != ".h") continue;
        ++files;
        for (auto& v : check_file(entry.path(), layer, rank)) violations.push_back(std::move(v));
      }
    }
  }
  EXPECT_GT(files, 100);  // the tree was found
  std::string report;
  for (const auto& v : violations) report += "\n  " + v.where + ": " + v.what;
  EXPECT_TRUE(violations.empty()) << violations.size() << " include(s) break the layer order of docs/ARCHITECTURE.md:"
                                  << report;
}

// The check itself: a file that includes a higher layer, or reaches sideways, is reported.
TEST(LayerOrder, TheCheckReportsAnUpwardInclude) {
  const fs::path dir = fs::temp_directory_path() / "thanos_layer_check";
  fs::create_directories(dir);
  const fs::path file = dir / "bad.cc";
  std::ofstream(file) << "#include \"thanos/common/text.h\"\n#include \"thanos/commands/eval.h\"\n"
                         "#include \"../space/yaml_fields.h\"\n#include <vector>\n";
  const std::map<std::string, int> rank{{"common", 0}, {"data", 1}, {"commands", 2}};
  const std::vector<Violation> v = check_file(file, "data", rank);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].what.find("data includes thanos/commands/eval.h"), std::string::npos) << v[0].what;
  EXPECT_NE(v[0].where.find(":2"), std::string::npos) << v[0].where;
  EXPECT_NE(v[1].what.find("relative path"), std::string::npos) << v[1].what;
  fs::remove_all(dir);
}

}  // namespace
