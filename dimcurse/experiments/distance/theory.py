"""Closed forms for distances between i.i.d. random points (docs/references.md, Distances).

Every function returns None where no closed form is known for that distribution and
metric, so a table shows an empty theory cell rather than a guess.
"""

from __future__ import annotations

import math
from functools import lru_cache

from dimcurse.data import Distribution
from dimcurse.experiments.distance.neighbours import Metric


def coordinate_moment(kind: str, r: float) -> float | None:
    """E|x_i - y_i|^r for one coordinate of two i.i.d. points.

    uniform on [0,1]: 2 / ((r+1)(r+2)); standard normal: x - y ~ N(0, 2), so
    E|x - y|^r = 2^r Gamma((r+1)/2) / sqrt(pi).
    """
    if kind == "uniform":
        log_moment = math.log(2.0) - math.log1p(r) - math.log(r + 2.0)
        return math.exp(log_moment) if log_moment > -700 else None  # below float64's range (r above 1e152)
    if kind == "gaussian":
        log_moment = r * math.log(2.0) + math.lgamma((r + 1.0) / 2.0) - 0.5 * math.log(math.pi)
        return math.exp(log_moment) if log_moment < 700 else None  # beyond float64 (r of several hundred)
    return None


def power_moments(dist: Distribution, metric: Metric, dim: int) -> tuple[float, float] | None:
    """Mean and variance of D^power (``Metric.power``: D^2 for l2, D for l1 and cosine, D^p for lp).

    - i.i.d. coordinates (uniform, gaussian) under l1/l2/lp: sum_i |x_i - y_i|^p has mean
      d mu_p and variance d (mu_2p - mu_p^2); e.g. uniform l2: d/6 and 7d/180, gaussian: 2d, 8d.
    - sphere, l2: squared chord 2 - 2<x,y> with Var<x,y> = 1/d: mean 2, variance 4/d.
    - subspace:K, l2: a Gaussian in K dimensions (rotation keeps L2): 2K and 8K.
    - torus:K, l2: per circle |e(u) - e(v)|^2 = (2 - 2 cos 2pi(u - v)) / 4pi^2, mean 1/(2pi^2),
      variance 1/(8pi^4); K independent circles add.
    - cosine on gaussian, sphere or subspace:K: 1 - cos with E cos = 0, Var cos = 1/d (1/K).
    """
    p = metric.power
    if p is None:
        return None
    if metric.kind in ("l1", "l2", "lp") and dist.kind in ("uniform", "gaussian"):
        mu_p, mu_2p = coordinate_moment(dist.kind, p), coordinate_moment(dist.kind, 2 * p)
        if mu_p is None or mu_2p is None:
            return None
        return dim * mu_p, dim * (mu_2p - mu_p**2)
    if metric.kind == "l2":
        if dist.kind == "sphere":
            return 2.0, 4.0 / dim
        if dist.kind == "subspace":
            return 2.0 * dist.k, 8.0 * dist.k
        if dist.kind == "torus":
            return dist.k / (2 * math.pi**2), dist.k / (8 * math.pi**4)
    if metric.kind == "cosine" and dist.kind in ("gaussian", "sphere", "subspace"):
        k = dist.k if dist.kind == "subspace" else dim  # the cosine sees the K-dimensional Gaussian
        return 1.0, 1.0 / k
    return None


def _gaussian_chi_mean(k: int) -> float:
    """E|x - y| for x, y ~ N(0, I_k): sqrt(2) E chi_k = 2 Gamma((k+1)/2) / Gamma(k/2)."""
    return 2.0 * math.exp(math.lgamma((k + 1) / 2.0) - math.lgamma(k / 2.0))


def _sphere_chord_mean(dim: int) -> float:
    """E|x - y| on S^(d-1): with s = (1 - <x,y>)/2 ~ Beta(a, a), a = (d-1)/2, chord = 2 sqrt(s),
    so E chord = 2 B(a + 1/2, a) / B(a, a)."""
    a = (dim - 1) / 2.0

    def log_beta(x, y):
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return 2.0 * math.exp(log_beta(a + 0.5, a) - log_beta(a, a))


def mean_distance(dist: Distribution, metric: Metric, dim: int) -> float | None:
    """Exact E[D] where a closed form exists.

    - gaussian (or subspace:K), l2: 2 Gamma((k+1)/2) / Gamma(k/2).
    - sphere, l2 (d >= 2): 2 B(a + 1/2, a) / B(a, a), a = (d-1)/2.
    - uniform, l2: a one-dimensional quadrature (``uniform_l2_mean``).
    - uniform, linf: P(D <= t) = (2t - t^2)^d, so E D = 1 - (sqrt(pi)/2) Gamma(d+1) / Gamma(d+3/2).
    - cosine on gaussian/sphere/subspace: E[1 - cos] = 1.
    """
    if metric.kind == "l2":
        if dist.kind in ("gaussian", "subspace"):
            return _gaussian_chi_mean(dist.intrinsic_dim(dim) if dist.kind == "subspace" else dim)
        if dist.kind == "sphere" and dim >= 2:
            return _sphere_chord_mean(dim)
    if metric.kind == "l2" and dist.kind == "uniform":
        return uniform_l2_mean(dim)
    if metric.kind == "linf" and dist.kind == "uniform":
        return 1.0 - math.sqrt(math.pi) / 2.0 * math.exp(math.lgamma(dim + 1.0) - math.lgamma(dim + 1.5))
    if metric.kind == "cosine" and dist.kind in ("gaussian", "sphere", "subspace"):
        return 1.0
    return None


