"""When a model has trained enough: the stopping rule, a batch that goes on without its converged models,
and the flags a fit reads (dimcurse/experiments/approx/convergence.py)."""

import math

import numpy as np
import torch

from dimcurse.experiments.approx import gn, lm
from dimcurse.experiments.approx.convergence import (
    CONVERGED_DROP,
    MIN_ITERS,
    MIN_SPREAD,
    Course,
    held_out_drop,
    log_spread,
)
from tests.helpers import shallow_problem

DIM, WIDTH, SEEDS = 2, 6, [0, 1, 2]


def _data(n=200, seeds=SEEDS):
    return shallow_problem(n, seeds, width=WIDTH, stream=7, target=lambda x: torch.sin(3 * x[..., 0]) * x[..., 1])[:2]


def _theta(seeds=SEEDS):
    return shallow_problem(1, seeds, width=WIDTH, stream=7)[2]


def test_a_model_stops_when_its_loss_fell_under_two_percent_over_its_last_fifth():
    # Two models: one whose loss halves every 10 iterations (still falling), one flat from the start.
    course = Course(torch.tensor([1.0, 1.0], dtype=torch.float64), cap=200, tol=CONVERGED_DROP)
    running = torch.ones(2, dtype=torch.bool)
    for t in range(1, 201):
        course.record(t, torch.tensor([0.5 ** (t / 10), 1.0], dtype=torch.float64))
        running &= ~course.settle(t, running)
    assert course.stop.tolist() == [200, MIN_ITERS]  # the flat one at the first iteration the rule may apply
    assert course.done.tolist() == [False, True]
    # Its value at 80 % of its own iterations: the loss it had at iteration 40.
    np.testing.assert_allclose(course.loss_at_80(), [0.5**16, 1.0])


def test_a_batch_goes_on_without_its_converged_models_and_each_ends_as_it_would_alone():
    x, y = _data()
    theta = _theta()
    together = lm.train_lm(theta, x, y, DIM, WIDTH, 300, tol=CONVERGED_DROP)
    assert together.converged.any() and (together.iters < 300).any()
    for s in range(len(SEEDS)):
        alone = lm.train_lm(theta[s : s + 1], x[s : s + 1], y[s : s + 1], DIM, WIDTH, 300, tol=CONVERGED_DROP)
        assert alone.iters[0] == together.iters[s]
        torch.testing.assert_close(together.theta[s], alone.theta[0], rtol=1e-9, atol=1e-12)


def test_gauss_newton_stops_its_converged_models_too_and_records_the_held_out_loss():
    x, y = _data()
    xt, yt = _data(n=100)
    out = gn.train_gn(_theta(), x, y, DIM, WIDTH, 200, cg_iters=30, tol=CONVERGED_DROP, held_out=(xt, yt))
    assert out.converged.all() and (out.iters < 200).all()
    final = lm.mse(out.theta, xt, yt, DIM, WIDTH, 1 << 16).numpy()
    np.testing.assert_allclose(out.held_final, final, rtol=1e-12)
    assert np.isfinite(held_out_drop(out.held_at_half, out.held_final)).all()  # may be < 0: the test error rose


def test_without_a_tolerance_every_iteration_runs():
    x, y = _data()
    out = lm.train_lm(_theta(), x, y, DIM, WIDTH, 60)
    assert (out.iters == 60).all() and not out.converged.any()


def test_the_seed_spread_is_the_sd_of_log_errors_with_a_floor():
    errors = np.array([[0.1, 1.0], [0.2, 1.0], [0.4, 1.0]])
    spread = log_spread(errors)
    assert spread[0] == np.std(np.log([0.1, 0.2, 0.4]), ddof=1) and spread[1] == MIN_SPREAD
    assert log_spread(np.array([[0.3, math.nan]])).tolist() == [MIN_SPREAD, MIN_SPREAD]  # one replicate: the floor
