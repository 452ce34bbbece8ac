"""Batched Levenberg–Marquardt: the Jacobian, the step, the reference solver, batching and isolation."""

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares

from dimcurse.experiments.approx import lm
from tests.helpers import shallow_problem

DIM, WIDTH, SEEDS = 2, 3, [0, 1, 2]


def _data(n=60, seeds=SEEDS, dtype=torch.float64):
    return shallow_problem(n, seeds, width=WIDTH, stream=1, dtype=dtype)[:2]


def _theta(seeds=SEEDS, width=WIDTH, dtype=torch.float64):
    return shallow_problem(1, seeds, width=width, stream=1, dtype=dtype)[2]


def _residual_fn(x, y):
    def residual(flat):
        out = lm.forward(torch.as_tensor(flat)[None], x[None], DIM, WIDTH)[2][0]
        return (out - y).numpy()

    return residual


def test_the_hand_written_jacobian_is_autograd_s():
    x, _ = _data()
    theta = _theta()
    _, jac = lm.jacobian(theta, x, DIM, WIDTH)
    for s in range(len(SEEDS)):
        auto = torch.autograd.functional.jacobian(
            lambda t: lm.forward(t[None], x[s : s + 1], DIM, WIDTH)[2][0], theta[s]
        )
        torch.testing.assert_close(jac[s], auto, rtol=0, atol=1e-12)


def test_gradient_and_one_damped_step_match_a_dense_float64_solve():
    # The step (JᵀJ + λ diag JᵀJ + 1e-12 max diag I) δ = −Jᵀr, solved densely with numpy:
    # agreement to 1e-9 relative.
    x, y = _data()
    theta = _theta()
    gram, grad = lm.normal_equations(theta, x, y, DIM, WIDTH, chunk=17)  # odd chunks: blocks must add up
    lam = torch.tensor([1e-3, 1e-1, 10.0], dtype=torch.float64)
    delta, _, info = lm.solve_primal(gram, grad, lam)
    assert (info == 0).all()
    for s in range(3):
        jac = lm.jacobian(theta[s : s + 1], x[s : s + 1], DIM, WIDTH)[1][0].numpy()
        resid = _residual_fn(x[s], y[s])(theta[s].numpy())
        jtj = jac.T @ jac
        np.testing.assert_allclose(grad[s].numpy(), jac.T @ resid, rtol=1e-10, atol=1e-12)
        damped = jtj + float(lam[s]) * np.diag(np.diag(jtj)) + 1e-12 * np.diag(jtj).max() * np.eye(len(jtj))
        dense = np.linalg.solve(damped, -jac.T @ resid)
        np.testing.assert_allclose(delta[s].numpy(), dense, rtol=1e-9, atol=1e-11)


def test_the_dual_step_is_the_primal_step_when_samples_are_few():
    # n = 8 < P = 13: δ = −Jᵀ(JJᵀ + λI)⁻¹r, against the dense minimum-norm solution of the same damped system.
    x, y = _data(n=8)
    theta = _theta()
    jac, resid = lm.dual_system(theta, x, y, DIM, WIDTH)
    lam = torch.full((3,), 1e-2, dtype=torch.float64)
    delta, predicted, info = lm.solve_dual(jac, resid, lam)
    for s in range(3):
        j, r = jac[s].numpy(), resid[s].numpy()
        scale = np.trace(j @ j.T) / j.shape[0]
        dense = -j.T @ np.linalg.solve(j @ j.T + 1e-2 * scale * np.eye(j.shape[0]), r)
        np.testing.assert_allclose(delta[s].numpy(), dense, rtol=1e-9, atol=1e-12)
    assert (predicted > 0).all()


def _scipy_lm(x, y, start):
    """MINPACK's Levenberg–Marquardt (scipy) on one model, float64, with the autograd Jacobian."""

    def jac(flat):
        t = torch.as_tensor(flat)
        return torch.autograd.functional.jacobian(lambda p: lm.forward(p[None], x[None], DIM, WIDTH)[2][0], t).numpy()

    return least_squares(
        _residual_fn(x, y), start, jac=jac, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=2000
    )


