"""Batched Levenberg–Marquardt for the squared loss of shallow networks: every width x seed at once.

The models share no parameters, so the Gauss–Newton system of the summed loss is
block-diagonal: one damped solve per model (docs/references.md, Approximation; fabiodimarco/torch-levenberg-
marquardt; Michaud, Liu & Tegmark 2023 on second-order training reaching the
approximation regime). For the models of one width (one per seed) the step is

    primal (n >= P):  (JᵀJ + λ D) δ = −Jᵀr,   D = diag(JᵀJ)   (Fletcher's scaling)
    dual   (n <  P):  δ = −Jᵀ (JJᵀ + λ I)⁻¹ r

solved by a batched Cholesky factorisation in float64. Each model keeps its own λ and
its own accept/reject (Nielsen 1999's update of λ from the gain ratio ρ = actual /
predicted decrease), so a model that has converged, or diverged, never slows or
disturbs the others.

The Jacobian of the shallow network f(x) = Σ_u v_u relu(w_u·x + b_u) + c is written
out by hand (∂f/∂w_u = v_u 1[a_u > 0] x, ∂f/∂b_u = v_u 1[a_u > 0], ∂f/∂v_u = relu(a_u),
∂f/∂c = 1) and accumulated into JᵀJ in row chunks, so memory is S·P² for the matrix
and S·chunk·P for one block of J. The matrix is accumulated in the model's dtype (a
float32 matrix only changes the step, not the fixed point); the gradient Jᵀr, the
losses and the solve are float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch

from dimcurse import memory
from dimcurse.experiments.approx.convergence import Course
from dimcurse.nets import EXPLODE, exploded

ROW_CHUNK_ELEMS = 1 << 22  # elements of one block of samples for losses and gradients (16 MiB in float32)
GRAM_CHUNK_ELEMS = 1 << 25  # elements of one Jacobian block for JᵀJ (128 MiB in float32): long blocks keep
# the product near the machine's matmul rate (blocks of 642 rows ran 1.4x slower at P = 2177)


@dataclass
class LMResult:
    """Per-model outcome for the models of one width: (S,) arrays."""

    theta: torch.Tensor  # (S, P) final parameters
    loss: np.ndarray  # final mean squared error (standardised targets)
    loss_at_80: np.ndarray  # the loss after 80 % of the model's iterations (still falling = not converged)
    decrement: np.ndarray  # Gauss–Newton relative decrease still predicted at the end: gᵀ(JᵀJ)⁻¹g / (n L)
    diverged: np.ndarray  # bool
    accepted: np.ndarray  # accepted steps per model
    iters: np.ndarray | None = None  # iterations each model ran (its cap, or where it converged)
    converged: np.ndarray | None = None  # bool: met convergence.Course's rule before the cap
    held_at_half: np.ndarray | None = None  # held-out MSE halfway through the model's iterations (or NaN)
    held_final: np.ndarray | None = None  # held-out MSE at the end (or NaN)

    @classmethod
    def of(cls, theta, loss, decrement, alive, accepted, course: Course) -> "LMResult":
        """From a trainer's final tensors (on any device); ``alive`` is the complement of diverged."""
        arrays = [t.cpu().numpy() for t in (loss, decrement, ~alive, accepted)]
        loss, decrement, diverged, accepted = arrays
        return cls(
            theta, loss, course.loss_at_80(), decrement, diverged, accepted,
            iters=course.stop.cpu().numpy(), converged=course.done.cpu().numpy() & ~diverged,
            held_at_half=course.held_at_half(), held_final=course.held_final(),
        )  # fmt: skip


class Ticker:
    """A trainer's progress: each iteration reports the share of the batch's models still running, over the
    cap; what the models that stopped early leave is reported at the end, so one call sums to 1."""

    def __init__(self, progress: Callable[[float], None] | None, n_models: int, cap: int):
        self.progress, self.unit, self.given = progress, 1.0 / max(1, n_models * cap), 0.0

    def tick(self, running: int) -> None:
        if self.progress is not None and running:
            self.given += running * self.unit
            self.progress(running * self.unit)

    def finish(self) -> None:
        if self.progress is not None and self.given < 1.0:
            self.progress(1.0 - self.given)
        self.given = 1.0


