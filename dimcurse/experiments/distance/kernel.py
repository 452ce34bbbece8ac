"""Distance concentration: how nearest and farthest neighbours become alike as d grows.

For each setting (distribution or data set, dimension, metric) and seed, n points and
q queries are drawn and every query's distances to all points are summarised:
nearest, farthest and mean distance, relative contrast (Beyer et al. 1999), He et al.
(2012) contrast, the pooled coefficient of variation (Francois et al. 2007) and power
moments with their closed forms, plus the intrinsic dimension (TwoNN, Levina-Bickel)
and hubness (Radovanovic et al. 2010) of the point set itself.
"""

from __future__ import annotations

import sys
import math
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch

from dimcurse import userdata
from dimcurse.experiments.distance import estimators, intrinsic
from dimcurse.experiments.distance import theory
from dimcurse.data import (
    CATALOGUE,
    Distribution,
    draw,
    load_dataset,
    parse_distribution,
    spec_shape,
    validate_finite,
)
from dimcurse.configs import DistanceConfig
from dimcurse.errors import DimcurseError
from dimcurse.experiments import contract
from dimcurse.configs import check_counts, check_seeds
from dimcurse.experiments.distance.neighbours import (
    ChunkPlan,
    Metric,
    exact_distances,
    knn,
    lp_range,
    parse_metric,
    query_stats,
)
from dimcurse.results import Result
from dimcurse.experiments.distance.figure import distance_figure
from dimcurse.runtime import numpy_rng, resolve_dtype

KERNEL = "distance"
VERSION = 2  # 2: exact uniform-L2 mean and cv (quadrature), theory_dist_cv_limit; a covariance-matched Gaussian


Config = DistanceConfig  # the settings live in dimcurse.configs, importable without torch (fast --help)


# A tiny budget for smoke and conformance tests (every kernel defines one).
SMOKE = Config(
    dims=(3, 20),
    dists=("uniform", "subspace:2"),
    metrics=("l2", "l1"),
    n_points=200,
    n_queries=10,
    seeds=(0, 1),
    id_points=100,
    k=5,
    mle_k=5,
)

# Config field -> CLI option, so validation errors name what the user typed.


def validate(config: Config) -> None:
    """Raise ``DimcurseError`` naming the option for any value the kernel cannot run."""
    check_counts(config, ("n_points", "n_queries", "k"))
    if config.chunk_elems < 0:
        raise DimcurseError(f"must be 0 (auto) or positive, got {config.chunk_elems}", "--chunk")
    check_seeds(config.seeds)
    if config.id_points < 0:
        raise DimcurseError(f"must be 0 (off) or positive, got {config.id_points}", "--id-points")
    if config.mle_k < 2:
        raise DimcurseError(f"must be at least 2, got {config.mle_k}", "--mle-k")
    if not config.metrics:
        raise DimcurseError("give at least one metric", "--metric")
    for metric in config.metrics:
        _check_lp_range(parse_metric(metric), config)
    resolve_dtype(config.dtype)
    if config.data is None:
        _validate_synthetic(config)
    elif userdata.is_user_data(config.data):
        userdata.check_spec(config.data)
    structure_points = min(config.id_points, config.n_points)
    if config.id_points and config.k >= structure_points:
        raise DimcurseError(f"k = {config.k} neighbours needs more than {structure_points} points", "--k")


def _check_lp_range(metric, config: Config) -> None:
    """lp:P with a small P has distances up to d^(1/P) times a coordinate difference: refuse P below
    ln(d)/340, where their squares (for the spread) leave float64 (neighbours.lp_range)."""
    if metric.kind != "lp" or config.data is not None:
        return
    dim = max(config.dims or (1,))
    low = lp_range(dim)
    if metric.p < low:
        raise DimcurseError(
            f"lp:{metric.p:g} at d = {dim}: distances reach d^(1/P) = 10^{math.log10(dim) / metric.p:.0f} "
            f"times a coordinate difference, beyond float64; P must be at least {low:.2g} here "
            "(ln(d) / 340)",
            "--metric",
        )


