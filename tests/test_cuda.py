"""CUDA paths give the CPU's answers (float32 on both). Skipped cleanly without a GPU."""

import numpy as np
import pytest
import torch

from dimcurse.experiments import distance
from dimcurse.neighbours import parse_metric, query_stats

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("metric", ["l2", "cosine", "l1", "linf", "lp:0.5"])
def test_engine_matches_cpu(metric):
    gen = torch.Generator().manual_seed(0)
    queries, points = torch.randn(64, 200, generator=gen), torch.randn(20000, 200, generator=gen)
    cpu = query_stats(queries, points, parse_metric(metric))
    gpu = query_stats(queries.cuda(), points.cuda(), parse_metric(metric))
    # Extremes are recomputed exactly in float64 on both: equal to 1e-12. Means: float32 sums, 1e-5.
    np.testing.assert_allclose(gpu.nn, cpu.nn, rtol=1e-12)
    np.testing.assert_allclose(gpu.far, cpu.far, rtol=1e-12)
    np.testing.assert_allclose(gpu.mean, cpu.mean, rtol=1e-5)


def test_distance_kernel_matches_cpu():
    config = distance.Config(dims=(10, 300), dists=("gaussian", "subspace:3"), seeds=(0,), n_points=3000, n_queries=50, id_points=500)
    cpu = distance.run(config, device="cpu").rows
    gpu = distance.run(config, device="cuda").rows
    for column in ("nn_dist", "far_dist", "relative_contrast", "twonn_id", "mle_id"):
        np.testing.assert_allclose(gpu[column], cpu[column], rtol=1e-9, err_msg=column)
    for column in ("mean_dist", "dist_cv", "mean_pow_dist"):
        np.testing.assert_allclose(gpu[column], cpu[column], rtol=1e-5, err_msg=column)
    np.testing.assert_allclose(gpu["hubness"], cpu["hubness"], atol=1e-9)


def test_approx_kernel_matches_cpu():
    # Training in float32 on two devices: rounding differs step by step, so a short run is
    # compared at 2 % relative (the fixed-basis baseline, solved in float64, at 1e-6).
    from dimcurse.experiments import approx

    config = approx.Config(targets=("kan-xy",), archs=("shallow", "tree"), widths=(4, 16), steps=50,
                           n_samples=500, n_test=500, seeds=(0, 1), baselines=("random-features",))
    cpu = approx.run(config, device="cpu").rows
    gpu = approx.run(config, device="cuda").rows
    nets = cpu.arch != "random-features"
    np.testing.assert_allclose(gpu.rel_rmse[nets], cpu.rel_rmse[nets], rtol=0.02)
    np.testing.assert_allclose(gpu.rel_rmse[~nets], cpu.rel_rmse[~nets], rtol=1e-6)
