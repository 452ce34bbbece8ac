"""Least squares past the interpolation threshold: the min-norm / ridge solver and its risk.

Solver: ``RidgePath`` decomposes once, in float64, the cheaper Gram matrix (the primal
p x p one when p < n, the dual n x n one otherwise) or, when that is too ill-conditioned,
the features themselves by SVD; it then gives the min-norm solution (ridge 0, the
pseudo-inverse) and every ridge solution from the same decomposition. The ridge is in the normalised form of Hastie et al. 2019:
minimise (1/n) ||y - X b||^2 + lambda ||b||^2.

Theory (REFERENCES §3): the asymptotic excess risk E[(x.(b_hat - b))^2] of min-norm
least squares and of ridge on isotropic Gaussian features x ~ N(0, I_p), p/n -> gamma,
||b||^2 = r^2, noise variance sigma^2 (Hastie, Montanari, Rosset & Tibshirani 2019,
Theorems 1 and 5), and the exact finite-n expectation of the min-norm risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# --------------------------------------------------------------------------- solver


GRAM_CONDITION_LIMIT = 1e8  # beyond it the Gram matrix (condition squared) would lose > half of float64's digits


@dataclass
class RidgePath:
    """Min-norm and ridge least squares of targets ``y`` (n, C) on features ``x`` (n, p), float64.

    ``coef(ridge)`` returns the (p, C) coefficients; ridge 0 is the minimum-norm
    least-squares solution (pinv(x) y), whichever side of p = n the problem is on.

    The cheaper Gram matrix is tried first (``solver`` "primal" or "dual"); it squares the
    condition number, so when its eigenvalues span more than ``GRAM_CONDITION_LIMIT``
    (near the threshold p = n, or with exactly dependent features) the solve is redone
    from the SVD of ``x`` itself ("svd", about 2-5x slower here), which resolves
    singular values down to max(s) x size x eps instead of its square root.
    """

    x: torch.Tensor
    solver: str
    eigvals: torch.Tensor  # squared singular values of x
    eigvecs: torch.Tensor  # left singular vectors (dual) or right ones (primal, svd)
    projected: torch.Tensor  # the right-hand side in that basis

    @classmethod
    def fit(cls, x: torch.Tensor, y: torch.Tensor) -> "RidgePath":
        x, y = x.double(), y.double()
        n, p = x.shape
        dual = p >= n  # the n x n Gram matrix is the smaller one: cost n^2 p instead of p^2 n
        eigvals, eigvecs = torch.linalg.eigh(x @ x.T if dual else x.T @ x)
        top = float(eigvals[-1])
        if top > 0 and float(eigvals[0]) > top / GRAM_CONDITION_LIMIT:
            projected = eigvecs.T @ (y if dual else x.T @ y)
            return cls(x, "dual" if dual else "primal", eigvals, eigvecs, projected)
        u, s, vh = torch.linalg.svd(x, full_matrices=False)
        return cls(x, "svd", s * s, vh.T, s[:, None] * (u.T @ y))

    def _inverse(self, ridge: float) -> torch.Tensor:
        """1 / (s^2 + n lambda) on the squared singular values; for lambda = 0, the pseudo-inverse's cut-off.

        Singular values below max(s) x size x eps(float64) are rounding noise of a zero
        one (the LAPACK rank rule), so they are dropped rather than inverted; from a Gram
        matrix only their squares are known, so the rule applies to those.
        """
        n = self.x.shape[0]
        s2 = self.eigvals.clamp_min(0.0)
        if ridge > 0:
            return 1.0 / (s2 + n * ridge)
        rule = max(self.x.shape) * torch.finfo(torch.float64).eps
        cutoff = float(s2.max()) * (rule * rule if self.solver == "svd" else rule)
        return torch.where(s2 > cutoff, 1.0 / s2.clamp_min(cutoff), torch.zeros_like(s2))

    def coef(self, ridge: float = 0.0) -> torch.Tensor:
        """(p, C) coefficients: x^T (x x^T + n lambda)^-1 y = (x^T x + n lambda)^-1 x^T y."""
        weighted = self.eigvecs @ (self._inverse(ridge)[:, None] * self.projected)
        return self.x.T @ weighted if self.solver == "dual" else weighted


# --------------------------------------------------------------------------- theory


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
    """The risk-minimising ridge for isotropic features, lambda* = sigma^2 gamma / r^2 (Hastie et al. 2019, Thm 6; Dobriban & Wager 2018)."""
    return noise_var * gamma / signal_var
