#include "thanos/space/sub_config.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "thanos/common/text.h"

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

void SubConfig::check_consistent() const {
  require_positive("encoder-embed-dim", encoder_embed_dim);
  require_positive("decoder-embed-dim", decoder_embed_dim);
  if (encoder_layers.empty()) throw std::invalid_argument("encoder-layer-num: expected at least 1 layer, got 0");
  if (decoder_layers.empty()) throw std::invalid_argument("decoder-layer-num: expected at least 1 layer, got 0");
  for (std::size_t i = 0; i < encoder_layers.size(); ++i) {
    const auto& l = encoder_layers[i];
    const std::string at = " (encoder layer " + std::to_string(i) + ")";
    require_positive("encoder-ffn-embed-dim" + at, l.ffn_dim);
    require_positive("encoder-self-attention-heads" + at, l.self_heads);
    require_positive("encoder-self-attention-qkv-dim" + at, l.self_qkv_dim);
    require_divisible("encoder-self-attention-qkv-dim" + at, l.self_qkv_dim, l.self_heads);
  }
  for (std::size_t i = 0; i < decoder_layers.size(); ++i) {
    const auto& l = decoder_layers[i];
    const std::string at = " (decoder layer " + std::to_string(i) + ")";
    require_positive("decoder-ffn-embed-dim" + at, l.ffn_dim);
    require_positive("decoder-self-attention-heads" + at, l.self_heads);
    require_positive("decoder-ende-attention-heads" + at, l.ende_heads);
    require_positive("decoder-self-attention-qkv-dim" + at, l.self_qkv_dim);
    require_positive("decoder-ende-attention-qkv-dim" + at, l.ende_qkv_dim);
    require_divisible("decoder-self-attention-qkv-dim" + at, l.self_qkv_dim, l.self_heads);
    require_divisible("decoder-ende-attention-qkv-dim" + at, l.ende_qkv_dim, l.ende_heads);
    if (l.ende_attn_layers < 1 || l.ende_attn_layers > encoder_layer_num()) {
      throw std::invalid_argument("decoder-arbitrary-ende-attn" + at + ": attends to " +
                                  std::to_string(l.ende_attn_layers) + " encoder layers, but the encoder has " +
                                  std::to_string(encoder_layer_num()));
    }
  }
}

std::string SubConfig::canonical() const {
  // Format version prefix: changing this text changes every hash, so bump "v1" if you must.
  std::ostringstream s;
  s << "subconfig.v1;ee=" << encoder_embed_dim << ";de=" << decoder_embed_dim << ";enc=";
  for (const auto& l : encoder_layers) s << "(" << l.ffn_dim << "," << l.self_heads << "," << l.self_qkv_dim << ")";
  s << ";dec=";
  for (const auto& l : decoder_layers) {
    s << "(" << l.ffn_dim << "," << l.self_heads << "," << l.self_qkv_dim << "," << l.ende_heads << ","
      << l.ende_qkv_dim << "," << l.ende_attn_layers << ")";
  }
  return s.str();
}

std::uint64_t SubConfig::hash() const { return fnv1a64(canonical()); }
std::string SubConfig::hash_hex() const { return hex64(hash()); }

std::string SubConfig::summary() const {
  auto range = [](std::vector<int> v) {
    if (v.empty()) return std::string("-");
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return *lo == *hi ? std::to_string(*lo) : std::to_string(*lo) + ".." + std::to_string(*hi);
  };
  std::vector<int> eff, eh, eq, dff, dh, dq, deh, deq, da;
  for (const auto& l : encoder_layers) {
    eff.push_back(l.ffn_dim);
    eh.push_back(l.self_heads);
    eq.push_back(l.self_qkv_dim);
  }
  for (const auto& l : decoder_layers) {
    dff.push_back(l.ffn_dim);
    dh.push_back(l.self_heads);
    dq.push_back(l.self_qkv_dim);
    deh.push_back(l.ende_heads);
    deq.push_back(l.ende_qkv_dim);
    da.push_back(l.ende_attn_layers);
  }
  std::ostringstream s;
  s << "encoder " << encoder_embed_dim << "d x" << encoder_layer_num() << " (ffn " << range(eff) << ", heads "
    << range(eh) << ", qkv " << range(eq) << ") | decoder " << decoder_embed_dim << "d x" << decoder_layer_num()
    << " (ffn " << range(dff) << ", heads " << range(dh) << ", qkv " << range(dq) << ", ende heads " << range(deh)
    << ", ende qkv " << range(deq) << ", attends " << range(da) << " enc layers)";
  return s.str();
}

}  // namespace thanos
