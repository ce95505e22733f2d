#!/usr/bin/python3
"""Synthetic HAT SuperTransformer checkpoints and reference logits for tests/test_hat_import.cc.

Writes into OUT_DIR:
  checkpoint.pt   a fairseq-style checkpoint as HAT saves it: {'args': argparse.Namespace,
                  'model': state_dict with HAT's names and shapes, 'extra_state': {...}} with random
                  weights, plus an object of a class from a module named 'fairseq.meters' (as real
                  checkpoints carry), so the converter's fallback for missing fairseq is exercised;
  <config>.yml    HAT SubTransformer configs ('mixed' and 'largest');
  reference.tta   a THANOS tensor archive (docs/HAT_IMPORT.md) with, per config, the token batches
                  '<config>.src_tokens', '<config>.prev_output_tokens' (float32 ids) and the logits
                  '<config>.logits' [B, T, vocab] of HAT's forward pass.

The logits come from an independent re-implementation of HAT's forward pass written after
fairseq/models/transformer_super.py and fairseq/modules/multihead_attention_super.py (time-major
tensors, stacked in_proj slicing, identity layers past the sampled depth), in float64, reading
the weights by their HAT names only; it shares no code with THANOS or tools/hat_import.py.

Variants: 'shared' (share_all_embeddings, post-norm, equal dims, zip serialization, float32) and
'separate' (separate vocabularies, untied embed_out, decoder wider than encoder so the
encoder-decoder attention has q/k/v_proj_weight, pre-norm, legacy serialization, float16 weights).

Usage: make_fairseq_checkpoint.py --variant shared|separate --out-dir DIR [--drop HAT_TENSOR_NAME] [--hostile DIR]
"""

import argparse
import json
import math
import os
import struct
import sys
import types
from collections import OrderedDict

import torch
import torch.nn.functional as F

PAD = 1

# A stand-in for fairseq.meters.AverageMeter, pickled under fairseq's module name.
_fairseq = types.ModuleType("fairseq")
_meters = types.ModuleType("fairseq.meters")


class AverageMeter:
    def __init__(self):
        self.val, self.avg, self.sum, self.count = 0.5, 0.5, 1.0, 2


AverageMeter.__module__ = "fairseq.meters"
AverageMeter.__qualname__ = "AverageMeter"
_meters.AverageMeter = AverageMeter
_fairseq.meters = _meters
sys.modules.setdefault("fairseq", _fairseq)
sys.modules.setdefault("fairseq.meters", _meters)


