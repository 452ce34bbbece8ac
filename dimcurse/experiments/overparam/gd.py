"""Gradient descent on least squares from zero, recorded over time, with its risk in closed form.

Epoch-wise double descent where it can be proved (Heckel & Yilmaz 2021; Pezeshki, Mitra,
Bengio & Lajoie 2022; docs/references.md, Double descent): the features come in groups with
their own scales, x = diag(s) z with z ~ N(0, I_p), so gradient descent learns each group at
its own speed. With the training Gram matrix G = XᵀX / n = V Λ Vᵀ and g = Xᵀy / n, the iterate
after t full-batch steps of size η from zero is exactly

    θ_t = V diag((1 − (1 − η λ_i)^t) / λ_i) Vᵀ g,

so every direction's error decays like (1 − η λ_i)^t. The excess risk is (θ_t − β)ᵀ Σ (θ_t − β),
Σ = diag(s²); its expectation over the label noise, given the inputs and β, is the squared
bias of the mean iterate plus σ²/n Σ_i f_i² λ_i (Vᵀ Σ V)_ii, f_i = (1 − (1 − η λ_i)^t) / λ_i.
Per-group step sizes η / s_g² ("equalised") are gradient descent on the rescaled features
diag(1/s) x, so the same formulas hold for them with the rescaled Gram matrix: every group is
learned at one speed, and the bump between the two speeds goes (Heckel & Yilmaz's remedy).

All of it in float64: the simulation is the iteration itself (θ ← θ − η (Gθ − g)), and the
closed form agrees with it to rounding (tests/test_gd.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from dimcurse.errors import DimcurseError
from dimcurse.runtime import generator

STEPS = ("same", "equalised")  # one step size for all features, or per-group sizes ∝ 1/scale²
LOG_RECORDS_PER_DECADE = 10  # --record-every 0: steps 0, 1 and about 10 per decade up to --steps


def feature_sd(p: int, scales: tuple[float, ...]) -> torch.Tensor:
    """Each feature's standard deviation: the scales in equal shares of the p features (the first groups
    take one more feature when p does not divide)."""
    sizes = [p // len(scales) + (g < p % len(scales)) for g in range(len(scales))]
    return torch.cat([torch.full((m,), float(s), dtype=torch.float64) for s, m in zip(scales, sizes)])


def record_steps(steps: int, every: int) -> np.ndarray:
    """The steps recorded: every ``every`` steps from 0, or (0) about 10 per decade, log-spaced, from 0."""
    if every:
        return np.unique(np.r_[np.arange(0, steps + 1, every), steps])
    grid = np.logspace(0, math.log10(max(steps, 1)), int(LOG_RECORDS_PER_DECADE * math.log10(max(steps, 10))) + 1)
    return np.unique(np.r_[0, np.round(grid).astype(int), steps])


@dataclass
class Problem:
    """One seed's regression: training and test inputs, targets, the true β and each feature's sd."""

    x: torch.Tensor  # (n, p)
    y: torch.Tensor  # (n,)
    x_test: torch.Tensor
    y_test: torch.Tensor
    beta: torch.Tensor  # (p,)
    sd: torch.Tensor  # (p,) the features' standard deviations: Σ = diag(sd²)
    noise_var: float


def draw(seed: int, n: int, n_test: int, p: int, *, scales, signal_var: float, noise_var: float) -> Problem:
    """x = diag(s) z, z ~ N(0, I_p); every group carries an equal share of the signal, s_g² ||β_g||² = r² / G,
    so a slow group is as informative as a fast one (Stephenson & Lee 2021: slow but informative features)."""
    gen = generator(seed, "linear-gd", p, *scales)
    sd = feature_sd(p, tuple(scales))
    beta = torch.randn(p, generator=gen, dtype=torch.float64)
    for scale in scales:
        group = sd == float(scale)
        share = signal_var / len(scales)
        beta[group] *= math.sqrt(share) / (beta[group] * sd[group]).norm().clamp_min(1e-300)
    x = torch.randn(n, p, generator=gen, dtype=torch.float64) * sd
    x_test = torch.randn(n_test, p, generator=gen, dtype=torch.float64) * sd
    noise = math.sqrt(noise_var)
    y = x @ beta + noise * torch.randn(n, generator=gen, dtype=torch.float64)
    y_test = x_test @ beta + noise * torch.randn(n_test, generator=gen, dtype=torch.float64)
    return Problem(x, y, x_test, y_test, beta, sd, noise_var)


@dataclass
class Path:
    """The closed form of one problem's gradient-descent path: the eigenpairs of the (rescaled) Gram matrix."""

    problem: Problem
    lam: torch.Tensor  # (r,) positive eigenvalues of A A / n, A = X diag(d)^(1/2)
    v: torch.Tensor  # (p, r)
    precondition: torch.Tensor  # (p,) d: each feature's step size relative to lr (1, or 1/s² equalised)
    lr: float

    @classmethod
    def of(cls, problem: Problem, steps: str = "same", lr: float | None = None) -> "Path":
        """The path of lr (None: 1/λ_max, the fastest stable rate without oscillation); above the stability
        limit 2/λ_max the iteration diverges, and that is refused naming --lr."""
        d = torch.ones_like(problem.sd) if steps == "same" else problem.sd**-2
        a = problem.x * d.sqrt()
        lam, v = torch.linalg.eigh(a.T @ a / a.shape[0])
        keep = lam > lam.max() * 1e-12  # the null space (p > n) never moves from zero
        lam, v = lam[keep], v[:, keep]
        top = float(lam.max())
        if lr is not None and lr >= 2 / top:
            raise DimcurseError(
                f"{lr:g} is above the stability limit 2/lambda_max = {2 / top:.4g} of this training set "
                "(gradient descent would diverge); give a smaller --lr or none (1/lambda_max)",
                "--lr",
            )
        return cls(problem, lam, v, d, 1 / top if lr is None else lr)

    def _gains(self, steps: np.ndarray) -> torch.Tensor:
        """f_i(t) = (1 − (1 − η λ_i)^t) / λ_i for every recorded t: (T, r)."""
        t = torch.as_tensor(steps, dtype=torch.float64)[:, None]
        rate = self.lr * self.lam
        # 1 - (1 - ηλ)^t without cancellation where the base is positive; the power itself where it is 0 or
        # negative (ηλ >= 1: the direction overshoots and alternates, converging while ηλ < 2)
        smooth = -torch.expm1(t * torch.log1p(-rate.clamp(max=0.5)))
        direct = 1 - torch.pow(1 - rate, t)
        return torch.where(rate < 0.5, smooth, direct) / self.lam

    def thetas(self, steps: np.ndarray) -> torch.Tensor:
        """The exact iterates θ_t, (T, p), for the problem's own noise."""
        pb = self.problem
        a = pb.x * self.precondition.sqrt()
        coef = self.v.T @ (a.T @ pb.y / a.shape[0])
        return (self._gains(steps) * coef) @ self.v.T * self.precondition.sqrt()

    def expected_excess(self, steps: np.ndarray) -> np.ndarray:
        """E over the label noise of (θ_t − β)ᵀ Σ (θ_t − β), given the inputs and β: squared bias of the mean
        iterate plus the noise's share, both exact."""
        pb = self.problem
        a = pb.x * self.precondition.sqrt()
        mean = self.v.T @ (a.T @ (pb.x @ pb.beta) / a.shape[0])
        gains = self._gains(steps)
        bias = (gains * mean) @ self.v.T * self.precondition.sqrt() - pb.beta
        c = self.v * self.precondition.sqrt()[:, None]  # θ = c φ
        h = ((c * pb.sd[:, None]) ** 2).sum(0)  # diag(cᵀ Σ c)
        variance = pb.noise_var / a.shape[0] * (gains**2 * self.lam * h).sum(1)
        return (((bias * pb.sd) ** 2).sum(1) + variance).numpy()


def simulate(paths: list[Path], steps: np.ndarray) -> torch.Tensor:
    """Gradient descent itself, every seed at once: θ ← θ − η D (Gθ − g) from zero, the iterates at the
    recorded steps, (S, T, p). The Gram matrix is formed once (p² per step instead of 2np)."""
    xs = torch.stack([p.problem.x for p in paths])
    n = xs.shape[1]
    gram, grad0 = xs.transpose(1, 2) @ xs / n, torch.stack([p.problem.x.T @ p.problem.y / n for p in paths])
    step = torch.stack([p.lr * p.precondition for p in paths])  # (S, p)
    theta = torch.zeros_like(grad0)
    out, wanted = [], set(int(s) for s in steps)
    for t in range(int(steps.max()) + 1):
        if t in wanted:
            out.append(theta.clone())
        theta = theta - step * (torch.bmm(gram, theta[:, :, None])[:, :, 0] - grad0)
    return torch.stack(out, 1)
