"""approx's batched regressors: shallow, deep and tree networks of many widths x seeds as one computation,
and their Adam and LBFGS trainers (LM and Gauss–Newton are in lm.py and gn.py).

The models share no parameters, so with Adam (elementwise) on the summed loss each trains exactly as it
would alone (docs/references.md, Approximation); LBFGS, whose line search would couple them, is run one
model at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from dimcurse.errors import DimcurseError
from dimcurse.nets import EXPLODE, drop_models, exploded, get_activation, nonfinite_models, sample_chunk, uniform_init


def shallow_params(dim: int, width: int) -> int:
    """Parameters of a one-hidden-layer network: (d + 1) w in the hidden layer, w + 1 in the readout."""
    return (dim + 1) * width + width + 1


class Shallow(torch.nn.Module):
    """One hidden layer per model; all models' hidden units concatenated into one layer.

    Hidden layer: (S, n, d) @ (S, d, sum w) in one batched product; readout: a per-unit
    weight masked by a one-hot unit -> model matrix, so each model sums only its own
    units (a dense product: faster here than a segment sum).
    """

    def __init__(self, seeds, dim: int, widths, activation: str, depth: int = 1, dtype=torch.float32):
        super().__init__()
        self.act, self.widths = get_activation(activation), list(widths)
        offsets = np.cumsum([0] + self.widths)
        self.blocks = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
        w1, b1, v, c = [], [], [], []
        for s in seeds:

            def stream(w, part):
                return (s, "shallow", dim, w, part)

            w1.append(torch.cat([uniform_init((dim, w), 1 / math.sqrt(dim), *stream(w, "w1")) for w in self.widths], 1))
            b1.append(torch.cat([uniform_init((1, w), 1 / math.sqrt(dim), *stream(w, "b1")) for w in self.widths], 1))
            v.append(torch.cat([uniform_init((w,), 1 / math.sqrt(w), *stream(w, "v")) for w in self.widths]))
            c.append(torch.cat([uniform_init((1, 1), 1 / math.sqrt(w), *stream(w, "c")) for w in self.widths], 1))

        def as_param(parts):
            return torch.nn.Parameter(torch.stack(parts).to(dtype))

        self.w1, self.b1, self.v, self.c = as_param(w1), as_param(b1), as_param(v), as_param(c)
        onehot = torch.zeros(int(offsets[-1]), len(self.widths), dtype=dtype)
        for j, block in enumerate(self.blocks):
            onehot[block, j] = 1.0
        self.register_buffer("onehot", onehot)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.act(torch.baddbmm(self.b1, x, self.w1))
        return torch.baddbmm(self.c, hidden, self.v[:, :, None] * self.onehot)

    def params_per_model(self, dim: int) -> list[int]:
        return [shallow_params(dim, w) for w in self.widths]

    def hidden_units(self) -> int:
        """Activations per sample and seed in one forward pass (sizes the sample chunk)."""
        return sum(self.widths)

    def model_slices(self, s: int, j: int):
        block = self.blocks[j]
        return [
            (self.w1, (s, slice(None), block)),
            (self.b1, (s, slice(None), block)),
            (self.v, (s, block)),
            (self.c, (s, slice(None), j)),
        ]

    def flat(self, j: int) -> torch.Tensor:
        """Width j's parameters of every seed as one (S, P) tensor: w1 (d, w) row-major, b1, v, c (``lm``'s layout)."""
        block, S = self.blocks[j], self.w1.shape[0]
        parts = [self.w1[:, :, block].reshape(S, -1), self.b1[:, 0, block], self.v[:, block], self.c[:, 0, j : j + 1]]
        return torch.cat([p.detach() for p in parts], 1)

    def load_flat(self, j: int, theta: torch.Tensor) -> None:
        """Write width j's (S, P) parameters back (the inverse of ``flat``)."""
        block, (S, dim) = self.blocks[j], self.w1.shape[:2]
        width = block.stop - block.start
        dw = dim * width
        with torch.no_grad():
            self.w1[:, :, block] = theta[:, :dw].reshape(S, dim, width)
            self.b1[:, 0, block] = theta[:, dw : dw + width]
            self.v[:, block] = theta[:, dw + width : dw + 2 * width]
            self.c[:, 0, j] = theta[:, -1]