class MakesDirectory:
    """What a hostile checkpoint carries: unpickling it calls os.mkdir(path)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


VARIANTS = {
    "shared": dict(
        encoder_embed_dim=32, decoder_embed_dim=32, encoder_ffn_embed_dim=64, decoder_ffn_embed_dim=64,
        encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, qkv_dim=32,
        share_all_embeddings=True, share_decoder_input_output_embed=True,
        encoder_normalize_before=False, decoder_normalize_before=False,
        src_vocab=45, tgt_vocab=45, half=False, legacy=False,
        encoder_embed_choice=[32, 24, 16], decoder_embed_choice=[32, 24, 16],
        encoder_ffn_embed_dim_choice=[64, 48, 32], decoder_ffn_embed_dim_choice=[64, 48, 32],
        encoder_layer_num_choice=[2], decoder_layer_num_choice=[2, 1],
        encoder_self_attention_heads_choice=[4, 2], decoder_self_attention_heads_choice=[4, 2],
        decoder_ende_attention_heads_choice=[4, 2], decoder_arbitrary_ende_attn_choice=[-1, 1],
        configs={
            "mixed": dict(encoder_embed_dim=24, decoder_embed_dim=16, encoder_ffn=[48, 64], decoder_ffn=[32],
                          encoder_heads=[4, 2], decoder_self_heads=[2], decoder_ende_heads=[4], ende_codes=[1]),
            "largest": dict(encoder_embed_dim=32, decoder_embed_dim=32, encoder_ffn=[64, 64], decoder_ffn=[64, 64],
                            encoder_heads=[4, 4], decoder_self_heads=[4, 4], decoder_ende_heads=[4, 4],
                            ende_codes=[1, -1]),
        }),
    "separate": dict(
        encoder_embed_dim=32, decoder_embed_dim=48, encoder_ffn_embed_dim=64, decoder_ffn_embed_dim=96,
        encoder_layers=3, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, qkv_dim=32,
        share_all_embeddings=False, share_decoder_input_output_embed=False,
        encoder_normalize_before=True, decoder_normalize_before=True,
        src_vocab=40, tgt_vocab=37, half=True, legacy=True,
        encoder_embed_choice=[32, 24], decoder_embed_choice=[48, 40],
        encoder_ffn_embed_dim_choice=[64, 32], decoder_ffn_embed_dim_choice=[96, 64],
        encoder_layer_num_choice=[3], decoder_layer_num_choice=[2, 1],
        encoder_self_attention_heads_choice=[4, 2], decoder_self_attention_heads_choice=[4, 2],
        decoder_ende_attention_heads_choice=[4, 2], decoder_arbitrary_ende_attn_choice=[-1, 1, 2],
        configs={
            "mixed": dict(encoder_embed_dim=24, decoder_embed_dim=40, encoder_ffn=[32, 64, 32], decoder_ffn=[96, 64],
                          encoder_heads=[2, 4, 4], decoder_self_heads=[4, 2], decoder_ende_heads=[2, 4],
                          ende_codes=[2, 1]),
            "largest": dict(encoder_embed_dim=32, decoder_embed_dim=48, encoder_ffn=[64, 64, 64],
                            decoder_ffn=[96, 96], encoder_heads=[4, 4, 4], decoder_self_heads=[4, 4],
                            decoder_ende_heads=[4, 4], ende_codes=[2, 2]),
        }),
}


# ----------------------------------------------------------------------------- checkpoint

def make_state(v, gen):
    E, D, q = v["encoder_embed_dim"], v["decoder_embed_dim"], v["qkv_dim"]
    st = OrderedDict()

    def rnd(*shape, scale=1.0):
        return torch.randn(*shape, generator=gen) * scale

    def linear(prefix, out_dim, in_dim):
        st[prefix + ".weight"] = rnd(out_dim, in_dim, scale=in_dim ** -0.5)
        st[prefix + ".bias"] = rnd(out_dim, scale=0.1)

    def norm(prefix, dim):
        st[prefix + ".weight"] = 1 + rnd(dim, scale=0.1)
        st[prefix + ".bias"] = rnd(dim, scale=0.1)

    def attention(prefix, q_in, kv_in):
        if q_in == kv_in:
            st[prefix + ".in_proj_weight"] = rnd(3 * q, q_in, scale=q_in ** -0.5)
        else:  # HAT's MultiheadAttentionSuper when qkv_same_dim is False
            st[prefix + ".k_proj_weight"] = rnd(q, kv_in, scale=kv_in ** -0.5)
            st[prefix + ".v_proj_weight"] = rnd(q, kv_in, scale=kv_in ** -0.5)
            st[prefix + ".q_proj_weight"] = rnd(q, q_in, scale=q_in ** -0.5)
        st[prefix + ".in_proj_bias"] = rnd(3 * q, scale=0.1)
        linear(prefix + ".out_proj", q_in, q)

    def embedding(vocab, dim):
        t = rnd(vocab, dim, scale=dim ** -0.5)
        t[PAD] = 0
        return t

    st["encoder.version"] = torch.Tensor([3])
    enc_table = embedding(v["src_vocab"], E)
    st["encoder.embed_tokens.weight"] = enc_table
    st["encoder.embed_positions._float_tensor"] = torch.FloatTensor(1)
    for i in range(v["encoder_layers"]):
        p = "encoder.layers.%d" % i
        attention(p + ".self_attn", E, E)
        norm(p + ".self_attn_layer_norm", E)
        linear(p + ".fc1", v["encoder_ffn_embed_dim"], E)
        linear(p + ".fc2", E, v["encoder_ffn_embed_dim"])
        norm(p + ".final_layer_norm", E)
    if v["encoder_normalize_before"]:
        norm("encoder.layer_norm", E)
    st["decoder.version"] = torch.Tensor([3])
    # state_dict() lists a shared table under both modules (the same tensor).
    st["decoder.embed_tokens.weight"] = enc_table if v["share_all_embeddings"] else embedding(v["tgt_vocab"], D)
    if not v["share_decoder_input_output_embed"]:
        st["decoder.embed_out"] = rnd(v["tgt_vocab"], D, scale=D ** -0.5)
    st["decoder.embed_positions._float_tensor"] = torch.FloatTensor(1)
    for i in range(v["decoder_layers"]):
        p = "decoder.layers.%d" % i
        attention(p + ".self_attn", D, D)
        norm(p + ".self_attn_layer_norm", D)
        attention(p + ".encoder_attn", D, E)
        norm(p + ".encoder_attn_layer_norm", D)
        linear(p + ".fc1", v["decoder_ffn_embed_dim"], D)
        linear(p + ".fc2", D, v["decoder_ffn_embed_dim"])
        norm(p + ".final_layer_norm", D)
    if v["decoder_normalize_before"]:
        norm("decoder.layer_norm", D)
    if v["half"]:  # as saved by HAT's --fp16 training
        for k in st:
            st[k] = st[k].half()
    return st


def make_args(v):
    keys = ["encoder_embed_dim", "decoder_embed_dim", "encoder_ffn_embed_dim", "decoder_ffn_embed_dim",
            "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads", "qkv_dim",
            "share_all_embeddings", "share_decoder_input_output_embed", "encoder_normalize_before",
            "decoder_normalize_before", "encoder_embed_choice", "decoder_embed_choice",
            "encoder_ffn_embed_dim_choice", "decoder_ffn_embed_dim_choice", "encoder_layer_num_choice",
            "decoder_layer_num_choice", "encoder_self_attention_heads_choice", "decoder_self_attention_heads_choice",
            "decoder_ende_attention_heads_choice", "decoder_arbitrary_ende_attn_choice"]
    a = argparse.Namespace(**{k: v[k] for k in keys})
    a.arch = "transformersuper_wmt_en_de"
    a.dropout, a.attention_dropout, a.activation_dropout = 0.3, 0.1, 0.0
    a.max_source_positions = a.max_target_positions = 64
    a.encoder_learned_pos = a.decoder_learned_pos = False
    a.no_token_positional_embeddings = False
    a.adaptive_softmax_cutoff = None
    a.activation_fn = "relu"
    a.vocab_original_scaling = False
    a.decoder_output_dim = a.decoder_input_dim = v["decoder_embed_dim"]
    a.optimizer, a.lr, a.max_tokens, a.fp16 = "adam", [1e-7], 4096, v["half"]
    if v["share_all_embeddings"] is False:  # a HAT SubTransformer checkpoint records its architecture
        c = v["configs"]["mixed"]
        a.encoder_embed_dim_subtransformer = c["encoder_embed_dim"]
        a.decoder_embed_dim_subtransformer = c["decoder_embed_dim"]
        a.encoder_ffn_embed_dim_all_subtransformer = c["encoder_ffn"]
        a.decoder_ffn_embed_dim_all_subtransformer = c["decoder_ffn"]
        a.encoder_layer_num_subtransformer = len(c["encoder_ffn"])
        a.decoder_layer_num_subtransformer = len(c["decoder_ffn"])
        a.encoder_self_attention_heads_all_subtransformer = c["encoder_heads"]
        a.decoder_self_attention_heads_all_subtransformer = c["decoder_self_heads"]
        a.decoder_ende_attention_heads_all_subtransformer = c["decoder_ende_heads"]
        a.decoder_arbitrary_ende_attn_all_subtransformer = c["ende_codes"]
    return a


def config_yaml(c):
    lst = lambda x: "[" + ", ".join(str(i) for i in x) + "]"
    return "".join([
        "encoder-embed-dim-subtransformer: %d\n" % c["encoder_embed_dim"],
        "decoder-embed-dim-subtransformer: %d\n" % c["decoder_embed_dim"],
        "encoder-ffn-embed-dim-all-subtransformer: %s\n" % lst(c["encoder_ffn"]),
        "decoder-ffn-embed-dim-all-subtransformer: %s\n" % lst(c["decoder_ffn"]),
        "encoder-layer-num-subtransformer: %d\n" % len(c["encoder_ffn"]),
        "decoder-layer-num-subtransformer: %d\n" % len(c["decoder_ffn"]),
        "encoder-self-attention-heads-all-subtransformer: %s\n" % lst(c["encoder_heads"]),
        "decoder-self-attention-heads-all-subtransformer: %s\n" % lst(c["decoder_self_heads"]),
        "decoder-ende-attention-heads-all-subtransformer: %s\n" % lst(c["decoder_ende_heads"]),
        "decoder-arbitrary-ende-attn-all-subtransformer: %s\n" % lst(c["ende_codes"]),
    ])


# ----------------------------------------------------------------------------- HAT's forward pass

def sinusoidal_table(num_embeddings, dim, padding_idx):
    # fairseq SinusoidalPositionalEmbedding.get_embedding
    half = dim // 2
    e = math.log(10000) / (half - 1)
    e = torch.exp(torch.arange(half, dtype=torch.float64) * -e)
    e = torch.arange(num_embeddings, dtype=torch.float64).unsqueeze(1) * e.unsqueeze(0)
    e = torch.cat([torch.sin(e), torch.cos(e)], dim=1).view(num_embeddings, -1)
    if dim % 2 == 1:
        e = torch.cat([e, torch.zeros(num_embeddings, 1, dtype=torch.float64)], dim=1)
    e[padding_idx, :] = 0
    return e


def positions(tokens, super_dim, max_positions):
    # PositionalEmbedding(max_positions, super_dim, pad) -> init_size = max_positions + pad + 1
    table = sinusoidal_table(max_positions + PAD + 1, super_dim, PAD)
    mask = tokens.ne(PAD).int()
    pos = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + PAD
    return table.index_select(0, pos.view(-1)).view(tokens.size(0), tokens.size(1), -1)


class Hat:
    """HAT's TransformerSuperModel forward (eval mode) under one sampled config."""

    def __init__(self, state, v):
        self.W = {k: t.to(torch.float64) for k, t in state.items()}
        self.v = v

    def lin(self, prefix, x, in_dim, out_dim):  # LinearSuper: weight[:out, :in], bias[:out]
        return F.linear(x, self.W[prefix + ".weight"][:, :in_dim][:out_dim, :], self.W[prefix + ".bias"][:out_dim])

    def ln(self, prefix, x, dim):  # LayerNormSuper
        return F.layer_norm(x, (dim,), self.W[prefix + ".weight"][:dim], self.W[prefix + ".bias"][:dim], 1e-5)

    def mha(self, prefix, query, key, q_dim, kv_dim, heads, key_padding_mask=None, attn_mask=None):
        S = self.v["qkv_dim"]
        bias = self.W[prefix + ".in_proj_bias"]
        if prefix + ".in_proj_weight" in self.W:
            w = self.W[prefix + ".in_proj_weight"]
            if query is key:  # in_proj_qkv: one projection, chunked in three
                q, k, v = F.linear(query, w[:, :q_dim], bias).chunk(3, dim=-1)
            else:
                q = F.linear(query, w[0:S, :q_dim], bias[0:S])
                k = F.linear(key, w[S:2 * S, :kv_dim], bias[S:2 * S])
                v = F.linear(key, w[2 * S:, :kv_dim], bias[2 * S:])
        else:
            q = F.linear(query, self.W[prefix + ".q_proj_weight"][..., :q_dim], bias[:S])
            k = F.linear(key, self.W[prefix + ".k_proj_weight"][..., :kv_dim], bias[S:2 * S])
            v = F.linear(key, self.W[prefix + ".v_proj_weight"][..., :kv_dim], bias[2 * S:])
        head_dim = S // heads
        q = q * head_dim ** -0.5
        tgt_len, bsz, _ = query.size()
        q = q.contiguous().view(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.contiguous().view(-1, bsz * heads, head_dim).transpose(0, 1)
        v = v.contiguous().view(-1, bsz * heads, head_dim).transpose(0, 1)
        src_len = k.size(1)
        w = torch.bmm(q, k.transpose(1, 2))
        if attn_mask is not None:
            w = w + attn_mask.unsqueeze(0)
        if key_padding_mask is not None:
            w = w.view(bsz, heads, tgt_len, src_len)
            w = w.masked_fill(key_padding_mask.unsqueeze(1).unsqueeze(2), float("-inf"))
            w = w.view(bsz * heads, tgt_len, src_len)
        w = F.softmax(w, dim=-1)
        attn = torch.bmm(w, v).transpose(0, 1).contiguous().view(tgt_len, bsz, S)
        return self.lin(prefix + ".out_proj", attn, S, q_dim)

    def block(self, norm, x, pre, dim, fn):
        residual = x
        if pre:
            x = self.ln(norm, x, dim)
        x = residual + fn(x)
        return x if pre else self.ln(norm, x, dim)

    def encode(self, src, c):
        v, d = self.v, c["encoder_embed_dim"]
        pre = v["encoder_normalize_before"]
        x = math.sqrt(d) * self.W["encoder.embed_tokens.weight"][..., :d][src]
        x = x + positions(src, v["encoder_embed_dim"], 64)[..., :d]
        x = x.transpose(0, 1)
        mask = src.eq(PAD)
        if not mask.any():
            mask = None
        n = len(c["encoder_ffn"])
        all_x = []
        for i in range(v["encoder_layers"]):
            if i < n:  # layers past the sampled depth are identities (they still append x)
                p = "encoder.layers.%d" % i
                x = self.block(p + ".self_attn_layer_norm", x, pre, d,
                               lambda h: self.mha(p + ".self_attn", h, h, d, d, c["encoder_heads"][i], mask))
                x = self.block(p + ".final_layer_norm", x, pre, d, lambda h: self.lin(
                    p + ".fc2", torch.relu(self.lin(p + ".fc1", h, d, c["encoder_ffn"][i])), c["encoder_ffn"][i], d))
            all_x.append(x)
        if pre:
            x = self.ln("encoder.layer_norm", x, d)
        return {"encoder_out": x, "encoder_out_all": all_x, "encoder_padding_mask": mask}

    def decode(self, prev, enc, c):
        v, d, ed = self.v, c["decoder_embed_dim"], c["encoder_embed_dim"]
        pre = v["decoder_normalize_before"]
        table = self.W["decoder.embed_tokens.weight"]
        x = math.sqrt(d) * table[..., :d][prev]
        x = x + positions(prev, v["decoder_embed_dim"], 64)[..., :d]
        x = x.transpose(0, 1)
        T = x.size(0)
        future = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), 1)
        n = len(c["decoder_ffn"])
        for i in range(v["decoder_layers"]):
            if i >= n:
                continue
            code = c["ende_codes"][i]
            outs = [enc["encoder_out"]] + [enc["encoder_out_all"][-1 - k] for k in range(1, {-1: 1, 1: 2, 2: 3}[code])]
            mem = torch.cat(outs, dim=0)
            m = enc["encoder_padding_mask"]
            mem_mask = None if m is None else torch.cat([m] * len(outs), dim=1)
            p = "decoder.layers.%d" % i
            x = self.block(p + ".self_attn_layer_norm", x, pre, d,
                           lambda h: self.mha(p + ".self_attn", h, h, d, d, c["decoder_self_heads"][i], None, future))
            x = self.block(p + ".encoder_attn_layer_norm", x, pre, d,
                           lambda h: self.mha(p + ".encoder_attn", h, mem, d, ed, c["decoder_ende_heads"][i], mem_mask))
            x = self.block(p + ".final_layer_norm", x, pre, d, lambda h: self.lin(
                p + ".fc2", torch.relu(self.lin(p + ".fc1", h, d, c["decoder_ffn"][i])), c["decoder_ffn"][i], d))
        if pre:
            x = self.ln("decoder.layer_norm", x, d)
        x = x.transpose(0, 1)
        out = self.W["decoder.embed_out"] if "decoder.embed_out" in self.W else table
        return F.linear(x, out[:, :d])

    def forward(self, src, prev, c):
        return self.decode(prev, self.encode(src, c), c)


