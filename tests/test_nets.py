"""Batched networks: each model trains as it would alone; divergence stays with its model."""

import math

import numpy as np
import pytest
import torch

from dimcurse.nets import POLY
from dimcurse.experiments.approx.networks import (
    ARCHS,
    Deep,
    Shallow,
    Tree,
    autograd_backward,
    shallow_relu_backward,
    train_adam,
    train_lbfgs,
)

SEEDS, WIDTHS, DIM = [0, 1], [4, 16], 4


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 300, DIM, generator=gen) * 2 - 1
    return x, torch.sin(x.sum(-1)) + x[..., 0] * x[..., 1]


@pytest.mark.parametrize("arch", ["shallow", "deep", "tree"])
def test_batched_training_matches_training_each_model_alone(arch):
    # Adam is elementwise, so summed losses keep models independent (docs/references.md, Approximation).
    # Tolerance 1e-4 relative on the final MSE after 60 steps: only float summation order differs.
    x, y = _data()
    cls = ARCHS[arch]
    batched = train_adam(cls(SEEDS, DIM, WIDTHS, "relu", 2), x, y, 60, 1e-2)
    for si, seed in enumerate(SEEDS):
        for j, width in enumerate(WIDTHS):
            alone = train_adam(cls([seed], DIM, [width], "relu", 2), x[si : si + 1], y[si : si + 1], 60, 1e-2)
            assert batched.train_mse[si, j] == pytest.approx(alone.train_mse[0, 0], rel=1e-4), (arch, seed, width)


def test_parameter_counts():
    assert Shallow([0], 8, [10], "relu").params_per_model(8) == [10 * 9 + 10 + 1]
    deep = Deep([0], 8, [10], "relu", depth=3)
    assert deep.params_per_model(8) == [sum(p[0].numel() for p in deep.parameters())]
    tree = Tree([0], 8, [5], "relu")
    assert tree.params_per_model(8) == [sum(p[0].numel() for p in tree.parameters())] == [7 * 21]


def test_a_diverged_model_is_flagged_and_isolated():
    x, y = _data()
    model = Shallow(SEEDS, DIM, WIDTHS, "relu")
    with torch.no_grad():
        model.w1[0, :, model.blocks[1]] = float("nan")  # seed 0, width 16 is broken from the start
    result = train_adam(model, x, y, 40, 1e-2)
    assert result.diverged.tolist() == [[False, True], [False, False]]
    assert math.isnan(result.train_mse[0, 1]) and np.isfinite(result.train_mse[[0, 1, 1], [0, 0, 1]]).all()
    clean = train_adam(Shallow(SEEDS, DIM, WIDTHS, "relu"), x, y, 40, 1e-2)
    np.testing.assert_allclose(result.train_mse[1], clean.train_mse[1], rtol=1e-4)  # the others did not notice


def test_exploding_training_is_flagged():
    x, y = _data()
    result = train_adam(Deep(SEEDS, DIM, WIDTHS, "poly", depth=6), x * 20, y, 30, 5.0)
    assert result.diverged.any()
    assert np.isnan(result.train_mse[result.diverged]).all()


def test_lbfgs_one_model_at_a_time():
    x, y = _data()

    def make(seeds, widths):
        return Shallow(seeds, DIM, widths, "tanh")

    models, result = train_lbfgs(make, SEEDS, WIDTHS, x, y, steps=100, lr=1.0)
    assert len(models) == 4 and not result.diverged.any()
    assert result.train_mse[:, 1].max() < result.train_mse[:, 0].min()  # wider fits better
    adam = train_adam(make(SEEDS, WIDTHS), x, y, 100, 1e-2)
    assert result.train_mse.mean() < adam.train_mse.mean()  # 100 LBFGS iterations beat 100 Adam steps here


def test_poly_activation_approximates_relu_on_its_interval():
    grid = np.linspace(-3, 3, 601)
    poly = POLY[0] + POLY[1] * grid + POLY[2] * grid**2
    assert np.sqrt(np.mean((poly - np.maximum(grid, 0)) ** 2)) < 0.2


def test_the_hand_derived_shallow_backward_is_autograd_s():
    # train_adam's ReLU fast path: gradients of the summed MSE equal autograd's to float64 rounding, with a
    # dead model (alive False) contributing nothing, over uneven sample chunks.
    x, y = _data()
    x, y = x.double(), y.double()
    alive = torch.tensor([[True, False], [True, True]])
    grads = []
    for backward in (autograd_backward, shallow_relu_backward):
        model = Shallow(SEEDS, DIM, WIDTHS, "relu", dtype=torch.float64)
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        data = torch.cat([x, torch.ones_like(x[:, :, :1])], 2) if backward is shallow_relu_backward else x
        losses = backward(model, data, y, alive, chunk=70)
        grads.append([p.grad.clone() for p in model.parameters()] + [losses])
    for auto, hand in zip(*grads):
        torch.testing.assert_close(hand, auto, rtol=1e-10, atol=1e-12)
