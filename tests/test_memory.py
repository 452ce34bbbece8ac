"""Requests too large for memory are refused with an estimate before anything is allocated."""

import time

import pytest

from dimcurse import memory
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.distance import kernel as distance
from dimcurse.experiments.overparam import kernel as overparam

from tests.helpers import assert_clean_error

# Each is terabytes or more, beyond any single machine (a 128 GiB GPU host ran --widths 10^8 in
# 45 GiB, so the sizes must not be merely large for this machine).
HUGE = [
    (["distance", "--dims", "100000", "--points", "10000000"], "--points"),
    (["approx", "--widths", "10000000000"], "--widths"),
    (["approx", "--samples", "100000000", "--baselines", "knn"], "--samples"),
    (["overparam", "--model", "linear", "--features", "100000000"], "--features"),
    (["overparam", "--features", "100000000"], "--features"),
    (["overparam", "--model", "mlp", "--widths", "100000000,200000000"], "--widths"),
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


# --------------------------------------------------------------------------- device out-of-memory

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dimcurse.experiments.distance import neighbours  # noqa: E402
from dimcurse.experiments.distance.neighbours import ChunkPlan, knn, parse_metric, query_stats  # noqa: E402


def _oom_above(monkeypatch, limit: int, where: str = "_chunk_keys"):
    """Make the engine raise torch's out-of-memory error for any chunk wider than ``limit`` points.

    ``where`` picks the failing step: computing the keys, or reducing them after the keys
    (and, for query_stats, the chunk's sums) were already computed — the failed chunk must leave no trace.
    """
    original = getattr(neighbours, where)
    calls = {"oom": 0}

    def chunk_keys(prep, qs, ps, metric):
        if ps.stop - ps.start > limit:
            calls["oom"] += 1
            raise memory.OUT_OF_MEMORY[0]("CUDA out of memory. Tried to allocate 8.00 GiB.")
        return original(prep, qs, ps, metric)

    def row_extremes(keys):
        if keys.shape[1] > limit:
            calls["oom"] += 1
            raise memory.OUT_OF_MEMORY[0]("CUDA out of memory. Tried to allocate 8.00 GiB.")
        return original(keys)

    monkeypatch.setattr(neighbours, where, chunk_keys if where == "_chunk_keys" else row_extremes)
    return calls


@pytest.mark.parametrize("where", ["_chunk_keys", "_row_extremes"])
def test_query_stats_halves_the_chunk_on_out_of_memory_and_gives_the_same_answer(monkeypatch, where):
    gen = torch.Generator().manual_seed(0)
    queries, points = torch.randn(100, 20, generator=gen), torch.randn(5000, 20, generator=gen)
    l2 = parse_metric("l2")
    plan = ChunkPlan(100 * 4096)  # 4096 points per chunk; 'memory' holds 600
    calls = _oom_above(monkeypatch, 600, where)
    got = query_stats(queries, points, l2, chunk_elems=plan)
    monkeypatch.undo()
    assert plan.halvings == 3 and plan.width(100) == 512 and calls["oom"] == 3  # 4096 -> 2048 -> 1024 -> 512, once each
    want = query_stats(queries, points, l2, chunk_elems=100 * 512)
    for field in ("nn", "nn_index", "far", "far_index", "mean", "sd"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=field)
    assert (got.pow_mean, got.pow_var) == (want.pow_mean, want.pow_var)


def test_knn_halves_the_chunk_and_a_one_point_chunk_that_fails_is_raised(monkeypatch):
    points = torch.randn(700, 5, generator=torch.Generator().manual_seed(1))
    l2 = parse_metric("l2")
    _oom_above(monkeypatch, 100)
    plan = ChunkPlan(700 * 700)
    got = knn(points, l2, 5, plan)
    monkeypatch.undo()
    want = knn(points, l2, 5, 700 * plan.width(700))
    assert plan.width(700) <= 100
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    _oom_above(monkeypatch, 0)  # even one point fails: nothing left to halve
    with pytest.raises(memory.OUT_OF_MEMORY):
        query_stats(points[:3], points, l2)


def test_distance_kernel_carries_on_and_says_so(monkeypatch):
    config = distance.Config(dims=(8,), seeds=(0,), n_points=3000, n_queries=64, id_points=300, chunk_elems=64 * 2048)
    _oom_above(monkeypatch, 300)
    got = distance.run(config)
    monkeypatch.undo()
    assert got.provenance["chunk_elems_used"] < config.chunk_elems
    assert any("ran out of memory" in note and "halved" in note for note in got.notes)
    want = distance.run(distance.Config(**{**config.__dict__, "chunk_elems": got.provenance["chunk_elems_used"]})).rows
    for column in ("nn_dist", "far_dist", "relative_contrast", "mean_dist", "twonn_id", "hubness"):
        np.testing.assert_allclose(got.rows[column], want[column], rtol=1e-6, err_msg=column)


def test_out_of_memory_elsewhere_is_one_line_suggesting_a_smaller_batch(cli, tmp_path, monkeypatch):
    def no_memory(*args, **kwargs):
        raise memory.OUT_OF_MEMORY[0]("CUDA out of memory. Tried to allocate 12.50 GiB. GPU 0 has 1 GiB free.")

    monkeypatch.setattr(approx.lm, "train_lm", no_memory)  # the default trainer of a shallow network
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("approx", "--widths", "8", "--lm-iters", "5", "--quiet", "--out", "rows.csv")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and list(tmp_path.iterdir()) == []
    assert (
        lines[0].startswith("error: the device ran out of memory asking for 12.50 GiB") and "--batch-size" in lines[0]
    )
