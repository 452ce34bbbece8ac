"""Target functions for ``dimcurse approx``: a registry of formulas, domains and sources.

Each target maps points of its domain (an (n, d) tensor) to values (n,). A target is
the same function for every seed (its random parts, such as the Barron directions or
the teacher's weights, depend only on the dimension, and for the teachers on the
intrinsic dimension k and the teacher draw); seeds change the samples and the networks'
initialisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from dimcurse.errors import DimcurseError
from dimcurse.parsing import did_you_mean
from dimcurse.plugins import load_entry_points
from dimcurse.experiments.approx.theory import barron_theory, ridge_teacher_theory, teacher_theory, tree_theory
from dimcurse.runtime import generator


@dataclass(frozen=True)
class Target:
    """One registered target function."""

    name: str
    formula: str
    source: str
    low: float  # domain [low, high]^d
    high: float
    fixed_dim: int | None  # None: defined in any dimension
    build: Callable[[int, "TargetOptions"], Callable[[torch.Tensor], torch.Tensor]]
    tree: bool = False  # a binary tree of 2-input constituents (needs d a power of 2)
    # (exponent, source, kind): kind "prediction" (a scaling law for generic members of the class), "bound" (a
    # worst case over the class: a given target may beat it) or "ceiling" (a rate the class cannot beat).
    theory: Callable[[int, "TargetOptions", str], tuple | None] = field(default=lambda d, o, a: None)

    def sample(self, n: int, dim: int, seed: int, stream: str, dtype=torch.float64) -> torch.Tensor:
        """n points uniform on the domain, from the (seed, stream) generator, on the CPU."""
        gen = generator(seed, "approx", stream, self.name, dim)
        u = torch.rand(n, dim, generator=gen, dtype=torch.float64)
        return (self.low + (self.high - self.low) * u).to(dtype)


@dataclass(frozen=True)
class TargetOptions:
    """Knobs of the parameterised targets."""

    barron_terms: int = 4  # J cosine ridges
    barron_norm: float = 2.0  # |w_j|
    teacher_k: int = 4  # intrinsic dimension of the teacher's input
    teacher_width: int = 32  # teacher-tanh's hidden units
    teacher_draw: int = 0  # which random teacher (its basis, bumps and weights)
    teacher_bumps: int = 2048  # radial bumps of the teacher: far more than any student's width
    teacher_scale: float = 0.5  # the bumps' length scale, in units of the latent (each z_i has sd 1/sqrt 3)
    q_power_k: int = 2  # Q(x, y)^(2^k)


# --------------------------------------------------------------------------- builders


def _barron(dim: int, opts: TargetOptions):
    """sum_j a_j cos(w_j . x) with |w_j| = barron_norm; directions and a_j fixed per dimension."""
    gen = generator(0, "barron", dim, opts.barron_terms)
    w = torch.randn(opts.barron_terms, dim, generator=gen, dtype=torch.float64)
    w = opts.barron_norm * w / w.norm(dim=1, keepdim=True)
    a = torch.randn(opts.barron_terms, generator=gen, dtype=torch.float64) / math.sqrt(opts.barron_terms)
    return lambda x: torch.cos(x @ w.T.to(x)) @ a.to(x)


def _product(dim: int, opts: TargetOptions):
    return lambda x: torch.prod(x, dim=1)


def _tree_node(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """A gentle smooth 2-input constituent with values in [-1, 1] on [-1, 1]^2."""
    return 0.5 * u * v + 0.5 * torch.sin(u + v)


def _poggio_tree(dim: int, opts: TargetOptions):
    def f(x):
        level = x
        while level.shape[1] > 1:
            level = _tree_node(level[:, 0::2], level[:, 1::2])
        return level[:, 0]

    return f


def _kan_expsin(dim, opts):
    return lambda x: torch.exp(torch.sin(math.pi * x[:, 0]) + x[:, 1] ** 2)


def _kan_xy(dim, opts):
    return lambda x: x[:, 0] * x[:, 1]


def _kan_4d(dim, opts):
    def f(x):
        inner = torch.sin(math.pi * (x[:, 0] ** 2 + x[:, 1] ** 2)) + torch.sin(math.pi * (x[:, 2] ** 2 + x[:, 3] ** 2))
        return torch.exp(0.5 * inner)

    return f


def _kan_100d(dim, opts):
    return lambda x: torch.exp(torch.mean(torch.sin(math.pi * x / 2) ** 2, dim=1))


def latent_basis(dim: int, opts: TargetOptions, name: str):
    """The teacher's generator and R, a d x k orthonormal basis: the target depends on x through z = Rᵀx."""
    k = opts.teacher_k
    if dim < k:
        raise DimcurseError(f"the teacher's intrinsic dimension {k} exceeds d = {dim}", "--teacher-k")
    gen = generator(opts.teacher_draw, name, dim, k)
    basis, _ = torch.linalg.qr(torch.randn(dim, k, generator=gen, dtype=torch.float64))
    return gen, basis


