"""distance's point sets: synthetic draws of each distribution and dimension, a real data set's points and
queries (disjoint rows) and its covariance-matched Gaussian, with duplicates dropped and the coordinates'
unit taken out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from dimcurse import userdata
from dimcurse.configs import DistanceConfig as Config
from dimcurse.data import Distribution, draw, parse_distribution, principal_axes, validate_finite
from dimcurse.errors import DimcurseError
from dimcurse.runtime import numpy_rng


@dataclass
class PointSet:
    """One drawn set: ``points`` and ``queries`` on the device, and what theory knows about it."""

    label: str
    dim: int
    points: torch.Tensor
    queries: torch.Tensor
    dist: Distribution | None  # None for a real data set (no closed forms)
    intrinsic: float | None = None  # the known manifold dimension where dist is None (a covariance's rank)
    duplicates: int = 0  # sampled rows dropped as exact copies of another point or of a query
    unit: float = 1.0  # a power of 2 the coordinates were divided by (exactly); lengths are reported times it


def synthetic_sets(config: Config, seed: int, dtype, device) -> Iterator[PointSet]:
    for name in config.dists:
        dist = parse_distribution(name)
        for dim in config.dims:
            yield drawn_set(dist, dim, config.n_points, config.n_queries, seed, dtype=dtype, device=device)


def real_sets(config: Config, seed: int, dtype, device, data) -> Iterator[PointSet]:
    """The data set's points and queries (disjoint random rows), then a Gaussian of the same shape; ``data``:
    the set, read once by ``run``."""
    x = data.all_x()
    if not userdata.is_user_data(config.data):
        validate_finite(x, data.name)  # a user's data was checked in row blocks as it was read
    n_total = x.shape[0]
    if config.n_queries >= n_total:
        raise DimcurseError(f"{data.name} has {n_total} rows; need fewer queries than that", "--queries")
    n_points = min(config.n_points, n_total - config.n_queries)
    order = numpy_rng(seed, "subsample", data.key or data.name).permutation(n_total)
    rows, query_rows = order[:n_points], order[n_points : n_points + config.n_queries]
    sample = np.asarray(x[rows], dtype=np.float64)
    keep = distinct_rows(sample, np.asarray(x[query_rows], dtype=np.float64))
    rows, sample = rows[keep], sample[keep]
    unit = unit_of(sample)
    sample = sample / unit
    structure, copies = min(config.id_points, len(rows)), int((~keep).sum())
    if len(rows) < 2:  # a nearest and a farthest distance need two distinct points besides the queries
        raise DimcurseError(
            f"{data.name} has {len(rows)} distinct row(s) besides its {config.n_queries} queries "
            f"({n_total} rows, {copies} exact duplicates dropped); distances need at least 2",
            "--data",
        )
    if config.id_points and config.k >= structure:
        raise DimcurseError(
            f"k = {config.k} neighbours needs more than {structure} points ({data.name} has "
            f"{n_total} rows, {config.n_queries} of them queries"
            f"{f', {copies} exact duplicates' if copies else ''})",
            "--k",
        )
    points, queries = (
        torch.from_numpy(np.asarray(x[r], dtype=np.float64) / unit).to(dtype).to(device) for r in (rows, query_rows)
    )
    n_points = len(rows)
    yield PointSet(data.name, data.dim, points, queries, None, duplicates=copies, unit=unit)
    yield drawn_set(Distribution("gaussian"), data.dim, n_points, config.n_queries, seed, dtype=dtype, device=device)
    yield _covariance_set(sample, n_points, config.n_queries, seed, dtype=dtype, device=device, unit=unit)


UNIT_RANGE = 32  # coordinates within 2^-32..2^32 in size are measured as they are (squares stay in float32)


def unit_of(sample: np.ndarray) -> float:
    """1, or for a set whose largest |coordinate| lies outside 2^-32..2^32 the power of 2 nearest it.

    Distances are equivariant under scaling, so such a set is measured divided by it (exact in
    binary floating point) and its lengths multiplied back: data in units of 1e150 or 1e-150
    neither overflows nor underflows float32 (range 1e-38..3e38; squared, 1e-19..1e19)."""
    top = float(np.max(np.abs(sample))) if sample.size else 0.0
    if not (top > 0 and math.isfinite(top)) or abs(math.log2(top)) <= UNIT_RANGE:
        return 1.0
    return 2.0 ** round(math.log2(top))


def distinct_rows(points: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """A mask of the points to keep: the first of each set of exact copies, and none that equals a query.

    TwoNN and MLE need distinct neighbours (a zero distance has no logarithm) and the relative
    contrast a nearest distance above 0, so exact duplicates are dropped before any statistic and
    counted in the ``duplicates`` column (rows compared as their float64 bytes)."""
    width = points.dtype.itemsize * points.shape[1]

    def as_rows(a):
        return np.ascontiguousarray(a).view(np.dtype((np.void, width))).ravel()

    keys = as_rows(points)
    keep = np.zeros(len(keys), dtype=bool)
    keep[np.unique(keys, return_index=True)[1]] = True
    if len(queries):
        keep &= ~np.isin(keys, as_rows(queries))
    return keep


COV_RANK_RTOL = 1e-10  # eigenvalues below this x the largest count as zero (the covariance's rank)


def _covariance_set(
    sample: np.ndarray, n_points: int, n_queries: int, seed: int, *, dtype, device, unit: float = 1.0
) -> PointSet:
    """A Gaussian with the data's mean and covariance (from the sampled points, in the data's ``unit``):
    what the covariance spectrum alone explains, so the gap to the data is the nonlinear structure."""
    mean = sample.mean(0)
    root, rank = covariance_root(sample)
    dim = sample.shape[1]

    def draw_rows(n: int, stream: str) -> torch.Tensor:
        z = draw(Distribution("gaussian"), n, root.shape[1], seed, torch.float64, stream=f"cov-{stream}")
        return (torch.from_numpy(mean) + z.double() @ root.T).to(dtype).to(device)

    return PointSet(
        "gaussian-cov", dim, draw_rows(n_points, "points"), draw_rows(n_queries, "queries"), None, rank, unit=unit
    )


def covariance_root(sample: np.ndarray) -> tuple[torch.Tensor, int]:
    """R (d x r) with R Rᵀ the sample's covariance, and the covariance's rank: x = mean + R z, z ~ N(0, I_r).
    R = V sqrt(L) from the sample's principal axes V and variances L (``principal_axes``): r = d with at
    least as many rows as columns, else r = m, the same Gaussian drawn from m coordinates."""
    vectors, values = principal_axes(sample)
    if sample.shape[1] <= sample.shape[0]:  # eigh's ascending order, as before: the same z draws the same points
        vectors, values = vectors[:, ::-1], values[::-1]
    return torch.from_numpy(np.ascontiguousarray(vectors * np.sqrt(values))), _rank(values)


def _rank(values: np.ndarray) -> int:
    return int((values > COV_RANK_RTOL * max(values.max(), 1e-300)).sum())


def drawn_set(dist: Distribution, dim: int, n_points: int, n_queries: int, seed: int, *, dtype, device) -> PointSet:
    points = draw(dist, n_points, dim, seed, dtype, stream="points")
    queries = draw(dist, n_queries, dim, seed, dtype, stream="queries")
    copies = 0
    if may_collide(n_points + n_queries, dist.intrinsic_dim(dim), dtype):
        keep = distinct_rows(points.double().numpy(), queries.double().numpy())
        points, copies = points[torch.from_numpy(keep)], int((~keep).sum())
    return PointSet(dist.name, dim, points.to(device), queries.to(device), dist, duplicates=copies)


def may_collide(n_rows: int, intrinsic: int, dtype) -> bool:
    """Whether rounding a continuous set to ``dtype`` can make exact copies: about n^2/2 pairs, each equal
    with probability near 2^-(b K) for b mantissa bits in K intrinsic dimensions (a 4x margin per
    dimension). Checked only then: the byte comparison costs about 1 s per million rows."""
    bits = -math.log2(torch.finfo(dtype).eps) - 2  # 23 mantissa bits in float32, 2 fewer for the margin
    return 2 * math.log2(max(n_rows, 2)) - 1 - bits * intrinsic > -30  # expected copies above 1e-9
