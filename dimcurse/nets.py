"""What the batched networks of both kernels share: the activations, the seeded initialisation, the sample
chunk, and the one rule for a diverged model (isolate it so no NaN reaches the others).

Every model family (approx's regressors in ``experiments/approx/networks.py``, overparam's classifiers in
``experiments/overparam/classifier.py`` and ``cnn.py``) takes inputs stacked over seeds, (S, n, d), and
returns one output column per width: model (s, j) is seed s's network of width ``widths[j]``. Each model's
initial weights come from its own (seed, arch, width) stream, so a model is initialised identically whether
it is trained in a batch or alone.
"""

from __future__ import annotations

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


def uniform_init(shape, bound: float, seed: int, *stream) -> torch.Tensor:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a named stream."""
    return (torch.rand(shape, generator=generator(seed, "init", *stream), dtype=torch.float64) * 2 - 1) * bound


# --------------------------------------------------------------------------- a diverged model


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


def drop_models(model, optimizer, alive: torch.Tensor, bad: torch.Tensor) -> None:
    """Isolate every model marked in ``bad`` and mark it dead in ``alive`` (in place)."""
    for s, j in torch.nonzero(bad).tolist():
        _isolate(model, optimizer, s, j)
    alive &= ~bad


def nonfinite_models(model, alive: torch.Tensor) -> torch.Tensor:
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
