"""Power-law exponents: rel_rmse ~ params^(-alpha), with a confidence interval from resampling seeds.

Practice from REFERENCES §2: take the median over seeds per size, leave out points that
are estimation-limited (test error far above train error) or on a plateau (the error
stopped falling: optimiser or precision limited), fit by least squares on log-log
axes (Theil-Sen reported beside it), and resample seeds for the interval.
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


def _slope(logx: np.ndarray, logy: np.ndarray) -> float:
    """Least-squares slope of logy on logx."""
    return float(np.polyfit(logx, logy, 1)[0])


def theil_sen(logx: np.ndarray, logy: np.ndarray) -> float:
    """Median of pairwise slopes (robust to one bad point)."""
    i, j = np.triu_indices(len(logx), 1)
    return float(np.median((logy[j] - logy[i]) / (logx[j] - logx[i])))


def select_points(params, test, train, gap: float = 2.0, plateau: float = 0.9, limited: dict | None = None):
    """Which sizes to fit: a boolean mask and the reasons for the rest.

    ``test``/``train``: median errors per size (ascending params). A size is
    estimation-limited when test > gap x train. ``limited``: reason -> (M,) fraction of
    seeds a diagnostic flagged; a size flagged in at least half its seeds is left out for
    that reason (the words name it: "optimisation-limited at params 97, 193"). The trailing plateau is cut from the
    largest size down: a last point whose error is not below ``plateau`` x the error of
    the point before it goes, until one falls clearly (an error that stopped falling
    is the optimiser's or the float's limit, not the approximation rate).
    """
    keep = np.isfinite(test) & (test > 0)
    reasons = []
    usable = keep.copy()
    for reason, share in (limited or {}).items():  # a size flagged for two reasons is named under both
        flagged = np.flatnonzero(usable & (np.asarray(share) >= 0.5))
        if len(flagged):
            keep[flagged] = False
            reasons.append(f"{reason} at params {', '.join(str(params[i]) for i in flagged)}")
    for i in np.flatnonzero(keep & (test > gap * train)):
        keep[i] = False
        reasons.append(f"params={params[i]} estimation-limited")
    kept = list(np.flatnonzero(keep))
    plateau_points = []
    while len(kept) >= 2 and test[kept[-1]] >= plateau * test[kept[-2]]:
        plateau_points.append(kept.pop())
    if plateau_points and (len(kept) < 3 or test[kept[0]] < 2 * test[kept[-1]]):
        # The error never fell clearly: that flatness is the result (alpha ~ 0), not a plateau.
        return keep, "; ".join(reasons + ["no clear fall: no plateau cut"])
    for i in sorted(plateau_points):
        keep[i] = False
        reasons.append(f"params={params[i]} plateau")
    return keep, "; ".join(reasons)


def fit_exponent(params, test, train=None, resamples: int = 200, seed: int = 0, limited: dict | None = None) -> Fit:
    """Fit alpha in test ~ params^(-alpha).

    ``params``: (M,) sizes; ``test``/``train``: (S, M) errors per seed (NaN = diverged,
    ignored); ``limited``: reason -> (S, M) bool flags of the kernel's diagnostics. The
    interval is the 2.5-97.5 % range over ``resamples`` resamplings of the seeds (with
    replacement), refitting on the same sizes.
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
    keep, excluded = select_points(params.astype(int), med_test, med_train, limited=shares)
    nan = float("nan")
    if keep.sum() < 3:
        return Fit(
            nan, nan, nan, nan, int(keep.sum()), (excluded + "; " if excluded else "") + "fewer than 3 sizes left"
        )
    logx = np.log(params[keep])
    alpha = -_slope(logx, np.log(med_test[keep]))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        rows = rng.integers(0, test.shape[0], test.shape[0])
        with np.errstate(all="ignore"):
            med = np.nanmedian(test[rows][:, keep], axis=0)
        if np.all(np.isfinite(med) & (med > 0)):
            draws.append(-_slope(logx, np.log(med)))
    lo, hi = np.percentile(draws, [2.5, 97.5]) if draws else (nan, nan)
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
    )


def _slope_change(logx: np.ndarray, logy: np.ndarray) -> float:
    """alpha fitted on the upper half of the sizes minus alpha on the lower half (overlapping in the middle
    point when odd); NaN below 4 sizes. Far from 0: the curve still bends, the sizes are pre-asymptotic."""
    m = len(logx)
    if m < 4:
        return float("nan")
    half = (m + 1) // 2
    return _slope(logx[:half], logy[:half]) - _slope(logx[-half:], logy[-half:])
