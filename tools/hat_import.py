#!/usr/bin/python3
"""Convert a HAT (mit-han-lab/hardware-aware-transformers) checkpoint into a THANOS tensor archive.

HAT releases fairseq checkpoints: torch.save pickles of {'args': argparse.Namespace, 'model':
state_dict, ...}. C++ cannot unpickle them, so this script (run by `thanos import-hat`, with
Debian's python3-torch; fairseq is NOT needed) reads one and writes:

  * a tensor archive (docs/HAT_IMPORT.md): THANOS parameter names, float32, little-endian;
  * in the archive's metadata, the search space as THANOS/HAT YAML, the vocabulary sizes and,
    for HAT SubTransformer checkpoints, the SubTransformer config the checkpoint was trained for.

Usage: hat_import.py CHECKPOINT OUT_ARCHIVE [--space-yaml PATH]

Errors go to stderr as "hat_import: error: ..." with exit status 2 (3: no PyTorch; 1: unexpected failures).
"""

import argparse
import json
import os
import struct
import sys
import types

try:
    import torch
except ImportError as e:  # the C++ side turns this into "install python3-torch"
    sys.stderr.write("hat_import: error: No module named torch (%s); install python3-torch\n" % e)
    sys.exit(3)

ARCHIVE_MAGIC = b"THANOSTA"
ARCHIVE_FORMAT_VERSION = 1
PADDING_IDX = 1  # fairseq's dictionary: <s>=0, <pad>=1, </s>=2, <unk>=3


class ImportError_(Exception):
    """A problem with the checkpoint that the user must see (no traceback)."""


# ----------------------------------------------------------------------------- loading
#
# A checkpoint is a pickle, and unpickling may call any function the file names (os.system
# included). torch.load(weights_only=True) refuses every non-tensor object, and HAT checkpoints
# carry an argparse.Namespace ('args') and fairseq's training meters; torch 1.13 (Debian's) cannot
# be told to allow more. So the pickle is read by an unpickler of our own that resolves only the
# globals below: tensors and storages, containers, argparse.Namespace and numpy scalars, and every
# fairseq class as an inert stand-in (its state is kept, none of its code exists here). Anything
# else stops the import with its name, before it is called.

import pickle


class _Unknown:
    """Stand-in for a fairseq class the pickle names (training meters, ...): THANOS never uses
    them, so the object is built without running any code and its state kept opaque."""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = args, kwargs

    def __setstate__(self, state):
        self._state = state


_STAND_INS = {}


def _stand_in(module, name):
    key = (module, name)
    if key not in _STAND_INS:
        _STAND_INS[key] = type(name, (_Unknown,), {"__module__": module})
    return _STAND_INS[key]


