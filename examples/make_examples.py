"""Write the small data files the README's "Your own data" examples read (seeded, so they are reproducible).

    python examples/make_examples.py

- ``curve.npy``: 1000 points on a 2-dimensional surface embedded nonlinearly in R^10;
- ``regression.csv``: 1200 rows, features x1..x4 uniform on [-1, 1], target ``price`` = a smooth
  compositional function of them;
- ``labels.npz``: 1200 rows, 8 Gaussian features, labels 0..3 from the signs of two random projections.
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


if __name__ == "__main__":
    main()
