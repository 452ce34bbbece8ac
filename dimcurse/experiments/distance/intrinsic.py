"""The intrinsic dimension of a point set, as ``dimcurse distance`` measures it, for any kernel to call.

One function so that ``distance`` and ``approx`` (the bridge from a data set's dimension to its
scaling exponent) report the same estimate on the same points: the exact L2 neighbour graph of the
first ``max_points`` points, TwoNN with its sampling interval, and Levina & Bickel's MLE.
"""

from __future__ import annotations

import numpy as np
import torch

from dimcurse.experiments.distance import estimators
from dimcurse.experiments.distance.neighbours import ChunkPlan, knn, parse_metric

ID_COLUMNS = ("twonn_id", "twonn_lo", "twonn_hi", "mle_id", "id_points")


def from_neighbours(dists: np.ndarray, mle_k: int, n_points: int) -> dict:
    """The estimates from ascending neighbour distances (m x >= max(2, mle_k))."""
    lo, hi = estimators.twonn_interval(dists)
    return {
        "twonn_id": estimators.twonn(dists),
        "twonn_lo": lo,
        "twonn_hi": hi,
        "mle_id": estimators.levina_bickel(dists, mle_k),
        "id_points": n_points,
    }


def measure(
    points: torch.Tensor | np.ndarray, mle_k: int = 20, max_points: int = 2000, plan: ChunkPlan | int = 1 << 20
) -> dict:
    """TwoNN (with its 95 % interval) and MLE of the first ``max_points`` rows; NaN with a reason when there
    are too few points for ``mle_k`` neighbours."""
    x = torch.as_tensor(points)[:max_points]
    m = int(x.shape[0])
    if m <= max(mle_k, 2) + 1:
        nan = float("nan")
        return {**dict.fromkeys(ID_COLUMNS[:-1], nan), "id_points": m}
    dists, _ = knn(x, parse_metric("l2"), max(mle_k, 2), plan)
    return from_neighbours(dists, mle_k, m)
