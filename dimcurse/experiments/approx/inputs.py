"""Where the inputs of a synthetic target come from (``--inputs``): the cube by default, or a point set.

Sharma & Kaplan (2020) argue that a network's exponent is set by the intrinsic dimension of the data it
sees: a smooth target evaluated on inputs that lie on a k-dimensional manifold is a smooth function of
k coordinates, whatever d is. ``--inputs`` tests that: the target is evaluated on

- a synthetic point set of ``dimcurse distance`` (``subspace:K``, ``torus:K``, ``sphere``, ``gaussian``,
  ``uniform``), drawn in the target's d, or
- real inputs (``digits``, ``mnist1d``, a user's ``.npy``, with the ``+upsample:F`` / ``+noise:K``
  transforms of ``dimcurse.data``), whose d is the data's.

Either is moved onto the target's domain by one translation and one scale (the coordinates' overall RMS
becomes that of the uniform domain), which changes neither the set's shape nor its intrinsic dimension.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from dimcurse.data import DISTRIBUTIONS, Distribution, draw, load_dataset, parse_distribution, validate_finite
from dimcurse.errors import DimcurseError
from dimcurse.runtime import numpy_rng

OPTION = "--inputs"
SCALE_POINTS = 4096  # points of the reference draw that fixes a synthetic set's scale (seed-independent)


@dataclass(frozen=True)
class Split:
    """One seed's inputs in the target's units: training pool, test and validation (may be empty)."""

    train: torch.Tensor
    test: torch.Tensor
    val: torch.Tensor


class InputSet:
    """The interface: a name, a fixed dimension (None: any d), a known intrinsic dimension (None: measure
    it) and disjoint training, test and validation draws per seed."""

    name: str
    fixed_dim: int | None
    intrinsic: int | None

    def split(self, seed: int, dim: int, n_train: int, n_test: int, n_val: int, domain: tuple) -> Split:
        raise NotImplementedError


def _to_domain(x: torch.Tensor, centre: torch.Tensor, rms: float, domain: tuple) -> torch.Tensor:
    """Translate by ``centre`` and scale by one factor so the coordinates' RMS is the uniform domain's."""
    low, high = domain
    half = (high - low) / 2
    return (low + high) / 2 + (x - centre) * (half / math.sqrt(3) / rms)


@dataclass(frozen=True)
class DrawnInputs(InputSet):
    """A synthetic point set of ``dimcurse.data`` drawn afresh for each stream."""

    dist: Distribution

    @property
    def name(self) -> str:
        return self.dist.name

    fixed_dim = None

    @property
    def intrinsic(self) -> int:
        return self.dist.intrinsic_dim(0) if self.dist.k is not None else None

    def split(self, seed, dim, n_train, n_test, n_val, domain):
        if dim < self.dist.min_dim():
            raise DimcurseError(f"{self.dist.name} needs d >= {self.dist.min_dim()}, got {dim}", "--dims")
        centre, rms = _reference(self.dist, dim)

        def one(n, stream):
            return _to_domain(draw(self.dist, n, dim, seed, torch.float64, f"approx-{stream}"), centre, rms, domain)

        return Split(one(n_train, "train"), one(n_test, "test"), one(n_val, "val"))


@functools.lru_cache(maxsize=16)
def _reference(dist: Distribution, dim: int) -> tuple[torch.Tensor, float]:
    """Centre and RMS of a fixed reference draw: the same scale for every seed and stream."""
    ref = draw(dist, SCALE_POINTS, dim, 0, torch.float64, "approx-scale")
    centre = ref.mean(0)
    return centre, float((ref - centre).pow(2).mean().sqrt())


@dataclass(frozen=True)
class RowInputs(InputSet):
    """Rows of a real data set: each seed permutes them and takes test, validation and training rows, disjoint."""

    name: str
    x: np.ndarray  # (N, D) float64
    key: str

    @property
    def fixed_dim(self) -> int:
        return int(self.x.shape[1])

    intrinsic = None

    def split(self, seed, dim, n_train, n_test, n_val, domain):
        n = self.x.shape[0]
        if n_train + n_test + n_val > n:
            most = n - n_test - n_val
            raise DimcurseError(
                f"{self.name} has {n} rows: {n_test} test{f' and {n_val} validation' if n_val else ''} rows leave "
                f"at most {max(most, 0)} to train on, asked for {n_train}",
                "--samples",
            )
        order = numpy_rng(seed, "inputs", self.key).permutation(n)
        centre = torch.from_numpy(self.x.mean(0))
        rms = float(np.sqrt(((self.x - self.x.mean(0)) ** 2).mean()))
        parts = (order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val : n_test + n_val + n_train])
        test, val, train = (_to_domain(torch.from_numpy(self.x[rows]), centre, rms, domain) for rows in parts)
        return Split(train, test, val)


def parse_inputs(spec: str) -> InputSet:
    """A distribution name (``subspace:3``) or a data set / file (``digits``, ``points.npy``)."""
    text = str(spec).strip()
    kind = text.lower().partition(":")[0]
    if kind in {name.partition(":")[0] for name in DISTRIBUTIONS}:
        return DrawnInputs(parse_distribution(text, OPTION))
    try:
        data = load_dataset(text)
    except DimcurseError as error:  # the loader names --data; here the same words belong to --inputs
        raise DimcurseError(error.message, OPTION) from None
    x = data.all_x().astype(np.float64)
    validate_finite(x, data.name)
    if float(((x - x.mean(0)) ** 2).mean()) == 0.0:
        raise DimcurseError(f"{data.name}: every row is the same point", OPTION)
    return RowInputs(data.name, x, data.key or data.name)
