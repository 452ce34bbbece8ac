"""Target functions for ``dimcurse approx``: a registry of formulas, domains and sources.

Each target maps points of its domain (an (n, d) tensor) to values (n,). A target is
the same function for every seed (its random parts, such as the Barron directions or
the teacher's weights, depend only on the dimension); seeds change the samples and
the networks' initialisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from dimcurse.errors import DimcurseError
from dimcurse.parsing import did_you_mean
from dimcurse.experiments.approx.theory import barron_theory, teacher_theory, tree_theory
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
    # (exponent, source, kind): kind "bound" (a worst case over the class: a given target may beat it) or
    # "prediction" (a scaling law for generic members of the class).
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
    teacher_width: int = 32
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


def _teacher(dim: int, opts: TargetOptions):
    """A random tanh network on z = R^T x, R a d x k orthonormal basis: intrinsic dimension k."""
    k = opts.teacher_k
    if dim < k:
        raise DimcurseError(f"the teacher's intrinsic dimension {k} exceeds d = {dim}", "--dims")
    gen = generator(0, "teacher", dim, k, opts.teacher_width)
    basis, _ = torch.linalg.qr(torch.randn(dim, k, generator=gen, dtype=torch.float64))
    w1 = torch.randn(k, opts.teacher_width, generator=gen, dtype=torch.float64) * (2.0 / math.sqrt(k))
    b1 = torch.randn(opts.teacher_width, generator=gen, dtype=torch.float64) * 0.5
    w2 = torch.randn(opts.teacher_width, generator=gen, dtype=torch.float64) / math.sqrt(opts.teacher_width)
    return lambda x: torch.tanh((x @ basis.to(x)) @ w1.to(x) + b1.to(x)) @ w2.to(x)


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
            "random tanh network (width 32) of z = R^T x, R a d x k orthonormal basis (k = 4)",
            "Sharma & Kaplan 2020 (controlled intrinsic dimension)",
            *U,
            None,
            _teacher,
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
        from dimcurse.plugins import load_entry_points

        load_entry_points()  # an installed plugin may bring it
    try:
        return TARGETS[key]
    except KeyError:
        raise DimcurseError(
            f"unknown target {name!r}{did_you_mean(name, TARGETS)} (known: {', '.join(TARGETS)}; see --list-targets)",
            "--target",
        ) from None


def target_dims(target: Target, dims: tuple[int, ...] | None) -> tuple[int, ...]:
    """The dimensions a target runs at: its fixed one, or ``dims`` (required for any-d targets)."""
    if target.fixed_dim is not None:
        if dims and any(d != target.fixed_dim for d in dims):
            raise DimcurseError(f"target {target.name} is defined only for d = {target.fixed_dim}", "--dims")
        return (target.fixed_dim,)
    if not dims:
        raise DimcurseError(f"target {target.name} needs --dims", "--dims")
    return dims