def _validate_synthetic(config: Config) -> None:
    if not config.dims or any(d < 1 for d in config.dims):
        raise DimcurseError("dimensions must be positive integers", "--dims")
    if not config.dists:
        raise DimcurseError("give at least one distribution", "--dist")
    for name in config.dists:
        dist = parse_distribution(name)
        too_small = [d for d in config.dims if d < dist.min_dim()]
        if too_small:
            raise DimcurseError(
                f"{dist.name} needs dimensions of at least {dist.min_dim()}, got {too_small[0]}", "--dims"
            )


# --------------------------------------------------------------------------- point sets


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


# --chunk 0: a cache-sized block on the CPU (4 MiB of float32; PERFORMANCE.md), and on a GPU a
# block large enough to keep it busy: on an H200 (1M points x 4096 queries, docs/benchmarks.md)
# 2^20 ran at 1-8 % of the GPU's float32 matrix-product rate and 2^26 at 40-50 % (d = 1000).
AUTO_CHUNK = {"cpu": 1 << 20, "cuda": 1 << 26}


def chunk_for(config: Config, device: torch.device | str = "cpu") -> int:
    """The chunk in elements: --chunk, or for 0 the device's default (AUTO_CHUNK)."""
    if config.chunk_elems:
        return config.chunk_elems
    return AUTO_CHUNK.get(torch.device(device).type, AUTO_CHUNK["cpu"])


def estimate_bytes(config: Config, device: torch.device | str = "cpu", file=None) -> tuple[float, str]:
    """Peak bytes of one point set (drawn in float64, cast, queries, one chunk of distances) and the option to
    lower; ``file``: unused (distance reads its data set after the check), the kernels' one signature."""
    width = 8 if config.dtype == "float64" else 4
    chunk = 3 * 8 * chunk_for(config, device)
    if userdata.is_user_data(config.data):
        # the file read as float64, plus the sampled points in float64 and the working dtype
        return userdata.estimate_bytes(config.data) * 2 + chunk, "--data"
    if config.data is None:
        rows, dim = config.n_points, max(config.dims)
    else:  # a named set, from the catalogue (after +upsample, +noise); a registered one: the largest built-in's
        rows, dim, _ = spec_shape(config.data) or max((spec_shape(n) for n in CATALOGUE), key=lambda s: s[0] * s[1])
        rows = min(config.n_points, rows)
    sets = rows * dim * (8 + width) + config.n_queries * dim * (8 + width)
    return sets + chunk, "--points"


def _synthetic_sets(config: Config, seed: int, dtype, device) -> Iterator[PointSet]:
    for name in config.dists:
        dist = parse_distribution(name)
        for dim in config.dims:
            yield _drawn_set(dist, dim, config.n_points, config.n_queries, seed, dtype=dtype, device=device)


def _real_sets(config: Config, seed: int, dtype, device, data) -> Iterator[PointSet]:
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
    yield _drawn_set(Distribution("gaussian"), data.dim, n_points, config.n_queries, seed, dtype=dtype, device=device)
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
    values, vectors = np.linalg.eigh(np.cov(sample, rowvar=False).reshape(sample.shape[1], sample.shape[1]))
    values = np.clip(values, 0.0, None)
    rank = int((values > COV_RANK_RTOL * max(values.max(), 1e-300)).sum())
    root = torch.from_numpy(vectors * np.sqrt(values))  # x = mean + V sqrt(L) z, z ~ N(0, I)
    dim = sample.shape[1]

    def draw_rows(n: int, stream: str) -> torch.Tensor:
        z = draw(Distribution("gaussian"), n, dim, seed, torch.float64, stream=f"cov-{stream}")
        return (torch.from_numpy(mean) + z.double() @ root.T).to(dtype).to(device)

    return PointSet(
        "gaussian-cov", dim, draw_rows(n_points, "points"), draw_rows(n_queries, "queries"), None, rank, unit=unit
    )


def _drawn_set(dist: Distribution, dim: int, n_points: int, n_queries: int, seed: int, *, dtype, device) -> PointSet:
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


# --------------------------------------------------------------------------- one row