def held_mse(theta, held_out, dim: int, width: int, chunk: int) -> torch.Tensor | None:
    """MSE per model on the held-out pair (x, y) (standardised targets), or None without one."""
    if held_out is None:
        return None
    x, y = held_out
    return mse(theta, x, y, dim, width, chunk)


class Models:
    """The per-model state both second-order trainers (LM, Gauss–Newton) keep for S models of one width: the
    parameters, the loss, the damping, the accept/reject record, the convergence course and the progress.
    Each model keeps its own λ and accept/reject (Nielsen 1999), so none slows or disturbs the others."""

    def __init__(self, theta, x, y, dim: int, width: int, iters: int, *, chunk, lam0, explode, tol, held_out, progress):
        S, dev = theta.shape[0], x.device
        self.theta, self.dim, self.width, self.chunk, self.explode = theta, dim, width, chunk, explode
        self.lam = torch.full((S,), lam0, dtype=torch.float64, device=dev)
        self.nu = torch.full((S,), 2.0, dtype=torch.float64, device=dev)
        self.loss = mse(theta, x, y, dim, width, chunk)
        self.initial = self.loss.clone()
        self.alive = torch.isfinite(self.loss)
        self.accepted = torch.zeros(S, dtype=torch.long, device=dev)
        self.held_out = held_out
        self.held = held_mse(theta, held_out, dim, width, chunk)
        self.course = Course(self.loss, iters, tol, self.held)
        self.ticker = Ticker(progress, S, iters)

    def running(self) -> torch.Tensor:
        """Indices of the models still training (neither converged nor diverged)."""
        return (self.alive & ~self.course.done).nonzero()[:, 0]

    def step(self, idx, candidate, new, predicted, ok) -> torch.Tensor:
        """Accept the candidates of models ``idx`` that lowered the loss (and ``ok``); update each λ from its
        gain ratio; flag the models whose loss exploded. ``predicted``: the decrease of the mean square the
        step promised. Returns the accepted mask."""
        gain = (self.loss[idx] - new) / predicted.clamp_min(1e-300)
        ok = ok & torch.isfinite(new) & (new < self.loss[idx])
        self.theta[idx] = torch.where(ok[:, None], candidate, self.theta[idx])
        self.loss[idx] = torch.where(ok, new, self.loss[idx])
        self.accepted[idx] += ok.long()
        self.lam[idx], self.nu[idx] = nielsen(ok, gain, self.lam[idx], self.nu[idx])
        self.alive[idx] &= ~exploded(self.loss[idx], self.initial[idx], self.explode, floor=1e-30)
        return ok

    def end_iteration(self, t: int, idx) -> None:
        """After iteration t: the held-out loss of the models that moved, the course, and the progress."""
        if self.held is not None:
            x, y = self.held_out
            self.held[idx] = held_mse(self.theta[idx], (x[idx], y[idx]), self.dim, self.width, self.chunk)
        self.course.record(t, self.loss, self.held)
        self.course.settle(t, self.alive & ~self.course.done)
        self.ticker.tick(len(idx))

    def result(self, decrement: torch.Tensor) -> LMResult:
        self.ticker.finish()
        return LMResult.of(self.theta, self.loss, decrement, self.alive, self.accepted, self.course)


def shallow_unpack(theta: torch.Tensor, dim: int, width: int):
    """Flat parameters (S, P), P = d w + 2 w + 1, as (w1 (S, d, w), b1 (S, 1, w), v (S, w), c (S,))."""
    S = theta.shape[0]
    dw = dim * width
    w1 = theta[:, :dw].reshape(S, dim, width)
    b1 = theta[:, dw : dw + width].reshape(S, 1, width)
    v = theta[:, dw + width : dw + 2 * width]
    return w1, b1, v, theta[:, -1]


