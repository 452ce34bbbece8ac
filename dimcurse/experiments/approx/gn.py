"""Matrix-free Gauss–Newton for shallow ReLU networks: every seed of one width at once, any size.

Levenberg–Marquardt (``lm``) factorises the P x P Gauss–Newton matrix, so its cost grows as
P³ and it stops near P = 2,500. This trainer never forms the matrix (Martens 2010,
"Deep learning via Hessian-free optimization"): each step solves

    (JᵀJ + λ D) δ = −Jᵀr,   D = diag(JᵀJ)   (Fletcher's scaling, as ``lm``)

by preconditioned conjugate gradients, whose products Jv (a forward-mode pass) and
Jᵀu (a backward pass) are written out for f(x) = Σ_u v_u relu(w_u·x + b_u) + c and cost
O(n d w) each. The preconditioner is (1 + λ) D.

Variable projection (the readout re-solved by least squares after every step, Golub &
Pereyra 1973, in its alternating form) was tried and dropped: on the teacher at d = 32,
k = 2, width 32, it stopped at rel_rmse 0.060-0.074 where LM reached 0.046-0.049 and this
trainer without it 0.043-0.049 (2 draws; docs/approx.md).

Each model keeps its own λ, its own CG scalars and its own accept/reject (Nielsen's λ
update, as ``lm``): the models share no arithmetic that mixes their numbers, so each gets
the result it would get alone (up to the order of floating-point sums inside a batched
product, which the CG iterations amplify: tests/test_gn.py).

Before the first step every unit's bias is moved so that its hyperplane passes through
one training sample (unit u through sample u): all units start active on the data, and
none starts as a dead or globally linear piece (a ReLU knot outside the data is lost to
a second-order method, which cannot move it back across an empty region).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from dimcurse.experiments.approx.lm import ROW_CHUNK_ELEMS, LMResult, Models, Record, iterate
from dimcurse.experiments.approx.lm import shallow_unpack
from dimcurse.experiments.approx.lm import mse as lm_mse
from dimcurse.nets import EXPLODE

# CG iterations per step at most (a truncated Newton step; Martens 2010 used up to 250). 20, not 60: at d = 32,
# k = 2, width 64 the median test error was 0.044 against 0.053 in 0.64x the time, at d = 8, width 512 0.0118
# against 0.0121 in 0.47x (one thread, 2026-12-07; docs/benchmarks.md): a shorter step, taken more often.
DEFAULT_CG_ITERS = 20
CG_TOL = 1e-3  # a model's CG stops once its preconditioned residual fell by this factor (in norm)


@dataclass
class _Linearised:
    """One model batch's network at the current parameters: what Jv and Jᵀu reuse within a step."""

    theta: torch.Tensor  # (S, P)
    x: torch.Tensor  # (S, n, d)
    x_t: torch.Tensor  # (S, d, n): x transposed, contiguous (both products read x along n)
    hidden: torch.Tensor  # (S, n, w): relu(pre-activations)
    dim: int
    width: int
    gated_v: torch.Tensor  # (S, n, w): 1[unit active] x the readout weights v, fixed for the step

    # Both products read the two (S, n, w) arrays once each, as an operand of a matrix product, and write no
    # array of that size: Jv = colsum([x, 1]ᵀ ⊙ ([dw1, db1]ᵀ gated_vᵀ)) + dvᵀ hiddenᵀ + dc, and
    # Jᵀu = ([x, 1]ᵀ ⊙ u) gated_v, uᵀ hidden, Σu. Written as gate ⊙ (x dw1) and xᵀ(gated_v ⊙ u) they made three
    # such arrays per product and ran 4-5x slower at d = 8, w = 512 (memory-bound); the (d + 1) x n orientation
    # of Jv's product ran 1.9x faster than n x (d + 1) there (6.5 against 12.4 ms, one thread).

    def jvp(self, delta: torch.Tensor) -> torch.Tensor:
        """J δ (S, n): the change of the outputs along δ (forward mode, written out)."""
        dw1, db1, dv, dc = shallow_unpack(delta.to(self.x.dtype), self.dim, self.width)
        weights = torch.cat([dw1, db1], 1)  # (S, d + 1, w)
        through = torch.bmm(weights, self.gated_v.transpose(1, 2))  # (S, d + 1, n)
        out = (through[:, :-1, :] * self.x_t).sum(1) + through[:, -1, :]
        return out + torch.bmm(dv[:, None, :], self.hidden.transpose(1, 2))[:, 0, :] + dc[:, None]

    def vjp(self, u: torch.Tensor) -> torch.Tensor:
        """Jᵀ u (S, P, float64): back-propagation of per-sample output weights u (S, n)."""
        u = u.to(self.x.dtype)
        scaled = torch.cat([self.x_t * u[:, None, :], u[:, None, :]], 1)  # (S, d + 1, n)
        units = torch.bmm(scaled, self.gated_v)  # (S, d + 1, w): ∂w1 rows, then ∂b1
        parts = [
            units[:, :-1, :].flatten(1),
            units[:, -1, :],
            torch.bmm(u[:, None, :], self.hidden)[:, 0, :],
            u.sum(1, keepdim=True),
        ]
        return torch.cat(parts, 1).double()

    def rows(self, window: slice) -> "_Linearised":
        """The same linearisation on a window of its samples (views: nothing is copied)."""
        return _Linearised(
            self.theta, self.x[:, window], self.x_t[:, :, window], self.hidden[:, window], self.dim, self.width,
            self.gated_v[:, window],
        )  # fmt: skip

    def gn_diagonal(self) -> torch.Tensor:
        """diag(JᵀJ) (S, P, float64): Σ_n (∂f/∂θ)², the CG preconditioner and the damping's scale."""
        gated = self.gated_v**2
        n = self.x.shape[1]
        parts = [
            torch.bmm((self.x * self.x).transpose(1, 2), gated).flatten(1),
            gated.sum(1),
            (self.hidden * self.hidden).sum(1),
            torch.full_like(gated[:, 0, :1], float(n)),
        ]
        diag = torch.cat(parts, 1).double().clamp_min(1e-30)
        return diag + 1e-10 * diag.amax(1, keepdim=True)  # a dead unit's entries: D > 0


