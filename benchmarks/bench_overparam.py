"""The two sweeps of issue 4, each timed against a baseline in the same run.

    python benchmarks/bench_overparam.py [--epochs 20] [--features-max-ratio 20] [--part mlp|rf|both] [--device cpu]

1. MLP width sweep on MNIST-1D: 12 widths from 2 to 512 (the interpolation threshold
   of this set-up is near width 96), 3 seeds, 1,000 training samples per seed,
   mini-batch AdamW (batch 100). All 36 models trained as one batched computation
   (``train_classifier`` on an ``MLPClassifier`` of all widths and seeds) against
   training each model alone with the same code, initial weights and shuffles. The
   final train and test losses must agree (median relative difference < 1e-3, max <
   1e-2: the concatenated first layer sums in another order than a lone one).
2. Random-features sweep on MNIST-1D, n = 1,000 samples, 15 feature counts from 0.1 n to
   20 n (2 ridges each): ``RidgePath`` (the cheaper Gram side, SVD near the threshold)
   against LAPACK's SVD-based least squares (``torch.linalg.lstsq``, driver gelsd) for
   the min-norm solutions and a direct solve of the smaller normal equations (primal
   below n, dual above) for the ridge ones. Predictions must agree
   to 1e-6 relative (1e-4 at N = n, where the problem has a condition number ~1e6).
Torch runs on its default threads. ``--device cuda`` runs the MLP sweep on the GPU (both
ways; times include the synchronisation); the random-features sweep stays on the CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dimcurse.experiments.overparam.kernel import Config
from dimcurse.experiments.overparam.task import FEATURE_RATIOS, load_task
from dimcurse.experiments.overparam.classifier import MLPClassifier, train_classifier
from dimcurse.experiments.overparam.ridge import RidgePath

MLP_WIDTHS = [2, 4, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512]


def bench_mlp(epochs: int, device: torch.device) -> None:
    seeds = [0, 1, 2]
    task = load_task(Config(model="mlp", n_train=1000, n_test=1000, seeds=tuple(seeds)), 0.0)
    S, d = len(seeds), task.x.shape[2]
    x, xt, yt = task.x.float(), task.x_test.float()[None].expand(S, -1, -1), task.y_test[None].expand(S, -1)
    x, y, xt, yt = x.to(device), task.y.to(device), xt.to(device), yt.to(device)
    kwargs = dict(epochs=epochs, batch_size=100, lr=1e-3)

    def model(s, w):
        return MLPClassifier(s, d, w, task.classes).to(device)

    train_classifier(model([0], [8]), x[:1], y[:1], xt[:1], yt[:1], [0], epochs=1, batch_size=100, lr=1e-3)

    sync(device)
    start = time.perf_counter()
    batched = train_classifier(model(seeds, MLP_WIDTHS), x, y, xt, yt, seeds, **kwargs)
    sync(device)
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    alone = {k: np.zeros((S, len(MLP_WIDTHS))) for k in ("train_loss", "test_loss")}
    for si, seed in enumerate(seeds):
        for j, width in enumerate(MLP_WIDTHS):
            run = train_classifier(
                model([seed], [width]), x[si : si + 1], y[si : si + 1], xt[:1], yt[:1], [seed], **kwargs
            )
            for key in alone:
                alone[key][si, j] = run.records[-1][key][0, 0]
    sync(device)
    t_loop = time.perf_counter() - start
    rel = np.concatenate([np.abs(batched.records[-1][k] / alone[k] - 1).ravel() for k in alone])
    print(
        f"MLP sweep on {device}: MNIST-1D, widths {MLP_WIDTHS[0]}..{MLP_WIDTHS[-1]} ({len(MLP_WIDTHS)}), {S} seeds, "
        f"{epochs} epochs of AdamW, batch 100, 1000 samples"
    )
    print(f"  batched {t_batched:.1f} s; one model at a time {t_loop:.1f} s; speed-up {t_loop / t_batched:.2f}x")
    print(
        f"  final train/test loss, batched vs alone: relative difference median {np.median(rel):.1e} "
        f"(tolerance 1e-3), max {rel.max():.1e} (tolerance 1e-2)"
    )
    print(f"  final train error per width (seed 0): {np.round(batched.records[-1]['train_error'][0], 3).tolist()}")
    if not (np.median(rel) < 1e-3 and rel.max() < 1e-2):
        raise SystemExit("batched and one-at-a-time losses disagree")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_random_features(max_ratio: float) -> None:
    n = 1000
    task = load_task(Config(n_train=n, n_test=1000, seeds=(0,)), 0.0)
    widths = sorted({round(r * n) for r in FEATURE_RATIOS if r <= max_ratio})
    d = task.x.shape[2]
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(d, max(widths), generator=gen, dtype=torch.float64) / d**0.5
    b = torch.randn(1, max(widths), generator=gen, dtype=torch.float64)
    phi, phi_test = torch.relu(task.x[0] @ w + b), torch.relu(task.x_test @ w + b)
    y = torch.nn.functional.one_hot(task.y[0], task.classes).double()
    ridges = (0.0, 1e-2)

    start = time.perf_counter()
    ours, solvers = {}, []
    for width in widths:
        path = RidgePath.fit(phi[:, :width], y)
        solvers.append(path.solver)
        for ridge in ridges:
            ours[width, ridge] = phi_test[:, :width] @ path.coef(ridge)
    t_ours = time.perf_counter() - start
    reference = {}
    start = time.perf_counter()
    for width in widths:
        reference[width, 0.0] = phi_test[:, :width] @ torch.linalg.lstsq(phi[:, :width], y, driver="gelsd").solution
    t_lstsq = time.perf_counter() - start
    start = time.perf_counter()
    for width in widths:  # ridge by a direct solve of the smaller normal equations (primal or dual)
        f = phi[:, :width]
        if width < n:
            coef = torch.linalg.solve(f.T @ f + n * 1e-2 * torch.eye(width, dtype=torch.float64), f.T @ y)
        else:
            coef = f.T @ torch.linalg.solve(f @ f.T + n * 1e-2 * torch.eye(n, dtype=torch.float64), y)
        reference[width, 1e-2] = phi_test[:, :width] @ coef
    t_ridge = time.perf_counter() - start
    t_ref = t_lstsq + t_ridge
    errors = {k: float((ours[k] - reference[k]).norm() / reference[k].norm()) for k in ours}
    far = max(v for (w_, _), v in errors.items() if w_ != n)
    print(
        f"random-features sweep: MNIST-1D, n = {n}, {len(widths)} feature counts {widths[0]}..{widths[-1]}, "
        f"ridges {ridges}"
    )
    print(
        f"  RidgePath (min-norm and ridge from one decomposition) {t_ours:.1f} s; lstsq (gelsd) {t_lstsq:.1f} s + "
        f"direct ridge solves {t_ridge:.1f} s = {t_ref:.1f} s; speed-up {t_ref / t_ours:.2f}x (vs lstsq alone "
        f"{t_lstsq / t_ours:.2f}x)"
    )
    print(f"  solvers used: {', '.join(f'{w_}:{s}' for w_, s in zip(widths, solvers))}")
    print(
        f"  predictions vs reference: max relative difference {far:.1e} away from N = n (tolerance 1e-6), "
        f"{max(errors[n, r] for r in ridges):.1e} at N = n (tolerance 1e-4)"
    )
    if not (far < 1e-6 and max(errors[n, r] for r in ridges) < 1e-4):
        raise SystemExit("RidgePath and the reference solvers disagree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--features-max-ratio", type=float, default=20.0)
    parser.add_argument("--part", choices=("mlp", "rf", "both"), default="both")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.part in ("rf", "both"):
        bench_random_features(args.features_max_ratio)
    if args.part in ("mlp", "both"):
        bench_mlp(args.epochs, torch.device(args.device))


if __name__ == "__main__":
    main()
