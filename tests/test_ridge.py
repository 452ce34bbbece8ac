"""The min-norm / ridge solver against LAPACK, and the Hastie et al. 2019 risk against simulation."""

import math

import numpy as np
import pytest
import torch

from dimcurse.experiments.overparam.ridge import RidgePath
from dimcurse.experiments.overparam.theory import hastie_risk, minnorm_risk_exact, optimal_ridge


def _features(n, p, seed=0, dead=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g, dtype=torch.float64)
    if dead:
        x[:, :dead] = 0.0  # exactly dependent columns: the rank is p - dead
    return x, torch.randn(n, 3, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("n, p", [(60, 20), (60, 59), (60, 60), (60, 61), (60, 200)])
def test_min_norm_equals_lapack_pseudo_inverse(n, p):
    x, y = _features(n, p)
    coef = RidgePath.fit(x, y).coef()
    reference = torch.linalg.lstsq(x, y, driver="gelsd").solution
    assert torch.allclose(coef, reference, rtol=1e-8, atol=1e-10)


def test_rank_deficient_features_take_the_svd_path_and_stay_min_norm():
    x, y = _features(50, 50, dead=2)  # 48 independent columns for 50 samples: cannot interpolate
    path = RidgePath.fit(x, y)
    assert path.solver == "svd"
    coef = path.coef()
    assert torch.allclose(coef, torch.linalg.pinv(x) @ y, atol=1e-9)
    assert float(coef[:2].abs().max()) < 1e-12  # no weight on dead columns (rounding only): the minimum norm
    assert float(((x @ coef - y) ** 2).mean()) > 1e-3


@pytest.mark.parametrize("n, p", [(80, 30), (30, 80)])
@pytest.mark.parametrize("ridge", [1e-3, 0.5])
def test_ridge_matches_the_normal_equations(n, p, ridge):
    x, y = _features(n, p, seed=1)
    direct = torch.linalg.solve(x.T @ x / n + ridge * torch.eye(p, dtype=torch.float64), x.T @ y / n)
    assert torch.allclose(RidgePath.fit(x, y).coef(ridge), direct, rtol=1e-9, atol=1e-12)


def test_hastie_ridgeless_closed_form_values():
    # Theorem 1 at r^2 = 1, sigma^2 = 0.25: gamma < 1 -> s g/(1-g); gamma > 1 -> r(1-1/g) + s/(g-1).
    assert hastie_risk(0.5, 1.0, 0.25) == pytest.approx(0.25)
    assert hastie_risk(2.0, 1.0, 0.25) == pytest.approx(0.75)
    assert math.isinf(hastie_risk(1.0, 1.0, 0.25))
    assert hastie_risk(0.999, 1.0, 0.25) > 100 and hastie_risk(1.001, 1.0, 0.25) > 100


@pytest.mark.parametrize("gamma", [0.3, 0.9, 1.2, 3.0])
def test_ridge_risk_tends_to_the_ridgeless_one_and_optimal_ridge_is_best(gamma):
    ridgeless = hastie_risk(gamma, 1.0, 0.25)
    assert hastie_risk(gamma, 1.0, 0.25, 1e-7) == pytest.approx(ridgeless, rel=1e-3)
    best = optimal_ridge(gamma, 1.0, 0.25)
    at_best = hastie_risk(gamma, 1.0, 0.25, best)
    for factor in (0.3, 3.0):
        assert at_best < hastie_risk(gamma, 1.0, 0.25, best * factor)
    assert at_best < ridgeless


def test_optimal_ridge_risk_has_no_peak():
    """Nakkiran et al. 2020 / Hastie et al. Thm 6: with the optimal ridge the risk is monotone in gamma."""
    gammas = np.linspace(0.1, 5.0, 60)
    risks = [hastie_risk(g, 1.0, 0.25, optimal_ridge(g, 1.0, 0.25)) for g in gammas]
    assert np.all(np.diff(risks) > 0)


def test_ridge_risk_matches_simulation():
    """Monte Carlo at n = 400, 12 draws per point: within 4 standard errors + 3 % (finite-n bias)."""
    n, g = 400, torch.Generator().manual_seed(7)
    for p, ridge in [(200, 0.1), (800, 0.05), (400, 0.2)]:
        risks = []
        for _ in range(12):
            x = torch.randn(n, p, generator=g, dtype=torch.float64)
            beta = torch.randn(p, generator=g, dtype=torch.float64)
            beta /= beta.norm()
            y = x @ beta + 0.5 * torch.randn(n, generator=g, dtype=torch.float64)
            risks.append(float(((RidgePath.fit(x, y[:, None]).coef(ridge)[:, 0] - beta) ** 2).sum()))
        mean, se = np.mean(risks), np.std(risks, ddof=1) / np.sqrt(len(risks))
        theory = hastie_risk(p / n, 1.0, 0.25, ridge)
        assert abs(mean - theory) < 4 * se + 0.03 * theory, (p, ridge, mean, theory)


def test_exact_finite_sample_risk_tends_to_the_asymptotic_one():
    for gamma in (0.5, 2.0):
        n = 100_000
        assert minnorm_risk_exact(n, int(gamma * n), 1.0, 0.25) == pytest.approx(
            hastie_risk(gamma, 1.0, 0.25), rel=1e-3
        )
    assert math.isinf(minnorm_risk_exact(100, 100, 1.0, 0.25))


@pytest.mark.parametrize("gamma", [0.3, 0.999, 1.001, 1.2, 3.0, 10.0])
def test_ridge_risk_holds_its_digits_down_to_the_smallest_ridge(gamma):
    """The closed form has no 1/lambda and no cancellation: finite at lambda = 1e-300 and within
    1e-9 of the ridgeless value from lambda = 1e-20 (it lost every digit below 1e-8 at gamma > 1)."""
    ridgeless = hastie_risk(gamma, 1.0, 0.25)
    for ridge in (1e-20, 1e-100, 1e-300):
        assert hastie_risk(gamma, 1.0, 0.25, ridge) == pytest.approx(ridgeless, rel=1e-9)
    # against the textbook form (m from the quadratic, m' by the quotient rule) where that one is accurate
    for ridge in (1e-2, 0.1, 1.0, 10.0):
        a = 1 - gamma + ridge
        root = math.sqrt(a * a + 4 * gamma * ridge)
        m = (-a + root) / (2 * gamma * ridge)
        dm = -((-1 + (a + 2 * gamma) / root) * ridge - (-a + root)) / (2 * gamma * ridge**2)
        textbook = ridge**2 * dm + 0.25 * gamma * (m - ridge * dm)
        assert hastie_risk(gamma, 1.0, 0.25, ridge) == pytest.approx(textbook, rel=1e-10)


def test_ridge_risk_at_the_threshold_grows_as_one_over_root_lambda():
    # gamma = 1: m ~ lambda^(-1/2), so the variance term ~ sigma^2 / (2 sqrt(lambda)) (no ridgeless limit)
    for ridge in (1e-8, 1e-20, 1e-300):
        assert hastie_risk(1.0, 1.0, 0.25, ridge) * math.sqrt(ridge) == pytest.approx(0.125, rel=1e-3)


def test_noiseless_min_norm_risk_is_finite_at_the_threshold():
    # sigma = 0: p <= n recovers b exactly (risk 0); above, the unseen part r^2 (1 - n/p)
    assert minnorm_risk_exact(30, 29, 1.0, 0.0) == 0.0 and minnorm_risk_exact(30, 30, 1.0, 0.0) == 0.0
    assert minnorm_risk_exact(30, 31, 1.0, 0.0) == pytest.approx(1 / 31)
    assert math.isinf(minnorm_risk_exact(30, 30, 1.0, 0.25))
