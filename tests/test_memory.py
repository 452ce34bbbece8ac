"""Requests too large for memory are refused with an estimate before anything is allocated."""

import time

import pytest

from dimcurse import memory
from dimcurse.errors import DimcurseError
from dimcurse.experiments import approx, distance, overparam

from tests.helpers import assert_clean_error

HUGE = [
    (["distance", "--dims", "100000", "--points", "10000000"], "--points"),
    (["approx", "--widths", "100000000"], "--widths"),
    (["approx", "--samples", "100000000", "--baselines", "knn"], "--samples"),
    (["overparam", "--model", "linear", "--features", "100000000"], "--features"),
    (["overparam", "--features", "100000000"], "--features"),
    (["overparam", "--model", "mlp", "--widths", "10000000,20000000"], "--widths"),
]


@pytest.mark.parametrize("args, option", HUGE, ids=[" ".join(a) for a, _ in HUGE])
def test_huge_requests_are_refused_fast_with_an_estimate(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    code, out, err = cli(*args, "--quiet", "--out", "rows.csv")
    assert time.perf_counter() - started < 10  # refused before any allocation, not after trying
    assert_clean_error(code, out, err, option, tmp_path)
    assert "needs about" in err and "available" in err


def test_estimates_grow_with_the_request_and_defaults_fit():
    small, _ = distance.estimate_bytes(distance.Config(dims=(10,)))
    big, _ = distance.estimate_bytes(distance.Config(dims=(1000,)))
    assert big > 4 * small  # 100x the coordinates; the fixed chunk buffer (25 MB) is the same in both
    for kernel in (distance, approx, overparam):
        needed, _ = kernel.estimate_bytes(kernel.Config())
        assert needed < memory.available_bytes() * memory.HEADROOM  # the defaults run on this machine


def test_require_names_the_option_and_both_sizes():
    with pytest.raises(DimcurseError, match=r"--points: x needs about 1\.0 PiB of memory but .* is available on cpu"):
        memory.require(2.0**50, "x", "--points")
    memory.require(1024, "x", "--points")
