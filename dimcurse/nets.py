"""Batched networks: many widths x seeds as one computation, and their trainer.

Every model family takes inputs stacked over seeds, (S, n, d), and returns one output
column per width, (S, n, M): model (s, j) is seed s's network of width ``widths[j]``.
The models share no parameters, so with Adam (elementwise) on the summed loss each
trains exactly as it would alone (docs/references.md, Approximation); LBFGS, whose line search would couple
them, is run one model at a time.

Each model's initial weights come from its own (seed, arch, width) stream, so a model
is initialised identically whether it is trained in a batch or alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from dimcurse.errors import DimcurseError
from dimcurse.runtime import generator

# --------------------------------------------------------------------------- activations


def _poly_coefficients(degree: int = 2, half_width: float = 3.0) -> np.ndarray:
    """Least-squares fit of ReLU on [-a, a] by a polynomial (Poggio & Liao 2017 use such a smooth stand-in)."""
    grid = np.linspace(-half_width, half_width, 2001)
    return np.polynomial.polynomial.polyfit(grid, np.maximum(grid, 0.0), degree)


POLY = tuple(float(c) for c in _poly_coefficients())  # ~ 0.28 + x/2 + 0.16 x^2 on [-3, 3]


def _poly(x: torch.Tensor) -> torch.Tensor:
    c0, c1, c2 = POLY
    return c0 + x * (c1 + c2 * x)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "silu": F.silu,
    "poly": _poly,
}


def get_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise DimcurseError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})", "--activation") from None


def _uniform(shape, bound: float, seed: int, *stream) -> torch.Tensor:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a named stream."""
    return (torch.rand(shape, generator=generator(seed, "init", *stream), dtype=torch.float64) * 2 - 1) * bound


