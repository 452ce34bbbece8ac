"""Power-law exponents: rel_rmse ~ params^(-alpha), with a t confidence interval over replicates.

Practice from docs/references.md (approximation): take the median over replicates (teacher
draws x seeds) per size, leave out points that are estimation-limited (test error far above
train error) or on a plateau (the error stopped falling: optimiser or precision limited),
fit by least squares on log-log axes (Theil-Sen reported beside it).

The interval: each replicate's own slope on the same sizes, and alpha ± t(0.975, m - 1) x
sd / sqrt(m) over the m replicates. Resampling 2 or 3 seeds (the interval before VERSION 3)
gave intervals far too narrow: a 1-thread and a 2-thread run of one command gave 0.93 [0.91,
0.93] and 1.26 [1.00, 1.42]. Student's t accounts for the few replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np


@dataclass
class Fit:
    alpha: float
    alpha_lo: float
    alpha_hi: float
    alpha_theil_sen: float
    n_used: int
    excluded: str  # e.g. "params=8193 plateau; params=81 estimation-limited"
    log_c: float = float("nan")  # intercept: median test ~ exp(log_c) params^(-alpha) (for drawing the fit)
    used: tuple[int, ...] = ()  # the sizes the fit used
    slope_change: float = float("nan")  # alpha over the upper half of the used sizes minus the lower half
    n_replicates: int = 0  # replicates whose slope entered the interval


def _slope(logx: np.ndarray, logy: np.ndarray) -> float:
    """Least-squares slope of logy on logx."""
    return float(np.polyfit(logx, logy, 1)[0])


# Student's t quantile t(0.975, df) for df = 1..30 (Fisher & Yates' table); above 30, Cornish-Fisher's
# series z + (z³ + z) / (4 df) + (5z⁵ + 16z³ + 3z) / (96 df²), z = 1.959964, is within 2e-4 of it.
T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t_quantile(df: int) -> float:
    """The two-sided 95 % quantile of Student's t with ``df`` degrees of freedom (df >= 1)."""
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def t_interval(center: float, slopes: np.ndarray) -> tuple[float, float]:
    """center ± t(0.975, m - 1) sd / sqrt(m) over m replicate slopes; NaN below 2."""
    slopes = slopes[np.isfinite(slopes)]
    if len(slopes) < 2:
        return float("nan"), float("nan")
    half = t_quantile(len(slopes) - 1) * float(np.std(slopes, ddof=1)) / np.sqrt(len(slopes))
    return center - half, center + half


def theil_sen(logx: np.ndarray, logy: np.ndarray) -> float:
    """Median of pairwise slopes (robust to one bad point)."""
    i, j = np.triu_indices(len(logx), 1)
    return float(np.median((logy[j] - logy[i]) / (logx[j] - logx[i])))


def select_points(
    params,
    test,
    train,
    gap: float = 2.0,
    plateau: float = 0.9,
    *,
    limited: dict | None = None,
    size: str = "params",
    remedies: dict | None = None,
):
    """Which sizes to fit: a boolean mask and the reasons for the rest.

    ``test``/``train``: median errors per size (ascending params). A size is
    estimation-limited when test > gap x train. ``limited``: reason -> (M,) fraction of
    replicates a diagnostic flagged; a size flagged in most of its replicates (more than half) is left out for
    that reason (the words name it: "optimisation-limited at params 97, 193"); one flagged in a minority stays,
    its median set by the others; ``remedies``: reason -> the words that say what to do about it. The trailing
    plateau is cut from the
    largest size down: a last point whose error is not below ``plateau`` x the error of
    the point before it goes, until one falls clearly (an error that stopped falling
    is the optimiser's or the float's limit, not the approximation rate), unless the cut would leave fewer
    than 3 sizes, or the kept error never fell by half (then the flatness is the result: alpha near 0).
    """
    keep = np.isfinite(test) & (test > 0)
    reasons = []
    usable = keep.copy()
    for reason, share in (limited or {}).items():  # a size flagged for two reasons is named under both
        flagged = np.flatnonzero(usable & (np.asarray(share) > 0.5))
        if len(flagged):
            keep[flagged] = False
            remedy = (remedies or {}).get(reason)
            words = f"{reason} at {size} {', '.join(str(params[i]) for i in flagged)}"
            reasons.append(words + (f" ({remedy})" if remedy else ""))
    for i in np.flatnonzero(keep & (test > gap * train)):
        keep[i] = False
        reasons.append(f"{size}={params[i]} estimation-limited")
    kept = list(np.flatnonzero(keep))
    plateau_points = []
    while len(kept) >= 2 and test[kept[-1]] >= plateau * test[kept[-2]]:
        plateau_points.append(kept.pop())
    if not plateau_points:
        return keep, "; ".join(reasons)
    flat = ", ".join(str(params[i]) for i in sorted(plateau_points))
    if test[kept[0]] >= 2 * test[plateau_points[-1]] and len(kept) < 3:
        # The error fell and then stopped: too few sizes before the plateau to fit a rate without it.
        return keep, "; ".join(reasons + [f"flat from {size} {flat} on, kept: without them fewer than 3 sizes"])
    if test[kept[0]] < 2 * test[plateau_points[-1]]:
        # The error never fell by half: that flatness is the result (alpha ~ 0), not a plateau.
        return keep, "; ".join(reasons + ["the error fell by less than half over the sizes: alpha ~ 0, no plateau cut"])
    for i in sorted(plateau_points):
        keep[i] = False
        reasons.append(f"{size}={params[i]} plateau")
    return keep, "; ".join(reasons)