def distance_cv(dist: Distribution, metric: Metric, dim: int) -> float | None:
    """sd(D) / E(D) over random pairs: exact where ``cv_is_limit`` is False, else the large-d limit.

    Exact for l2 on uniform (quadrature for E D, E D^2 = d/6), gaussian/subspace (E D^2 = 2k)
    and the sphere (E D^2 = 2); for cosine on gaussian/sphere/subspace (sd 1/sqrt(d)); and for
    l1 on i.i.d. coordinates, where D is a sum of d i.i.d. terms. For lp with p != 1, 2 it is
    the limit of Francois, Wertz & Verleysen 2007 (``francois_limit``), which is not exact at
    any finite d (docs/references.md, Distances).
    """
    mean = mean_distance(dist, metric, dim)
    if metric.kind == "l2" and mean is not None:
        second = power_moments(dist, metric, dim)[0]  # E D^2
        return math.sqrt(max(second - mean * mean, 0.0)) / mean
    if metric.kind == "cosine" and mean is not None:
        return math.sqrt(power_moments(dist, metric, dim)[1])
    if metric.kind in ("l1", "lp") and dist.kind in ("uniform", "gaussian"):
        return francois_limit(dist, metric, dim)
    return None


def cv_is_limit(dist: Distribution, metric: Metric, dim: int) -> bool:
    """True where ``distance_cv`` gives the large-d limit rather than the exact value."""
    return metric.kind == "lp" and distance_cv(dist, metric, dim) is not None


def francois_limit(dist: Distribution, metric: Metric, dim: int) -> float:
    """The large-d limit of sd/mean for i.i.d. coordinates under lp (Francois et al. 2007):
    sd/mean -> (1/p) (sigma_p / mu_p) / sqrt(d), sigma_p^2 = mu_2p - mu_p^2 per coordinate
    (uniform: 0.8292, 0.7071, 0.5916 for p = 0.5, 1, 2, divided by sqrt(d)). Exact for p = 1."""
    p = metric.power if metric.kind != "l2" else 2.0
    mu_p, mu_2p = coordinate_moment(dist.kind, p), coordinate_moment(dist.kind, 2 * p)
    if mu_p is None or mu_2p is None:
        return None
    return math.sqrt(max(mu_2p - mu_p**2, 0.0)) / (p * mu_p) / math.sqrt(dim)


# Quadrature in u = log t for the uniform-cube L2 mean: the integrand falls like e^(-|u|/2)
# at both ends, so a trapezoid rule with step 1/64 converges geometrically; the two tails
# beyond the nodes are added in closed form (below: 1 - phi^d ~ d t / 6; above: phi^d ~ 0).
_STEP, _SPAN = 1.0 / 64.0, 40.0


def _one_minus_phi(t: float) -> float:
    """1 - E exp(-t (x - y)^2) for x, y ~ U[0, 1]: a series for small t (the closed form
    sqrt(pi/t) erf(sqrt t) - (1 - e^-t)/t cancels there), with E (x-y)^2k = 2/((2k+1)(2k+2))."""
    if t < 1.0:
        total, term = 0.0, 1.0
        for k in range(1, 40):
            term *= -t / k
            total -= term * 2.0 / ((2 * k + 1) * (2 * k + 2))
        return total
    return 1.0 - (math.sqrt(math.pi / t) * math.erf(math.sqrt(t)) + math.expm1(-t) / t)


@lru_cache(maxsize=256)
def uniform_l2_mean(dim: int) -> float:
    """E|x - y| for x, y ~ U[0,1]^d, exactly (docs/references.md, Distances: closed forms):
    E sqrt(S) = (1 / (2 sqrt(pi))) int_0^inf (1 - phi(t)^d) t^(-3/2) dt, phi as in _one_minus_phi.
    d = 2 gives (2 + sqrt 2 + 5 asinh 1) / 15 = 0.5214054 (to 1e-15 relative)."""
    centre = -math.log(dim)  # where phi^d turns over (t ~ 6/d)
    lo, hi = centre - _SPAN, centre + _SPAN
    terms = []
    for i in range(int(round((hi - lo) / _STEP)) + 1):
        t = math.exp(lo + i * _STEP)
        one_minus = min(_one_minus_phi(t), 1.0)
        gone = -math.expm1(dim * math.log1p(-one_minus)) if one_minus < 1.0 else 1.0  # 1 - phi^d
        weight = 0.5 if i in (0, round((hi - lo) / _STEP)) else 1.0
        terms.append(weight * gone * t**-0.5 * _STEP)
    tails = dim / 3.0 * math.exp(lo / 2) + 2.0 * math.exp(-hi / 2)  # int_0^a (d/6) t^-1/2, int_b^inf t^-3/2
    return (math.fsum(terms) + tails) / (2.0 * math.sqrt(math.pi))