# --------------------------------------------------------------------------- model families


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

            w1.append(torch.cat([_uniform((dim, w), 1 / math.sqrt(dim), *stream(w, "w1")) for w in self.widths], 1))
            b1.append(torch.cat([_uniform((1, w), 1 / math.sqrt(dim), *stream(w, "b1")) for w in self.widths], 1))
            v.append(torch.cat([_uniform((w,), 1 / math.sqrt(w), *stream(w, "v")) for w in self.widths]))
            c.append(torch.cat([_uniform((1, 1), 1 / math.sqrt(w), *stream(w, "c")) for w in self.widths], 1))

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
                    [_uniform((fan_in, fan_out), bound, s, "deep", dim, w, depth, layer, "w") for s in seeds]
                )
                bias = torch.stack([_uniform((1, fan_out), bound, s, "deep", dim, w, depth, layer, "b") for s in seeds])
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
                    return torch.stack([_uniform(shape, bound, s, "tree", dim, w, level, part) for s in seeds]).to(
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


def _isolate(model, optimizer, s: int, j: int) -> None:
    """Zero a diverged model's parameters, gradients and Adam state so no NaN can reach the others."""
    for param, index in model.model_slices(s, j):
        param.data[index] = 0.0
        if param.grad is not None:
            param.grad[index] = 0.0
        for value in optimizer.state.get(param, {}).values():
            if torch.is_tensor(value) and value.dim() > 0:
                value[index] = 0.0


def sample_chunk(model, x: torch.Tensor, budget: int = 1 << 20) -> int:
    """Samples per chunk so one chunk's activations, S x chunk x units, stay near ``budget`` elements (4 MiB).

    Small models run the whole batch at once (per-operation overhead dominates them);
    wide ones are cut so their activations stay in cache (measured 1.3-1.6x faster than
    the whole batch for the d = 8, widths 8..1024, 5-seed sweep).
    """
    per_sample = x.shape[0] * model.hidden_units()
    return int(min(x.shape[1], max(64, budget // max(per_sample, 1))))


EXPLODE = 1e4  # a loss above 1e4 x its first value has blown up (every trainer: Adam, LBFGS, LM, classifiers)


def exploded(loss: torch.Tensor, initial: torch.Tensor, factor: float = EXPLODE, floor: float = 1e-12) -> torch.Tensor:
    """The one explosion rule: the loss is non-finite or above ``factor`` x its initial value
    (the initial value floored, so a model that starts at zero loss is not flagged by rounding)."""
    return ~torch.isfinite(loss) | (loss > factor * initial.clamp_min(floor))


def _drop(model, optimizer, alive: torch.Tensor, bad: torch.Tensor) -> None:
    """Isolate every model marked in ``bad`` and mark it dead in ``alive`` (in place)."""
    for s, j in torch.nonzero(bad).tolist():
        _isolate(model, optimizer, s, j)
    alive &= ~bad


def _nonfinite_models(model, alive: torch.Tensor) -> torch.Tensor:
    """(S, M) mask of live models holding a NaN or inf parameter.

    Checked before every forward pass: a non-finite weight must never enter one,
    because a product that mixes models (the shallow readout) would turn 0 x NaN into
    NaN for the others. One sum per tensor decides whether to look closer.
    """
    bad = torch.zeros_like(alive)
    if bool(torch.isfinite(torch.stack([p.detach().sum() for p in model.parameters()])).all()):
        return bad
    for s, j in torch.nonzero(alive).tolist():
        bad[s, j] = not all(bool(torch.isfinite(p.detach()[i]).all()) for p, i in model.model_slices(s, j))
    return bad


def _autograd_backward(model, x, y, alive, chunk: int) -> torch.Tensor:
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


def _shallow_relu_backward(model: "Shallow", x_aug, y, alive, chunk: int) -> torch.Tensor:
    """The same gradient as ``_autograd_backward`` for a ReLU ``Shallow``, derived by hand.

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
    record: tuple[int, Callable[[int], None]] | None = None,
    halfway: Callable[[], None] | None = None,
) -> Trained:
    """Full-batch Adam on the sum of per-model MSEs, cosine-decayed from lr to lr/100.

    The batch is processed in sample chunks with gradients accumulated (the same
    gradient as one pass; the chunk keeps the (S, chunk, sum w) activations in cache).
    A model whose loss becomes non-finite or exceeds ``explode`` x its initial loss, or
    whose parameters become non-finite, is flagged diverged and isolated (its weights,
    gradients and Adam state zeroed); the others train on unaffected.
    ``record`` = (every, callback): the callback gets the step count before step 0, every
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
        if record is not None and step % record[0] == 0:
            record[1](step)
        if halfway is not None and step == steps // 2:
            halfway()
        _drop(model, optimizer, alive, _nonfinite_models(model, alive))
        optimizer.zero_grad(set_to_none=False)
        losses = (
            _shallow_relu_backward(model, x_aug, y, alive, chunk)
            if fast
            else _autograd_backward(model, x, y, alive, chunk)
        )
        initial = losses.clone() if initial is None else initial
        if step == math.ceil(0.8 * steps):
            at_80 = losses.clone()
        _drop(model, optimizer, alive, alive & exploded(losses, initial, explode))
        optimizer.step()
        schedule.step()
        if progress is not None:
            progress(1.0 / steps)
    _drop(model, optimizer, alive, _nonfinite_models(model, alive))
    if record is not None:
        record[1](steps)
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


# --------------------------------------------------------------------------- classifiers (dimcurse overparam)


def mlp_params(dim: int, width: int, depth: int, classes: int) -> int:
    """Parameters of a fully connected classifier: (d + 1) w + (depth - 1)(w + 1) w + (w + 1) C."""
    return (dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * classes


class MLPClassifier(torch.nn.Module):
    """``depth`` hidden layers of width w and C logits per model: (S, n, d) -> (S, n, M, C).

    The first layers of all widths are concatenated into one (S, d, sum w) product (one
    kernel for the layer that sees the data); the later layers and the readouts are
    per-width batched products over seeds. Initialisation: PyTorch's Linear default,
    each model from its own (seed, width, layer) stream.
    """

    def __init__(
        self, seeds, dim: int, widths, classes: int, *, depth: int = 1, activation: str = "relu", dtype=torch.float32
    ):
        super().__init__()
        self.act, self.widths, self.depth, self.classes = get_activation(activation), list(widths), depth, classes
        offsets = np.cumsum([0] + self.widths)
        self.blocks = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]

        def draw(shape, fan_in, w, layer, part):
            parts = [
                _uniform(shape, 1 / math.sqrt(fan_in), s, "mlp", dim, w, depth, classes, layer, part) for s in seeds
            ]
            return torch.stack(parts).to(dtype)

        self.w0 = torch.nn.Parameter(torch.cat([draw((dim, w), dim, w, 0, "w") for w in self.widths], 2))
        self.b0 = torch.nn.Parameter(torch.cat([draw((1, w), dim, w, 0, "b") for w in self.widths], 2))
        self.rest = torch.nn.ParameterList()  # per width: (w, b) for layers 1..depth-1, then the readout
        for w in self.widths:
            for layer in range(1, depth + 1):
                fan_out = classes if layer == depth else w
                self.rest.append(torch.nn.Parameter(draw((w, fan_out), w, w, layer, "w")))
                self.rest.append(torch.nn.Parameter(draw((1, fan_out), w, w, layer, "b")))

    def _model(self, j: int):
        per = 2 * self.depth
        return self.rest[j * per : (j + 1) * per]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.act(torch.baddbmm(self.b0, x, self.w0))
        outs = []
        for j, block in enumerate(self.blocks):
            h, params = first[:, :, block], self._model(j)
            for layer in range(self.depth):
                h = torch.baddbmm(params[2 * layer + 1], h, params[2 * layer])
                if layer < self.depth - 1:
                    h = self.act(h)
            outs.append(h)
        return torch.stack(outs, 2)

    def params_per_model(self, dim: int) -> list[int]:
        return [mlp_params(dim, w, self.depth, self.classes) for w in self.widths]

    def hidden_units(self) -> int:
        return self.depth * sum(self.widths) + len(self.widths) * self.classes

    def model_slices(self, s: int, j: int):
        block = self.blocks[j]
        return [(self.w0, (s, slice(None), block)), (self.b0, (s, slice(None), block))] + [
            (p, (s,)) for p in self._model(j)
        ]

    def weight_norms(self) -> torch.Tensor:
        """(S, M) Euclidean norm of each model's parameters."""
        S, M = self.w0.shape[0], len(self.widths)
        norms = torch.zeros(S, M, dtype=torch.float64)
        with torch.no_grad():
            for s in range(S):
                for j in range(M):
                    norms[s, j] = sum(float((p[i].double() ** 2).sum()) for p, i in self.model_slices(s, j)) ** 0.5
        return norms


@dataclass
class ClassifierRun:
    """What ``train_classifier`` returns: per-model (S, M) arrays at each recorded epoch."""

    records: list[
        dict
    ]  # {"epoch", "train_loss", "train_error", "test_loss", "test_error", "first_zero", "weight_norm"}
    diverged: np.ndarray
    steps: int
    steps_per_epoch: int


def _class_loss(logits: torch.Tensor, labels: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-sample loss (S, n, M) of logits (S, n, M, C) against integer labels (S, n)."""
    C = logits.shape[-1]
    if loss == "ce":
        flat = torch.nn.functional.cross_entropy(
            logits.reshape(-1, C), labels[:, :, None].expand(logits.shape[:-1]).reshape(-1), reduction="none"
        )
        return flat.reshape(logits.shape[:-1])
    onehot = torch.nn.functional.one_hot(labels, C).to(logits.dtype)
    return ((logits - onehot[:, :, None, :]) ** 2).sum(-1)  # squared loss on one-hot targets, summed over classes


def evaluate_classifier(
    model, x: torch.Tensor, labels: torch.Tensor, loss: str, chunk: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and error rate per (seed, model) over all samples, (S, M) each, float64.

    In evaluation mode (``train(False)``): a network with batch norm (the image CNN) uses its running
    statistics, so a sample's prediction does not depend on the chunk it is evaluated in; the mode
    is restored after."""
    total_loss, wrong = 0.0, 0.0
    was_training = model.training
    model.train(False)  # evaluation mode
    try:
        with torch.no_grad():
            for start in range(0, x.shape[1], chunk):
                logits = model(x[:, start : start + chunk])
                lab = labels[:, start : start + chunk]
                total_loss = total_loss + _class_loss(logits, lab, loss).double().sum(1)
                wrong = wrong + (logits.argmax(-1) != lab[:, :, None]).double().sum(1)
    finally:
        model.train(was_training)
    return total_loss / x.shape[1], wrong / x.shape[1]


def train_classifier(
    model,
    x,
    labels,
    x_test,
    labels_test,
    seeds,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    loss: str = "ce",
    record_every: int = 0,
    steps: int | None = None,
    progress: Callable[[float], None] | None = None,
    augment: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
) -> ClassifierRun:
    """Mini-batch training of every (seed, width) classifier at once, on the sum of their losses.

    Adam(W) and SGD update each parameter from its own gradient, so the sum trains every
    model exactly as alone; each seed shuffles its own training set from its own stream.
    After every epoch the training error of each model is measured on the whole training
    set (to find the epoch it first reaches zero); test metrics are measured every
    ``record_every`` epochs and at the end. ``steps`` (optimiser steps) overrides ``epochs``.
    ``augment(batch, step)``: a transform of each (S, b, d) mini-batch (random crops and flips).
    """
    S, n = labels.shape
    batch = n if batch_size <= 0 else min(batch_size, n)
    per_epoch = math.ceil(n / batch)
    total = steps if steps is not None else epochs * per_epoch
    params = list(model.parameters())
    opt = (
        torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True)
        if optimizer == "adam"
        else torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay, foreach=True)
    )
    gens = [generator(s, "shuffle", n) for s in seeds]
    alive = torch.ones(S, len(model.widths), dtype=torch.bool, device=x.device)
    first_zero = torch.full((S, len(model.widths)), float("nan"), dtype=torch.float64)
    chunk = sample_chunk(model, x)
    rows = torch.arange(S, device=x.device)[:, None]
    records, order, initial = [], None, None
    if record_every:  # the curves start at the initialisation (epoch 0)
        train_loss, train_error = evaluate_classifier(model, x, labels, loss, chunk)
        test_loss, test_error = evaluate_classifier(model, x_test, labels_test, loss, chunk)
        records.append(_record(0.0, train_loss, train_error, test_loss, test_error, first_zero=first_zero, alive=alive))
        records[-1]["weight_norm"] = model.weight_norms().numpy()
    for step in range(total):
        if step % per_epoch == 0:
            order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(x.device)
        idx = order[:, (step % per_epoch) * batch : (step % per_epoch + 1) * batch]
        _drop(model, opt, alive, _nonfinite_models(model, alive))
        opt.zero_grad(set_to_none=False)
        batch_x = x[rows, idx] if augment is None else augment(x[rows, idx], step)
        per_model = _class_loss(model(batch_x), labels[rows, idx], loss).mean(1)
        (per_model * alive).sum().backward()
        initial = per_model.detach().clone() if initial is None else initial
        _drop(model, opt, alive, alive & exploded(per_model.detach(), initial))
        opt.step()
        if (step + 1) % per_epoch == 0 or step + 1 == total:
            epoch = (step + 1) / per_epoch
            _drop(model, opt, alive, _nonfinite_models(model, alive))
            train_loss, train_error = evaluate_classifier(model, x, labels, loss, chunk)
            newly = (train_error.cpu() == 0) & torch.isnan(first_zero)
            first_zero[newly] = epoch
            final = step + 1 == total
            if final or (record_every and (step + 1) % (record_every * per_epoch) == 0):
                test_loss, test_error = evaluate_classifier(model, x_test, labels_test, loss, chunk)
                records.append(
                    _record(epoch, train_loss, train_error, test_loss, test_error, first_zero=first_zero, alive=alive)
                )
                records[-1]["weight_norm"] = model.weight_norms().numpy()
        if progress is not None:
            progress(1.0 / total)
    return ClassifierRun(records, (~alive).cpu().numpy(), total, per_epoch)


def _record(epoch, train_loss, train_error, test_loss, test_error, *, first_zero, alive) -> dict:
    dead = (~alive).cpu().numpy()
    out = {"epoch": epoch, "first_zero": first_zero.numpy().copy()}
    for name, value in (
        ("train_loss", train_loss),
        ("train_error", train_error),
        ("test_loss", test_loss),
        ("test_error", test_error),
    ):
        arr = value.cpu().numpy().copy()
        arr[dead] = np.nan  # a diverged model has no result
        out[name] = arr
    return out
