#!/usr/bin/env python3
"""One dist2 training step in Python PyTorch: the peer a user would pick.

`dist2 bench train` runs this script (same sizes, same threads) and reports its
time beside LibTorch's step. The model is lib/dist2/model/gpt.cpp's text model
(no image front end, no scalar head), written as a PyTorch user would:

    token + learned position embeddings; n_layer pre-LayerNorm blocks
    x + attn(ln1(x)), then h + fc_out(gelu(fc(ln2(h)))); attention as matmul,
    scale by 1/sqrt(head size), masked_fill of the causal mask with -inf and
    softmax (not scaled_dot_product_attention); ln_f; logits = h @ wte.weight^T
    (tied embeddings). Parameter names, shapes, order and the GPT-2
    initialisation are gpt.cpp's.

The step is lib/dist2/train/trainer.cpp's, with a plain cross-entropy objective:
zero_grad, logits = model(ids), cross entropy over all B*T positions (random
next-token targets), backward, clip_grad_norm_(1.0), AdamW(lr, betas 0.9/0.95,
weight decay 0.01) step. Token ids and targets are drawn once from a seeded
generator; every sequence is `--context` tokens long.

Threads: torch.set_num_threads(--intra-threads) for ATen's intra-op pool,
torch.set_num_interop_threads(1), and BLAS threads from the environment: the
OpenBLAS pool is sized when torch loads it, so when OPENBLAS_NUM_THREADS (BLAS)
or OMP_NUM_THREADS (ATen's OpenMP pool) differ from what was asked, the script
re-executes itself with them set before it imports torch.

Prints one JSON line: {"ms_per_step_median": ..., "ms_per_step_min": ...,
"tokens_per_s": ..., "peak_rss_mb": ..., "params": ..., "torch": ..., ...}.
Peak memory: the process's resident-set high-water mark (VmHWM) at the end, MiB.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--context", type=int, default=64, help="sequence length T (every sequence is full)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--intra-threads", type=int, default=1)
    ap.add_argument("--blas-threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    args = ap.parse_args()
    if args.d_model % args.n_head != 0:
        ap.error(f"--d-model ({args.d_model}) must be a multiple of --n-head ({args.n_head})")
    if min(args.vocab, args.n_layer, args.n_head, args.batch, args.steps, args.intra_threads, args.blas_threads) < 1:
        ap.error("sizes, --steps and thread counts must be >= 1")
    if args.context < 2 or args.warmup < 0:
        ap.error("--context must be >= 2 and --warmup >= 0")
    return args


def ensure_thread_env(args):
    """Re-executes this script with the BLAS/OpenMP thread variables set, unless
    they already are; must run before torch is imported."""
    want = {"OPENBLAS_NUM_THREADS": str(args.blas_threads), "OMP_NUM_THREADS": str(args.intra_threads)}
    if all(os.environ.get(k) == v for k, v in want.items()):
        return
    if "torch" in sys.modules:
        raise RuntimeError("thread variables must be set before torch is imported")
    env = dict(os.environ, **want)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


if __name__ == "__main__":
    ARGS = parse_args()
    ensure_thread_env(ARGS)

import torch  # noqa: E402  (after the thread variables are in place)
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        qkv = self.qkv(x).view(B, T, 3, self.n_head, hs).permute(2, 0, 3, 1, 4)  # (3, B, nh, T, hs)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        att = self.drop(torch.softmax(att.masked_fill(causal, float("-inf")), -1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, C)
        return self.drop(self.proj(y))


class Block(nn.Module):
    def __init__(self, d_model, n_head, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.fc_out = nn.Linear(4 * d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.drop(self.fc_out(F.gelu(self.fc(self.ln2(h)))))


class Gpt(nn.Module):
    def __init__(self, vocab, context, n_layer, d_model, n_head, dropout=0.0):
        super().__init__()
        self.wte = nn.Embedding(vocab, d_model)
        self.wpe = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList([Block(d_model, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d_model)
        # GPT-2 initialisation, by parameter name as gpt.cpp does it.
        with torch.no_grad():
            for name, t in self.named_parameters():
                if "bias" in name:
                    t.zero_()
                elif "ln" in name:
                    t.fill_(1.0)
                else:
                    residual = "proj.weight" in name or "fc_out.weight" in name
                    t.normal_(0.0, 0.02 / math.sqrt(2.0 * n_layer) if residual else 0.02)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T, dtype=torch.long)).unsqueeze(0)
        for block in self.blocks:
            x = block(x)
        return torch.matmul(self.ln_f(x), self.wte.weight.t())  # tied LM head


def vm_hwm_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def blas_info():
    """The BLAS library torch loaded and its thread count, where it says (OpenBLAS)."""
    path = None
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and ("libblas" in fields[5] or "libopenblas" in fields[5]):
                    path = fields[5]
                    break
    except OSError:
        pass
    threads = None
    if path is not None:
        try:
            threads = int(ctypes.CDLL(path).openblas_get_num_threads())
        except (OSError, AttributeError):
            pass
    return os.path.realpath(path) if path else None, threads


def main(args):
    torch.set_num_threads(args.intra_threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    model = Gpt(args.vocab, args.context, args.n_layer, args.d_model, args.n_head)
    model.train()
    # LibTorch's AdamW loops over the parameters one by one (no foreach).
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=args.weight_decay, foreach=False)
    gen = torch.Generator().manual_seed(args.seed)
    B, T, V = args.batch, args.context, args.vocab
    ids = torch.randint(V, (B, T), generator=gen)
    targets = torch.randint(V, (B, T), generator=gen)

    def step():
        opt.zero_grad(set_to_none=False)  # LibTorch 1.13's zero_grad zeroes in place
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
        value = loss.item()  # the trainer reads the loss every step
        loss.backward()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        return value

    for _ in range(args.warmup):
        step()
    times, losses = [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - t0)
    median_s = statistics.median(times)
    blas_lib, blas_effective = blas_info()
    print(json.dumps({
        "ms_per_step_median": median_s * 1e3,
        "ms_per_step_min": min(times) * 1e3,
        "tokens_per_s": B * T / median_s,
        "peak_rss_mb": vm_hwm_mib(),
        "params": sum(p.numel() for p in model.parameters()),  # wte counted once (tied)
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "intra_threads": torch.get_num_threads(),
        "blas_threads": args.blas_threads,
        "blas_threads_effective": blas_effective,
        "blas_library": blas_lib,
        "times_ms": [t * 1e3 for t in times],
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "config": {"vocab": V, "n_layer": args.n_layer, "d_model": args.d_model, "n_head": args.n_head,
                   "context": T, "batch": B, "steps": args.steps, "warmup": args.warmup, "seed": args.seed,
                   "lr": args.lr, "betas": [0.9, 0.95], "weight_decay": args.weight_decay,
                   "grad_clip": args.grad_clip},
    }))


if __name__ == "__main__":
    main(ARGS)