def linearise(theta: torch.Tensor, x: torch.Tensor, dim: int, width: int) -> tuple[_Linearised, torch.Tensor]:
    """The network linearised at ``theta`` and its outputs (S, n)."""
    w1, b1, v, c = shallow_unpack(theta, dim, width)
    pre = torch.baddbmm(b1, x, w1)
    hidden = torch.relu(pre)
    out = torch.bmm(v[:, None, :], hidden.transpose(1, 2))[:, 0, :] + c[:, None]
    gated_v = (pre > 0).to(x.dtype).mul_(v[:, None, :])
    return _Linearised(theta, x, x.transpose(1, 2).contiguous(), hidden, dim, width, gated_v), out


def through_samples(theta: torch.Tensor, x: torch.Tensor, dim: int, width: int) -> torch.Tensor:
    """``theta`` with each unit's bias set so that its hyperplane w_u·x + b_u = 0 passes through
    training sample u (the samples are i.i.d. draws, so the knots follow the data's density)."""
    w1 = shallow_unpack(theta, dim, width)[0]  # (S, d, w)
    points = x[:, torch.arange(width, device=x.device) % x.shape[1], :]  # (S, w, d)
    out = theta.clone()
    out[:, dim * width : dim * width + width] = -(points * w1.transpose(1, 2)).sum(2)
    return out


def pcg(apply: Callable, rhs: torch.Tensor, precond: torch.Tensor, iters: int, tol: float = CG_TOL):
    """Preconditioned conjugate gradients for S systems A_s x_s = b_s at once, each with its own step
    lengths. A model stops (its solution frozen) once its preconditioned residual fell by ``tol`` in norm,
    so it gets the iterations it would get alone; all stop after ``iters``. Returns the solution and the
    iterations run."""
    sol = torch.zeros_like(rhs)
    resid = rhs.clone()
    z = resid / precond
    direction = z.clone()
    rz = (resid * z).sum(1)
    target = tol**2 * rz
    active = rz > 0
    done = 0
    for done in range(1, iters + 1):
        a_dir = apply(direction)
        curv = (direction * a_dir).sum(1)
        step = torch.where(active & (curv > 0), rz / curv.clamp_min(1e-300), torch.zeros_like(rz))
        sol += step[:, None] * direction
        resid -= step[:, None] * a_dir
        z = resid / precond
        rz_new = (resid * z).sum(1)
        active &= (rz_new > target) & (curv > 0)
        if not bool(active.any()):
            break
        direction = z + (rz_new / rz.clamp_min(1e-300))[:, None] * direction
        rz = rz_new
    return sol, done