# module -> names a checkpoint of weights may use. torch storages ('FloatStorage', ...) are resolved
# by torch.load itself before the unpickler is asked.
_ALLOWED_GLOBALS = {
    "collections": {"OrderedDict"},
    "argparse": {"Namespace"},
    "builtins": {"set", "frozenset", "slice", "complex", "bytearray"},
    "copyreg": {"_reconstructor"},  # protocol-0/1 objects; the class it builds passes through here
    "_codecs": {"encode"},          # bytes in protocol-2 pickles
    "torch": {"Size", "device", "float16", "float32", "float64", "bfloat16", "int64", "int32", "uint8", "bool"},
    "torch._utils": {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"},
    "numpy": {"dtype", "ndarray"},
    "numpy.core.multiarray": {"scalar", "_reconstruct"},
    "numpy._core.multiarray": {"scalar", "_reconstruct"},
}


class UnsafeCheckpoint(Exception):
    """The pickle names a global outside the allow-list."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "fairseq" or module.startswith("fairseq."):
            return _stand_in(module, name)
        if name in _ALLOWED_GLOBALS.get(module, ()):
            return super().find_class(module, name)
        raise UnsafeCheckpoint("%s.%s" % (module, name))


def _restricted_pickle_module():
    """The `pickle` module with its Unpickler and load replaced: what torch.load unpickles with."""
    m = types.ModuleType("thanos_restricted_pickle")
    m.__dict__.update({k: v for k, v in pickle.__dict__.items() if not k.startswith("__")})
    m.Unpickler = _RestrictedUnpickler
    m.load = lambda f, **kwargs: _RestrictedUnpickler(f, **kwargs).load()
    return m


def _torch_load(path):
    restricted = _restricted_pickle_module()
    # torch >= 2 honours pickle_module; torch 1.13 replaces it by its module-level `pickle` when
    # weights_only is False, so that name is swapped for the duration of the load as well.
    serialization = torch.serialization
    saved = serialization.pickle
    serialization.pickle = restricted
    try:
        try:
            return torch.load(path, map_location="cpu", pickle_module=restricted, weights_only=False)
        except TypeError as e:  # torch < 1.13 has no weights_only
            if "weights_only" not in str(e):
                raise
            return torch.load(path, map_location="cpu", pickle_module=restricted)
    finally:
        serialization.pickle = saved


def load_checkpoint(path):
    if not os.path.isfile(path):
        raise ImportError_("%s: checkpoint not found" % path)
    try:
        return _torch_load(path)
    except UnsafeCheckpoint as e:
        raise ImportError_("%s: refused: the checkpoint's pickle names %s, which a checkpoint of weights does not "
                           "need; THANOS runs no code from a checkpoint (it loads tensors, containers, "
                           "argparse.Namespace and fairseq's bookkeeping objects only)" % (path, e))
    except Exception as e:
        raise ImportError_("%s: cannot read as a PyTorch checkpoint (%s: %s)" % (path, type(e).__name__, e))


# ----------------------------------------------------------------------------- hyper-parameters

class Args:
    """Typed access to the checkpoint's args with fairseq's/HAT's defaults (base_architecture)."""

    def __init__(self, raw, path):
        if raw is None:
            raise ImportError_("%s: checkpoint has no 'args' (HAT checkpoints store an argparse.Namespace "
                               "under 'args'; newer fairseq 'cfg' checkpoints are not HAT's)" % path)
        self.values = dict(raw) if isinstance(raw, dict) else dict(vars(raw))
        self.path = path

    def get(self, name, default=None):
        v = self.values.get(name, default)
        return default if v is None else v

    def has(self, name):
        return self.values.get(name) is not None

    def int(self, name, default=None):
        v = self.get(name, default)
        if v is None:
            raise ImportError_("%s: args.%s is missing" % (self.path, name))
        try:
            return int(v)
        except (TypeError, ValueError):
            raise ImportError_("%s: args.%s: expected an integer, got %r" % (self.path, name, v))

    def flag(self, name, default=False):
        return bool(self.get(name, default))

    def float(self, name, default):
        try:
            return float(self.get(name, default))
        except (TypeError, ValueError):
            raise ImportError_("%s: args.%s: expected a number, got %r" % (self.path, name, self.get(name)))

    def int_list(self, name):
        v = self.get(name)
        if v is None:
            return None
        if isinstance(v, (int, str)):
            v = [v]
        try:
            return [int(x) for x in v]
        except (TypeError, ValueError):
            raise ImportError_("%s: args.%s: expected a list of integers, got %r" % (self.path, name, v))


def check_supported(a):
    """Refuse HAT/fairseq options THANOS' model does not implement (rather than import wrongly)."""
    problems = []
    if a.flag("encoder_learned_pos") or a.flag("decoder_learned_pos"):
        problems.append("learned positional embeddings (encoder/decoder_learned_pos)")
    if a.flag("no_token_positional_embeddings"):
        problems.append("no_token_positional_embeddings")
    if a.get("adaptive_softmax_cutoff") is not None:
        problems.append("adaptive softmax (adaptive_softmax_cutoff)")
    if a.flag("adaptive_input"):
        problems.append("adaptive_input")
    if a.get("activation_fn", "relu") != "relu":
        problems.append("activation_fn=%s (THANOS uses ReLU)" % a.get("activation_fn"))
    if a.flag("vocab_original_scaling"):
        problems.append("vocab_original_scaling (embeddings scaled by the super dim)")
    dec = a.int("decoder_embed_dim", a.int("encoder_embed_dim", 512))
    if a.int("decoder_output_dim", dec) != dec or a.int("decoder_input_dim", dec) != dec:
        problems.append("decoder_input_dim/decoder_output_dim different from decoder_embed_dim")
    if a.flag("decoder_normalize_before") and a.flag("no_decoder_final_norm"):
        problems.append("no_decoder_final_norm with decoder_normalize_before")
    if problems:
        raise ImportError_("%s: unsupported model options: %s" % (a.path, "; ".join(problems)))


# HAT's argparse defaults for the search space (transformer_super.py add_args); used when a
# checkpoint's args lack a list, then filtered to what fits the super sizes.
HAT_CHOICE_DEFAULTS = {
    "encoder_embed_choice": [512, 256, 128],
    "decoder_embed_choice": [512, 256, 128],
    "encoder_layer_num_choice": [7, 6, 5, 4, 3, 2],
    "decoder_layer_num_choice": [7, 6, 5, 4, 3, 2],
    "encoder_ffn_embed_dim_choice": [4096, 3072, 2048, 1024],
    "decoder_ffn_embed_dim_choice": [4096, 3072, 2048, 1024],
    "encoder_self_attention_heads_choice": [16, 8, 4, 2, 1],
    "decoder_self_attention_heads_choice": [16, 8, 4, 2, 1],
    "decoder_ende_attention_heads_choice": [16, 8, 4, 2, 1],
    "decoder_arbitrary_ende_attn_choice": [-1, 1, 2],
}


def ende_code_to_layers(code):
    return 1 if code == -1 else code + 1


def build_space(a, sup, warnings):
    """The search space: super sizes, the choice lists (filtered to fit), model settings."""

    def choices(name, fits, fallback):
        raw = a.int_list(name)
        if raw is None:
            raw = HAT_CHOICE_DEFAULTS[name]
            warnings.append("args.%s missing; using HAT's default %s" % (name, raw))
        kept = [v for v in raw if fits(v)]
        if len(kept) != len(raw):
            dropped = [v for v in raw if not fits(v)]
            warnings.append("args.%s: dropped %s (do not fit this SuperTransformer)" % (name, dropped))
        if not kept:
            kept = [fallback]
            warnings.append("args.%s: no choice fits; using %s" % (name, kept))
        return kept

    q = sup["qkv_dim"]
    space = {
        "arch": a.get("arch", ""),
        "encoder-embed-dim": sup["encoder_embed_dim"],
        "decoder-embed-dim": sup["decoder_embed_dim"],
        "encoder-ffn-embed-dim": sup["encoder_ffn_embed_dim"],
        "decoder-ffn-embed-dim": sup["decoder_ffn_embed_dim"],
        "encoder-layers": sup["encoder_layers"],
        "decoder-layers": sup["decoder_layers"],
        "encoder-attention-heads": sup["encoder_attention_heads"],
        "decoder-attention-heads": sup["decoder_attention_heads"],
        "qkv-dim": q,
    }
    le = sup["encoder_layers"]
    space["encoder-embed-choice"] = choices("encoder_embed_choice", lambda v: 0 < v <= sup["encoder_embed_dim"],
                                            sup["encoder_embed_dim"])
    space["decoder-embed-choice"] = choices("decoder_embed_choice", lambda v: 0 < v <= sup["decoder_embed_dim"],
                                            sup["decoder_embed_dim"])
    space["encoder-ffn-embed-dim-choice"] = choices(
        "encoder_ffn_embed_dim_choice", lambda v: 0 < v <= sup["encoder_ffn_embed_dim"], sup["encoder_ffn_embed_dim"])
    space["decoder-ffn-embed-dim-choice"] = choices(
        "decoder_ffn_embed_dim_choice", lambda v: 0 < v <= sup["decoder_ffn_embed_dim"], sup["decoder_ffn_embed_dim"])
    space["encoder-layer-num-choice"] = choices("encoder_layer_num_choice", lambda v: 0 < v <= le, le)
    space["decoder-layer-num-choice"] = choices("decoder_layer_num_choice", lambda v: 0 < v <= sup["decoder_layers"],
                                                sup["decoder_layers"])
    heads_fit = lambda v: v > 0 and q % v == 0  # HAT asserts qkv_dim % heads == 0
    space["encoder-self-attention-heads-choice"] = choices("encoder_self_attention_heads_choice", heads_fit,
                                                           sup["encoder_attention_heads"])
    space["decoder-self-attention-heads-choice"] = choices("decoder_self_attention_heads_choice", heads_fit,
                                                           sup["decoder_attention_heads"])
    space["decoder-ende-attention-heads-choice"] = choices("decoder_ende_attention_heads_choice", heads_fit,
                                                           sup["decoder_attention_heads"])
    space["decoder-arbitrary-ende-attn-choice"] = choices(
        "decoder_arbitrary_ende_attn_choice", lambda c: (c == -1 or c >= 1) and ende_code_to_layers(c) <= le, -1)
    # HAT fixes every attention's Q/K/V width at qkv-dim.
    for key in ("encoder-self-attention-qkv-dim-choice", "decoder-self-attention-qkv-dim-choice",
                "decoder-ende-attention-qkv-dim-choice"):
        space[key] = [q]
    share_all = a.flag("share_all_embeddings")
    space["share-all-embeddings"] = share_all
    space["share-decoder-input-output-embed"] = share_all or a.flag("share_decoder_input_output_embed")
    space["encoder-normalize-before"] = a.flag("encoder_normalize_before")
    space["decoder-normalize-before"] = a.flag("decoder_normalize_before")
    space["dropout"] = a.float("dropout", 0.1)
    space["attention-dropout"] = a.float("attention_dropout", 0.0)
    space["activation-dropout"] = a.float("activation_dropout", a.float("relu_dropout", 0.0))
    space["max-source-positions"] = a.int("max_source_positions", 1024)
    space["max-target-positions"] = a.int("max_target_positions", 1024)
    return space


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def space_to_yaml(space, source):
    lines = ["# Search space of the HAT SuperTransformer %s (converted by tools/hat_import.py)" % source]
    for key, v in space.items():
        if key == "arch" and not v:
            continue
        lines.append("%s: %s" % (key, yaml_value(v)))
    return "\n".join(lines) + "\n"


def subtransformer_yaml(a):
    """HAT SubTransformer checkpoints record the architecture they were trained for."""
    keys = ["encoder_embed_dim_subtransformer", "decoder_embed_dim_subtransformer",
            "encoder_ffn_embed_dim_all_subtransformer", "decoder_ffn_embed_dim_all_subtransformer",
            "encoder_layer_num_subtransformer", "decoder_layer_num_subtransformer",
            "encoder_self_attention_heads_all_subtransformer", "decoder_self_attention_heads_all_subtransformer",
            "decoder_ende_attention_heads_all_subtransformer", "decoder_arbitrary_ende_attn_all_subtransformer"]
    if not all(a.has(k) for k in keys):
        return None
    lines = ["# SubTransformer recorded in the HAT checkpoint's args"]
    for k in keys:
        v = a.get(k)
        lines.append("%s: %s" % (k.replace("_", "-"), yaml_value([int(x) for x in v] if isinstance(v, (list, tuple))
                                                                 else int(v))))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- name mapping

# fairseq state entries that are not weights: version counters and the sinusoidal tables'
# placeholders (THANOS computes the tables itself, exactly as fairseq does).
def is_skipped(name):
    return (name.endswith(".version") or name.endswith("embed_positions._float_tensor")
            or name.endswith("embed_positions.weights"))


class Mapper:
    def __init__(self, state, path):
        self.state = state
        self.path = path
        self.used = set()
        self.out = []  # (our name, float32 tensor)

    def take(self, hat_name, our_name, shape):
        if hat_name not in self.state:
            raise ImportError_("%s: missing tensor '%s' (HAT name; needed for THANOS %s)" % (self.path, hat_name, our_name))
        t = self.state[hat_name]
        if not torch.is_tensor(t):
            raise ImportError_("%s: '%s' is not a tensor" % (self.path, hat_name))
        if list(t.shape) != list(shape):
            raise ImportError_("%s: tensor '%s' has shape %s, expected %s from the checkpoint's args" %
                               (self.path, hat_name, list(t.shape), list(shape)))
        self.used.add(hat_name)
        return t.detach().to(torch.float32)

    def put(self, our_name, tensor):
        self.out.append((our_name, tensor.contiguous()))

    def same(self, hat_name, shape, our_name=None):
        self.put(our_name or hat_name, self.take(hat_name, our_name or hat_name, shape))

    def linear(self, prefix, out_dim, in_dim):
        self.same(prefix + ".weight", [out_dim, in_dim])
        self.same(prefix + ".bias", [out_dim])

    def norm(self, prefix, dim):
        self.same(prefix + ".weight", [dim])
        self.same(prefix + ".bias", [dim])

    def attention(self, prefix, q_in, kv_in, qkv):
        """HAT stacks Q, K, V rows in in_proj_weight (or keeps separate q/k/v_proj_weight when the
        key input width differs); the biases are always stacked in in_proj_bias."""
        s = qkv
        if prefix + ".in_proj_weight" in self.state or q_in == kv_in:
            w = self.take(prefix + ".in_proj_weight", prefix + ".{q,k,v}_proj.weight", [3 * s, q_in])
            parts = [w[0:s], w[s:2 * s], w[2 * s:3 * s]]
        else:
            parts = [self.take(prefix + ".q_proj_weight", prefix + ".q_proj.weight", [s, q_in]),
                     self.take(prefix + ".k_proj_weight", prefix + ".k_proj.weight", [s, kv_in]),
                     self.take(prefix + ".v_proj_weight", prefix + ".v_proj.weight", [s, kv_in])]
        b = self.take(prefix + ".in_proj_bias", prefix + ".{q,k,v}_proj.bias", [3 * s])
        for i, name in enumerate(("q_proj", "k_proj", "v_proj")):
            self.put("%s.%s.weight" % (prefix, name), parts[i])
            self.put("%s.%s.bias" % (prefix, name), b[i * s:(i + 1) * s])
        for extra in ("bias_k", "bias_v"):
            if prefix + "." + extra in self.state:
                raise ImportError_("%s: unsupported tensor '%s.%s' (add_bias_kv)" % (self.path, prefix, extra))
        self.linear(prefix + ".out_proj", q_in, s)


def convert(state, a, path, warnings):
    check_supported(a)
    state = {k: v for k, v in state.items()}
    if "encoder.embed_tokens.weight" not in state:
        raise ImportError_("%s: missing tensor 'encoder.embed_tokens.weight' (not a HAT/fairseq Transformer state)" % path)
    enc_dim = a.int("encoder_embed_dim", 512)
    dec_dim = a.int("decoder_embed_dim", enc_dim)
    sup = {
        "encoder_embed_dim": enc_dim,
        "decoder_embed_dim": dec_dim,
        "encoder_ffn_embed_dim": a.int("encoder_ffn_embed_dim", 2048),
        "decoder_ffn_embed_dim": a.int("decoder_ffn_embed_dim", a.int("encoder_ffn_embed_dim", 2048)),
        "encoder_layers": a.int("encoder_layers", 6),
        "decoder_layers": a.int("decoder_layers", 6),
        "encoder_attention_heads": a.int("encoder_attention_heads", 8),
        "decoder_attention_heads": a.int("decoder_attention_heads", 8),
    }
    # HAT: qkv_dim None means the attention's own embed dim.
    sup["qkv_dim"] = a.int("qkv_dim") if a.has("qkv_dim") else enc_dim
    if not a.has("qkv_dim") and enc_dim != dec_dim:
        raise ImportError_("%s: args.qkv_dim is missing and encoder/decoder dims differ" % path)
    share_all = a.flag("share_all_embeddings")
    tied = share_all or a.flag("share_decoder_input_output_embed")
    if share_all and enc_dim != dec_dim:
        raise ImportError_("%s: share_all_embeddings needs encoder_embed_dim == decoder_embed_dim (%d vs %d)" %
                           (path, enc_dim, dec_dim))
    if tied and "decoder.embed_out" in state:
        raise ImportError_("%s: args say the output projection is tied to the embeddings, but the checkpoint "
                           "has 'decoder.embed_out'" % path)

    m = Mapper(state, path)
    src_vocab = state["encoder.embed_tokens.weight"].shape[0]
    m.same("encoder.embed_tokens.weight", [src_vocab, enc_dim])
    if share_all:
        tgt_vocab = src_vocab
        dec_table = state.get("decoder.embed_tokens.weight")
        if dec_table is not None:  # state_dict lists the shared table twice; we store it once
            if not torch.equal(dec_table, state["encoder.embed_tokens.weight"]):
                raise ImportError_("%s: share_all_embeddings, but 'decoder.embed_tokens.weight' differs from "
                                   "'encoder.embed_tokens.weight'" % path)
            m.used.add("decoder.embed_tokens.weight")
    else:
        if "decoder.embed_tokens.weight" not in state:
            raise ImportError_("%s: missing tensor 'decoder.embed_tokens.weight' (HAT name; needed for THANOS "
                               "decoder.embed_tokens.weight)" % path)
        tgt_vocab = state["decoder.embed_tokens.weight"].shape[0]
        m.same("decoder.embed_tokens.weight", [tgt_vocab, dec_dim])
    if not tied:
        m.same("decoder.embed_out", [tgt_vocab, dec_dim], "decoder.output_projection")

    q = sup["qkv_dim"]
    for i in range(sup["encoder_layers"]):
        p = "encoder.layers.%d" % i
        m.attention(p + ".self_attn", enc_dim, enc_dim, q)
        m.norm(p + ".self_attn_layer_norm", enc_dim)
        m.linear(p + ".fc1", sup["encoder_ffn_embed_dim"], enc_dim)
        m.linear(p + ".fc2", enc_dim, sup["encoder_ffn_embed_dim"])
        m.norm(p + ".final_layer_norm", enc_dim)
    for i in range(sup["decoder_layers"]):
        p = "decoder.layers.%d" % i
        m.attention(p + ".self_attn", dec_dim, dec_dim, q)
        m.norm(p + ".self_attn_layer_norm", dec_dim)
        m.attention(p + ".encoder_attn", dec_dim, enc_dim, q)
        m.norm(p + ".encoder_attn_layer_norm", dec_dim)
        m.linear(p + ".fc1", sup["decoder_ffn_embed_dim"], dec_dim)
        m.linear(p + ".fc2", dec_dim, sup["decoder_ffn_embed_dim"])
        m.norm(p + ".final_layer_norm", dec_dim)
    if a.flag("encoder_normalize_before"):
        m.norm("encoder.layer_norm", enc_dim)
    if a.flag("decoder_normalize_before"):
        m.norm("decoder.layer_norm", dec_dim)

    left = sorted(k for k in state if k not in m.used and not is_skipped(k))
    if left:
        raise ImportError_("%s: unexpected tensor(s) not part of a HAT SuperTransformer with these args: %s" %
                           (path, ", ".join(left[:10]) + (" ..." if len(left) > 10 else "")))

    for name, table in (("encoder.embed_tokens.weight", state["encoder.embed_tokens.weight"]),
                        ("decoder.embed_tokens.weight", state.get("decoder.embed_tokens.weight"))):
        if table is not None and table.shape[0] > PADDING_IDX and table[PADDING_IDX].abs().max().item() != 0:
            warnings.append("%s row %d is not zero: the padding index may not be fairseq's 1" % (name, PADDING_IDX))
    return m.out, sup, src_vocab, tgt_vocab


# ----------------------------------------------------------------------------- archive

def write_archive(path, tensors, metadata):
    """Header JSON + raw little-endian float32 data; temp file + rename (docs/HAT_IMPORT.md)."""
    entries, offset = [], 0
    for name, t in tensors:
        entries.append({"name": name, "dtype": "float32", "shape": list(t.shape), "offset": offset})
        offset += t.numel() * 4
    header = json.dumps({"magic": "thanos.tensor_archive", "format_version": ARCHIVE_FORMAT_VERSION,
                         "tensors": entries, "metadata": metadata}, sort_keys=True).encode("utf-8")
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(ARCHIVE_MAGIC)
            f.write(struct.pack("<Q", len(header)))
            f.write(header)
            for _, t in tensors:
                data = t.to(torch.float32).contiguous().numpy()
                f.write(data.astype("<f4", copy=False).tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main(argv):
    ap = argparse.ArgumentParser(description="Convert a HAT checkpoint to a THANOS tensor archive")
    ap.add_argument("checkpoint")
    ap.add_argument("out_archive")
    ap.add_argument("--space-yaml", help="also write the search space YAML here")
    opts = ap.parse_args(argv)

    ckpt = load_checkpoint(opts.checkpoint)
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ImportError_("%s: not a fairseq checkpoint (expected a dict with 'args' and 'model')" % opts.checkpoint)
    a = Args(ckpt.get("args"), opts.checkpoint)
    state = ckpt["model"]
    if not isinstance(state, dict):
        raise ImportError_("%s: 'model' is not a state dict" % opts.checkpoint)
    warnings = []
    tensors, sup, src_vocab, tgt_vocab = convert(state, a, opts.checkpoint, warnings)
    space = build_space(a, sup, warnings)
    space_yaml = space_to_yaml(space, os.path.basename(opts.checkpoint))
    metadata = {
        "source": "hat",
        "imported_from": os.path.abspath(opts.checkpoint),
        "converter": "tools/hat_import.py (torch %s)" % torch.__version__,
        "space_yaml": space_yaml,
        "src_vocab_size": int(src_vocab),
        "tgt_vocab_size": int(tgt_vocab),
        "padding_idx": PADDING_IDX,
        "hat_arch": str(a.get("arch", "")),
        "warnings": warnings,
    }
    sub = subtransformer_yaml(a)
    if sub:
        metadata["hat_subtransformer_yaml"] = sub
    write_archive(opts.out_archive, tensors, metadata)
    if opts.space_yaml:
        with open(opts.space_yaml, "w") as f:
            f.write(space_yaml)
    n = sum(t.numel() for _, t in tensors)
    print("hat_import: %s: %d tensors, %d parameters, vocab %d/%d -> %s" %
          (opts.checkpoint, len(tensors), n, src_vocab, tgt_vocab, opts.out_archive))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ImportError_ as e:
        sys.stderr.write("hat_import: error: %s\n" % e)
        sys.exit(2)
