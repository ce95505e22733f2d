#!/usr/bin/python3
"""The PyTorch Python peer of bench/train_throughput.cc.

Trains the same elastic SuperTransformer as THANOS (HAT's model: max-size weights used through
their front slices W[:out, :in], separate q/k/v projections, fairseq post-norm layers, sinusoidal
positions, HAT's dropout scaled by sampled/super embed dim, arbitrary encoder-decoder attention)
on the same fixed batches, from the same initial weights, with the same SubConfig, label-smoothed
loss (fairseq's), gradient norm (fairseq's clip_grad_norm_ with clipping off: norm only) and
optimizer (torch.optim.AdamW, THANOS' hyper-parameters and learning-rate schedule).

The code follows HAT/fairseq's structure (time-major activations, LinearSuper/LayerNormSuper
slicing, MultiheadAttention's view/transpose/bmm, buffered future mask), written independently of
THANOS' C++; it reads only what the C++ program wrote into --dir:
  meta.json    config, hyper-parameters, optimizer, parameter and batch index, reference values
  params.bin   float32 weights and buffers (THANOS' names and shapes, in named_parameters order)
  batches.bin  int64 src / prev / target tensors of every batch

Protocol (same as the C++ side): torch.set_num_threads(--threads); warm-up epochs, then the timed
epochs (an epoch = every batch once, one AdamW update per batch). Driven by thanos_bench_train
through two FIFOs (--serve) so that C++ and Python epochs alternate; standalone (without --serve)
it runs meta.json's warm-up and timed epochs itself and prints JSON with the tokens/s of every
timed epoch and the mean time of each phase of a step.

Run it with Debian's /usr/bin/python3 (python3-torch 1.13: the same libtorch as THANOS).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- modules (HAT style)

class LinearSuper(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.weight = weight
        self.bias = bias

    def forward(self, x, in_dim, out_dim):
        # HAT's sample_weight / sample_bias: weight[:, :in][:out, :], bias[:out]
        return F.linear(x, self.weight[:, :in_dim][:out_dim, :], self.bias[:out_dim])


class LayerNormSuper(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.weight = weight
        self.bias = bias

    def forward(self, x, dim):
        return F.layer_norm(x, (dim,), self.weight[:dim], self.bias[:dim], 1e-5)


class MultiheadAttentionSuper(nn.Module):
    """fairseq's MultiheadAttention (time-major, separate q/k/v projections), sliced."""

    def __init__(self, P, prefix, attention_dropout):
        super().__init__()
        lin = lambda n: LinearSuper(P[prefix + n + ".weight"], P[prefix + n + ".bias"])
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = lin(".q_proj"), lin(".k_proj"), lin(".v_proj"), lin(".out_proj")
        self.attention_dropout = attention_dropout

    def forward(self, query, key, q_dim, kv_dim, qkv_dim, heads, key_padding_mask=None, attn_mask=None):
        tgt_len, bsz, _ = query.size()
        head_dim = qkv_dim // heads
        q = self.q_proj(query, q_dim, qkv_dim) * head_dim ** -0.5
        k = self.k_proj(key, kv_dim, qkv_dim)
        v = self.v_proj(key, kv_dim, qkv_dim)
        q = q.contiguous().view(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.contiguous().view(-1, bsz * heads, head_dim).transpose(0, 1)
        v = v.contiguous().view(-1, bsz * heads, head_dim).transpose(0, 1)
        src_len = k.size(1)
        w = torch.bmm(q, k.transpose(1, 2))
        if attn_mask is not None:
            w += attn_mask.unsqueeze(0)
        if key_padding_mask is not None:
            w = w.view(bsz, heads, tgt_len, src_len)
            w = w.masked_fill(key_padding_mask.unsqueeze(1).unsqueeze(2), float("-inf"))
            w = w.view(bsz * heads, tgt_len, src_len)
        w = F.softmax(w.float(), dim=-1).type_as(w)
        w = F.dropout(w, p=self.attention_dropout, training=self.training)
        attn = torch.bmm(w, v)
        attn = attn.transpose(0, 1).contiguous().view(tgt_len, bsz, qkv_dim)
        return self.out_proj(attn, qkv_dim, q_dim)


class EncoderLayerSuper(nn.Module):
    def __init__(self, P, prefix, normalize_before, attention_dropout):
        super().__init__()
        self.self_attn = MultiheadAttentionSuper(P, prefix + ".self_attn", attention_dropout)
        ln = lambda n: LayerNormSuper(P[prefix + n + ".weight"], P[prefix + n + ".bias"])
        self.self_attn_layer_norm, self.final_layer_norm = ln(".self_attn_layer_norm"), ln(".final_layer_norm")
        self.fc1 = LinearSuper(P[prefix + ".fc1.weight"], P[prefix + ".fc1.bias"])
        self.fc2 = LinearSuper(P[prefix + ".fc2.weight"], P[prefix + ".fc2.bias"])
        self.normalize_before = normalize_before

    def maybe_layer_norm(self, ln, x, dim, before):
        return ln(x, dim) if before == self.normalize_before else x

    def forward(self, x, mask, d, c, dropout, activation_dropout):
        residual = x
        x = self.maybe_layer_norm(self.self_attn_layer_norm, x, d, before=True)
        x = self.self_attn(x, x, d, d, c["self_qkv_dim"], c["self_heads"], key_padding_mask=mask)
        x = F.dropout(x, p=dropout, training=self.training)
        x = residual + x
        x = self.maybe_layer_norm(self.self_attn_layer_norm, x, d, before=False)
        residual = x
        x = self.maybe_layer_norm(self.final_layer_norm, x, d, before=True)
        x = F.relu(self.fc1(x, d, c["ffn_dim"]))
        x = F.dropout(x, p=activation_dropout, training=self.training)
        x = self.fc2(x, c["ffn_dim"], d)
        x = F.dropout(x, p=dropout, training=self.training)
        x = residual + x
        return self.maybe_layer_norm(self.final_layer_norm, x, d, before=False)


class DecoderLayerSuper(EncoderLayerSuper):
    def __init__(self, P, prefix, normalize_before, attention_dropout):
        super().__init__(P, prefix, normalize_before, attention_dropout)
        self.encoder_attn = MultiheadAttentionSuper(P, prefix + ".encoder_attn", attention_dropout)
        self.encoder_attn_layer_norm = LayerNormSuper(P[prefix + ".encoder_attn_layer_norm.weight"],
                                                      P[prefix + ".encoder_attn_layer_norm.bias"])

    def forward(self, x, memory, memory_mask, future_mask, d, ed, c, dropout, activation_dropout):
        residual = x
        x = self.maybe_layer_norm(self.self_attn_layer_norm, x, d, before=True)
        x = self.self_attn(x, x, d, d, c["self_qkv_dim"], c["self_heads"], attn_mask=future_mask)
        x = F.dropout(x, p=dropout, training=self.training)
        x = residual + x
        x = self.maybe_layer_norm(self.self_attn_layer_norm, x, d, before=False)
        residual = x
        x = self.maybe_layer_norm(self.encoder_attn_layer_norm, x, d, before=True)
        x = self.encoder_attn(x, memory, d, ed, c["ende_qkv_dim"], c["ende_heads"], key_padding_mask=memory_mask)
        x = F.dropout(x, p=dropout, training=self.training)
        x = residual + x
        x = self.maybe_layer_norm(self.encoder_attn_layer_norm, x, d, before=False)
        residual = x
        x = self.maybe_layer_norm(self.final_layer_norm, x, d, before=True)
        x = F.relu(self.fc1(x, d, c["ffn_dim"]))
        x = F.dropout(x, p=activation_dropout, training=self.training)
        x = self.fc2(x, c["ffn_dim"], d)
        x = F.dropout(x, p=dropout, training=self.training)
        x = residual + x
        return self.maybe_layer_norm(self.final_layer_norm, x, d, before=False)


def make_positions(tokens, padding_idx):
    # fairseq.utils.make_positions
    mask = tokens.ne(padding_idx).int()
    return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + padding_idx


class TransformerSuper(nn.Module):
    def __init__(self, meta, P, B):
        super().__init__()
        h = meta["hyper"]
        self.params = nn.ParameterList(list(P.values()))  # registration only; order = THANOS' order
        self.pad = meta["padding_idx"]
        self.enc_super, self.dec_super = meta["capacity_encoder_embed_dim"], meta["capacity_decoder_embed_dim"]
        self.dropout, self.activation_dropout = h["dropout"], h["activation_dropout"]
        self.enc_pre, self.dec_pre = h["encoder_normalize_before"], h["decoder_normalize_before"]
        self.enc_table = P["encoder.embed_tokens.weight"]
        self.dec_table = P.get("decoder.embed_tokens.weight", self.enc_table)
        self.out_table = P.get("decoder.output_projection", self.dec_table)
        self.enc_pos, self.dec_pos = B["encoder.embed_positions.weight"], B["decoder.embed_positions.weight"]
        n_enc = len({k.split(".")[2] for k in P if k.startswith("encoder.layers.")})
        n_dec = len({k.split(".")[2] for k in P if k.startswith("decoder.layers.")})
        ad = h["attention_dropout"]
        self.enc_layers = nn.ModuleList(
            [EncoderLayerSuper(P, "encoder.layers.%d" % i, self.enc_pre, ad) for i in range(n_enc)])
        self.dec_layers = nn.ModuleList(
            [DecoderLayerSuper(P, "decoder.layers.%d" % i, self.dec_pre, ad) for i in range(n_dec)])
        self.enc_ln = LayerNormSuper(P["encoder.layer_norm.weight"], P["encoder.layer_norm.bias"]) if self.enc_pre else None
        self.dec_ln = LayerNormSuper(P["decoder.layer_norm.weight"], P["decoder.layer_norm.bias"]) if self.dec_pre else None
        self._future_mask = torch.empty(0)

    def embed(self, table, pos_table, tokens, d):
        # fairseq: embed_scale * embed_tokens(tokens) + embed_positions(tokens), then dropout
        x = math.sqrt(d) * F.embedding(tokens, table[..., :d], self.pad)
        positions = make_positions(tokens, self.pad)
        x += pos_table.index_select(0, positions.view(-1)).view(tokens.size(0), tokens.size(1), -1)[..., :d]
        return x

    def buffered_future_mask(self, x):
        dim = x.size(0)
        if self._future_mask.size(0) < dim:
            self._future_mask = torch.triu(torch.full((dim, dim), float("-inf")), 1)
        return self._future_mask[:dim, :dim]

    def encode(self, src, c):
        d = c["encoder_embed_dim"]
        p = self.dropout * d / self.enc_super
        ap = self.activation_dropout * d / self.enc_super
        x = F.dropout(self.embed(self.enc_table, self.enc_pos, src, d), p=p, training=self.training)
        x = x.transpose(0, 1)
        mask = src.eq(self.pad)
        if not mask.any():
            mask = None
        outs = []
        for i, lc in enumerate(c["encoder_layers"]):
            x = self.enc_layers[i](x, mask, d, lc, p, ap)
            outs.append(x)
        if self.enc_ln is not None:
            outs[-1] = self.enc_ln(outs[-1], d)
        return outs, mask

    def decode(self, prev, outs, mask, c):
        d, ed = c["decoder_embed_dim"], c["encoder_embed_dim"]
        p = self.dropout * d / self.dec_super
        ap = self.activation_dropout * d / self.dec_super
        x = F.dropout(self.embed(self.dec_table, self.dec_pos, prev, d), p=p, training=self.training)
        x = x.transpose(0, 1)
        future = self.buffered_future_mask(x)
        for i, lc in enumerate(c["decoder_layers"]):
            n = lc["ende_attn_layers"]  # HAT's arbitrary encoder-decoder attention: last n layers
            memory = outs[-1] if n == 1 else torch.cat([outs[-1 - k] for k in range(n)], dim=0)
            memory_mask = mask if (mask is None or n == 1) else torch.cat([mask] * n, dim=1)
            x = self.dec_layers[i](x, memory, memory_mask, future, d, ed, lc, p, ap)
        if self.dec_ln is not None:
            x = self.dec_ln(x, d)
        x = x.transpose(0, 1)
        return F.linear(x, self.out_table[:, :d])

    def forward(self, src, prev, c):
        outs, mask = self.encode(src, c)
        return self.decode(prev, outs, mask, c)


def label_smoothed_nll_loss(logits, target, epsilon, ignore_index):
    # fairseq's criterion: log_softmax in float, then label_smoothed_nll_loss with reduce=True
    lprobs = F.log_softmax(logits.float(), dim=-1)
    lprobs = lprobs.view(-1, lprobs.size(-1))
    target = target.view(-1, 1)
    nll_loss = -lprobs.gather(dim=-1, index=target)
    smooth_loss = -lprobs.sum(dim=-1, keepdim=True)
    pad_mask = target.eq(ignore_index)
    nll_loss.masked_fill_(pad_mask, 0.0)
    smooth_loss.masked_fill_(pad_mask, 0.0)
    nll_loss = nll_loss.sum()
    smooth_loss = smooth_loss.sum()
    eps_i = epsilon / lprobs.size(-1)
    return (1.0 - epsilon) * nll_loss + eps_i * smooth_loss, nll_loss


def grad_norm(params):
    # fairseq.utils.clip_grad_norm_ with max_norm 0 (HAT's default): the norm only
    grads = [p.grad.detach() for p in params if p.grad is not None]
    return torch.norm(torch.stack([torch.norm(g, p=2, dtype=torch.float32) for g in grads]))


def learning_rate(o, n):
    # THANOS' default schedule (fairseq inverse_sqrt with linear warm-up)
    if n < o["warmup_updates"]:
        return o["warmup_init_lr"] + n * (o["lr"] - o["warmup_init_lr"]) / o["warmup_updates"]
    return o["lr"] * math.sqrt(o["warmup_updates"]) / math.sqrt(max(n, 1))


# ----------------------------------------------------------------------------- benchmark

def load(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    total = sum(math.prod(p["shape"]) for p in meta["params"])
    flat = torch.from_file(os.path.join(d, "params.bin"), shared=False, size=total, dtype=torch.float32)
    P, B = {}, {}
    for p in meta["params"]:
        n = math.prod(p["shape"])
        t = flat[p["offset"]:p["offset"] + n].view(p["shape"]).clone()
        if p["parameter"]:
            P[p["name"]] = nn.Parameter(t)
        else:
            B[p["name"]] = t
    ntok = sum(b["B"] * (b["S"] + 2 * b["T"]) for b in meta["batches"])
    ids = torch.from_file(os.path.join(d, "batches.bin"), shared=False, size=ntok, dtype=torch.int64)
    batches = []
    for b in meta["batches"]:
        o, n_src, n_tgt = b["offset"], b["B"] * b["S"], b["B"] * b["T"]
        src = ids[o:o + n_src].view(b["B"], b["S"]).clone()
        prev = ids[o + n_src:o + n_src + n_tgt].view(b["B"], b["T"]).clone()
        target = ids[o + n_src + n_tgt:o + n_src + 2 * n_tgt].view(b["B"], b["T"]).clone()
        batches.append((src, prev, target, b["ntokens"]))
    return meta, P, B, batches


def rel_err(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


class Runner:
    """The peer's training state: model, optimizer, update counter; runs epochs on request."""

    PHASES = ["forward", "loss", "backward", "norm_item", "optimizer"]

    def __init__(self, d, optimizer_impl):
        self.meta, P, B, self.batches = load(d)
        self.cfg = self.meta["config"]
        self.eps = self.meta["label_smoothing"]
        self.pad = self.meta["padding_idx"]
        torch.manual_seed(self.meta["seed"])
        self.model = TransformerSuper(self.meta, P, B)
        self.params = list(P.values())
        self.check = self.reference_check()
        o = self.opt = self.meta["optimizer"]
        kwargs = dict(lr=o["warmup_init_lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])
        if optimizer_impl == "foreach":
            kwargs["foreach"] = True
        self.optimizer = torch.optim.AdamW(self.params, **kwargs)
        self.update = 0
        self.tokens_per_epoch = sum(b[3] for b in self.batches)

    def reference_check(self):
        # Same model as THANOS: eval-mode loss and gradient norm of batch 0 from the initial weights.
        self.model.eval()
        src, prev, target, ntokens = self.batches[0]
        loss, nll = label_smoothed_nll_loss(self.model(src, prev, self.cfg), target, self.eps, self.pad)
        (loss / ntokens).backward()
        gn = grad_norm(self.params).item()
        ref = self.meta["check"]
        for p in self.params:
            p.grad = None
        self.model.train()
        return {"loss": loss.item(), "nll": nll.item(), "gnorm": gn, "thanos_loss": ref["loss"], "thanos_gnorm": ref["gnorm"],
                "loss_rel_err": rel_err(loss.item(), ref["loss"]), "nll_rel_err": rel_err(nll.item(), ref["nll"]),
                "gnorm_rel_err": rel_err(gn, ref["gnorm"])}

    def step(self, batch, times=None):
        src, prev, target, ntokens = batch
        clock = time.perf_counter
        for g in self.optimizer.param_groups:
            g["lr"] = learning_rate(self.opt, self.update)
        self.update += 1
        t0 = clock()
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(src, prev, self.cfg)
        t1 = clock()
        loss, nll = label_smoothed_nll_loss(logits, target, self.eps, self.pad)
        t2 = clock()
        (loss / ntokens).backward()
        t3 = clock()
        loss.item()
        nll.item()
        grad_norm(self.params).item()
        t4 = clock()
        self.optimizer.step()
        t5 = clock()
        if times is not None:
            for k, dt in zip(self.PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                times[k] += dt

    def epoch(self):
        """Every batch once; tokens/s and the mean time per step of each phase (ms)."""
        times = dict.fromkeys(self.PHASES, 0.0)
        t = time.perf_counter()
        for b in self.batches:
            self.step(b, times)
        seconds = time.perf_counter() - t
        n = len(self.batches)
        return {"tok_s": self.tokens_per_epoch / seconds, "seconds": seconds,
                "phase_ms": {k: 1000.0 * v / n for k, v in times.items()}}

    def profile(self, path):
        self.step(self.batches[-1])
        with torch.autograd.profiler.profile(use_kineto=False) as prof:
            self.step(self.batches[-1])
        prof.export_chrome_trace(path)

    def info(self, optimizer_impl):
        return {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads(), "python": sys.executable,
                "optimizer": optimizer_impl, "check": self.check}


def serve(args):
    """Interleaved protocol: the C++ program sends one command per line on the control FIFO
    (info | epoch | profile PATH | quit) and reads one JSON line per command from the result FIFO,
    so that its epochs and ours alternate and a change of machine load hits both alike."""
    ctl = open(args.serve[0], "r")
    res = open(args.serve[1], "w")
    runner = None
    for line in ctl:
        cmd = line.split()
        if not cmd:
            continue
        if runner is None:
            runner = Runner(args.dir, args.optimizer)
        if cmd[0] == "info":
            out = runner.info(args.optimizer)
        elif cmd[0] == "epoch":
            out = runner.epoch()
        elif cmd[0] == "profile":
            runner.profile(cmd[1])
            out = {"profile": cmd[1]}
        elif cmd[0] == "quit":
            res.write("{}\n")
            res.flush()
            break
        else:
            out = {"error": "unknown command " + cmd[0]}
        res.write(json.dumps(out) + "\n")
        res.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--optimizer", choices=["default", "foreach"], default="default",
                    help="torch.optim.AdamW implementation (torch 1.13's default is the single-tensor loop)")
    ap.add_argument("--serve", nargs=2, metavar=("CONTROL_FIFO", "RESULT_FIFO"),
                    help="interleaved mode, driven by thanos_bench_train")
    ap.add_argument("--out", help="standalone mode: write the result JSON here (default: stdout)")
    ap.add_argument("--profile", help="standalone mode: after timing, write a chrome trace of one step here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.serve:
        serve(args)
        return

    # Standalone: warm-up epochs, then the timed epochs, as meta.json says.
    runner = Runner(args.dir, args.optimizer)
    warmup, repeats = runner.meta["warmup_epochs"], runner.meta["repeats"]
    epochs = [runner.epoch() for _ in range(warmup + repeats)][warmup:]
    if args.profile:
        runner.profile(args.profile)
    result = runner.info(args.optimizer)
    result["epoch_tok_s"] = [e["tok_s"] for e in epochs]
    result["phase_ms"] = {k: sum(e["phase_ms"][k] for e in epochs) / len(epochs) for k in Runner.PHASES}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    else:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