def _contrast_columns(stats) -> dict:
    """The concentration statistics of one (set, metric), from the per-query results."""
    nn, far = stats.nn, stats.far
    # nn > 0: points equal to a query were dropped (distinct_rows), so both contrasts are finite
    relative = np.mean((far - nn) / nn)  # Beyer et al. 1999
    he = np.mean(stats.mean) / np.mean(nn)  # He, Kumar & Chang 2012
    pooled_mean = float(np.mean(stats.mean))
    # Pooled sd over all q x n pairs: within-query variance plus the spread of query means.
    pooled_var = float(np.mean(stats.sd**2 + stats.mean**2) - pooled_mean**2)
    return {
        "nn_dist": float(np.mean(nn)),
        "far_dist": float(np.mean(far)),
        "mean_dist": pooled_mean,
        "relative_contrast": float(relative),
        "contrast_he": float(he),
        "dist_cv": float(np.sqrt(max(pooled_var, 0.0)) / pooled_mean) if pooled_mean > 0 else float("nan"),
        "mean_pow_dist": stats.pow_mean,
        "var_pow_dist": stats.pow_var,
    }


LENGTHS = ("nn_dist", "far_dist", "mean_dist")  # the columns in the data's units (the rest are ratios)


def _in_units(columns: dict, metric: Metric, unit: float) -> dict:
    """Lengths times the set's unit, D^P moments times unit^P and unit^2P (NaN where that leaves float64);
    cosine distances do not scale."""
    if unit == 1.0 or metric.kind == "cosine":
        return columns
    out = {name: value * unit if name in LENGTHS else value for name, value in columns.items()}
    if metric.power is not None:
        out["mean_pow_dist"] = _times_power_of_two(out["mean_pow_dist"], math.log2(unit) * metric.power)
        out["var_pow_dist"] = _times_power_of_two(out["var_pow_dist"], math.log2(unit) * 2 * metric.power)
    return out


def _times_power_of_two(value: float, log2_factor: float) -> float:
    """value x 2^log2_factor, NaN where the product leaves float64 (the factor alone may overflow)."""
    if not math.isfinite(value) or value <= 0:
        return value
    total = math.log2(value) + log2_factor
    if abs(total) > 1020:
        return math.nan
    return value * 2.0**log2_factor if abs(log2_factor) < 1000 else 2.0**total


def _theory_columns(dist: Distribution | None, metric: Metric, dim: int) -> dict:
    moments = theory.power_moments(dist, metric, dim) if dist else None
    nan = float("nan")

    def value(v):
        return nan if v is None else float(v)

    return {
        "theory_mean_dist": value(theory.mean_distance(dist, metric, dim) if dist else None),
        "theory_dist_cv": value(theory.distance_cv(dist, metric, dim) if dist else None),
        "theory_dist_cv_limit": bool(dist and theory.cv_is_limit(dist, metric, dim)),
        "theory_mean_pow_dist": moments[0] if moments else nan,
        "theory_var_pow_dist": moments[1] if moments else nan,
    }


def _structure(pset: PointSet, metrics: list[Metric], config: Config, plan: ChunkPlan) -> dict[str, dict]:
    """Intrinsic dimension (always from the exact L2 neighbour graph) and hubness per metric."""
    m = min(config.id_points, pset.points.shape[0])
    nan = float("nan")
    if m == 0:
        return {metric.name: {"twonn_id": nan, "mle_id": nan, "hubness": nan, "id_points": 0} for metric in metrics}
    sample = pset.points[:m]
    l2 = parse_metric("l2")
    l2_dists, l2_idx = knn(sample, l2, max(config.k, config.mle_k, 2), plan)
    measured = intrinsic.from_neighbours(l2_dists, config.mle_k, m)  # the estimates approx's bridge reports
    ids = {"twonn_id": measured["twonn_id"], "mle_id": measured["mle_id"]}
    out = {}
    for metric in metrics:
        idx = l2_idx if metric.kind == "l2" else knn(sample, metric, config.k, plan)[1]
        out[metric.name] = {**ids, "hubness": estimators.hubness(idx, config.k), "id_points": m}
    return out


