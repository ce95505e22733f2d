#include "thanos/predict/provenance.h"

#include <filesystem>
#include <stdexcept>

#include "thanos/hw/target_device.h"

namespace thanos {
namespace {

Provenance from_protocol(const LatencyProtocol& p) {
  Provenance v;
  v.protocol_name = p.name;
  v.protocol_hash = p.hash_hex();
  v.src_len = p.src_len;
  v.tgt_len = p.tgt_len;
  v.beam = p.beam;
  v.vocab_size = p.vocab_size;
  v.dtype = p.dtype;
  return v;
}

// "remote://board1:7070/cpu" and "cpu" are both CPUs; pools of boards have many addresses, so the
// backend is compared by the kind of device it measures on.
std::string backend_kind(const std::string& backend) {
  if (backend.rfind("remote://", 0) != 0) return backend;  // "" (unknown) stays unknown
  const std::string kind = board_backend(backend);
  return kind.empty() ? "remote" : kind;
}

}  // namespace

Provenance target_provenance(const LatencyProtocol& protocol, const std::string& backend, const std::string& device_name,
                             int threads, int interop_threads) {
  Provenance v = from_protocol(protocol);
  v.source = "target";
  v.backend = backend;
  v.device_name = device_name;
  v.threads = threads;
  v.interop_threads = interop_threads;
  return v;
}

Provenance hat_published_provenance(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const bool iwslt = name.find("iwslt") != std::string::npos;
  Provenance v = from_protocol(latency_protocol_preset(iwslt ? "hat-iwslt" : "hat-wmt"));
  v.source = "hat-published";
  struct Device {
    const char* key;
    const char* backend;
    const char* name;
  };
  // HAT's devices (HAT paper, Section 4; ../shared/data/hat-latency/README.md).
  static const Device devices[] = {{"raspberrypi", "cpu", "Raspberry Pi 4 (ARM Cortex-A72)"},
                                   {"xeon", "cpu", "Intel Xeon E5-2640"},
                                   {"titanxp", "cuda", "NVIDIA TITAN Xp"}};
  for (const auto& d : devices) {
    if (name.find(d.key) != std::string::npos) {
      v.backend = d.backend;
      v.device_name = d.name;
    }
  }
  if (v.backend.empty()) {
    // Unknown device: the file name's "_cpu_"/"_gpu_" part still says the kind.
    if (name.find("_gpu_") != std::string::npos) v.backend = "cuda";
    if (name.find("_cpu_") != std::string::npos) v.backend = "cpu";
  }
  v.host = "unknown (HAT's published dataset)";
  return v;
}

std::string protocol_preset_with_hash(const std::string& hash) {
  for (const auto& name : latency_protocol_presets()) {
    if (latency_protocol_preset(name).hash_hex() == hash) return name;
  }
  return "";
}

std::vector<std::string> provenance_differences(const Provenance& p, const Provenance& t) {
  std::vector<std::string> d;
  auto text = [&](const char* field, const std::string& a, const std::string& b) {
    if (!a.empty() && !b.empty() && a != b) d.push_back(std::string(field) + ": predictor '" + a + "', target '" + b + "'");
  };
  auto number = [&](const char* field, int a, int b) {
    if (a > 0 && b > 0 && a != b) {
      d.push_back(std::string(field) + ": predictor " + std::to_string(a) + ", target " + std::to_string(b));
    }
  };
  number("src_len", p.src_len, t.src_len);
  number("tgt_len", p.tgt_len, t.tgt_len);
  number("beam", p.beam, t.beam);
  number("vocab_size", p.vocab_size, t.vocab_size);
  text("dtype", p.dtype, t.dtype);
  number("threads", p.threads, t.threads);
  number("interop_threads", p.interop_threads, t.interop_threads);
  // The runtime first: a libtorch predictor for an ONNX Runtime target is wrong whatever else agrees.
  text("runtime", runtime_of_backend(p.backend), runtime_of_backend(t.backend));
  text("backend", backend_kind(p.backend), backend_kind(t.backend));
  text("device_name", p.device_name, t.device_name);
  // The hash covers warm-ups, repeats and trimming too; name it last, after the readable fields.
  if (!p.protocol_hash.empty() && !t.protocol_hash.empty() && p.protocol_hash != t.protocol_hash) {
    d.push_back("protocol_hash (warm-ups, repeats, trimming and the fields above): predictor " + p.protocol_hash + " (" +
                (p.protocol_name.empty() ? "custom" : p.protocol_name) + "), target " + t.protocol_hash + " (" +
                (t.protocol_name.empty() ? "custom" : t.protocol_name) + ")");
  }
  return d;
}

void check_predictor_provenance(const Provenance& predictor, const Provenance& target, const std::string& path) {
  const auto d = provenance_differences(predictor, target);
  if (d.empty()) return;
  std::string msg = "predictor " + path + " was fitted under a different measurement protocol than the target's: ";
  for (std::size_t i = 0; i < d.size(); ++i) msg += (i ? "; " : "") + d[i];
  msg += " (refit it on a dataset measured under the target's protocol: thanos measure, then thanos fit-predictor)";
  throw std::invalid_argument(msg);
}

}  // namespace thanos