def _teacher(dim: int, opts: TargetOptions):
    """f(x) = Σ_j a_j exp(-|z - μ_j|² / 2ℓ²), z = Rᵀx: a smooth function of k latent coordinates with
    curvature in every direction, made of M radial bumps (M far above any student's width, so no
    network can fit it bump by bump). The centres μ_j are latent images of uniform points of the
    cube, so the bumps lie where the data lie, at any d; a_j ~ N(0, 1)."""
    gen, basis = latent_basis(dim, opts, "teacher-bumps")
    centres = (torch.rand(opts.teacher_bumps, dim, generator=gen, dtype=torch.float64) * 2 - 1) @ basis
    weights = torch.randn(opts.teacher_bumps, generator=gen, dtype=torch.float64)
    scale = 2 * opts.teacher_scale**2

    def f(x):
        z = x.double() @ basis
        sq = (z * z).sum(1, keepdim=True) - 2 * z @ centres.T + (centres * centres).sum(1)
        return (torch.exp(-sq.clamp_min(0) / scale) @ weights).to(x.dtype)

    return f


def _teacher_tanh(dim: int, opts: TargetOptions):
    """A random tanh network of width 32 on z = Rᵀx: a sum of 32 ridge functions (the teacher before
    VERSION 3; a shallow student fits each ridge at a one-dimensional rate, whatever k is)."""
    gen, basis = latent_basis(dim, opts, "teacher-tanh")
    k = opts.teacher_k
    w1 = torch.randn(k, opts.teacher_width, generator=gen, dtype=torch.float64) * (2.0 / math.sqrt(k))
    b1 = torch.randn(opts.teacher_width, generator=gen, dtype=torch.float64) * 0.5
    w2 = torch.randn(opts.teacher_width, generator=gen, dtype=torch.float64) / math.sqrt(opts.teacher_width)
    return lambda x: torch.tanh((x @ basis.to(x)) @ w1.to(x) + b1.to(x)) @ w2.to(x)


RELU_TEACHER_WIDTH = 600  # Sharma & Kaplan 2020, Experiments/L2.py: [k, 600, 600, 1], zero biases, output x 6


def _teacher_relu(dim: int, opts: TargetOptions):
    """Sharma & Kaplan's teacher: a random ReLU network [k, 600, 600, 1] with weights N(0, 1/fan_in),
    zero biases and its output times 6, on z = Rᵀx. Without biases it is positively homogeneous:
    f(t z) = t f(z), so at k = 2 it is a function of the angle of z times |z|."""
    gen, basis = latent_basis(dim, opts, "teacher-relu")
    sizes = [opts.teacher_k, RELU_TEACHER_WIDTH, RELU_TEACHER_WIDTH, 1]
    layers = [torch.randn(a, b, generator=gen, dtype=torch.float64) / math.sqrt(a) for a, b in zip(sizes, sizes[1:])]

    def f(x):
        h = x.double() @ basis
        for layer in layers[:-1]:
            h = torch.relu(h @ layer)
        return (6.0 * (h @ layers[-1])[:, 0]).to(x.dtype)

    return f


def _cos4x(dim, opts):
    return lambda x: 2 * (2 * torch.cos(x[:, 0]) ** 2 - 1) ** 2 - 1


def _q_power(dim, opts):
    """Q(x, y)^(2^k), Q = (x + y + xy) / 3 with values in [-1/3, 1] on [-1, 1]^2."""
    power = 2**opts.q_power_k
    return lambda x: ((x[:, 0] + x[:, 1] + x[:, 0] * x[:, 1]) / 3) ** power