class Deep(torch.nn.Module):
    """``depth`` hidden layers of width w per model; seeds batched, widths looped."""

    def __init__(self, seeds, dim: int, widths, activation: str, depth: int = 3, dtype=torch.float32):
        super().__init__()
        self.act, self.widths, self.depth = get_activation(activation), list(widths), depth
        self.layers = torch.nn.ParameterList()
        for w in self.widths:
            sizes = [dim] + [w] * depth + [1]
            for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                bound = 1 / math.sqrt(fan_in)
                weight = torch.stack(
                    [uniform_init((fan_in, fan_out), bound, s, "deep", dim, w, depth, layer, "w") for s in seeds]
                )
                bias = torch.stack(
                    [uniform_init((1, fan_out), bound, s, "deep", dim, w, depth, layer, "b") for s in seeds]
                )
                self.layers.append(torch.nn.Parameter(weight.to(dtype)))
                self.layers.append(torch.nn.Parameter(bias.to(dtype)))

    def _model(self, j: int):
        per = 2 * (self.depth + 1)
        return self.layers[j * per : (j + 1) * per]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for j in range(len(self.widths)):
            params = self._model(j)
            h = x
            for layer in range(self.depth + 1):
                h = torch.baddbmm(params[2 * layer + 1], h, params[2 * layer])
                if layer < self.depth:
                    h = self.act(h)
            outs.append(h)
        return torch.cat(outs, dim=2)

    def params_per_model(self, dim: int) -> list[int]:
        return [(dim + 1) * w + (self.depth - 1) * (w + 1) * w + w + 1 for w in self.widths]

    def hidden_units(self) -> int:
        return self.depth * max(self.widths)

    def model_slices(self, s: int, j: int):
        return [(p, (s,)) for p in self._model(j)]


class Tree(torch.nn.Module):
    """A locally connected binary tree: each node a 2 -> w -> 1 network of its two children.

    Level l has d / 2^(l+1) nodes; inputs are paired (x1, x2), (x3, x4), ... as in the
    tree targets. Needs d a power of 2 (d >= 2).
    """

    def __init__(self, seeds, dim: int, widths, activation: str, depth: int = 1, dtype=torch.float32):
        super().__init__()
        if dim < 2 or dim & (dim - 1):
            raise DimcurseError(f"the tree architecture needs d a power of 2, got {dim}", "--arch")
        self.act, self.widths, self.levels = get_activation(activation), list(widths), int(math.log2(dim))
        self.params_ = torch.nn.ParameterList()
        for w in self.widths:
            for level in range(self.levels):
                m = dim >> (level + 1)

                def draw(shape, bound, part, w=w, level=level):
                    return torch.stack([uniform_init(shape, bound, s, "tree", dim, w, level, part) for s in seeds]).to(
                        dtype
                    )

                self.params_.append(torch.nn.Parameter(draw((m, 2, w), 1 / math.sqrt(2), "w")))
                self.params_.append(torch.nn.Parameter(draw((m, w), 1 / math.sqrt(2), "b")))
                self.params_.append(torch.nn.Parameter(draw((m, w), 1 / math.sqrt(w), "v")))
                self.params_.append(torch.nn.Parameter(draw((m,), 1 / math.sqrt(w), "c")))

    def _model(self, j: int):
        per = 4 * self.levels
        return self.params_[j * per : (j + 1) * per]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S, n, _ = x.shape
        outs = []
        for j in range(len(self.widths)):
            params, h = self._model(j), x
            for level in range(self.levels):
                w, b, v, c = params[4 * level : 4 * level + 4]
                m, width = w.shape[1], w.shape[3]
                # Every (seed, node) is one small 2 -> w -> 1 network: batch them all in one bmm.
                pairs = h.reshape(S, n, m, 2).permute(0, 2, 1, 3).reshape(S * m, n, 2)
                hidden = self.act(torch.baddbmm(b.reshape(S * m, 1, width), pairs, w.reshape(S * m, 2, width)))
                out = torch.baddbmm(c.reshape(S * m, 1, 1), hidden, v.reshape(S * m, width, 1))
                h = out.reshape(S, m, n).permute(0, 2, 1)
            outs.append(h)
        return torch.cat(outs, dim=2)

    def params_per_model(self, dim: int) -> list[int]:
        return [(dim - 1) * (4 * w + 1) for w in self.widths]

    def hidden_units(self) -> int:
        return (2**self.levels) * max(self.widths)

    def model_slices(self, s: int, j: int):
        return [(p, (s,)) for p in self._model(j)]


ARCHS = {"shallow": Shallow, "deep": Deep, "tree": Tree}


# --------------------------------------------------------------------------- training


@dataclass
class Trained:
    """Per-model outcome of training: (S, M) arrays."""

    train_mse: np.ndarray  # on standardised targets
    diverged: np.ndarray  # bool
    steps: int
    loss_at_80: np.ndarray | None = None  # the training loss after 80 % of the steps (still falling = not converged)
    converged: np.ndarray | None = None  # LBFGS: stopped on its own tolerances before its iterations ran out


