#include "thanos/hw/target_device.h"

#include <sstream>
#include <stdexcept>

namespace thanos {
namespace {

constexpr const char* kRemoteScheme = "remote://";

bool starts_remote(const std::string& s) { return s.rfind(kRemoteScheme, 0) == 0; }

}  // namespace

TargetDevice TargetDevice::parse(const std::string& text) {
  TargetDevice d;
  if (text == "cpu") return d;
  if (text == "cuda") return d.kind = Kind::kCuda, d;
  if (text == "ort-cpu") return d.kind = Kind::kOrtCpu, d;
  if (text == "rknn") return d.kind = Kind::kRknn, d;
  if (!starts_remote(text)) {
    throw std::invalid_argument("'" + text + "': expected " + kTargetDeviceForms);
  }
  d.kind = Kind::kRemote;
  std::stringstream in(text);
  std::string member;
  while (std::getline(in, member, ',')) {
    if (!starts_remote(member) || member.size() == std::string(kRemoteScheme).size()) {
      throw std::invalid_argument("'" + member + "' in a pool: every member must be remote://HOST:PORT");
    }
    d.agents.push_back(member);
  }
  if (!text.empty() && text.back() == ',') throw std::invalid_argument("'" + text + "': a pool ends with an empty member");
  return d;
}

std::string TargetDevice::text() const {
  switch (kind) {
    case Kind::kCpu: return "cpu";
    case Kind::kCuda: return "cuda";
    case Kind::kOrtCpu: return "ort-cpu";
    case Kind::kRknn: return "rknn";
    case Kind::kRemote: break;
  }
  std::string pool;
  for (const auto& a : agents) pool += (pool.empty() ? "" : ",") + a;
  return pool;
}

std::string TargetDevice::local_device() const {
  switch (kind) {
    case Kind::kCuda: return "cuda";
    case Kind::kRknn: return "rknn";
    default: return "cpu";
  }
}

std::string board_backend(const std::string& backend) {
  if (backend.rfind("remote://", 0) != 0) return backend;
  const auto slash = backend.find('/', 9);
  return slash == std::string::npos ? "" : backend.substr(slash + 1);
}

std::string runtime_of_backend(const std::string& backend) {
  const std::string local = board_backend(backend);
  if (local == "cpu" || local == "cuda" || local.rfind("cuda:", 0) == 0) return "libtorch";
  if (local == "ort-cpu") return "onnxruntime";
  if (local == "rknn") return "rknn";
  return "";
}

}  // namespace thanos
