#include "thanos/space/sub_config.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

void require_positive(const std::string& field, int value) {
  if (value <= 0) throw std::invalid_argument(field + ": expected a positive integer, got " + std::to_string(value));
}

void require_divisible(const std::string& field, int qkv, int heads) {
  if (qkv % heads != 0) {
    throw std::invalid_argument(field + ": qkv dim " + std::to_string(qkv) + " is not divisible by " +
                                std::to_string(heads) + " heads (head dim = qkv dim / heads)");
  }
}

}  // namespace

int hat_ende_code_to_layers(int code) {
  if (code == -1) return 1;
  if (code >= 1) return code + 1;
  throw std::invalid_argument("arbitrary encoder-decoder attention code " + std::to_string(code) +
                              ": expected -1 (last layer), 1 (last two), 2 (last three), ...");
}

int layers_to_hat_ende_code(int layers) {
  if (layers == 1) return -1;
  if (layers >= 2) return layers - 1;
  throw std::invalid_argument("attended encoder layers must be >= 1, got " + std::to_string(layers));
}

bool EncoderLayerConfig::operator==(const EncoderLayerConfig& o) const { return same_fields(*this, o); }
bool DecoderLayerConfig::operator==(const DecoderLayerConfig& o) const { return same_fields(*this, o); }

namespace {

// One stack's checks in HAT's key order: every width and head count positive, then every QKV
// width divisible by its heads, then the attended encoder layers within the encoder depth.
template <typename Layer>
void check_stack(const std::vector<Layer>& layers, int encoder_layer_num) {
  const std::string stack = LayerFields<Layer>::kStack;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const std::string at = " (" + stack + " layer " + std::to_string(i) + ")";
    for_each_stack_field_in_hat_order<Layer>([&](const LayerField<Layer>& f) {
      if (f.role != FieldRole::kAttendedLayers) require_positive(f.hat_name + at, f.of(l));
    });
    for (const auto& f : layer_fields<Layer>()) {
      if (f.role == FieldRole::kQkv) require_divisible(f.hat_name + at, f.of(l), layer_fields<Layer>()[f.partner].of(l));
    }
    for (const auto& f : layer_fields<Layer>()) {
      if (f.role == FieldRole::kAttendedLayers && (f.of(l) < 1 || f.of(l) > encoder_layer_num)) {
        throw std::invalid_argument(f.hat_name + at + ": attends to " + std::to_string(f.of(l)) +
                                    " encoder layers, but the encoder has " + std::to_string(encoder_layer_num));
      }
    }
  }
}

template <typename Layer>
void write_canonical(std::ostringstream& s, const std::vector<Layer>& layers) {
  for (const auto& l : layers) {
    s << "(";
    const char* sep = "";
    for (const auto& f : layer_fields<Layer>()) {
      s << sep << f.of(l);
      sep = ",";
    }
    s << ")";
  }
}

// "ffn 1024..3072, heads 4..8, ...": each field's range over the layers.
template <typename Layer>
std::string summary_ranges(const std::vector<Layer>& layers) {
  auto range = [](std::vector<int> v) {
    if (v.empty()) return std::string("-");
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return *lo == *hi ? std::to_string(*lo) : std::to_string(*lo) + ".." + std::to_string(*hi);
  };
  std::string out;
  for (const auto& f : layer_fields<Layer>()) {
    out += (out.empty() ? "" : ", ") + std::string(f.summary_label) + " " + range(field_values(layers, f));
    if (f.role == FieldRole::kAttendedLayers) out += " enc layers";
  }
  return out;
}

}  // namespace

void SubConfig::check_consistent() const {
  require_positive("encoder-embed-dim", encoder_embed_dim);
  require_positive("decoder-embed-dim", decoder_embed_dim);
  if (encoder_layers.empty()) throw std::invalid_argument("encoder-layer-num: expected at least 1 layer, got 0");
  if (decoder_layers.empty()) throw std::invalid_argument("decoder-layer-num: expected at least 1 layer, got 0");
  check_stack(encoder_layers, encoder_layer_num());
  check_stack(decoder_layers, encoder_layer_num());
}

std::string SubConfig::canonical() const {
  // Format version prefix: changing this text changes every hash, so bump "v1" if you must.
  std::ostringstream s;
  s << "subconfig.v1;ee=" << encoder_embed_dim << ";de=" << decoder_embed_dim << ";enc=";
  write_canonical(s, encoder_layers);
  s << ";dec=";
  write_canonical(s, decoder_layers);
  return s.str();
}

std::uint64_t SubConfig::hash() const { return fnv1a64(canonical()); }
std::string SubConfig::hash_hex() const { return hex64(hash()); }

std::string SubConfig::summary() const {
  std::ostringstream s;
  s << "encoder " << encoder_embed_dim << "d x" << encoder_layer_num() << " (" << summary_ranges(encoder_layers)
    << ") | decoder " << decoder_embed_dim << "d x" << decoder_layer_num() << " (" << summary_ranges(decoder_layers)
    << ")";
  return s.str();
}

}  // namespace thanos