@pytest.mark.slow
def test_lm_agrees_with_scipy_least_squares_on_the_minimum():
    # ReLU makes the loss piecewise smooth, so two solvers from one start may end in different local minima.
    # What must agree (float64, 1e-6 relative): scipy, started where our LM stopped, finds nothing lower; and
    # our LM, started where scipy stopped, stays at scipy's sum of squares.
    x, y = _data(seeds=[0])
    theta = _theta(seeds=[0])
    ours = lm.train_lm(theta, x, y, DIM, WIDTH, iters=300)
    polished = _scipy_lm(x[0], y[0], ours.theta[0].numpy())
    assert np.mean(polished.fun**2) >= ours.loss[0] * (1 - 1e-6)
    ref = _scipy_lm(x[0], y[0], theta[0].numpy())
    again = lm.train_lm(torch.as_tensor(ref.x)[None], x, y, DIM, WIDTH, iters=50)
    assert again.loss[0] == pytest.approx(np.mean(ref.fun**2), rel=1e-6)
    # At a ReLU kink the one-sided Gauss–Newton decrement is not 0 (measured 0.064 here) but far below the flag.
    assert ours.decrement[0] < 0.1 and not ours.diverged[0]


def test_batched_lm_gives_each_model_its_result_alone():
    x, y = _data()
    theta = _theta()
    together = lm.train_lm(theta, x, y, DIM, WIDTH, iters=40)
    for s in range(3):
        alone = lm.train_lm(theta[s : s + 1], x[s : s + 1], y[s : s + 1], DIM, WIDTH, iters=40)
        torch.testing.assert_close(together.theta[s], alone.theta[0], rtol=1e-9, atol=1e-12)
        assert together.accepted[s] == alone.accepted[0]


def test_a_diverging_model_is_isolated_and_the_others_are_untouched():
    x, y = _data()
    theta = _theta()
    broken = theta.clone()
    broken[1, 0] = float("nan")
    clean, out = lm.train_lm(theta, x, y, DIM, WIDTH, iters=30), lm.train_lm(broken, x, y, DIM, WIDTH, iters=30)
    assert out.diverged.tolist() == [False, True, False]
    # The diverged model leaves the batch, so the others' products run in a batch of two: the same numbers up
    # to the rounding of a batched product (3e-12 measured), as a model trained alone.
    for s in (0, 2):
        torch.testing.assert_close(out.theta[s], clean.theta[s], rtol=1e-9, atol=1e-12)
        assert np.isfinite(out.loss[s])


def test_a_row_window_for_the_matrix_still_descends():
    # The Gauss–Newton matrix from 2P of 400 samples: every accepted step lowers the full-sample loss.
    x, y = _data(n=400)
    theta = _theta(width=8)
    start = lm.mse(theta, x, y, DIM, 8, 64)
    out = lm.train_lm(theta, x, y, DIM, 8, iters=60, rows=2 * theta.shape[1])
    assert (out.loss < 0.2 * start.numpy()).all()


def test_step_bytes_and_the_refusal_before_allocation():
    assert lm.step_bytes(3, 10_000, 1000, 4) == 3 * 1000 * 1000 * 28
    assert lm.step_bytes(3, 100, 1000, 4) == 3 * (100 * 1000 * 12 + 3 * 100 * 100 * 8)
    with pytest.raises(Exception) as err:
        lm.require_fits(3, 10**9, 10**7, 4, "cpu")  # 8e15 bytes
    assert err.value.option == "--widths"


def test_the_symmetric_block_product_is_the_full_one():
    # P = 13 * 8 + 1 = 105 >= SYMMETRIC_FROM with the threshold lowered: same matrix as one full product.
    x, y = _data(n=300)
    theta = _theta(width=26)  # P = 26 * 4 + 1 = 105
    full = lm.normal_equations(theta, x, y, DIM, 26, chunk=64)[0]
    old = lm.SYMMETRIC_FROM
    try:
        lm.SYMMETRIC_FROM = 64
        blocks = lm.normal_equations(theta, x, y, DIM, 26, chunk=64)[0]
    finally:
        lm.SYMMETRIC_FROM = old
    torch.testing.assert_close(blocks, full, rtol=1e-12, atol=1e-12)
