"""Matrix-free Gauss–Newton: its products against the Jacobian, its step against the direct solve,
batching against each model alone, and the reference minimum of a float64 solver."""

import numpy as np
import torch
from scipy.optimize import least_squares

from dimcurse.experiments.approx import gn, lm
from tests.helpers import shallow_problem

DIM, WIDTH, SEEDS = 2, 4, [0, 1, 2]


def _data(n=80, seeds=SEEDS):
    return shallow_problem(n, seeds, width=WIDTH, stream=3)[:2]


def _theta(seeds=SEEDS, width=WIDTH):
    return shallow_problem(1, seeds, width=width, stream=3)[2]


def test_jvp_vjp_and_the_diagonal_are_the_jacobian_s():
    x, _ = _data()
    theta = _theta()
    lin, out = gn.linearise(theta, x, DIM, WIDTH)
    ref_out, jac = lm.jacobian(theta, x, DIM, WIDTH)  # checked against autograd in test_lm
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(lin.jvp(v), torch.bmm(jac, v[:, :, None])[:, :, 0], rtol=0, atol=1e-12)
    torch.testing.assert_close(lin.vjp(u), torch.bmm(jac.transpose(1, 2), u[:, :, None])[:, :, 0], rtol=0, atol=1e-12)
    diag = (jac**2).sum(1)
    torch.testing.assert_close(lin.gn_diagonal(), diag + 1e-10 * diag.amax(1, keepdim=True), rtol=1e-12, atol=1e-30)


def test_the_cg_step_equals_the_direct_damped_solve():
    # With CG run to convergence, the step solves (JᵀJ + λD)δ = −Jᵀr as LM's Cholesky solve does (float64).
    x, y = _data()
    theta = _theta()
    lin, out = gn.linearise(theta, x, DIM, WIDTH)
    lam = torch.tensor([1e-3, 1e-1, 10.0], dtype=torch.float64)
    delta, _, _ = gn.gn_step(lin, out - y, lam, cg_iters=500, tol=1e-13)
    gram, grad = lm.normal_equations(theta, x, y, DIM, WIDTH, chunk=1 << 20)
    diag = gn.linearise(theta, x, DIM, WIDTH)[0].gn_diagonal()
    direct = -torch.linalg.solve(gram + torch.diag_embed(lam[:, None] * diag), grad)
    torch.testing.assert_close(delta, direct, rtol=1e-6, atol=1e-8)


def test_a_window_of_rows_gives_the_windowed_solve_with_the_whole_gradient():
    # The curvature from rows 20..50 scaled to all 80, the gradient from all 80 (as LM's normal_equations).
    x, y = _data()
    theta = _theta()
    lin, out = gn.linearise(theta, x, DIM, WIDTH)
    lam = torch.tensor([1e-3, 1e-1, 10.0], dtype=torch.float64)
    rows = slice(20, 50)
    delta, predicted, _ = gn.gn_step(lin, out - y, lam, cg_iters=500, tol=1e-13, window=rows)
    gram, grad = lm.normal_equations(theta, x, y, DIM, WIDTH, chunk=1 << 20, rows=rows)
    diag = gn.linearise(theta, x[:, rows], DIM, WIDTH)[0].gn_diagonal() * 80 / 30  # D of the window, scaled
    direct = -torch.linalg.solve(gram + torch.diag_embed(lam[:, None] * diag), grad)
    torch.testing.assert_close(delta, direct, rtol=1e-6, atol=1e-8)
    expected = -(2 * (grad * direct).sum(1) + (direct * torch.bmm(gram, direct[:, :, None])[:, :, 0]).sum(1)) / 80
    torch.testing.assert_close(predicted, expected, rtol=1e-6, atol=1e-12)


def test_a_window_of_rows_still_reaches_a_float64_reference_minimum():
    # A moving window of 40 of 120 rows in the curvature: the accept test on the whole loss keeps each step a
    # descent, and from where it ends scipy's float64 least squares finds no loss 1 % below (as for the whole
    # matrix, below). It may end in another minimum than the whole-matrix run: a different path.
    x, y = _data(n=120, seeds=[0])
    out = gn.train_gn(_theta(seeds=[0]), x, y, DIM, WIDTH, 120, cg_iters=80, rows=40)
    assert out.loss[0] <= 1.01 * _reference_mse(out.theta[0], x, y) + 1e-14


def _reference_mse(theta, x, y) -> float:
    """The MSE scipy's trust-region least squares reaches from ``theta`` (float64, finite differences)."""

    def residual(flat):
        return (lm.forward(torch.as_tensor(flat)[None], x, DIM, WIDTH)[2][0] - y[0]).numpy()

    ref = least_squares(residual, theta.numpy(), method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return float(np.mean(ref.fun**2))


def test_each_model_trains_as_it_would_alone():
    # No number of one model enters another's arithmetic; what differs is the rounding of a batched product
    # against a single one (1e-14 at the start), which CG and the readout's solve amplify: measured 4e-9 in
    # the parameters after one step and 1e-5 in the loss after 15 (float64).
    x, y = _data()
    theta = _theta()
    one = gn.train_gn(theta, x, y, DIM, WIDTH, 1, cg_iters=30)
    many = gn.train_gn(theta, x, y, DIM, WIDTH, 15, cg_iters=30)
    for s in range(len(SEEDS)):
        pick = slice(s, s + 1)
        alone = gn.train_gn(theta[pick], x[pick], y[pick], DIM, WIDTH, 1, cg_iters=30)
        torch.testing.assert_close(one.theta[s], alone.theta[0], rtol=0, atol=1e-7)
        alone = gn.train_gn(theta[pick], x[pick], y[pick], DIM, WIDTH, 15, cg_iters=30)
        assert abs(many.loss[s] / alone.loss[0] - 1) < 1e-3, (many.loss[s], alone.loss[0])


def test_it_reaches_a_float64_reference_minimum():
    # From the trained point, scipy's trust-region least squares (float64, its own finite-difference Jacobian)
    # finds no loss 1 % below it: the trainer stopped at a minimum, not on the way to one.
    x, y = _data(n=120, seeds=[0])
    out = gn.train_gn(_theta(seeds=[0]), x, y, DIM, WIDTH, 80, cg_iters=80)
    ref_mse = _reference_mse(out.theta[0], x, y)
    assert out.loss[0] <= 1.01 * ref_mse + 1e-14, (out.loss[0], ref_mse)
    # A nearly undamped Gauss–Newton step still promises 6 % here (measured 0.058: the linear model overpromises
    # at the ReLU kinks), far below the 50 % that flags a point optimisation-limited.
    assert out.decrement[0] < 0.1


def test_every_unit_starts_with_its_hyperplane_through_a_sample():
    x, _ = _data()
    theta = gn.through_samples(_theta(), x, DIM, WIDTH)
    w1, b1, _, _ = lm.shallow_unpack(theta, DIM, WIDTH)
    pre = torch.einsum("sud,sdu->su", x[:, :WIDTH, :], w1) + b1[:, 0, :]
    torch.testing.assert_close(pre, torch.zeros_like(pre), rtol=0, atol=1e-12)
