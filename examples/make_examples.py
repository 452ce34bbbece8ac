"""Write the small data files the README's "Your own data" examples read (seeded, so they are reproducible).

    python examples/make_examples.py

- ``curve.npy``: 1000 points on a 2-dimensional surface embedded nonlinearly in R^10;
- ``regression.csv``: 1200 rows, features x1..x4 uniform on [-1, 1], target ``price`` = a smooth
  compositional function of them;
- ``labels.npz``: 1200 rows, 8 Gaussian features, labels 0..3 from the signs of two random projections;
- ``twoscale.npz``: 5000 rows, 40 Gaussian features in two groups of sd 1 and 0.05, labels 0..9 from a
  linear teacher that reads both groups equally: a fast and a slow but informative group, for the
  epoch-wise double descent of a network (docs/overparam.md; run with --no-standardise).
- ``surface.npz``: 6000 points on a curved 2-dimensional surface in 40 dimensions, x = tanh(z A + b), with a
  generic smooth target y of the surface's coordinates z (a sum of 256 radial bumps): the bridge's file
  (docs/approx.md), whose measured intrinsic dimension predicts the network's exponent.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(2026)
    t = rng.uniform(0, 1, (1000, 2))
    lift = np.concatenate([np.sin(3 * t), np.cos(2 * t), t**2, t[:, :1] * t[:, 1:]], 1)
    np.save(HERE / "curve.npy", np.round(lift @ rng.standard_normal((lift.shape[1], 10)), 6))
    x = rng.uniform(-1, 1, (1200, 4))
    price = np.sin(2 * x[:, 0]) * x[:, 1] + np.cos(x[:, 2] + x[:, 3])
    frame = pd.DataFrame(np.round(x, 6), columns=["x1", "x2", "x3", "x4"]).assign(price=np.round(price, 6))
    frame.to_csv(HERE / "regression.csv", index=False)
    z = rng.normal(size=(1200, 8))
    w = rng.normal(size=(8, 2))
    labels = (z @ w[:, 0] > 0).astype(int) + 2 * (z @ w[:, 1] > 0)
    np.savez(HERE / "labels.npz", x=np.round(z, 6), y=labels)
    two_scales()
    surface()


def surface(n: int = 6000, d: int = 40, bumps: int = 256, scale: float = 0.25, path=None) -> None:
    """z uniform on [-1, 1]^2, x = tanh(z A + b) with A (2 x d) and b Gaussian (b of sd 0.5): a curved surface
    that no linear map flattens; y = sum_j w_j exp(-|z - c_j|^2 / (2 scale^2)), c_j uniform on [-1.2, 1.2]^2
    and w_j Gaussian, a smooth function of z with structure at the scale 0.25 (a linear model of x leaves 13 %
    of its sd)."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, (n, 2))
    x = np.tanh(z @ rng.normal(size=(2, d)) + rng.normal(size=d) * 0.5)
    centres, weights = rng.uniform(-1.2, 1.2, (bumps, 2)), rng.normal(size=bumps)
    y = (np.exp(-((z[:, None, :] - centres) ** 2).sum(2) / (2 * scale**2)) * weights).sum(1)
    np.savez_compressed(path or HERE / "surface.npz", x=x.astype(np.float32), y=y.astype(np.float32))


def two_scales(n: int = 5000, d: int = 40, slow: float = 0.05) -> None:
    """x = diag(s) z with s = 1 on the first half of the features and ``slow`` on the rest; each feature adds
    to the 10 logits equally (the teacher's weights are divided by s)."""
    rng = np.random.default_rng(0)
    s = np.r_[np.ones(d // 2), np.full(d - d // 2, slow)]
    x = rng.normal(size=(n, d)) * s
    labels = (x @ (rng.normal(size=(d, 10)) / s[:, None])).argmax(1)
    np.savez_compressed(HERE / "twoscale.npz", x=x.astype(np.float32), y=labels)


if __name__ == "__main__":
    main()
