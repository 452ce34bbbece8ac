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
    "teacher-tanh",
    "teacher-relu",
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


@pytest.mark.parametrize("name", ["teacher", "teacher-tanh", "teacher-relu"])
def test_teacher_has_the_intrinsic_dimension_asked_for(name):
    opts = TargetOptions(teacher_k=3)
    f = get_target(name).build(20, opts)
    x = get_target(name).sample(200, 20, 0, "train")
    # The teacher depends on x only through a 3-dim projection: moving x orthogonally to it changes nothing.
    jac = torch.autograd.functional.jacobian(lambda z: f(z[None])[0], x[0])
    grads = torch.stack([torch.autograd.functional.jacobian(lambda z: f(z[None])[0], row) for row in x[:30]])
    assert torch.linalg.matrix_rank(grads).item() == 3 and jac.shape == (20,)


def _latent_hessian(opts: TargetOptions, dim: int, points: torch.Tensor) -> torch.Tensor:
    """The teacher's Hessian in its k latent coordinates z = Rᵀx at each point: (n, k, k)."""
    from dimcurse.experiments.approx.targets import latent_basis

    f = get_target("teacher").build(dim, opts)
    basis = latent_basis(dim, opts, "teacher-bumps")[1]

    def along_latent(z, x0):  # x0 moved by R z: the function of the latent around x0
        return f((x0 + basis @ z)[None])[0]

    zero = torch.zeros(opts.teacher_k, dtype=torch.float64)
    return torch.stack([torch.autograd.functional.hessian(lambda z: along_latent(z, x0), zero) for x0 in points])


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_the_bump_teacher_curves_in_every_latent_direction(k):
    # Not a sum of a few ridges: its Hessian on the latent has full rank k at random points (a sum of m
    # ridge functions has rank <= m, and a ridge function rank 1). Smallest |eigenvalue| over the largest
    # above 1e-6 at 20 random points of the cube in d = 8 (measured: above 1e-3 at every point).
    opts = TargetOptions(teacher_k=k)
    points = get_target("teacher").sample(20, 8, 0, "train")
    hess = _latent_hessian(opts, 8, points)
    eig = torch.linalg.eigvalsh(hess).abs()
    assert (eig.min(1).values > 1e-6 * eig.max(1).values).all(), eig
    assert all(torch.linalg.matrix_rank(h).item() == k for h in hess)


def test_teacher_draws_are_different_functions_and_each_is_reproducible():
    x = get_target("teacher").sample(300, 8, 0, "train")
    values = [get_target("teacher").build(8, TargetOptions(teacher_k=2, teacher_draw=d))(x) for d in (0, 1, 0)]
    assert torch.equal(values[0], values[2])
    assert torch.corrcoef(torch.stack(values[:2]))[0, 1].abs() < 0.9
