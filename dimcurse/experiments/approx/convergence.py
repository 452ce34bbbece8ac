"""When a model has trained enough: the stopping rule of the second-order trainers, and what a model that
stopped at its cap tells a fit.

A fit needs each point's error to the precision of the fit, not the optimiser's last digit. So:

- **Converged** (the training rule, per model): its training MSE fell by less than ``CONVERGED_DROP``
  (2 %, i.e. 1 % in RMSE) over the last fifth of its iterations (at least ``MIN_WINDOW``), after at least
  ``MIN_ITERS``. The window grows with the iterations, so a slow drift over hundreds of iterations is seen as a
  drift, and the rule is relative, so it means the same at an error of 0.5 and of 0.005. LM and Gauss–Newton
  stall for a few iterations while their damping grows and then move on: on a 2-d surface in 40-d (widths 2-14,
  6 seeds, 500 LM iterations) a rule from 20 iterations with no least window stopped 12 % of the models more
  than 5 % above where they ended; from 50 with a window of 10 or more, 4 %. A model that meets it stops (its batch
  goes on without it); one that does not runs to the trainer's cap (``--lm-iters``, ``--gn-iters``).
- **Stopped short, within its spread**: a model at the cap whose held-out RMSE moved by less than the seed
  spread of its width over the second half of its training (``test_drop``). Training as long again would
  move it by about as much again (a power law in the iterations does exactly that), so its error is
  already as precise as the spread over seeds that the fit's interval measures; its point stays in the fit,
  marked.
- **Optimisation-limited**: a model at the cap whose held-out RMSE still moved by more than that spread.

The held-out record decides only the flag: training and the choice of a learning curve's width never see it.
"""

from __future__ import annotations

import math

import numpy as np
import torch

CONVERGED_DROP = 0.02  # training MSE fell < 2 % (RMSE < 1 %) over the last fifth of a model's iterations
MIN_ITERS = 50  # no model is converged before 50 iterations (a damped start can stall for a few)
MIN_WINDOW = 10  # the window is the last fifth of the iterations, and at least 10
MIN_SPREAD = 0.02  # with one replicate, or identical ones: the held-out RMSE must move < 2 % to be kept


class Course:
    """The loss history of one batch of models (S,) under a second-order trainer, and where each stopped.

    ``tol``: the converged rule's MSE drop (0: never stop early, run every iteration). ``held``: the held-out
    MSE at the start, or None when the trainer has no held-out data.
    """

    def __init__(self, loss0: torch.Tensor, cap: int, tol: float, held: torch.Tensor | None = None):
        S = loss0.shape[0]
        self.cap, self.tol = cap, tol
        self.loss = torch.full((cap + 1, S), math.nan, dtype=torch.float64, device=loss0.device)
        self.loss[0] = loss0
        self.held = None if held is None else torch.full_like(self.loss, math.nan)
        if held is not None:
            self.held[0] = held
        self.stop = torch.full((S,), cap, dtype=torch.long, device=loss0.device)  # iterations each model ran
        self.done = torch.zeros(S, dtype=torch.bool, device=loss0.device)  # converged and stopped

    def record(self, t: int, loss: torch.Tensor, held: torch.Tensor | None = None) -> None:
        """The losses (S,) after t iterations (a stopped model's stay as they were)."""
        self.loss[t] = loss
        if self.held is not None and held is not None:
            self.held[t] = held

    def settle(self, t: int, running: torch.Tensor) -> torch.Tensor:
        """Stop the running models (mask) that meet the converged rule after t iterations; returns them."""
        if self.tol <= 0 or t < MIN_ITERS:
            return torch.zeros_like(running)
        before = self.loss[t - max(MIN_WINDOW, math.ceil(t / 5))]
        now = self.loss[t]
        met = running & ((now <= 0) | (before / now.clamp_min(1e-300) - 1 < self.tol))
        self.stop = torch.where(met, torch.full_like(self.stop, t), self.stop)
        self.done |= met
        return met

    def at(self, history: torch.Tensor, share: float) -> np.ndarray:
        """Each model's value at ``share`` of its own iterations (rounded up)."""
        index = torch.ceil(self.stop.double() * share).long().clamp(0, self.cap)
        return history.gather(0, index[None])[0].cpu().numpy()

    def loss_at_80(self) -> np.ndarray:
        return self.at(self.loss, 0.8)

    def held_at_half(self) -> np.ndarray:
        """Held-out MSE halfway through each model's training (NaN without held-out data)."""
        return np.full(self.stop.shape[0], np.nan) if self.held is None else self.at(self.held, 0.5)

    def held_final(self) -> np.ndarray:
        return np.full(self.stop.shape[0], np.nan) if self.held is None else self.at(self.held, 1.0)


def held_out_drop(at_half: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Relative fall of an RMSE over the second half of training, from MSEs: sqrt(at_half / final) - 1."""
    with np.errstate(all="ignore"):
        return np.where(final > 0, np.sqrt(at_half / final) - 1.0, 0.0)


def log_spread(errors: np.ndarray) -> np.ndarray:
    """The seed spread of each width: the sd over replicates of log RMSE, (S, M) -> (M,), at least MIN_SPREAD
    (one replicate has no spread; the floor keeps a model that still moves 2 % from passing as settled)."""
    with np.errstate(all="ignore"):
        logs = np.log(np.where(errors > 0, errors, np.nan))
    out = np.full(errors.shape[1], MIN_SPREAD)
    for j in range(errors.shape[1]):
        finite = logs[:, j][np.isfinite(logs[:, j])]
        if len(finite) >= 2:
            out[j] = max(MIN_SPREAD, float(np.std(finite, ddof=1)))
    return out
