#include "stage.h"
#include "thanos/pipeline/run_config.h"

namespace thanos {

const std::vector<std::unique_ptr<Stage>>& stage_registry() {
  static const std::vector<std::unique_ptr<Stage>> stages = [] {
    std::vector<std::unique_ptr<Stage>> s;
    s.push_back(make_prepare_stage());
    s.push_back(make_super_stage());
    s.push_back(make_measure_stage());
    s.push_back(make_predictors_stage());
    s.push_back(make_search_stage());
    s.push_back(make_final_stage());
    s.push_back(make_evaluate_stage());
    s.push_back(make_export_stage());
    s.push_back(make_report_stage());
    return s;
  }();
  return stages;
}

const std::vector<std::string>& pipeline_stages() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& s : stage_registry()) n.push_back(s->name());
    return n;
  }();
  return names;
}

}  // namespace thanos