def forward(theta, x, dim, width):
    w1, b1, v, c = shallow_unpack(theta, dim, width)
    pre = torch.baddbmm(b1, x, w1)
    hidden = torch.relu(pre)
    # vᵀhᵀ rather than h v: the same numbers, 9x faster on the CPU at n = 17,416, w = 64 (a GEMV's orientation)
    return pre, hidden, torch.bmm(v[:, None, :], hidden.transpose(1, 2))[:, 0, :] + c[:, None]


def jacobian(theta, x, dim, width):
    """Outputs (S, n) and the Jacobian (S, n, P) of one block of samples, laid out like ``shallow_unpack``."""
    v = shallow_unpack(theta, dim, width)[2]
    pre, hidden, out = forward(theta, x, dim, width)
    gate = (pre > 0).to(x.dtype) * v[:, None, :]  # ∂f/∂b_u
    S, n, d = x.shape
    dw1 = (x[:, :, :, None] * gate[:, :, None, :]).reshape(S, n, d * width)  # ∂f/∂w1[i, u], row-major (d, w)
    return out, torch.cat([dw1, gate, hidden, torch.ones(S, n, 1, dtype=x.dtype, device=x.device)], 2)


def mse(theta, x, y, dim, width, chunk: int) -> torch.Tensor:
    """Mean squared error per model (S,), float64, in sample chunks."""
    total = torch.zeros(theta.shape[0], dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[1], chunk):
        out = forward(theta, x[:, start : start + chunk], dim, width)[2]
        total += ((out.double() - y[:, start : start + chunk].double()) ** 2).sum(1)
    return total / x.shape[1]


def gradient(theta, x, y, dim, width, chunk: int) -> torch.Tensor:
    """Jᵀr (S, P, float64) by back-propagation, without forming J: the residual r = f - y and the gate
    1(a > 0) v give ∂w1 = xᵀ(gate ⊙ r), ∂b1 = Σ gate ⊙ r, ∂v = relu(a)ᵀ r, ∂c = Σ r."""
    parts = []
    v = shallow_unpack(theta, dim, width)[2].double()
    for start in range(0, x.shape[1], chunk):
        pre, hidden, out = forward(theta, x[:, start : start + chunk], dim, width)
        resid = (out.double() - y[:, start : start + chunk].double())[:, :, None]
        gated = (pre > 0).double() * v[:, None, :] * resid
        xs = x[:, start : start + chunk].double()
        parts.append(
            torch.cat(
                [
                    torch.bmm(xs.transpose(1, 2), gated).flatten(1),
                    gated.sum(1),
                    (hidden.double() * resid).sum(1),
                    resid.sum(1),
                ],
                1,
            )
        )
    return torch.stack(parts).sum(0)


SYMMETRIC_FROM = 256  # from this P on, JᵀJ is built from three of its four blocks


def _add_gram(gram: torch.Tensor, jac: torch.Tensor, half: int) -> None:
    """gram += jacᵀ jac. With ``half`` > 0 only the blocks on and above the diagonal of the 2 x 2 split are
    computed (JᵀJ is symmetric: 3/4 of the products; measured 1.4x faster at P = 2177); the caller mirrors
    the upper block at the end."""
    if not half:
        gram.baddbmm_(jac.transpose(1, 2), jac)
        return
    left, right = jac[:, :, :half], jac[:, :, half:]
    gram[:, :half, :half].baddbmm_(left.transpose(1, 2), left)
    gram[:, :half, half:].baddbmm_(left.transpose(1, 2), right)
    gram[:, half:, half:].baddbmm_(right.transpose(1, 2), right)


