"""The chunked engine against a float64 brute force, including the float32 traps of docs/references.md (Distances)."""

import numpy as np
import pytest
import torch

from dimcurse.errors import DimcurseError
from dimcurse.experiments.distance.neighbours import knn, parse_metric, query_stats

EXACT = 1e-6  # "exact to about 1e-6 relative" (issue 2)


def _reference(queries, points, metric):
    """Brute-force float64 distances by direct differences (numpy, independent of the engine)."""
    q, x = queries.double().numpy()[:, None, :], points.double().numpy()[None, :, :]
    if metric == "cosine":
        qn = q / np.linalg.norm(q, axis=2, keepdims=True)
        xn = x / np.linalg.norm(x, axis=2, keepdims=True)
        return 1 - (qn * xn).sum(2)
    diff = np.abs(q - x)
    if metric == "linf":
        return diff.max(2)
    p = {"l1": 1.0, "l2": 2.0}.get(metric) or float(metric.split(":")[1])
    return (diff**p).sum(2) ** (1 / p)


def _naive_float32_nn(queries, points):
    """What the plain float32 expansion |x|^2 + |y|^2 - 2x.y reports (the trap)."""
    d2 = (queries**2).sum(1)[:, None] + (points**2).sum(1)[None] - 2 * queries @ points.T
    return d2.clamp_min(0).sqrt().min(1).values.double().numpy()


@pytest.mark.parametrize("metric", ["l2", "l1", "linf", "lp:0.5", "lp:3", "cosine"])
def test_all_statistics_match_brute_force(metric):
    gen = torch.Generator().manual_seed(0)
    queries, points = torch.rand(40, 25, generator=gen), torch.rand(1500, 25, generator=gen)
    stats = query_stats(queries, points, parse_metric(metric), chunk_elems=40 * 300)
    ref = _reference(queries, points, metric)
    np.testing.assert_allclose(stats.nn, ref.min(1), rtol=EXACT)
    np.testing.assert_allclose(stats.far, ref.max(1), rtol=EXACT)
    np.testing.assert_array_equal(stats.nn_index, ref.argmin(1))
    np.testing.assert_allclose(stats.mean, ref.mean(1), rtol=1e-5)
    np.testing.assert_allclose(stats.sd, ref.std(1), rtol=1e-3)
    power = parse_metric(metric).power
    if power is not None:
        assert stats.pow_mean == pytest.approx((ref**power).mean(), rel=1e-5)
        assert stats.pow_var == pytest.approx((ref**power).var(), rel=1e-4)


def test_trap_near_duplicates_in_high_dimension():
    gen = torch.Generator().manual_seed(1)
    points = torch.randn(3000, 1000, generator=gen)
    queries = points[:50] + 1e-4 * torch.randn(50, 1000, generator=gen)
    truth = _reference(queries, points[:50], "l2").diagonal()
    naive = _naive_float32_nn(queries, points)
    assert np.max(np.abs(naive / truth - 1)) > 0.25  # the trap is real: plain float32 is off by > 25 %
    stats = query_stats(queries, points, parse_metric("l2"))
    np.testing.assert_allclose(stats.nn, truth, rtol=EXACT)


@pytest.mark.slow
@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_trap_many_points_in_low_dimension_far_from_origin(offset):
    gen = torch.Generator().manual_seed(2)
    points = torch.rand(200_000, 2, generator=gen) + offset
    queries = torch.rand(64, 2, generator=gen) + offset
    stats = query_stats(queries, points, parse_metric("l2"))
    ref = _reference(queries, points, "l2")
    np.testing.assert_allclose(stats.nn, ref.min(1), rtol=EXACT)
    np.testing.assert_allclose(stats.far, ref.max(1), rtol=EXACT)


def test_trap_duplicates_give_zero_never_negative_or_nan():
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(300, 64, generator=gen) * 50 + 7
    points = torch.cat([base, base, base])
    for metric in ["l2", "cosine", "l1", "lp:0.5"]:
        stats = query_stats(base[:20], points, parse_metric(metric))
        assert np.all(stats.nn == 0.0), metric
        assert np.all(np.isfinite(stats.far)) and np.all(stats.sd >= 0)


def test_trap_fractional_p_does_not_overflow_float32():
    gen = torch.Generator().manual_seed(4)
    queries, points = torch.rand(8, 1000, generator=gen), torch.rand(500, 1000, generator=gen)
    # torch.cdist itself overflows here in float32 (the trap):
    assert torch.isinf(torch.cdist(queries, points, p=0.05)).any()
    stats = query_stats(queries, points, parse_metric("lp:0.05"))
    ref = _reference(queries, points, "lp:0.05")
    assert np.isfinite(stats.nn).all() and np.isfinite(stats.mean).all()
    np.testing.assert_allclose(stats.nn, ref.min(1), rtol=EXACT)
    np.testing.assert_allclose(stats.mean, ref.mean(1), rtol=1e-5)


