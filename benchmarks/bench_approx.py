"""Batched training of a width sweep against training each model alone, in one run.

    python benchmarks/bench_approx.py [--steps 2000] [--samples 2000] [--dim 8] [--seeds 5]

The standard sweep of issue 3: d = 8, widths 8, 16, ..., 1024, 5 seeds, full-batch Adam
on 2,000 samples of the Barron target. Both ways use the same model code and the same
initial weights (each model's init comes from its own (seed, width) stream), each
with its own best sample chunk (``sample_chunk``: a lone small model runs its whole
batch at once; forcing the batched run's chunk on it made the loop 3.4x slower, an
unfair baseline). The final losses agree up to float summation order, which 2,000 Adam
steps amplify: the script requires a median relative difference below 1e-2 and a
maximum below 1e-1 (at 200 steps the maximum is ~1e-5), and reports the speed-up.
Torch runs on its default threads.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dimcurse.nets import Shallow, train_adam
from dimcurse.targets import TargetOptions, get_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    widths = [8 * 2**i for i in range(8)]
    seeds = list(range(args.seeds))
    target = get_target("barron")
    f = target.build(args.dim, TargetOptions())
    x = torch.stack([target.sample(args.samples, args.dim, s, "train") for s in seeds])
    y = f(x.reshape(-1, args.dim)).reshape(len(seeds), -1)
    y = ((y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True)).float().to(device)
    x = x.float().to(device)
    train_adam(Shallow([0], args.dim, [8], "relu").to(device), x[:1], y[:1], 5, 3e-3)  # warm-up

    start = time.perf_counter()
    batched = train_adam(Shallow(seeds, args.dim, widths, "relu").to(device), x, y, args.steps, 3e-3)
    t_batched = time.perf_counter() - start

    start = time.perf_counter()
    alone = np.zeros((len(seeds), len(widths)))
    for si, s in enumerate(seeds):
        for j, w in enumerate(widths):
            model = Shallow([s], args.dim, [w], "relu").to(device)
            alone[si, j] = train_adam(model, x[si : si + 1], y[si : si + 1], args.steps, 3e-3).train_mse[0, 0]
    t_loop = time.perf_counter() - start

    rel = np.abs(batched.train_mse / alone - 1)
    diff, median = float(np.max(rel)), float(np.median(rel))
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"sweep: d = {args.dim}, widths {widths[0]}..{widths[-1]}, {len(seeds)} seeds, {args.steps} Adam steps, {args.samples} samples")
    print(f"batched: {t_batched:.1f} s; one model at a time: {t_loop:.1f} s; speed-up {t_loop / t_batched:.2f}x")
    print(f"final train MSE, batched vs alone: relative difference median {median:.1e} (tolerance 1e-2), max {diff:.1e} (tolerance 1e-1)")
    print(f"median final MSE per width: {np.median(batched.train_mse, 0).round(5).tolist()}")
    if not (median < 1e-2 and diff < 1e-1):
        raise SystemExit("batched and one-at-a-time losses disagree")


if __name__ == "__main__":
    main()
