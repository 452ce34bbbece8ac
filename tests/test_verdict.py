"""The verdict beside every fit: its rule (docs/approx.md), on intervals of known width."""

import math

import pytest

from dimcurse.experiments.approx.verdict import consistent_dimensions, verdict


@pytest.mark.parametrize(
    "lo, hi, theory, kind, expected",
    [
        (0.9, 1.1, 1.0, "prediction", "agrees"),  # contains 1, half-width 0.1 <= 0.3
        (0.6, 1.2, 1.0, "prediction", "agrees"),  # half-width 0.3: the edge agrees
        (0.213, 0.277, 1 / 3, "prediction", "disagrees"),  # the k = 6 at d = 6: excludes 0.333
        (1.05, 1.3, 1.0, "prediction", "disagrees"),  # above
        (0.5, 1.5, 1.0, "prediction", "inconclusive"),  # spans a factor of 3
        (0.287, 1.54, 0.925, "prediction", "inconclusive"),  # the bridge: cannot tell ID 2 from 7
        (0.7, 0.9, 0.5, "bound", "agrees"),  # above a worst case: the target is easier
        (0.3, 0.4, 0.5, "bound", "disagrees"),  # below a rate the class guarantees
        (0.2, 1.4, 0.5, "bound", "inconclusive"),
        (-2e-5, 1e-3, 1 / 32, "ceiling", "agrees"),  # a fixed basis at d = 32: at most 1/d
        (0.77, 1.41, 0.5, "ceiling", "disagrees"),
        (0.9, 1.1, math.nan, "prediction", "no theory"),
        (math.nan, math.nan, 1.0, "prediction", "inconclusive"),  # no interval (one replicate)
    ],
)
def test_the_rule(lo, hi, theory, kind, expected):
    assert verdict(lo, hi, theory, kind) == expected


def test_the_tolerance_moves_the_line_between_agrees_and_inconclusive():
    assert verdict(0.8, 1.2, 1.0, tolerance=0.3) == "agrees"
    assert verdict(0.8, 1.2, 1.0, tolerance=0.1) == "inconclusive"


def test_an_interval_names_the_dimensions_it_is_consistent_with():
    assert consistent_dimensions(0.5, 1.0, 2.0) == (2.0, 4.0)
    assert consistent_dimensions(-0.1, 1.0, 2.0) == (2.0, math.inf)
    assert all(math.isnan(v) for v in consistent_dimensions(-1.0, -0.5, 2.0))