def _per_model_mse(model, x, y, chunk: int) -> torch.Tensor:
    """Mean squared error per (seed, model) on (S, n, d) / (S, n), evaluated in sample chunks."""
    total = None
    for start in range(0, x.shape[1], chunk):
        out = model(x[:, start : start + chunk])
        sq = ((out - y[:, start : start + chunk, None]) ** 2).sum(dim=1)
        total = sq if total is None else total + sq
    return total / x.shape[1]


def autograd_backward(model, x, y, alive, chunk: int) -> torch.Tensor:
    """Accumulate the gradient of the summed per-model MSE into ``.grad``; returns the MSEs (S, M)."""
    n = x.shape[1]
    losses = torch.zeros_like(alive, dtype=x.dtype)
    for start in range(0, n, chunk):
        out = model(x[:, start : start + chunk])
        sq = ((out - y[:, start : start + chunk, None]) ** 2).sum(dim=1) / n
        # Dead models contribute nothing: their outputs are zeros from zeroed weights.
        (sq * alive).sum().backward()
        losses += sq.detach()
    return losses


def shallow_relu_backward(model: "Shallow", x_aug, y, alive, chunk: int) -> torch.Tensor:
    """The same gradient as ``autograd_backward`` for a ReLU ``Shallow``, derived by hand.

    ``x_aug`` is x with a column of ones, so the hidden layer is one product with [w1; b1].
    With r = 2/n (f - y) per (sample, model) and V the (units x models) readout:
    ∂c = Σ_n r, ∂v_u = Σ_n relu(a_u) r_m(u), ∂[w1; b1] = x_augᵀ [(r Vᵀ) ⊙ 1(a > 0)].
    Each product is written in the orientation the CPU's GEMM runs fastest (measured on the
    development machine, one chunk of 693 samples x 504 units x 3 seeds: hᵀr as (rᵀh)ᵀ 256 µs
    against 1,962 µs, h V as (Vᵀhᵀ)ᵀ 282 against 2,083, the biased hidden layer as one
    product 324 against 1,863).
    """
    n, dim = x_aug.shape[1], x_aug.shape[2] - 1
    losses = torch.zeros_like(alive, dtype=x_aug.dtype)
    with torch.no_grad():
        weights = torch.cat([model.w1, model.b1], 1)  # (S, d + 1, W)
        readout_t = (model.v[:, :, None] * model.onehot).transpose(1, 2).contiguous()  # (S, M, W)
        grad_weights = torch.zeros_like(weights)
        live = alive.to(x_aug.dtype)[:, None, :] * (2.0 / n)
        for start in range(0, n, chunk):
            xs = x_aug[:, start : start + chunk]
            hidden = torch.bmm(xs, weights).relu_()
            out = torch.bmm(readout_t, hidden.transpose(1, 2)).transpose(1, 2)
            resid = out + model.c - y[:, start : start + chunk, None]
            losses += (resid * resid).sum(1) / n
            resid = resid * live
            model.c.grad += resid.sum(1, keepdim=True)
            model.v.grad += (torch.bmm(resid.transpose(1, 2), hidden).transpose(1, 2) * model.onehot).sum(2)
            # relu's backward in one pass (a bool mask times a float tensor cost two more: compare, convert).
            back = torch.ops.aten.threshold_backward(torch.bmm(resid, readout_t), hidden, 0.0)
            grad_weights.baddbmm_(xs.transpose(1, 2), back)
        model.w1.grad += grad_weights[:, :dim]
        model.b1.grad += grad_weights[:, dim:]
    return losses


