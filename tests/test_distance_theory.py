"""The closed forms in dimcurse.experiments.distance.theory against Monte Carlo with numpy (independent of the
kernel)."""

import math

import numpy as np
import pytest

from dimcurse.experiments.distance import theory
from dimcurse.data import parse_distribution
from dimcurse.experiments.distance.neighbours import parse_metric

PAIRS = 100_000


def _pairs(kind, dim, rng):
    if kind == "uniform":
        return rng.random((PAIRS, dim)), rng.random((PAIRS, dim))
    return rng.standard_normal((PAIRS, dim)), rng.standard_normal((PAIRS, dim))


@pytest.mark.parametrize("kind, dim", [("uniform", 20), ("gaussian", 20)])
def test_squared_l2_moments(kind, dim):
    # uniform: d/6 and 7d/180; gaussian: 2d and 8d. 100k pairs: mean 0.5 %, variance 3 % (docs/references.md).
    x, y = _pairs(kind, dim, np.random.default_rng(0))
    sq = ((x - y) ** 2).sum(1)
    mean, var = theory.power_moments(parse_distribution(kind), parse_metric("l2"), dim)
    assert mean == pytest.approx(dim / 6 if kind == "uniform" else 2 * dim)
    assert var == pytest.approx(7 * dim / 180 if kind == "uniform" else 8 * dim)
    assert sq.mean() == pytest.approx(mean, rel=0.005)
    assert sq.var() == pytest.approx(var, rel=0.03)


@pytest.mark.parametrize("p", [0.5, 1.0, 3.0])
def test_lp_power_moments_uniform(p):
    x, y = _pairs("uniform", 10, np.random.default_rng(1))
    powered = (np.abs(x - y) ** p).sum(1)
    mean, var = theory.power_moments(parse_distribution("uniform"), parse_metric(f"lp:{p}"), 10)
    assert mean == pytest.approx(20 / ((p + 1) * (p + 2)))
    assert powered.mean() == pytest.approx(mean, rel=0.01)
    assert powered.var() == pytest.approx(var, rel=0.04)


def test_francois_constants():
    # sqrt(d) * cv limit = (1/p) sigma_p / mu_p: 0.8292, 0.7071, 0.5916 for p = 0.5, 1, 2 (uniform).
    uniform = parse_distribution("uniform")
    for p, constant in [(0.5, 0.8292), (1.0, 0.7071), (2.0, 0.5916)]:
        metric = parse_metric(f"lp:{p}")
        assert math.sqrt(100) * theory.francois_limit(uniform, metric, 100) == pytest.approx(constant, abs=1e-4)
    # Only lp (p != 1, 2) is left on the limit; l1 is exact at every d, l2 has the quadrature.
    assert theory.cv_is_limit(uniform, parse_metric("lp:0.5"), 10)
    assert not theory.cv_is_limit(uniform, parse_metric("l1"), 10)
    assert not theory.cv_is_limit(uniform, parse_metric("l2"), 10)


def test_exact_uniform_l2_cv_at_small_d():
    """docs/references.md, Distances: E D = (2 + sqrt 2 + 5 asinh 1)/15 at d = 2; cv 0.4755 (d = 2), 0.1935 (d = 10),
    where the Francois limit is 12 % and 3.3 % low."""
    uniform, l2 = parse_distribution("uniform"), parse_metric("l2")
    assert theory.mean_distance(uniform, l2, 2) == pytest.approx((2 + math.sqrt(2) + 5 * math.asinh(1)) / 15, rel=1e-12)
    assert theory.mean_distance(uniform, l2, 1) == pytest.approx(1 / 3, rel=1e-12)
    assert theory.distance_cv(uniform, l2, 2) == pytest.approx(0.4755, abs=5e-5)
    assert theory.distance_cv(uniform, l2, 10) == pytest.approx(0.1935, abs=5e-5)
    assert theory.francois_limit(uniform, l2, 2) == pytest.approx(0.4183, abs=5e-5)
    # Against Monte Carlo at d = 3 (100,000 pairs: the cv's standard error is about 0.2 %).
    rng = np.random.default_rng(5)
    x, y = _pairs("uniform", 3, rng)
    dist = np.linalg.norm(x - y, axis=1)
    assert dist.std() / dist.mean() == pytest.approx(theory.distance_cv(uniform, l2, 3), rel=0.01)
    # Large d approaches the limit from above, without the quadrature losing digits.
    for dim in (10**4, 10**6):
        assert theory.distance_cv(uniform, l2, dim) == pytest.approx(theory.francois_limit(uniform, l2, dim), rel=1e-3)


def test_exact_means_against_monte_carlo():
    rng = np.random.default_rng(2)
    x, y = _pairs("gaussian", 7, rng)
    gauss = theory.mean_distance(parse_distribution("gaussian"), parse_metric("l2"), 7)
    assert np.linalg.norm(x - y, axis=1).mean() == pytest.approx(gauss, rel=0.005)
    x, y = _pairs("uniform", 7, rng)
    linf = theory.mean_distance(parse_distribution("uniform"), parse_metric("linf"), 7)
    assert np.abs(x - y).max(1).mean() == pytest.approx(linf, rel=0.005)
    s = rng.standard_normal((2, PAIRS, 7))
    s /= np.linalg.norm(s, axis=2, keepdims=True)
    chord = theory.mean_distance(parse_distribution("sphere"), parse_metric("l2"), 7)
    assert np.linalg.norm(s[0] - s[1], axis=1).mean() == pytest.approx(chord, rel=0.005)
    # Var <x, y> = 1/d on the sphere.
    assert (s[0] * s[1]).sum(1).var() == pytest.approx(1 / 7, rel=0.03)


def test_no_guess_where_no_closed_form():
    assert theory.mean_distance(parse_distribution("uniform"), parse_metric("l1"), 10) is None
    assert theory.power_moments(parse_distribution("uniform"), parse_metric("linf"), 10) is None
    assert theory.distance_cv(parse_distribution("torus:2"), parse_metric("l1"), 10) is None