def batches(v, gen):
    B, S, T = 3, 7, 6
    src = torch.randint(4, v["src_vocab"], (B, S), generator=gen)
    prev = torch.randint(4, v["tgt_vocab"], (B, T), generator=gen)
    src[1, :2] = PAD  # fairseq left-pads sources
    src[2, :3] = PAD
    prev[0, 4:] = PAD  # and right-pads targets
    return src, prev


# ----------------------------------------------------------------------------- output

def write_archive(path, tensors, metadata):
    entries, offset, blobs = [], 0, []
    for name, t in tensors:
        t = t.to(torch.float32).contiguous()
        entries.append({"name": name, "dtype": "float32", "shape": list(t.shape), "offset": offset})
        blob = t.numpy().astype("<f4").tobytes()
        blobs.append(blob)
        offset += len(blob)
    header = json.dumps({"magic": "thanos.tensor_archive", "format_version": 1, "tensors": entries,
                         "metadata": metadata}).encode("utf-8")
    with open(path, "wb") as f:
        f.write(b"THANOSTA" + struct.pack("<Q", len(header)) + header + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--drop", help="leave this HAT tensor out of the checkpoint (error tests)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hostile", metavar="DIR",
                    help="add an object whose unpickling would create DIR (os.mkdir): the importer must refuse it")
    opts = ap.parse_args()
    v = VARIANTS[opts.variant]
    gen = torch.Generator().manual_seed(opts.seed)
    os.makedirs(opts.out_dir, exist_ok=True)

    state = make_state(v, gen)
    hat = Hat(state, v)
    ref, names = [], []
    with torch.no_grad():
        for cname, c in v["configs"].items():
            src, prev = batches(v, gen)
            logits = hat.forward(src, prev, c)
            ref += [(cname + ".src_tokens", src), (cname + ".prev_output_tokens", prev), (cname + ".logits", logits)]
            names.append(cname)
            with open(os.path.join(opts.out_dir, cname + ".yml"), "w") as f:
                f.write(config_yaml(c))
    write_archive(os.path.join(opts.out_dir, "reference.tta"), ref, {"configs": names, "variant": opts.variant})

    if opts.drop:
        if opts.drop not in state:
            sys.exit("no tensor %s in variant %s" % (opts.drop, opts.variant))
        del state[opts.drop]
    ckpt = {
        "args": make_args(v),
        "model": state,
        "optimizer_history": [{"criterion_name": "LabelSmoothedCrossEntropyCriterion", "optimizer_name": "FairseqAdam",
                               "lr_scheduler_state": {"best": 4.2}, "num_updates": 10}],
        "extra_state": {"epoch": 1, "train_meters": {"train_loss": AverageMeter()}},
        "last_optimizer_state": None,
    }
    if opts.hostile:
        ckpt["extra_state"]["payload"] = MakesDirectory(opts.hostile)
    torch.save(ckpt, os.path.join(opts.out_dir, "checkpoint.pt"),
               _use_new_zipfile_serialization=not v["legacy"])


if __name__ == "__main__":
    main()