def train_adam(
    model,
    x,
    y,
    steps: int,
    lr: float,
    *,
    chunk: int | None = None,
    explode: float = EXPLODE,
    progress: Callable[[float], None] | None = None,
    record=None,
    halfway: Callable[[], None] | None = None,
) -> Trained:
    """Full-batch Adam on the sum of per-model MSEs, cosine-decayed from lr to lr/100.

    The batch is processed in sample chunks with gradients accumulated (the same
    gradient as one pass; the chunk keeps the (S, chunk, sum w) activations in cache).
    A model whose loss becomes non-finite or exceeds ``explode`` x its initial loss, or
    whose parameters become non-finite, is flagged diverged and isolated (its weights,
    gradients and Adam state zeroed); the others train on unaffected.
    ``record`` (lm.Record: every, call): ``call`` gets the step count before step 0, every
    ``every`` steps and after the last (training curves; it must not change the model).
    ``halfway``: called once before step steps // 2 (a held-out probe; it must not change the model).
    """
    fast = isinstance(model, Shallow) and model.act is torch.relu
    # The hand-derived path runs best on smaller chunks (346 samples x 504 units x 3 seeds: 4.6 ms a step
    # against 5.9 at the autograd path's 693; benchmarks/bench_approx.py).
    chunk = chunk or sample_chunk(model, x, budget=(1 << 19) if fast else (1 << 20))
    x_aug = torch.cat([x, torch.ones_like(x[:, :, :1])], 2) if fast else None
    for param in model.parameters():
        if param.grad is None:  # the hand-derived backward adds into existing buffers
            param.grad = torch.zeros_like(param)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)  # one kernel per op over all tensors
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1), eta_min=lr / 100)
    alive = torch.ones(x.shape[0], len(model.widths), dtype=torch.bool, device=x.device)
    initial, at_80 = None, None
    for step in range(steps):
        if record is not None and step % record.every == 0:
            record.call(step)
        if halfway is not None and step == steps // 2:
            halfway()
        drop_models(model, optimizer, alive, nonfinite_models(model, alive))
        optimizer.zero_grad(set_to_none=False)
        losses = (
            shallow_relu_backward(model, x_aug, y, alive, chunk)
            if fast
            else autograd_backward(model, x, y, alive, chunk)
        )
        initial = losses.clone() if initial is None else initial
        if step == math.ceil(0.8 * steps):
            at_80 = losses.clone()
        drop_models(model, optimizer, alive, alive & exploded(losses, initial, explode))
        optimizer.step()
        schedule.step()
        if progress is not None:
            progress(1.0 / steps)
    drop_models(model, optimizer, alive, nonfinite_models(model, alive))
    if record is not None:
        record.call(steps)
    final = _per_model_mse(model, x, y, chunk).detach().cpu().double().numpy()
    diverged = (~alive).cpu().numpy()
    final[diverged] = np.nan  # never averaged as if it were a result
    at_80 = final if at_80 is None else at_80.detach().cpu().double().numpy()
    return Trained(final, diverged, steps, at_80)


def train_lbfgs(
    make_model,
    seeds,
    widths,
    x,
    y,
    *,
    steps: int,
    lr: float,
    chunk: int = 4096,
    progress: Callable[[float], None] | None = None,
    halfway: Callable[[int, int, torch.nn.Module], None] | None = None,
):
    """LBFGS one model at a time (its line search must not see the other models' losses).

    Each model runs ``steps`` iterations in two calls of half as many (its history carries over), and
    ``halfway(seed index, width index, model)`` sees it in between (a held-out probe). A model converged when
    LBFGS stopped on its own tolerances before its iterations ran out. Returns the trained single models (one
    per (seed, width)) and a ``Trained``.
    """
    S, M = len(seeds), len(widths)
    mse, diverged, models = np.zeros((S, M)), np.zeros((S, M), dtype=bool), {}
    converged = np.zeros((S, M), dtype=bool)
    first = math.ceil(steps / 2)
    for si, s in enumerate(seeds):
        for j, w in enumerate(widths):
            model = make_model([s], [w])
            opt = torch.optim.LBFGS(
                model.parameters(),
                lr=lr,
                max_iter=first,
                line_search_fn="strong_wolfe",
                tolerance_grad=1e-12,
                tolerance_change=1e-14,
                history_size=50,
            )
            xs, ys = x[si : si + 1], y[si : si + 1]
            with torch.no_grad():
                initial = _per_model_mse(model, xs, ys, chunk).detach()

            def closure():
                opt.zero_grad()
                loss = _per_model_mse(model, xs, ys, chunk).sum()
                loss.backward()
                return loss

            try:
                opt.step(closure)
                if halfway is not None:
                    halfway(si, j, model)
                opt.param_groups[0].update(max_iter=steps - first, max_eval=math.ceil(1.25 * (steps - first)))
                if steps - first:
                    opt.step(closure)
                value = float(_per_model_mse(model, xs, ys, chunk).detach())
            except RuntimeError:  # a line search that met NaN
                value = float("nan")
            # Converged: stopped on its tolerances, not on its iteration or evaluation budget.
            state = next(iter(opt.state.values()), {})
            converged[si, j] = state.get("n_iter", steps) < steps and state.get("func_evals", 0) < 1.25 * steps
            diverged[si, j] = bool(exploded(torch.tensor([value], dtype=initial.dtype), initial.cpu()).item())
            mse[si, j] = value if not diverged[si, j] else float("nan")
            models[(si, j)] = model
            if progress is not None:
                progress(1.0 / (S * M))
    return models, Trained(mse, diverged, steps, converged=converged)
