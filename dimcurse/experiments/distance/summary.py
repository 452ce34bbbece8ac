"""distance's summary of one point set: its row per metric (the query statistics in the data's units, the
intrinsic dimension and hubness of the set, the closed forms beside them), its histogram of distances, and
the run's notes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from dimcurse.configs import DistanceConfig as Config
from dimcurse.data import Distribution
from dimcurse.experiments.distance import estimators, intrinsic, theory
from dimcurse.experiments.distance.neighbours import ChunkPlan, Metric, exact_row, knn, parse_metric, query_stats
from dimcurse.experiments.distance.sets import PointSet


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


def structure(pset: PointSet, metrics: list[Metric], config: Config, plan: ChunkPlan) -> dict[str, dict]:
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


HIST_QUERIES, HIST_POINTS = 32, 1000
HIST_EDGES = np.linspace(0.0, 3.0, 61)  # distance / its mean; 3x the mean is beyond every set's range here


def histogram(pset: PointSet, metric: Metric, seed: int) -> pd.DataFrame:
    """Density of D / mean(D) over the first 32 queries x first 1000 points (exact, one query at a time).

    For the concentration picture only: these 32,000 distances are a sample, the rows'
    statistics use every distance.
    """
    points, queries = pset.points[:HIST_POINTS], pset.queries[:HIST_QUERIES]
    dists = torch.empty(len(queries), len(points), dtype=torch.float64, device=points.device)
    for i, query in enumerate(
        queries
    ):  # in bounded blocks: a whole float64 copy of the points is 1.2 GB at d = 150,528
        exact_row(query, points, metric, out=dists[i])
    dists = dists.flatten().cpu().numpy()
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


def rows_for_set(pset: PointSet, metrics, config: Config, plan: ChunkPlan, seed: int, **run) -> list[dict]:
    """One row per metric of a point set; ``run``: the device, the progress tick and the kernel's version."""
    measured = structure(pset, metrics, config, plan)
    rows = []
    for metric in metrics:
        stats = query_stats(pset.queries, pset.points, metric, chunk_elems=plan, progress=run["tick"])
        known = (
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
                **measured[metric.name],
                "theory_id": float(known),
                "id_sample_limited": _id_sample_limited(measured[metric.name], float(known)),
                "k": config.k,
                "exact_fallbacks": stats.n_exact_fallback,
                "duplicates": pset.duplicates,
                "device": str(run["device"]),
                "dtype": config.dtype,
                "kernel_version": run["version"],
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


def notes(config: Config, table: pd.DataFrame, plan: ChunkPlan) -> list[str]:
    """The run's notes on its rows (every kernel's notes function has this name): IDs the points cannot
    resolve, halved chunks, rescanned queries, dropped copies, undefined powers."""
    out = []
    limited = table[table["id_sample_limited"]]
    if len(limited):
        dims = ", ".join(str(d) for d in sorted(limited["theory_id"].astype(int).unique()))
        m = int(limited["id_points"].max())
        out.append(
            f"twonn_id is far below the intrinsic dimension {dims} (under {ID_SHORTFALL:.0%} of it): "
            f"{m} points cannot resolve a dimension above about 2 log10(n) = {2 * math.log10(m):.2g} "
            "(Eckmann & Ruelle 1992); read it as a lower bound (id_sample_limited), or raise --id-points."
        )
    if plan.halvings:
        out.append(
            f"the device ran out of memory at a chunk of {plan.first} elements; it was halved "
            f"{plan.halvings} times, to {plan.elems}, and the run carried on (means may differ from a "
            "run at the smaller --chunk in the last float32 digit)."
        )
    if (table["exact_fallbacks"] > 0).any():
        count = int(table["exact_fallbacks"].sum())
        out.append(
            f"{count} {'query' if count == 1 else 'queries'} could not be certified from candidates and "
            f"{'was' if count == 1 else 'were'} recomputed exactly (see exact_fallbacks)."
        )
    copies = table.groupby(["dist", "seed"])["duplicates"].first()
    if copies.sum():
        names = ", ".join(sorted({d for (d, _), c in copies.items() if c}))
        out.append(
            f"{names}: {int(copies.max())} exact duplicate row(s) per sample (of another point or of a "
            "query) were dropped before the statistics: TwoNN, MLE and the nearest distance need distinct "
            "points (see the duplicates column)."
        )
    undefined = table[(table["metric"] != "linf") & (table["mean_pow_dist"].isna() | table["var_pow_dist"].isna())]
    if len(undefined):
        out.append(
            f"mean_pow_dist or var_pow_dist is undefined for {', '.join(sorted(set(undefined['metric'])))}"
            f" on {', '.join(sorted(set(undefined['dist'])))}: D^P leaves float64 for these distances "
            "(left empty, not inf)."
        )
    return out
