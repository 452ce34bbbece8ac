"""The bridge: from the intrinsic dimension of the inputs, measured before training, to the exponent.

Sharma & Kaplan (2020) predict RMSE ~ N^(-2/ID) for a smooth target on inputs of intrinsic dimension ID
(and read ID back as 2/alpha); k-NN regression adapts to ID as n^(-1/ID) on a noiseless target (Kpotufe
2011). ``approx`` measures ID on the training inputs with the distance kernel's estimators
(``dimcurse.experiments.distance.intrinsic``, the same code as ``dimcurse distance``), puts the predicted
exponent beside the fitted one, and says in words whether they agree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dimcurse.experiments.approx.verdict import consistent_dimensions
from dimcurse.experiments.distance import intrinsic

ID_COLUMNS = ("twonn_id", "twonn_id_lo", "twonn_id_hi", "mle_id")  # in the rows and in the fit table
ID_POINTS = 2000  # as `dimcurse distance --id-points`: the first 2000 training inputs
MLE_K = 20  # as `dimcurse distance --mle-k`
NETS = ("shallow", "deep", "tree")


def measure(points) -> dict:
    """TwoNN with its 95 % interval and the MLE of the first ID_POINTS rows (all NaN under 22 rows)."""
    raw = intrinsic.measure(np.asarray(points, dtype=np.float64), MLE_K, ID_POINTS)
    return dict(zip(ID_COLUMNS, (raw["twonn_id"], raw["twonn_lo"], raw["twonn_hi"], raw["mle_id"])))


def row_columns(ids: dict) -> dict:
    """The ID columns of a row: the measured values, NaN where none was measured."""
    return {name: float(ids.get(name, math.nan)) for name in ID_COLUMNS}


def _described(ids: dict) -> str:
    return f"TwoNN ID {ids['twonn_id']:.3g} [{ids['twonn_id_lo']:.3g}, {ids['twonn_id_hi']:.3g}]"


def id_theory(arch: str, ids: dict, k: int | None = None) -> tuple | None:
    """The exponent the measured ID predicts: 2/m for networks (m = ID, or min(k, ID) for a teacher of k
    directions evaluated on those inputs), 1/ID for k-NN, 1/ID as a bound for random features."""
    if not ids.get("twonn_id", math.nan) > 0:  # NaN (not measured) or a degenerate set
        return None
    m = ids["twonn_id"] if k is None else min(float(k), ids["twonn_id"])
    which = "2/ID" if k is None or m < k else "2/k"
    if arch in NETS:
        return 2.0 / m, f"Sharma & Kaplan 2020: {which} with {_described(ids)}"
    if arch == "knn":
        return 1.0 / ids["twonn_id"], f"Kpotufe 2011, noiseless: 1/ID with {_described(ids)}"
    if arch == "random-features":
        return 1.0 / ids["twonn_id"], f"fixed basis: n^-1/ID at best, {_described(ids)}", "ceiling"
    return None


def sample_theory(arch: str, k: int | None, dim: int, ids: dict) -> tuple | None:
    """Theory of the exponent in n. Networks with the best width per n (resolution-limited, Bahri et al. 2021):
    2/k for a teacher of k directions, 2/ID on data; k-NN: 1/m with m the inputs' dimension (d on the
    cube, ID on a manifold), the noiseless rate (noisy, tuned k: 1/(2+m), Kpotufe 2011)."""
    measured = bool(ids.get("twonn_id", math.nan) > 0)
    if arch == "knn":
        m, what = (ids["twonn_id"], _described(ids)) if measured else (float(dim), f"inputs of dimension d = {dim}")
        return 1.0 / m, f"Kpotufe 2011, noiseless: RMSE ~ n^-1/m, {what} (noisy, tuned k: 1/(2+m))"
    if arch in NETS:
        if measured:
            alpha, source = id_theory(arch, ids, k)
            return alpha, f"Bahri et al. 2021, best width per n; {source}"
        if k is not None:
            return 2.0 / k, f"Bahri et al. 2021, best width per n: RMSE ~ n^-2/k, k = {k} directions"
    return None


def k_from_alpha(arch: str, alpha: float) -> float:
    """The dimension an exponent implies (Sharma & Kaplan read k = 2/alpha off networks; k-NN: 1/alpha)."""
    if not (np.isfinite(alpha) and alpha > 0):
        return math.nan
    if arch in NETS:
        return 2.0 / alpha
    return 1.0 / alpha if arch == "knn" else math.nan


def setting_words(fit: dict, *, with_k: bool = False) -> str:
    """A fit's setting in a few words: "teacher on torus:2 d = 32 shallow (params)" (with_k: "... d = 6 k = 6")."""
    on = "" if fit.get("inputs", "cube") in ("cube", "file") else f" on {fit['inputs']}"
    k = f" k = {int(fit['teacher_k'])}" if with_k and not pd.isna(fit.get("teacher_k")) else ""
    fixed = f", {fit['fixed']}" if fit.get("fixed") else ""
    return f"{fit['target']}{on} d = {fit['dim']}{k} {fit['arch']} ({fit['axis']}{fixed})"


def agreement(fit: dict) -> str | None:
    """Words on a bridge fit: the range of IDs its exponent is consistent with, the ID the inputs measure,
    and the fit's verdict with what it can mean."""
    scale = {"knn": 1.0}.get(fit["arch"], 2.0 if fit["arch"] in NETS else math.nan)
    if not (np.isfinite(fit.get("twonn_id", math.nan)) and np.isfinite(scale) and np.isfinite(fit["alpha"])):
        return None
    where = setting_words(fit)
    low, high = consistent_dimensions(fit["alpha_lo"], fit["alpha_hi"], scale)
    rate = "2/alpha" if scale == 2 else "1/alpha"
    if np.isfinite(low):
        span = f"{low:.3g}–{high:.3g}" if np.isfinite(high) else f"{low:.3g} or more"
        consistent = f" is consistent with an ID of {span} ({rate} over its interval)"
    else:
        consistent = " has no interval (give more --seeds)"
    measured = f"alpha {fit['alpha']:.3g} [{fit['alpha_lo']:.3g}, {fit['alpha_hi']:.3g}]"
    ids = f"the inputs measure {_described(fit)} (predicted alpha {fit['alpha_theory']:.3g})"
    verdict = fit.get("verdict", "")
    why = {
        "agrees": "",
        "inconclusive": ": the interval is too wide to tell one ID from another (more --seeds, or more widths)",
        "disagrees": (
            ": below, a non-smooth target, an unconverged fit, too few samples or widths short of the asymptote"
            if fit["alpha_hi"] < fit["alpha_theory"]
            else ": above, a target of fewer directions than the inputs span, or one simpler than a generic "
            "smooth function of them (the inputs' ID overstates the difficulty)"
        ),
    }.get(verdict, "")
    return f"bridge, {where}: {measured}{consistent}; {ids}: {verdict}{why}."
