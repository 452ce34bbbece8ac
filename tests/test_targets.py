"""The target registry: names, formulas and domains."""

import math

import pytest
import torch

from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx.targets import TARGETS, TargetOptions, get_target, target_dims

NAMES = [
    "barron",
    "product",
    "poggio-tree4",
    "poggio-tree8",
    "kan-expsin",
    "kan-xy",
    "kan-4d",
    "kan-100d",
    "teacher",
    "cos4x",
    "q-power",
]


def test_the_names_users_type():
    assert list(TARGETS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_target_is_finite_deterministic_and_in_its_domain(name):
    target = get_target(name)
    dim = target.fixed_dim or 8
    x = target.sample(500, dim, seed=0, stream="train")
    assert x.min() >= target.low and x.max() <= target.high
    f, g = target.build(dim, TargetOptions()), target.build(dim, TargetOptions())
    assert torch.isfinite(f(x)).all() and torch.equal(f(x), g(x)) and f(x).std() > 0


def test_formulas_at_known_points():
    def point(*v):
        return torch.tensor([v], dtype=torch.float64)

    opts = TargetOptions()
    assert get_target("kan-xy").build(2, opts)(point(0.5, -0.4)).item() == pytest.approx(-0.2)
    assert get_target("kan-expsin").build(2, opts)(point(0.5, 0.5)).item() == pytest.approx(math.exp(1.25))
    assert get_target("cos4x").build(1, opts)(point(0.3)).item() == pytest.approx(math.cos(1.2))
    assert get_target("product").build(3, opts)(point(0.5, 1.2, 1.5)).item() == pytest.approx(0.9)
    assert get_target("q-power").build(2, opts)(point(1.0, 1.0)).item() == pytest.approx(1.0)

    def h(u, v):
        return 0.5 * u * v + 0.5 * math.sin(u + v)

    assert get_target("poggio-tree4").build(4, opts)(point(0.1, 0.2, 0.3, 0.4)).item() == pytest.approx(
        h(h(0.1, 0.2), h(0.3, 0.4))
    )
    assert get_target("kan-100d").build(100, opts)(torch.ones(1, 100, dtype=torch.float64)).item() == pytest.approx(
        math.e
    )


def test_barron_ridges_have_the_fixed_norm_and_bounded_values():
    f = get_target("barron").build(50, TargetOptions())
    x = get_target("barron").sample(2000, 50, 0, "train")
    assert f(x).abs().max() <= 4 / math.sqrt(4) * 2  # |sum a_j cos| <= sum |a_j|


def test_fixed_dimension_targets_refuse_other_dimensions():
    assert target_dims(get_target("kan-xy"), None) == (2,)
    with pytest.raises(DimcurseError, match="--dims"):
        target_dims(get_target("kan-xy"), (8,))
    with pytest.raises(DimcurseError, match="--target"):
        get_target("kan-5d")


def test_teacher_has_the_intrinsic_dimension_asked_for():
    opts = TargetOptions(teacher_k=3)
    f = get_target("teacher").build(20, opts)
    x = get_target("teacher").sample(200, 20, 0, "train")
    # The teacher depends on x only through a 3-dim projection: moving x orthogonally to it changes nothing.
    jac = torch.autograd.functional.jacobian(lambda z: f(z[None])[0], x[0])
    grads = torch.stack([torch.autograd.functional.jacobian(lambda z: f(z[None])[0], row) for row in x[:30]])
    assert torch.linalg.matrix_rank(grads).item() == 3 and jac.shape == (20,)
