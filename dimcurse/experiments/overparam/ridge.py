"""Least squares past the interpolation threshold: the min-norm / ridge solver and its risk.

Solver: ``RidgePath`` decomposes once, in float64, the cheaper Gram matrix (the primal
p x p one when p < n, the dual n x n one otherwise) or, when that is too ill-conditioned,
the features themselves by SVD; it then gives the min-norm solution (ridge 0, the
pseudo-inverse) and every ridge solution from the same decomposition. The ridge is in the normalised
form of Hastie et al. 2019:
minimise (1/n) ||y - X b||^2 + lambda ||b||^2.

Its risk in closed form is in ``theory``.
"""

from __future__ import annotations

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