def test_trap_cosine_of_near_parallel_vectors():
    gen = torch.Generator().manual_seed(5)
    points = torch.randn(2000, 300, generator=gen)
    queries = points[:30] * 3.0 + 1e-5 * torch.randn(30, 300, generator=gen)
    stats = query_stats(queries, points, parse_metric("cosine"))
    q, x = queries.double(), points[:30].double()

    def unit(t):
        return t / t.norm(dim=1, keepdim=True)

    truth = (((unit(q) - unit(x)) ** 2).sum(1) / 2).numpy()  # 1 - cos without cancellation
    np.testing.assert_allclose(stats.nn, truth, rtol=1e-5)


def test_chunking_does_not_change_results():
    gen = torch.Generator().manual_seed(6)
    queries, points = torch.randn(100, 50, generator=gen), torch.randn(5000, 50, generator=gen)
    big = query_stats(queries, points, parse_metric("l2"), chunk_elems=1 << 24)
    small = query_stats(queries, points, parse_metric("l2"), chunk_elems=1000)
    np.testing.assert_array_equal(big.nn, small.nn)
    np.testing.assert_array_equal(big.far_index, small.far_index)
    np.testing.assert_allclose(big.mean, small.mean, rtol=1e-6)


def test_uncertified_queries_fall_back_to_an_exact_scan():
    # Many exact ties: no candidate list can certify the nearest, so the exact scan must run.
    points = torch.zeros(100, 4)
    points[50:] = 1.0
    stats = query_stats(torch.full((3, 4), 0.25), points, parse_metric("l2"), candidates=4)
    assert stats.n_exact_fallback == 3
    np.testing.assert_allclose(stats.nn, 0.5)
    np.testing.assert_allclose(stats.far, 1.5)


def test_knn_is_exact_and_excludes_self():
    gen = torch.Generator().manual_seed(7)
    points = torch.rand(400, 6, generator=gen)
    dists, idx = knn(points, parse_metric("l2"), 5, chunk_elems=400 * 50)
    ref = _reference(points, points, "l2")
    np.fill_diagonal(ref, np.inf)
    np.testing.assert_allclose(dists, np.sort(ref, axis=1)[:, :5], rtol=EXACT)
    assert not np.any(idx == np.arange(400)[:, None])
    with pytest.raises(DimcurseError):
        knn(points[:5], parse_metric("l2"), 5)


@pytest.mark.parametrize("text", ["l3", "lp:0", "lp:-1", "lp:x", "cos"])
def test_unknown_metrics(text):
    with pytest.raises(DimcurseError, match="--metric"):
        parse_metric(text)


def _log_lp_reference(queries, points, p):
    """log of (sum |d|^p)^(1/p) in float64, in log space: log m + (1/p) log sum (|d|/m)^p (numpy)."""
    diff = np.abs(queries.double().numpy()[:, None, :] - points.double().numpy()[None, :, :])
    top = diff.max(2)
    return np.log(top) + np.log(((diff / top[..., None]) ** p).sum(2)) / p


@pytest.mark.parametrize(
    "dim, p", [(2, 1e-3), (2, 1e-2), (8, 1e-2), (8, 0.1), (8, 0.5), (8, 3.0), (8, 30.0), (8, 1e3), (2, 1e3)]
)
def test_lp_nearest_and_farthest_over_six_decades_of_p(dim, p):
    """Issue 17: lp:0.001 overflowed to inf and lp:1000 underflowed to 0; both now finite and exact."""
    gen = torch.Generator().manual_seed(7)
    queries, points = torch.rand(12, dim, generator=gen), torch.rand(300, dim, generator=gen)
    stats = query_stats(queries, points, parse_metric(f"lp:{p}"), chunk_elems=12 * 50)
    ref = _log_lp_reference(queries, points, p)
    assert np.isfinite(stats.nn).all() and np.isfinite(stats.far).all() and (stats.nn > 0).all()
    np.testing.assert_allclose(np.log(stats.nn), ref.min(1), atol=1e-9, rtol=1e-9)
    np.testing.assert_allclose(np.log(stats.far), ref.max(1), atol=1e-9, rtol=1e-9)


def test_lp_power_moments_are_left_undefined_where_d_to_the_p_leaves_float64():
    gen = torch.Generator().manual_seed(8)
    queries, points = torch.rand(5, 10, generator=gen), torch.rand(200, 10, generator=gen)
    stats = query_stats(queries, points, parse_metric("lp:1e9"))
    assert np.isnan(stats.pow_mean) and np.isfinite(stats.mean).all()  # not a bare 0 passed off as E D^P