def normal_equations(theta, x, y, dim, width, chunk: int, *, rows: slice | None = None):
    """JᵀJ (S, P, P, in the model's dtype) and Jᵀr (S, P, float64).

    The gradient always uses every sample; ``rows`` restricts the matrix to a window of
    samples (scaled up to all n): a cheaper Gauss–Newton matrix changes the step, never
    the fixed point, and the accept/reject test keeps every accepted step a descent. The
    matrix is accumulated in row blocks of J in the model's dtype.
    """
    S, P = theta.shape
    n = x.shape[1]
    rows = rows or slice(0, n)
    gram = torch.zeros(S, P, P, dtype=x.dtype, device=x.device)
    block = max(chunk, GRAM_CHUNK_ELEMS // max(1, S * P))
    half = P // 2 if P >= SYMMETRIC_FROM else 0
    for start in range(rows.start, rows.stop, block):
        jac = jacobian(theta, x[:, start : min(rows.stop, start + block)], dim, width)[1]
        _add_gram(gram, jac, half)
    if half:
        gram[:, half:, :half] = gram[:, :half, half:].transpose(1, 2)
    gram *= n / (rows.stop - rows.start)
    return gram, gradient(theta, x, y, dim, width, chunk)


def dual_system(theta, x, y, dim, width):
    """The whole Jacobian (S, n, P, float64) and residuals (S, n) for the dual step (n < P: J is small)."""
    out, jac = jacobian(theta, x, dim, width)
    return jac.double(), out.double() - y.double()


def step_bytes(n_seeds: int, n_samples: int, params: int, itemsize: int) -> int:
    """Peak bytes of one LM step for one width: the primal P x P systems (matrix, damped copy and factor,
    float64, plus the accumulator in the model dtype) or the dual n x n ones with the whole J."""
    if n_samples >= params:
        return n_seeds * params * params * (3 * 8 + itemsize)
    return n_seeds * (n_samples * params * (8 + itemsize) + 3 * n_samples * n_samples * 8)


def solve_primal(gram, grad, lam):
    """The damped step from the normal equations, factorised in the matrix's dtype.

    A float32 factorisation (3x faster here than float64 at P = 2177) only makes the step
    less exact; a factorisation that fails counts as a rejected step (λ grows). The
    predicted decrease, which decides acceptance with the float64 losses, is float64.
    """
    diag = torch.diagonal(gram, dim1=1, dim2=2).clamp_min(1e-30)
    floor = (1e-12 if gram.dtype == torch.float64 else 1e-6) * diag.amax(1, keepdim=True)  # dead units: D > 0
    damped = gram + torch.diag_embed(lam.to(gram.dtype)[:, None] * diag + floor)
    factor, info = torch.linalg.cholesky_ex(damped)
    delta = -torch.cholesky_solve(grad.to(gram.dtype)[:, :, None], factor)[:, :, 0].double()
    # Predicted decrease of the sum of squares: −(2 gᵀδ + δᵀ JᵀJ δ).
    curvature = torch.bmm(gram, delta.to(gram.dtype)[:, :, None])[:, :, 0].double()
    predicted = -(2 * (grad * delta).sum(1) + (delta * curvature).sum(1))
    return delta, predicted, info


def solve_dual(jac, resid, lam):
    kernel = torch.bmm(jac, jac.transpose(1, 2))
    scale = torch.diagonal(kernel, dim1=1, dim2=2).mean(1).clamp_min(1e-30)
    eye = torch.eye(kernel.shape[1], dtype=kernel.dtype, device=kernel.device)
    factor, info = torch.linalg.cholesky_ex(kernel + (lam * scale)[:, None, None] * eye)
    alpha = torch.cholesky_solve(resid[:, :, None], factor)
    delta = -torch.bmm(jac.transpose(1, 2), alpha)[:, :, 0]
    jd = torch.bmm(jac, delta[:, :, None])[:, :, 0]
    predicted = (resid**2).sum(1) - ((resid + jd) ** 2).sum(1)
    return delta, predicted, info


def nielsen(ok: torch.Tensor, gain: torch.Tensor, lam: torch.Tensor, nu: torch.Tensor):
    """Nielsen 1999's damping update per model: after an accepted step shrink λ by up to 3x as the gain ratio
    ρ nears 1 (λ ← λ max(1/3, 1 − (2ρ − 1)³), ν ← 2); after a rejected one λ ← λ ν, ν ← 2ν."""
    lam = torch.where(ok, lam * torch.clamp(1 - (2 * gain - 1) ** 3, min=1 / 3), lam * nu).clamp(1e-15, 1e15)
    nu = torch.where(ok, torch.full_like(nu, 2.0), (nu * 2).clamp(max=1e6))
    return lam, nu


def train_lm(
    theta: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    dim: int,
    width: int,
    iters: int,
    *,
    rows: int | None = None,
    lam0: float = 1e-3,
    explode: float = EXPLODE,
    tol: float = 0.0,
    held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: Callable[[float], None] | None = None,
    record: Record | None = None,
) -> LMResult:
    """At most ``iters`` Levenberg–Marquardt iterations for S independent shallow networks of one width.

    ``theta`` (S, P) in the model dtype; ``x`` (S, n, d); ``y`` (S, n) standardised;
    ``rows``: samples in the Gauss–Newton matrix (a window moved on at each rebuild;
    None = all). ``tol`` > 0: a model stops once its loss fell by less than ``tol`` over the
    last fifth of its iterations (``convergence.Course``); the others go on without it, and
    only the running models' systems are built and solved. ``held_out`` = (x, y standardised):
    its loss is recorded for the flag that reads it (never for training).
    An iteration rebuilds the normal equations only if some model accepted its last
    step; a rejected model raises its λ (λ ← λ ν, ν ← 2ν) and solves again. A model
    whose loss turns non-finite or exceeds ``explode`` x its initial loss, or whose
    factorisation fails at the largest λ, is flagged diverged and frozen.
    ``record``: the training curves' hook (``Record``).
    """
    S, P = theta.shape
    n = x.shape[1]
    dual = n < P
    chunk = max(1, ROW_CHUNK_ELEMS // max(1, S * P))
    models = Models(
        theta.clone(), x, y, dim, width, iters, chunk=chunk, lam0=lam0, explode=explode, tol=tol, held_out=held_out,
        progress=progress,
    )  # fmt: skip
    m = n if rows is None else max(1, min(n, rows))
    cache = {"system": None, "built_for": None, "window": 0}

    def step(idx: torch.Tensor) -> None:
        system, built_for = cache["system"], cache["built_for"]
        if system is None or not torch.equal(built_for, idx):
            if system is not None and set(idx.tolist()) <= set(built_for.tolist()):
                # Models left (converged or diverged) and nobody moved: the others' systems stay valid.
                system = tuple(part[torch.searchsorted(built_for, idx)] for part in system)
            else:
                th = models.theta[idx]
                system = _system(th, x[idx], y[idx], dim, width, chunk, dual=dual, window=cache["window"], m=m)
                cache["window"] += m
            cache["system"], cache["built_for"] = system, idx
        delta, predicted, info = (solve_dual if dual else solve_primal)(*system, models.lam[idx])
        solved = (info == 0) & torch.isfinite(delta).all(1)
        delta = torch.where(solved[:, None], delta, torch.zeros_like(delta))
        candidate = models.theta[idx] + delta.to(theta.dtype)
        new = mse(candidate, x[idx], y[idx], dim, width, chunk)
        ok = models.step(idx, candidate, new, predicted / n, solved)
        models.alive[idx] &= ~((models.lam[idx] >= 1e15) & ~solved)  # no factorisation at the largest λ
        if bool((ok & models.alive[idx]).any()):
            cache["system"] = None  # a model moved: rebuild (the row window moves on)

    iterate(models, iters, step, record)
    loss = models.loss
    decrement = (
        _decrement(models.theta, x, y, dim, width, chunk, loss=loss, dual=dual, rows=slice(0, m))
        if iters
        else torch.full_like(loss, float("nan"))
    )
    return models.result(decrement)


class Record(NamedTuple):
    """Training curves' hook: ``call(iteration, theta)`` before the first iteration, every ``every`` and after
    the last (the Adam trainer's takes the step count only)."""

    every: int
    call: Callable


def iterate(models: Models, iters: int, step: Callable[[torch.Tensor], None], record: Record | None) -> None:
    """The damped iteration LM and Gauss–Newton share: at most ``iters`` times, ``step(idx)`` proposes a step
    for the running models and hands it to ``models.step`` (accepted or rejected per model, its damping
    adapted); a model that converged or diverged leaves ``idx``; the curves are recorded on the way."""
    for it in range(iters):
        if record is not None and it % record.every == 0:
            record.call(it, models.theta)
        idx = models.running()
        if not len(idx):
            break
        step(idx)
        models.end_iteration(it + 1, idx)
    if record is not None:
        record.call(last_iteration(models.course, models.alive), models.theta)


def last_iteration(course: Course, alive: torch.Tensor) -> int:
    """The last iteration any model that did not diverge ran (the curves' final record)."""
    return int(course.stop[alive].max()) if bool(alive.any()) else course.cap


def _system(theta, x, y, dim, width, chunk, *, dual: bool, window: int, m: int):
    """The step's system for these models: the dual one (J, r), or the normal equations from the row window
    that starts at ``window`` (wrapped)."""
    if dual:
        return dual_system(theta, x, y, dim, width)
    n = x.shape[1]
    start = window % (n - m + 1)
    return normal_equations(theta, x, y, dim, width, chunk, rows=slice(start, start + m))


def decrement(
    theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, dim: int, width: int, rows: int | None = None
) -> np.ndarray:
    """The Gauss–Newton decrement (below) of models trained by any optimiser, (S,); the matrix from the
    first ``rows`` samples (None: all)."""
    chunk = max(1, ROW_CHUNK_ELEMS // max(1, theta.numel()))
    loss = mse(theta, x, y, dim, width, chunk)
    window = slice(0, min(x.shape[1], rows or x.shape[1]))
    return (
        _decrement(theta, x, y, dim, width, chunk, loss=loss, dual=x.shape[1] < theta.shape[1], rows=window)
        .cpu()
        .numpy()
    )


def _decrement(theta, x, y, dim, width, chunk, *, loss, dual, rows: slice) -> torch.Tensor:
    """Relative decrease a nearly undamped Gauss–Newton step still predicts,
    gᵀ(JᵀJ + λ D)⁻¹g / (n L), λ = 1e-8
    (or 1e-6, 1e-4 where that factorisation fails).

    Near a minimum of the model class it is ~0; a large value means the optimiser stopped
    short (the diagnostic for an optimisation-limited point, whatever the trainer).
    """
    n = x.shape[1]
    system = (
        dual_system(theta, x, y, dim, width) if dual else normal_equations(theta, x, y, dim, width, chunk, rows=rows)
    )
    rel = torch.full_like(loss, float("nan"))
    for damping in (1e-8, 1e-6, 1e-4):  # the least damping whose factorisation succeeds
        _, predicted, info = (solve_dual if dual else solve_primal)(*system, torch.full_like(loss, damping))
        fill = torch.isnan(rel) & (info == 0)
        rel = torch.where(fill, ((predicted / n) / loss.clamp_min(1e-300)).clamp(0, 1), rel)
    return rel


def check_fits(n_seeds: int, n_samples: int, params: int, itemsize: int, device) -> bool:
    """Whether one LM step of this size fits 90 % of the memory available."""
    need = step_bytes(n_seeds, n_samples, params, itemsize)
    return need <= memory.HEADROOM * memory.available_bytes(device)


def require_fits(n_seeds: int, n_samples: int, params: int, itemsize: int, device) -> None:
    """Refuse, before allocation, an LM step that would not fit (the option to lower is --widths)."""
    need = step_bytes(n_seeds, n_samples, params, itemsize)
    memory.require(need, f"a Levenberg–Marquardt step for {params} parameters", "--widths", device)