# --------------------------------------------------------------------------- run


def run(config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None) -> Result:
    """Run the sweep and return tidy rows, one per (set, dim, metric, seed).

    ``progress`` is called with fractions of the whole run as work completes.
    """
    what = f"{config.n_points} points in {max(config.dims) if config.data is None else 'the data'} dimensions"
    device, started = contract.start(sys.modules[__name__], config, device, what)
    dtype = resolve_dtype(config.dtype)
    metrics = [parse_metric(m) for m in config.metrics]
    n_sets = 3 if config.data else len(config.dists) * len(config.dims)
    share = 1.0 / (n_sets * len(config.seeds) * len(metrics))
    tick = (lambda f: progress(f * share)) if progress else None
    rows, histograms = [], []
    plan = ChunkPlan(chunk_for(config, device))  # shared: a chunk size that ran out of device memory is not tried again
    data = load_dataset(config.data, config.download) if config.data else None  # read once, passed down
    for seed in config.seeds:
        sets = _real_sets(config, seed, dtype, device, data) if data else _synthetic_sets(config, seed, dtype, device)
        for pset in sets:
            rows.extend(_rows_for_set(pset, metrics, config, plan, seed, device=device, tick=tick))
            histograms += [_histogram(pset, metric, seed) for metric in metrics]
    extra = {"chunk_elems_used": plan.elems}
    if userdata.is_user_data(config.data):
        extra["data"] = data.source  # name, source, content hash, shape
    result = contract.finish(sys.modules[__name__], config, device, rows, started, provenance_extra=extra)
    result.notes = _notes(config, result.rows, plan)
    result.tables["histograms"] = pd.concat(histograms, ignore_index=True)
    return result


HIST_QUERIES, HIST_POINTS = 32, 1000
HIST_EDGES = np.linspace(0.0, 3.0, 61)  # distance / its mean; 3x the mean is beyond every set's range here


def _histogram(pset: PointSet, metric: Metric, seed: int) -> pd.DataFrame:
    """Density of D / mean(D) over the first 32 queries x first 1000 points (exact, one query at a time).

    For the concentration picture only: these 32,000 distances are a sample, the rows'
    statistics use every distance.
    """
    points = pset.points[:HIST_POINTS]
    dists = torch.cat([exact_distances(q[None], points, metric) for q in pset.queries[:HIST_QUERIES]]).cpu().numpy()
    ratio = dists / dists.mean()
    density, _ = np.histogram(np.clip(ratio, 0.0, HIST_EDGES[-1]), bins=HIST_EDGES, density=True)
    return pd.DataFrame(
        {
            "dist": pset.label,
            "dim": pset.dim,
            "metric": metric.name,
            "seed": seed,
            "bin_lo": HIST_EDGES[:-1],
            "bin_hi": HIST_EDGES[1:],
            "density": density,
        }
    )


def _rows_for_set(pset: PointSet, metrics, config: Config, plan: ChunkPlan, seed: int, *, device, tick) -> list[dict]:
    structure = _structure(pset, metrics, config, plan)
    rows = []
    for metric in metrics:
        stats = query_stats(pset.queries, pset.points, metric, chunk_elems=plan, progress=tick)
        intrinsic = (
            pset.dist.intrinsic_dim(pset.dim)
            if pset.dist
            else pset.intrinsic
            if pset.intrinsic is not None
            else float("nan")
        )
        rows.append(
            {
                "dim": pset.dim,
                "dist": pset.label,
                "metric": metric.name,
                "seed": seed,
                "n_points": pset.points.shape[0],
                "n_queries": pset.queries.shape[0],
                **_in_units(_contrast_columns(stats), metric, pset.unit),
                **_theory_columns(pset.dist, metric, pset.dim),
                **structure[metric.name],
                "theory_id": float(intrinsic),
                "id_sample_limited": _id_sample_limited(structure[metric.name], float(intrinsic)),
                "k": config.k,
                "exact_fallbacks": stats.n_exact_fallback,
                "duplicates": pset.duplicates,
                "device": str(device),
                "dtype": config.dtype,
                "kernel_version": VERSION,
            }
        )
    return rows


