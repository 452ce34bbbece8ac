"""Theory of ``dimcurse overparam`` (docs/references.md, Double descent): least squares past the threshold.

The asymptotic excess risk E[(x.(b_hat - b))^2] of min-norm least squares and of ridge on
isotropic Gaussian features x ~ N(0, I_p), p/n -> gamma, ||b||^2 = r^2, noise variance
sigma^2 (Hastie, Montanari, Rosset & Tibshirani 2019, Theorems 1 and 5), the exact finite-n
expectation of the min-norm risk, and the optimal ridge.
"""

from __future__ import annotations

import math


def _ridge_terms(gamma: float, ridge: float) -> tuple[float, float]:
    """lambda^2 m'(-lambda) and m(-lambda) - lambda m'(-lambda) for the Marchenko-Pastur law of ratio gamma.

    m(-lambda) = integral of 1/(s + lambda) dF(s) solves gamma lambda m^2 + a m - 1 = 0 with
    a = 1 - gamma + lambda, so m = (-a + R) / (2 gamma lambda), R = sqrt(a^2 + 4 gamma lambda), and
    implicit differentiation gives m' = m (1 + gamma m) / R. Both terms are written without a
    difference of near-equal numbers or a 1/lambda, so they hold from lambda = 1e-300 (the
    textbook form loses every digit below lambda ~ 1e-8 for gamma > 1) to 1e300 (risk r^2)."""
    a = 1.0 - gamma + ridge
    root = math.hypot(a, 2.0 * math.sqrt(gamma * ridge))  # no overflow of a^2 at lambda = 1e300
    if a > 0:
        m = 2.0 / (a + root)  # -a + R = 4 gamma lambda / (a + R)
        bias = (ridge * m) * (ridge / root) * (1.0 + gamma * m)  # lambda m and lambda / R are O(1)
        variance = m * (root - ridge - 2.0 * gamma * ridge / (a + root)) / root
        return bias, variance
    b = -a  # gamma > 1 + lambda; u = lambda m stays O(1)
    u = (b + root) / (2.0 * gamma)
    return u * (ridge + gamma * u) / root, u * (2.0 * gamma - root - b) / ((root + b) * root)


def hastie_risk(gamma: float, signal_var: float, noise_var: float, ridge: float = 0.0) -> float:
    """Asymptotic excess risk of min-norm (ridge = 0) or ridge least squares, isotropic features.

    Ridgeless (Hastie et al. 2019, Theorem 1): sigma^2 gamma / (1 - gamma) for gamma < 1;
    r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1) for gamma > 1; infinite at gamma = 1.
    Ridge (Theorem 5): r^2 lambda^2 m'(-lambda) + sigma^2 gamma (m(-lambda) - lambda m'(-lambda)).
    """
    if gamma <= 0:
        raise ValueError("gamma must be positive")
    if ridge > 0:
        bias, variance = _ridge_terms(gamma, ridge)
        return signal_var * bias + noise_var * gamma * variance
    if gamma < 1:
        return noise_var * gamma / (1.0 - gamma)
    if gamma > 1:
        return signal_var * (1.0 - 1.0 / gamma) + noise_var / (gamma - 1.0)
    return math.inf


def minnorm_risk_exact(n: int, p: int, signal_var: float, noise_var: float) -> float:
    """Exact finite-sample E||b_hat - b||^2 of min-norm least squares, x ~ N(0, I_p), fixed ||b||^2 = r^2.

    p < n - 1: sigma^2 p / (n - p - 1) (the mean of an inverse Wishart matrix);
    p > n + 1: r^2 (1 - n/p) (the row space is a uniformly random n-plane) plus
    sigma^2 n / (p - n - 1). Infinite for |p - n| <= 1, where the mean does not exist; without
    noise it is 0 for p <= n (the fit recovers b) and r^2 (1 - n/p) above.
    """
    if noise_var == 0:
        return signal_var * (1.0 - n / p) if p > n else 0.0
    if p < n - 1:
        return noise_var * p / (n - p - 1)
    if p > n + 1:
        return signal_var * (1.0 - n / p) + noise_var * n / (p - n - 1)
    return math.inf


def optimal_ridge(gamma: float, signal_var: float, noise_var: float) -> float:
    """The risk-minimising ridge for isotropic features, lambda* = sigma^2 gamma / r^2 (Hastie et al. 2019,
    Thm 6; Dobriban & Wager 2018)."""
    return noise_var * gamma / signal_var