U = (-1.0, 1.0)
TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target(
            "barron",
            "sum_j a_j cos(w_j . x), |w_j| = 2, J = 4 fixed ridges",
            "Barron 1993 (a finite Barron norm)",
            *U,
            None,
            _barron,
            theory=barron_theory,
        ),
        Target(
            "product",
            "prod_i x_i on [0.5, 1.5]^d",
            "Poggio et al. 2017 (compositional: a binary tree of products)",
            0.5,
            1.5,
            None,
            _product,
            tree=True,
            theory=tree_theory,
        ),
        Target(
            "poggio-tree4",
            "h(h(x1,x2), h(x3,x4)), h(u,v) = uv/2 + sin(u+v)/2",
            "Poggio et al. 2017 (binary tree)",
            *U,
            4,
            _poggio_tree,
            tree=True,
            theory=tree_theory,
        ),
        Target(
            "poggio-tree8",
            "h(h(h(x1,x2),h(x3,x4)), h(h(x5,x6),h(x7,x8))), h as poggio-tree4",
            "Poggio et al. 2017 (binary tree)",
            *U,
            8,
            _poggio_tree,
            tree=True,
            theory=tree_theory,
        ),
        Target("kan-expsin", "exp(sin(pi x) + y^2)", "Liu et al. 2024 (KAN) §3.1", *U, 2, _kan_expsin),
        Target("kan-xy", "x y", "Liu et al. 2024 (KAN) §3.1", *U, 2, _kan_xy),
        Target(
            "kan-4d",
            "exp((sin(pi(x1^2+x2^2)) + sin(pi(x3^2+x4^2)))/2)",
            "Liu et al. 2024 (KAN) §3.1",
            *U,
            4,
            _kan_4d,
            tree=True,
            theory=tree_theory,
        ),
        Target(
            "kan-100d", "exp(mean_i sin^2(pi x_i / 2)), 100 inputs", "Liu et al. 2024 (KAN) §3.1", *U, 100, _kan_100d
        ),
        Target(
            "teacher",
            "2048 radial bumps of width 0.5 on z = R^T x, R a d x k orthonormal basis (k = 4)",
            "Sharma & Kaplan 2020 (a generic smooth function of intrinsic dimension k)",
            *U,
            None,
            _teacher,
            theory=teacher_theory,
        ),
        Target(
            "teacher-tanh",
            "random tanh network (width 32) of z = R^T x: a sum of 32 ridge functions (k = 4)",
            "dimcurse's teacher before VERSION 3 (its exponent does not follow k)",
            *U,
            None,
            _teacher_tanh,
            theory=ridge_teacher_theory,
        ),
        Target(
            "teacher-relu",
            "random ReLU network [k, 600, 600, 1], zero biases, output x 6, of z = R^T x (k = 4)",
            "Sharma & Kaplan 2020, Experiments/L2.py (positively homogeneous)",
            *U,
            None,
            _teacher_relu,
            theory=teacher_theory,
        ),
        Target(
            "cos4x",
            "2(2cos^2 x - 1)^2 - 1 = cos 4x on [-2pi, 2pi]",
            "Poggio et al. 2017 (the group's code)",
            -2 * math.pi,
            2 * math.pi,
            1,
            _cos4x,
        ),
        Target(
            "q-power",
            "Q(x,y)^(2^k), Q = (x + y + xy)/3, k = 2",
            "Mhaskar 1996; Poggio et al. 2017 (deep: O(k) units by squaring)",
            *U,
            2,
            _q_power,
        ),
    ]
}


def get_target(name: str) -> Target:
    key = str(name).strip().lower()
    if key not in TARGETS:
        load_entry_points()  # an installed plugin may bring it
    try:
        return TARGETS[key]
    except KeyError:
        raise DimcurseError(
            f"unknown target {name!r}{did_you_mean(name, TARGETS)} (known: {', '.join(TARGETS)}; see --list-targets)",
            "--target",
        ) from None


TEACHERS = ("teacher", "teacher-tanh", "teacher-relu")  # targets with an intrinsic dimension k and draws


def is_teacher(name: str) -> bool:
    """Whether a target takes --teacher-k and --teacher-draws."""
    return str(name).strip().lower() in TEACHERS


def target_dims(target: Target, dims: tuple[int, ...] | None) -> tuple[int, ...]:
    """The dimensions a target runs at: its fixed one, or ``dims`` (required for any-d targets)."""
    if target.fixed_dim is not None:
        if dims and any(d != target.fixed_dim for d in dims):
            raise DimcurseError(f"target {target.name} is defined only for d = {target.fixed_dim}", "--dims")
        return (target.fixed_dim,)
    if not dims:
        raise DimcurseError(f"target {target.name} needs --dims", "--dims")
    return dims