# TwoNN more than 20 % under the true dimension, where that dimension exceeds 2 log10(n): the
# Eckmann & Ruelle (1992) bound on the dimension n points can resolve (for the correlation
# dimension; TwoNN and MLE under-estimate in the same regime, docs/references.md, Distances).
ID_SHORTFALL = 0.8


def _id_sample_limited(structure: dict, intrinsic: float) -> bool:
    m, twonn = structure["id_points"], structure["twonn_id"]
    if not m or math.isnan(intrinsic) or math.isnan(twonn):
        return False
    return bool(twonn < ID_SHORTFALL * intrinsic and intrinsic > 2 * math.log10(m))


def _notes(config: Config, table: pd.DataFrame, plan: ChunkPlan) -> list[str]:
    notes = []
    limited = table[table["id_sample_limited"]]
    if len(limited):
        dims = ", ".join(str(d) for d in sorted(limited["theory_id"].astype(int).unique()))
        m = int(limited["id_points"].max())
        notes.append(
            f"twonn_id is far below the intrinsic dimension {dims} (under {ID_SHORTFALL:.0%} of it): "
            f"{m} points cannot resolve a dimension above about 2 log10(n) = {2 * math.log10(m):.2g} "
            "(Eckmann & Ruelle 1992); read it as a lower bound (id_sample_limited), or raise --id-points."
        )
    if plan.halvings:
        notes.append(
            f"the device ran out of memory at a chunk of {plan.first} elements; it was halved "
            f"{plan.halvings} times, to {plan.elems}, and the run carried on (means may differ from a "
            "run at the smaller --chunk in the last float32 digit)."
        )
    if (table["exact_fallbacks"] > 0).any():
        count = int(table["exact_fallbacks"].sum())
        notes.append(
            f"{count} {'query' if count == 1 else 'queries'} could not be certified from candidates and "
            f"{'was' if count == 1 else 'were'} recomputed exactly (see exact_fallbacks)."
        )
    copies = table.groupby(["dist", "seed"])["duplicates"].first()
    if copies.sum():
        names = ", ".join(sorted({d for (d, _), c in copies.items() if c}))
        notes.append(
            f"{names}: {int(copies.max())} exact duplicate row(s) per sample (of another point or of a "
            "query) were dropped before the statistics: TwoNN, MLE and the nearest distance need distinct "
            "points (see the duplicates column)."
        )
    undefined = table[(table["metric"] != "linf") & (table["mean_pow_dist"].isna() | table["var_pow_dist"].isna())]
    if len(undefined):
        notes.append(
            f"mean_pow_dist or var_pow_dist is undefined for {', '.join(sorted(set(undefined['metric'])))}"
            f" on {', '.join(sorted(set(undefined['dist'])))}: D^P leaves float64 for these distances "
            "(left empty, not inf)."
        )
    return notes


