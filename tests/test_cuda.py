"""CUDA paths give the CPU's answers (float32 on both). Skipped cleanly without a GPU."""

import numpy as np
import pytest
import torch

from dimcurse.experiments.distance import kernel as distance
from dimcurse.experiments.distance.neighbours import parse_metric, query_stats

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
    config = distance.Config(
        dims=(10, 300), dists=("gaussian", "subspace:3"), seeds=(0,), n_points=3000, n_queries=50, id_points=500
    )
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
    from dimcurse.experiments.approx import kernel as approx

    config = approx.Config(
        targets=("kan-xy",),
        archs=("shallow", "tree"),
        widths=(4, 16),
        steps=50,
        n_samples=500,
        n_test=500,
        seeds=(0, 1),
        baselines=("random-features",),
        optimizer="adam",
    )
    cpu = approx.run(config, device="cpu").rows
    gpu = approx.run(config, device="cuda").rows
    nets = cpu.arch != "random-features"
    np.testing.assert_allclose(gpu.rel_rmse[nets], cpu.rel_rmse[nets], rtol=0.02)
    np.testing.assert_allclose(gpu.rel_rmse[~nets], cpu.rel_rmse[~nets], rtol=1e-6)


def test_levenberg_marquardt_matches_cpu():
    # float64 throughout (matrix, factor, losses): 5 LM iterations on both devices agree to 1e-6 relative.
    from dimcurse.experiments.approx import kernel as approx

    config = approx.Config(
        targets=("teacher",), dims=(8,), teacher_k=2, widths=(4, 16, 64), lm_iters=5, seeds=(0, 1), dtype="float64"
    )
    cpu = approx.run(config, device="cpu").rows
    gpu = approx.run(config, device="cuda").rows
    np.testing.assert_allclose(gpu.rel_rmse, cpu.rel_rmse, rtol=1e-6)
    assert (gpu.optimizer == "lm").all()


def test_overparam_closed_forms_match_cpu():
    from dimcurse.experiments.overparam import kernel as overparam

    for config in (
        overparam.Config(model="linear", widths=(50, 150), n_train=100, n_test=100, seeds=(0,)),
        overparam.Config(data="digits", widths=(50, 200, 400), n_train=200, n_test=200, seeds=(0,), ridge=(0.0, 0.1)),
    ):
        cpu, gpu = overparam.run(config, device="cpu").rows, overparam.run(config, device="cuda").rows
        # float64 solves on both; only the order of summation differs (the N = n solve amplifies it: 1e-6).
        for column in ("test_loss", "weight_norm", "excess_risk"):
            np.testing.assert_allclose(gpu[column], cpu[column], rtol=1e-6, err_msg=column)


def test_overparam_mlp_matches_cpu():
    from dimcurse.experiments.overparam import kernel as overparam

    config = overparam.Config(
        model="mlp", data="teacher", widths=(4, 32), n_train=128, n_test=128, epochs=5, batch_size=32, seeds=(0, 1)
    )
    cpu, gpu = overparam.run(config, device="cpu").rows, overparam.run(config, device="cuda").rows
    # float32 on both: cuBLAS and the CPU BLAS sum in different orders; 5 epochs of Adam keep it within 1e-3.
    np.testing.assert_allclose(gpu["train_loss"], cpu["train_loss"], rtol=1e-3)
    np.testing.assert_allclose(gpu["test_loss"], cpu["test_loss"], rtol=1e-3)


def test_overparam_cnn_matches_cpu_and_each_model_alone():
    from dimcurse.experiments.overparam.cnn import CNN1DClassifier, single_model
    from dimcurse.experiments.overparam import kernel as overparam

    config = overparam.Config(
        model="cnn", widths=(2, 9, 16, 24), n_train=200, n_test=200, epochs=3, batch_size=50, seeds=(0, 1)
    )
    cpu, gpu = overparam.run(config, device="cpu").rows, overparam.run(config, device="cuda").rows
    # float32 on both; cuDNN's grouped convolutions sum in another order than oneDNN's
    np.testing.assert_allclose(gpu["train_loss"], cpu["train_loss"], rtol=1e-3)
    np.testing.assert_allclose(gpu["test_loss"], cpu["test_loss"], rtol=1e-3)
    model = CNN1DClassifier([0, 1], 40, [2, 9, 16, 24], 10, dtype=torch.float64).cuda()
    x = torch.randn(2, 30, 40, dtype=torch.float64, device="cuda")
    out = model(x)
    for s in range(2):
        for j in range(4):
            alone = single_model(model, s, j).cuda()(x[s : s + 1])[0, :, 0]
            torch.testing.assert_close(out[s, :, j], alone, rtol=1e-10, atol=1e-12)


def test_distance_engine_halves_its_chunk_on_a_real_out_of_memory():
    """A 4096 x 400,000 block of keys (6.5 GiB) on a device capped at 2 GiB more than it holds."""
    from dimcurse.experiments.distance.neighbours import ChunkPlan

    gen = torch.Generator().manual_seed(0)
    queries = torch.randn(4096, 64, generator=gen).cuda()
    points = torch.randn(400_000, 64, generator=gen).cuda()
    l2 = parse_metric("l2")
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, (torch.cuda.memory_allocated() + 2 * 2**30) / total))
    try:
        plan = ChunkPlan(4096 * 400_000)
        got = query_stats(queries, points, l2, chunk_elems=plan)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert plan.halvings >= 1 and plan.elems < 4096 * 400_000
    want = query_stats(queries, points, l2, chunk_elems=plan.elems)
    np.testing.assert_array_equal(got.nn, want.nn)
    np.testing.assert_array_equal(got.far, want.far)
    np.testing.assert_allclose(got.mean, want.mean, rtol=1e-6)


def test_tf32_is_off_on_cuda_unless_asked_for_and_recorded():
    """Issue 27: a CUDA run's float32 matmuls and cuDNN convolutions run without TF32 by default; --tf32 turns
    it on, the provenance records it and a note says so."""
    import dimcurse

    plain = dimcurse.overparam(model="cnn", widths="2", train_samples=100, test_samples=100, epochs=1, seeds=1,
                               device="cuda")  # fmt: skip
    assert plain.provenance["float32"] == {**plain.provenance["float32"], "tf32_matmul": False, "tf32_cudnn": False}
    fast = dimcurse.overparam(model="cnn", widths="2", train_samples=100, test_samples=100, epochs=1, seeds=1,
                              device="cuda", tf32=True)  # fmt: skip
    assert fast.provenance["float32"]["tf32_cudnn"] is True and any("TF32 was on" in n for n in fast.notes)