def fit_exponent(
    params, test, train=None, limited: dict | None = None, size: str = "params", remedies: dict | None = None
) -> Fit:
    """Fit alpha in test ~ params^(-alpha).

    ``params``: (M,) sizes (``size`` names them in the excluded words: params, or n); ``test``/``train``: (S, M)
    errors per replicate (NaN = diverged,
    ignored); ``limited``: reason -> (S, M) bool flags of the kernel's diagnostics (``remedies``: what to do). The
    interval is a t interval around alpha from the spread of the replicates' own slopes on
    the same sizes (a replicate with a diverged size among them is left out of it).
    """
    params = np.asarray(params, dtype=float)
    test = np.atleast_2d(np.asarray(test, dtype=float))
    train = test if train is None else np.atleast_2d(np.asarray(train, dtype=float))  # no train: never limited
    order = np.argsort(params)
    params, test, train = params[order], test[:, order], train[:, order]
    shares = {
        reason: np.nanmean(np.atleast_2d(np.asarray(flags, dtype=float))[:, order], axis=0)
        for reason, flags in (limited or {}).items()
    }
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a size whose every seed diverged has no median: NaN, excluded
        med_test, med_train = np.nanmedian(test, axis=0), np.nanmedian(train, axis=0)
    keep, excluded = select_points(
        params.astype(int), med_test, med_train, limited=shares, size=size, remedies=remedies
    )
    nan = float("nan")
    if keep.sum() < 3:
        return Fit(
            nan, nan, nan, nan, int(keep.sum()), (excluded + "; " if excluded else "") + "fewer than 3 sizes left"
        )
    logx = np.log(params[keep])
    alpha = -_slope(logx, np.log(med_test[keep]))
    with np.errstate(all="ignore"):
        own = np.log(test[:, keep])
    ok = np.isfinite(own).all(1)
    slopes = np.array([-_slope(logx, row) for row in own[ok]])
    lo, hi = t_interval(alpha, slopes)
    log_c = float(np.mean(np.log(med_test[keep])) + alpha * np.mean(logx))  # least squares passes the centroid
    used = tuple(int(p) for p in params[keep])
    return Fit(
        alpha,
        float(lo),
        float(hi),
        -theil_sen(logx, np.log(med_test[keep])),
        int(keep.sum()),
        excluded,
        log_c,
        used,
        _slope_change(logx, np.log(med_test[keep])),
        int(len(slopes)),
    )


def _slope_change(logx: np.ndarray, logy: np.ndarray) -> float:
    """alpha fitted on the upper half of the sizes minus alpha on the lower half (overlapping in the middle
    point when odd); NaN below 4 sizes. Far from 0: the curve still bends, the sizes are pre-asymptotic."""
    m = len(logx)
    if m < 4:
        return float("nan")
    half = (m + 1) // 2
    return _slope(logx[:half], logy[:half]) - _slope(logx[-half:], logy[-half:])
