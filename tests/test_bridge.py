"""Learning curves and the bridge from a data set's measured intrinsic dimension to its exponent."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from dimcurse.data import draw, load_dataset, parse_distribution
from dimcurse.experiments.approx import baselines, bridge
from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.approx.fitting import fit_exponent
from dimcurse.experiments.distance import intrinsic
from helpers import assert_clean_error, pick_one

SIZES = (250, 500, 1000, 2000, 4000)


def _curve_rows(alpha_best: float, alpha_decoy: float, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Synthetic learning-curve rows: width 8's test error falls as n^-alpha_best and it has the lowest
    validation error; width 16's test error (n^-alpha_decoy, lower) has a worse validation error, so only a
    fit that chooses by validation sees alpha_best."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for n in SIZES:
            noise = math.exp(rng.normal(0, 0.03))
            for width, alpha, val in ((8, alpha_best, 1.0), (16, alpha_decoy, 2.0), (4, 0.0, 3.0)):
                rel = 2.0 * n**-alpha * noise if alpha else 0.9
                rows.append(dict(
                    target="teacher", inputs="cube", dim=16, teacher_k=2.0, arch="shallow", width=width, draw=0,
                    seed=seed,
                    params=width * 18 + 1, n_samples=n, rel_rmse=rel, train_rmse=rel, val_rmse=val * rel,
                    optimisation_limited=False, estimation_limited=True, precision_limited=False,
                ))  # fmt: skip
    frame = pd.DataFrame(rows)
    # Validation prefers width 8 at every n, though width 16's test error is lower.
    frame.loc[frame.width == 8, "val_rmse"] = 0.0
    return frame


def test_the_sample_axis_fit_recovers_a_power_law_choosing_widths_by_validation():
    config = approx.Config(targets=("teacher",), dims=(16,), teacher_k=(2,), n_samples=SIZES)
    fits = approx.fit_table(_curve_rows(0.7, 1.2), config)
    samples = pick_one(fits, axis="samples")
    assert samples.fixed == "best width" and samples.alpha == pytest.approx(0.7, abs=0.03)
    assert samples.alpha_lo <= 0.7 <= samples.alpha_hi
    assert samples.used_params == ",".join(str(n) for n in SIZES)
    # Estimation-limited points are the point of a learning curve: they stay in the sample fit.
    assert "estimation" not in samples.excluded
    assert samples.alpha_theory == 1.0 and "Bahri" in samples.theory_source
    # One params fit per n (each with the three widths; every one estimation-limited here, so no exponent).
    assert sorted(fits[fits.axis == "params"].fixed) == sorted(f"n={n}" for n in SIZES)


def _knn_alpha(dist: str, dim: int, seeds=(0, 1, 2)) -> float:
    xs = torch.stack([draw(parse_distribution(dist), 4000, dim, s, torch.float64, "tr") for s in seeds])
    xt = torch.stack([draw(parse_distribution(dist), 500, dim, s, torch.float64, "te") for s in seeds])

    def f(x):
        return torch.sin(3 * x).sum(-1)

    _, pred = baselines.knn_regression(xs, f(xs), xt, list(SIZES), 1)
    err = ((pred - f(xt)[:, :, None]) ** 2).mean(1).sqrt().numpy()
    return fit_exponent(list(SIZES), err, size="n").alpha


def test_knn_exponent_in_n_falls_with_d_on_the_cube_and_follows_k_on_a_manifold():
    # 1-NN on a noiseless smooth target: RMSE ~ n^-1/m, m the inputs' intrinsic dimension (Kpotufe 2011).
    # Over four seed triples (0-2, 3-5, 6-8, 9-11) on the AMD machine: uniform d = 2: 0.511-0.534, d = 4:
    # 0.255-0.274, d = 8: 0.117-0.130, torus:2 in 16: 0.496-0.552, subspace:3 in 24: 0.276-0.313; the largest
    # relative distance from 1/m was 17 %, so the tolerance is 25 %.
    cube = {d: _knn_alpha("uniform", d) for d in (2, 4, 8)}
    assert cube[2] > cube[4] > cube[8], cube
    for m, alpha in [*cube.items(), (2, _knn_alpha("torus:2", 16)), (3, _knn_alpha("subspace:3", 24))]:
        assert alpha == pytest.approx(1 / m, rel=0.25), (m, alpha)


def test_approx_reports_the_id_distance_measures_on_the_same_points(tmp_path):
    from dimcurse.configs import DistanceConfig
    from dimcurse.experiments.distance import kernel as distance
    from dimcurse.experiments.distance.neighbours import ChunkPlan, parse_metric

    points = draw(parse_distribution("torus:3"), 1500, 12, 7, torch.float64).numpy()
    path = tmp_path / "torus.npy"
    np.save(path, points)
    config = approx.Config(
        targets=("teacher",), teacher_k=(2,), dims=(12,), inputs=str(path), widths=(4, 8, 16), lm_iters=3,
        seeds=(0,), teacher_draws=1, n_test=200, n_samples=1000,
    )  # fmt: skip
    result = approx.run(config)
    reported = result.rows.iloc[0]
    # The training pool approx measured: a seed-0 split of the file, in the target's units (an affine map).
    train = approx._split(approx.get_target("teacher"), config, 12, 0).train
    pset = distance.PointSet("torus", 12, train, train[:1], None)
    structure = distance._structure(pset, [parse_metric("l2")], DistanceConfig(id_points=2000), ChunkPlan(1 << 20))
    assert reported.id_twonn == pytest.approx(structure["l2"]["twonn_id"], rel=1e-12)
    assert reported.id_mle == pytest.approx(structure["l2"]["mle_id"], rel=1e-12)
    raw = intrinsic.measure(train, 20, 2000)
    assert reported.id_twonn == pytest.approx(raw["twonn_id"], rel=1e-12)
    assert reported.id_twonn_lo < reported.id_twonn < reported.id_twonn_hi
    assert abs(reported.id_twonn - 3) < 0.3  # a 3-torus


@pytest.mark.slow
def test_on_a_two_dimensional_manifold_in_32_dimensions_the_bridge_predicts_the_exponent():
    # The teacher (k = 4 directions) on torus:2 inputs in d = 32: a smooth function of 2 coordinates, so
    # alpha = 2 / ID. Widths 4, 8, 16, 2000 samples, 3 seeds (10 s).
    config = approx.Config(
        targets=("teacher",), dims=(32,), teacher_k=(4,), widths=(4, 8, 16), seeds=(0, 1, 2), teacher_draws=1,
        inputs="torus:2", n_test=1000, n_samples=2000,
    )  # fmt: skip
    result = approx.run(config)
    fit = result.analysis.iloc[0]
    assert abs(fit.id_twonn - 2) < 0.15 and "2/ID" in fit.theory_source
    assert fit.alpha_lo <= fit.alpha_theory <= fit.alpha_hi, fit
    assert abs(fit.alpha - fit.alpha_theory) < 0.3, fit
    assert any("agrees with the ID's" in note for note in result.notes)


def test_upsampling_keeps_the_intrinsic_dimension_and_noise_coordinates_raise_it():
    # Measured: digits 9.04, upsampled 2x (256 dims) 8.30, 4x (1024 dims) 8.38; with 64 noise coordinates 36.3.
    ids = {
        spec: intrinsic.measure(load_dataset(spec).x.astype(np.float64), 20, 2000)["twonn_id"]
        for spec in ("digits", "digits+upsample:2", "digits+upsample:4", "digits+noise:64")
    }
    assert load_dataset("digits+upsample:4").x.shape == (1797, 1024)
    for spec in ("digits+upsample:2", "digits+upsample:4"):
        assert ids[spec] == pytest.approx(ids["digits"], rel=0.12), ids
    assert ids["digits+noise:64"] > 2 * ids["digits"], ids


def test_a_learning_curve_through_the_cli_has_both_axes_and_is_reproducible(cli, tmp_path):
    args = (
        "approx", "--target", "teacher", "--teacher-k", "2", "--dims", "4", "--widths", "4,8,16",
        "--samples", "100,200,400", "--baselines", "knn,random-features", "--lm-iters", "5", "--seeds", "1",
        "--teacher-draws", "1", "--test-samples", "200", "--quiet",
    )  # fmt: skip
    outs = []
    for name in ("a.csv", "b.csv"):
        code, out, err = cli(*args, "--out", str(tmp_path / name), "--fit-out", str(tmp_path / f"fit-{name}"))
        assert code == 0, err
        outs.append(pd.read_csv(tmp_path / f"fit-{name}"))
    fits = outs[0]
    assert set(fits.axis) == {"params", "samples"}
    assert set(fits[fits.axis == "samples"].arch) == {"shallow", "knn", "random-features"}
    pd.testing.assert_frame_equal(outs[0], outs[1])
    rows = pd.read_csv(tmp_path / "a.csv")
    assert rows[rows.arch == "shallow"].val_rmse.notna().all() and sorted(rows.n_samples.unique()) == [100, 200, 400]


def test_user_data_trains_on_every_training_row_and_reports_its_id(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (600, 3))
    frame = pd.DataFrame(np.c_[x, np.sin(x).sum(1)], columns=["a", "b", "c", "y"])
    path = tmp_path / "reg.csv"
    frame.to_csv(path, index=False)
    result = approx.run(approx.Config(data=str(path), widths=(2, 4, 8), seeds=(0,)))
    assert (result.rows.n_samples == 480).all()  # 600 rows, 20 % held out
    fit = result.analysis.iloc[0]
    assert abs(fit.id_twonn - 3) < 0.5 and "TwoNN ID" in fit.theory_source
    assert fit.alpha_theory == pytest.approx(2 / fit.id_twonn)
    assert np.isfinite(fit.alpha) and fit.k_from_alpha == pytest.approx(2 / fit.alpha)


def test_a_file_too_small_for_an_id_still_fits_and_says_why(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (25, 2))
    path = tmp_path / "tiny.csv"
    pd.DataFrame(np.c_[x, x.sum(1) ** 2], columns=["a", "b", "y"]).to_csv(path, index=False)
    result = approx.run(approx.Config(data=str(path), widths=(1, 2, 3), lm_iters=3, seeds=(0,)))
    assert result.rows.id_twonn.isna().all()
    assert any("intrinsic dimension" in note and "20 training rows" in note for note in result.notes), result.notes


@pytest.mark.parametrize(
    "args, option, words",
    [
        (("--samples", "1,10"), "--samples", "at least 2"),
        (("--inputs", "digits", "--dims", "8"), "--dims", "fixes d = 64"),
        (("--inputs", "mnist1d+upsample:2"), "--inputs", "not image data"),
        (("--inputs", "digits+blur:2"), "--inputs", "unknown transform"),
        (("--inputs", "torus:0"), "--inputs", "positive integer"),
        (("--target", "kan-4d", "--inputs", "digits"), "--inputs", "defined for d = 4 only"),
        (("--inputs", "digits", "--samples", "5000"), "--samples", "at most"),
    ],
)
def test_bad_sample_and_input_options_get_one_line(cli, args, option, words):
    code, out, err = cli("approx", *args, "--widths", "4,8", "--lm-iters", "1", "--seeds", "1", "--quiet")
    assert_clean_error(code, out, err, option)
    assert words in err


def test_more_samples_than_a_file_has_names_the_largest_possible(cli, tmp_path):
    path = tmp_path / "reg.csv"
    pd.DataFrame(np.random.default_rng(0).uniform(size=(100, 3)), columns=["a", "b", "y"]).to_csv(path, index=False)
    code, out, err = cli("approx", "--data", str(path), "--samples", "50,500", "--quiet")
    assert_clean_error(code, out, err, "--samples")
    assert "the largest possible is 80" in err


def test_the_id_columns_and_k_from_alpha_are_documented():
    for column in (*bridge.ID_COLUMNS, "val_rmse"):
        assert column in approx.COLUMN_DOCS and column in approx.NULLABLE
    assert bridge.k_from_alpha("shallow", 0.5) == 4 and bridge.k_from_alpha("knn", 0.5) == 2
    assert math.isnan(bridge.k_from_alpha("random-features", 0.5)) and math.isnan(bridge.k_from_alpha("knn", -1))
