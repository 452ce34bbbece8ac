"""Intrinsic dimension and hubness estimators on sets whose answer is known."""

import numpy as np
import pytest

from dimcurse.experiments.distance import estimators
from dimcurse.data import draw, parse_distribution
from dimcurse.experiments.distance.neighbours import knn, parse_metric

L2 = parse_metric("l2")


@pytest.mark.parametrize(
    "dist, dim, true_id", [("torus:2", 10, 2), ("torus:3", 20, 3), ("subspace:4", 1000, 4), ("subspace:8", 100, 8)]
)
def test_estimators_recover_a_known_dimension(dist, dim, true_id):
    # A flat torus has no boundary or density gradient: TwoNN and Levina-Bickel (harmonic)
    # recover d within a few per cent at n = 2000 (docs/references.md, Distances). Tolerance 6 %, seed 0.
    # (At torus:5 the circles' curvature at the 20th-neighbour scale biases Levina-Bickel up ~10 %.)
    points = draw(parse_distribution(dist), 2000, dim, seed=0)
    dists, _ = knn(points, L2, 20)
    assert estimators.twonn(dists) == pytest.approx(true_id, rel=0.06)
    assert estimators.levina_bickel(dists, 20) == pytest.approx(true_id, rel=0.06)


def test_levina_bickel_harmonic_is_unbiased_on_ideal_radii():
    # Radii of a d-dim Poisson process: T_j^d are partial sums of Exp(1) (docs/references.md, Distances).
    rng = np.random.default_rng(0)
    d, k = 6, 10
    radii = np.cumsum(rng.exponential(size=(20000, k)), axis=1) ** (1 / d)
    assert estimators.levina_bickel(radii, k) == pytest.approx(d, rel=0.02)
    mu = rng.pareto(d, size=20000) + 1  # TwoNN: r2/r1 is Pareto(d)
    assert estimators.twonn(np.stack([np.ones_like(mu), mu], axis=1)) == pytest.approx(d, rel=0.03)


def test_duplicates_are_dropped_not_infinite():
    dists = np.array([[0.0, 1.0], [1.0, 2.0], [1.0, 3.0], [2.0, 3.0], [1.0, 1.5]])
    assert np.isfinite(estimators.twonn(dists))


def test_skewness_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    values = np.random.default_rng(1).gamma(2.0, size=500)
    assert estimators.skewness(values) == pytest.approx(scipy_stats.skew(values), rel=1e-12)


def test_k_occurrence_counts():
    idx = np.array([[1, 2], [0, 2], [0, 1], [0, 1]])
    assert estimators.k_occurrence(idx, 2, 4).tolist() == [3, 3, 2, 0]
    assert estimators.k_occurrence(idx, 2, 4).sum() == 8


def test_hubness_of_gaussian_data_grows_with_dimension():
    # Radovanovic et al. 2010: skewness of N_k grows with d for i.i.d. Gaussian data.
    gaussian = parse_distribution("gaussian")
    values = []
    for dim in (3, 20, 100):
        _, idx = knn(draw(gaussian, 2000, dim, seed=0), L2, 10)
        values.append(estimators.hubness(idx, 10))
    assert values[0] < 0.6 < values[1] < values[2]
    assert values[2] > 2.0