def gn_step(
    lin: _Linearised, resid: torch.Tensor, lam: torch.Tensor, cg_iters: int, tol: float = CG_TOL, *,
    window: slice | None = None,
):  # fmt: skip
    """The damped Gauss–Newton step of every model, and the decrease of the mean squared error it predicts.

    The gradient Jᵀr always sums over every sample; ``window`` restricts the curvature JᵀJ (and its diagonal)
    to those samples, scaled up to all n, as LM's ``rows``: a cheaper matrix changes the step, never the fixed
    point, and the accept/reject test on the whole loss keeps every accepted step a descent."""
    n = resid.shape[1]
    grad = lin.vjp(resid)
    curv = lin if window is None else lin.rows(window)
    scale = n / curv.x.shape[1]
    diag = scale * curv.gn_diagonal()

    def apply(p):
        return scale * curv.vjp(curv.jvp(p)) + lam[:, None] * diag * p

    delta, iters = pcg(apply, -grad, (1 + lam)[:, None] * diag, cg_iters, tol)
    jd = curv.jvp(delta).double()
    # Predicted decrease of the mean square: −(2 gᵀδ + δᵀJᵀJδ) / n, the curvature from the window.
    predicted = -(2 * (grad * delta).sum(1) + scale * (jd * jd).sum(1)) / n
    return delta, predicted, iters


def train_gn(
    theta: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    dim: int,
    width: int,
    iters: int,
    *,
    cg_iters: int = DEFAULT_CG_ITERS,
    rows: int | None = None,
    lam0: float = 1e-3,
    explode: float = EXPLODE,
    tol: float = 0.0,
    held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: Callable[[float], None] | None = None,
    record: Record | None = None,
) -> LMResult:
    """At most ``iters`` damped Gauss–Newton steps for S independent shallow ReLU networks of one width.

    ``theta`` (S, P) in the model dtype, laid out like ``lm.shallow_unpack``; ``x`` (S, n, d);
    ``y`` (S, n) standardised; ``rows``: samples in the curvature products (a window moved on at every step,
    as LM's; None = all): CG's products cost O(rows P) where the gradient's costs O(n P). A model whose loss
    turns non-finite or exceeds ``explode`` x its initial loss is flagged diverged and frozen. ``tol``,
    ``held_out``, ``record`` and ``progress`` as in ``lm.train_lm``: a model that converged stops, and only the
    running ones are linearised and solved.
    """
    S = theta.shape[0]
    chunk = max(1, ROW_CHUNK_ELEMS // max(1, S * width))  # samples per block of the loss's forward pass
    models = Models(
        through_samples(theta, x, dim, width), x, y, dim, width, iters, chunk=chunk, lam0=lam0, explode=explode,
        tol=tol, held_out=held_out, progress=progress,
    )  # fmt: skip

    n = x.shape[1]
    m = n if rows is None else max(1, min(n, rows))
    moved = {"start": 0}

    def step(idx: torch.Tensor) -> None:
        lin, out = linearise(models.theta[idx], x[idx], dim, width)
        start = moved["start"] % (n - m + 1)
        window = None if m == n else slice(start, start + m)
        moved["start"] += m
        delta, predicted, _ = gn_step(lin, out.double() - y[idx].double(), models.lam[idx], cg_iters, window=window)
        candidate = models.theta[idx] + delta.to(theta.dtype)
        new = lm_mse(candidate, x[idx], y[idx], dim, width, chunk)
        # A model whose every step is rejected (λ at its cap) has stopped at its best loss: frozen, not diverged.
        models.step(idx, candidate, new, predicted, torch.ones_like(new, dtype=torch.bool))

    iterate(models, iters, step, record)
    theta, loss = models.theta, models.loss
    decrement = gn_decrement(theta, x, y, dim, width, cg_iters=cg_iters) if iters else torch.full_like(loss, math.nan)
    return models.result(decrement)


def gn_decrement(theta, x, y, dim, width, *, cg_iters: int = DEFAULT_CG_ITERS, damping: float = 1e-8) -> torch.Tensor:
    """The share of the loss a nearly undamped Gauss–Newton step still predicts it can remove,
    gᵀ(JᵀJ + λD)⁻¹g / (n L), by the same CG (a lower bound: truncated CG under-solves)."""
    lin, out = linearise(theta, x, dim, width)
    resid = out.double() - y.double()
    loss = (resid**2).mean(1)
    lam = torch.full_like(loss, damping)
    predicted = gn_step(lin, resid, lam, cg_iters)[1]
    return (predicted / loss.clamp_min(1e-300)).clamp(0, 1)


def step_bytes(n_seeds: int, n_samples: int, width: int, params: int, itemsize: int) -> int:
    """Peak bytes of one step: the gate, gate x v, hidden and CG-product activations (S x n x w, about six of
    them in the model dtype) and a handful of (S, P) float64 vectors."""
    return n_seeds * (6 * n_samples * width * itemsize + 12 * params * 8)
