#!/usr/bin/env python3
"""The composed DIST² loss in Python PyTorch: the peer a user would pick.

`dist2 bench loss` runs this script (same sizes, same threads) and reports its
time beside the LibTorch reference and the fused kernel. The loss is what
lib/dist2/loss/loss.cpp computes for kind `dist` with q = subvocab and mean
reductions, written as a PyTorch user would:

    log_softmax over V, gather the target (CE); logits at V_d, log_softmax over
    V_d (q); p_d = softmax(-d(., x) / tau); KL(p_d || q) at metric positions.

Prints one JSON line: {"median_s": ..., "peak_bytes": ..., "torch": ..., ...}.
Peak memory: on the CPU, the rise of the process's resident-set high-water mark
(VmHWM, reset through /proc/self/clear_refs) during one fwd+bwd; on CUDA,
torch.cuda.max_memory_allocated above what was allocated before.
"""
import argparse
import json
import statistics
import sys
import time

import torch


def rss_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


class PeakMemory:
    def __init__(self, device):
        self.device = device
        self.base = 0

    def reset(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.base = rss_bytes("VmRSS") or 0

    def peak(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated(self.device) - self.base
        hwm = rss_bytes("VmHWM")
        return None if hwm is None else hwm - self.base


def composed_loss(logits, targets, vd_ids, distances, tau, alpha, ignore_index=-100):
    supervised = targets != ignore_index
    safe = torch.where(supervised, targets, torch.zeros_like(targets))
    log_p = torch.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, safe.unsqueeze(1)).squeeze(1) * supervised
    ce = nll.sum() / supervised.sum().clamp_min(1)
    # metric positions: supervised targets in V_d
    lookup = torch.full((logits.shape[1],), -1, dtype=torch.long, device=logits.device)
    lookup[vd_ids] = torch.arange(vd_ids.numel(), device=logits.device)
    x = lookup[safe]
    rows = ((x >= 0) & supervised).nonzero().squeeze(1)
    if rows.numel() == 0:
        return ce
    log_q = torch.log_softmax(logits[rows][:, vd_ids], dim=1)
    p = torch.softmax(-distances(x[rows]) / tau, dim=1)
    kl = (torch.xlogy(p, p) - p * log_q).sum(1)
    return ce + alpha * kl.mean()


def metric_distances(args, device, gen):
    """d(., x) for target indices x: [R] -> [R, M], computed per batch as the
    reference does (scalar values, or a codebook through |a|^2 + |b|^2 - 2ab)."""
    if args.metric == "mse":
        emb = torch.randn(args.m, args.dim, generator=gen).to(device)
        sq = (emb * emb).sum(1)

        def mse(x):
            return (sq[x].unsqueeze(1) + sq.unsqueeze(0) - 2.0 * emb[x] @ emb.t()).clamp_min(0) / args.dim
        return mse
    values = torch.arange(args.m, dtype=torch.float32, device=device)

    def squared(x):
        return (values.unsqueeze(0) - values[x].unsqueeze(1)) ** 2
    return squared


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--v", type=int, required=True)
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--metric", choices=["sq", "mse"], default="sq")
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tau", type=float, default=2.0)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    first = (args.v - args.m) // 2 if args.m < args.v else 0
    vd_ids = torch.arange(first, first + args.m, device=device)
    dist = metric_distances(args, device, gen)
    targets = torch.where(torch.rand(args.n, generator=gen) < 0.5,
                          vd_ids.cpu()[torch.randint(args.m, (args.n,), generator=gen)],
                          torch.randint(args.v, (args.n,), generator=gen)).to(device)
    logits = torch.empty(args.n, args.v, device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    times, peaks = [], []
    mem = PeakMemory(device)
    for i in range(args.repeat + 1):  # the first run is the warm-up
        with torch.no_grad():
            logits.uniform_(-4, 4)
        logits.grad = None
        leaf = logits.requires_grad_(True)
        sync()
        mem.reset()
        t0 = time.perf_counter()
        loss = composed_loss(leaf, targets, vd_ids, dist, args.tau, args.alpha)
        loss.backward()
        sync()
        elapsed = time.perf_counter() - t0
        peak = mem.peak()
        del loss
        if i > 0:
            times.append(elapsed)
            if peak is not None:
                peaks.append(peak)
    print(json.dumps({
        "median_s": statistics.median(times),
        "times_s": times,
        "peak_bytes": max(peaks) if peaks else None,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "device": str(device),
    }))


if __name__ == "__main__":
    main()
