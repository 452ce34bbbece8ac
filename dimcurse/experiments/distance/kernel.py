"""docs/distance.md · Distance concentration: how nearest and farthest neighbours become alike as d grows.

For each setting (distribution or data set, dimension, metric) and seed, n points and
q queries are drawn and every query's distances to all points are summarised:
nearest, farthest and mean distance, relative contrast (Beyer et al. 1999), He et al.
(2012) contrast, the pooled coefficient of variation (Francois et al. 2007) and power
moments with their closed forms, plus the intrinsic dimension (TwoNN, Levina-Bickel)
and hubness (Radovanovic et al. 2010) of the point set itself.
"""

from __future__ import annotations

import math
import sys
from typing import Callable

import pandas as pd
import torch

from dimcurse import userdata
from dimcurse.configs import DistanceConfig, check_counts, check_seeds
from dimcurse.data import (
    CATALOGUE,
    Dataset,
    load_dataset,
    parse_distribution,
    spec_shape,
)
from dimcurse.errors import DimcurseError
from dimcurse.experiments import contract
from dimcurse.experiments.distance.figure import distance_figure
from dimcurse.experiments.distance.neighbours import (
    ChunkPlan,
    lp_range,
    parse_metric,
)
from dimcurse.experiments.distance.sets import real_sets, synthetic_sets
from dimcurse.experiments.distance.summary import ID_SHORTFALL, histogram, notes, rows_for_set
from dimcurse.results import Result
from dimcurse.runtime import resolve_dtype


# --------------------------------------------------------------------------- contract

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


# --------------------------------------------------------------------------- validate


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


# --------------------------------------------------------------------------- memory

# --chunk 0: a cache-sized block on the CPU (4 MiB of float32; PERFORMANCE.md), and on a GPU a
# block large enough to keep it busy: on an H200 (1M points x 4096 queries, docs/benchmarks.md)
# 2^20 ran at 1-8 % of the GPU's float32 matrix-product rate and 2^26 at 40-50 % (d = 1000).
AUTO_CHUNK = {"cpu": 1 << 20, "cuda": 1 << 26}


def chunk_for(config: Config, device: torch.device | str = "cpu") -> int:
    """The chunk in elements: --chunk, or for 0 the device's default (AUTO_CHUNK)."""
    if config.chunk_elems:
        return config.chunk_elems
    return AUTO_CHUNK.get(torch.device(device).type, AUTO_CHUNK["cpu"])


def prepare(config: Config) -> Dataset | None:
    """The --data set, read once (a user's file through userdata's memory guard); None for synthetic sets."""
    return load_dataset(config.data, config.download) if config.data else None


def estimate_bytes(config: Config, device: torch.device | str = "cpu", prepared: Dataset | None = None):
    """Peak bytes of one point set (drawn in float64, cast, queries, one chunk of distances): (bytes, the option
    to lower). ``prepared``: the data set when read; else its size from the catalogue or the file."""
    width = 8 if config.dtype == "float64" else 4
    chunk = 3 * 8 * chunk_for(config, device)
    if userdata.is_user_data(config.data):
        # the file read as float64, plus the sampled points in float64 and the working dtype
        return userdata.estimate_bytes(config.data) * 2 + chunk, "--data"
    if config.data is None:
        rows, dim = config.n_points, max(config.dims)
    elif prepared is not None:
        rows, dim = min(config.n_points, len(prepared.x) + len(prepared.x_test)), prepared.dim
    else:  # a named set, from the catalogue (after +upsample, +noise); a registered one: the largest built-in's
        rows, dim, _ = spec_shape(config.data) or max((spec_shape(n) for n in CATALOGUE), key=lambda s: s[0] * s[1])
        rows = min(config.n_points, rows)
    sets = rows * dim * (8 + width) + config.n_queries * dim * (8 + width)
    if config.data is not None:
        # the set itself (float32), the sampled rows in float64, the two Gaussians beside them, and the covariance-
        # matched one's root: the d x d eigendecomposition, or for wide data the thin SVD's copies (measured:
        # objects:2:224 with 1,000 points peaked at 16.5 GB, 2026-12-07)
        known = spec_shape(config.data)
        total = known[0] if known else rows
        sets += total * dim * 4 + rows * dim * 8 + 2 * rows * dim * (8 + width)
        sets += 3 * 8 * dim * dim if dim <= rows else 5 * 8 * rows * dim
    return sets + chunk, "--points"


# --------------------------------------------------------------------------- run


def run(config: Config, device: torch.device | str = "cpu", progress: Callable[[float], None] | None = None) -> Result:
    """Run the sweep and return tidy rows, one per (set, dim, metric, seed).

    ``progress`` is called with fractions of the whole run as work completes.
    """
    what = f"{config.n_points} points in {max(config.dims) if config.data is None else 'the data'} dimensions"
    device, started, data = contract.start(sys.modules[__name__], config, device, what)
    dtype = resolve_dtype(config.dtype)
    metrics = [parse_metric(m) for m in config.metrics]
    n_sets = 3 if config.data else len(config.dists) * len(config.dims)
    share = 1.0 / (n_sets * len(config.seeds) * len(metrics))
    tick = (lambda f: progress(f * share)) if progress else None
    rows, histograms = [], []
    plan = ChunkPlan(chunk_for(config, device))  # shared: a chunk size that ran out of device memory is not tried again
    for seed in config.seeds:
        sets = real_sets(config, seed, dtype, device, data) if data else synthetic_sets(config, seed, dtype, device)
        for pset in sets:
            rows.extend(rows_for_set(pset, metrics, config, plan, seed, device=device, tick=tick, version=VERSION))
            histograms += [histogram(pset, metric, seed) for metric in metrics]
    extra = {"chunk_elems_used": plan.elems}
    if userdata.is_user_data(config.data):
        extra["data"] = data.source  # name, source, content hash, shape
    result = contract.finish(sys.modules[__name__], config, device, rows, started, provenance_extra=extra)
    result.notes = notes(config, result.rows, plan)
    result.tables["histograms"] = pd.concat(histograms, ignore_index=True)
    return result


# --------------------------------------------------------------------------- stored rows


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


# --------------------------------------------------------------------------- columns

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