# The row contract's meaning, one line per column: the docs' column tables are generated from it
# (tools/readme_examples.py --tables) and tests/test_docs.py fails on a column left out.
COLUMN_DOCS = {
    "dim": "ambient dimension d of the set (a real set's own)",
    "dist": "the distribution or data set (with --data, its name; `gaussian` for its matched Gaussian)",
    "metric": "the distance: l2, l1, linf, lp:P or cosine",
    "seed": "the seed that drew the points and queries",
    "n_points": "points used (after dropping exact copies)",
    "n_queries": "queries used, drawn apart from the points",
    "nn_dist": "mean over queries of the nearest distance (exact to ~1e-6 relative)",
    "far_dist": "mean over queries of the farthest distance",
    "mean_dist": "mean of all q x n distances",
    "relative_contrast": "Beyer et al. 1999: mean over queries of (Dmax - Dmin) / Dmin",
    "contrast_he": "He, Kumar & Chang 2012: mean_q(Dmean) / mean_q(Dmin)",
    "dist_cv": "Francois, Wertz & Verleysen 2007 relative variance: sd / mean of all q x n distances",
    "mean_pow_dist": "mean of D^p over all pairs, p the metric's power (D^2 for l2, D for l1, cosine, D^P for lp:P); "
    "empty for linf",
    "var_pow_dist": "variance of D^p over all pairs; empty for linf",
    "theory_mean_dist": "exact E[D] where a closed form exists (uniform l2 by quadrature, Gaussian, subspace, sphere, "
    "uniform linf, cosine)",
    "theory_dist_cv": "exact sd / mean (uniform, Gaussian, subspace, sphere under l2; cosine; l1 on i.i.d. "
    "coordinates); for lp:P the large-d limit, flagged by theory_dist_cv_limit",
    "theory_dist_cv_limit": "true where theory_dist_cv is Francois's large-d limit, not the exact value (shown as ≈)",
    "theory_mean_pow_dist": "closed form of mean_pow_dist (uniform l2 d/6, Gaussian 2d, sphere 2, subspace:K 2K)",
    "theory_var_pow_dist": "closed form of var_pow_dist (uniform l2 7d/180, Gaussian 8d, sphere 4/d, subspace:K 8K)",
    "twonn_id": "TwoNN intrinsic dimension (Facco et al. 2017), closed-form ML (N - 1) / sum log(r2/r1)",
    "mle_id": "Levina & Bickel 2005 intrinsic dimension with --mle-k neighbours, inverses averaged "
    "(MacKay & Ghahramani)",
    "hubness": "Radovanovic et al. 2010: skewness of the k-occurrence N_k under the row's metric",
    "id_points": "points (the first of the set) the intrinsic dimension and hubness used",
    "theory_id": "the dimension of the manifold the set lies on (d, d - 1 for the sphere, K); empty for real data",
    "id_sample_limited": f"TwoNN under {ID_SHORTFALL:.0%} of theory_id where that exceeds 2 log10(n) "
    "(Eckmann & Ruelle 1992): the points cannot reveal the dimension",
    "k": "the k of hubness",
    "exact_fallbacks": "queries whose candidates could not be certified and were rescanned exactly",
    "duplicates": "sampled rows dropped as exact copies of another point or of a query",
    "device": "where the row was computed",
    "dtype": "the working precision",
    "kernel_version": "the kernel's VERSION (bumped when its maths changes)",
}
COLUMNS = list(COLUMN_DOCS)  # the row contract: one documented line per column, in the rows' order


def figure(result: Result):
    return distance_figure(result)


_NO_CLOSED_FORM = "no closed form for this set and metric (real data, its matched Gaussians, or a metric without one)"
NULLABLE = {
    "theory_mean_dist": _NO_CLOSED_FORM,
    "theory_dist_cv": _NO_CLOSED_FORM,
    "theory_mean_pow_dist": _NO_CLOSED_FORM,
    "theory_var_pow_dist": _NO_CLOSED_FORM,
    "theory_id": "a real data set's intrinsic dimension is not known",
    "twonn_id": "--id-points 0 turns the structure estimates off",
    "mle_id": "--id-points 0",
    "hubness": "--id-points 0",
    "mean_pow_dist": "lp:P where D^P leaves float64 (a note names the metric)",
    "var_pow_dist": "as mean_pow_dist",
}
"""Columns that may be undefined (NaN), and why; any other non-finite value is a bug (results.check_defined)."""
TABLES = ("histograms",)  # figure tables written beside the rows (FILE.histograms.csv, and in a store)
# Inputs of a row (not measurements): report never averages over one that varies within a group.
SETTINGS = ["dist", "dim", "metric", "n_points", "n_queries", "k", "id_points", "dtype", "kernel_version"]
GROUP_BY = ["dist", "dim", "metric"]
SHOW = [
    ("nn_dist", None),
    ("mean_dist", "theory_mean_dist"),
    ("relative_contrast", None),
    ("contrast_he", None),
    ("dist_cv", "theory_dist_cv"),
    ("mean_pow_dist", "theory_mean_pow_dist"),
    ("twonn_id", "theory_id"),
    ("mle_id", None),
    ("hubness", None),
]
