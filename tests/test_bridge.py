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
from dimcurse.experiments.approx import plan
from dimcurse.experiments.approx.data import split_inputs
from dimcurse.experiments.approx.fits import fit_table, verdict_notes
from dimcurse.experiments.approx.fitting import fit_exponent
from dimcurse.experiments.distance import intrinsic
from dimcurse.experiments.approx.verdict import VERDICTS, verdict
from helpers import assert_clean_error, pick_one, run_docs_example

SIZES = (250, 500, 1000, 2000, 4000)


def _curve_rows(alpha_best: float, alpha_decoy: float, seeds=(0, 1, 2), noise: float = 0.03) -> pd.DataFrame:
    """Synthetic learning-curve rows: width 8's test error falls as n^-alpha_best and it has the lowest
    validation error; width 16's test error (n^-alpha_decoy, lower) has a worse validation error, so only a
    fit that chooses by validation sees alpha_best."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for n in SIZES:
            scatter = math.exp(rng.normal(0, noise))
            for width, alpha, val in ((8, alpha_best, 1.0), (16, alpha_decoy, 2.0), (4, 0.0, 3.0)):
                rel = 2.0 * n**-alpha * scatter if alpha else 0.9
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
    fits = fit_table(_curve_rows(0.7, 1.2), config)
    samples = pick_one(fits, axis="samples")
    assert samples.fixed == "best width" and samples.alpha == pytest.approx(0.7, abs=0.03)
    assert samples.alpha_lo <= 0.7 <= samples.alpha_hi
    assert samples.used_params == ",".join(str(n) for n in SIZES)
    # Estimation-limited points are the point of a learning curve: they stay in the sample fit.
    assert "estimation" not in samples.excluded
    assert samples.alpha_theory == 1.0 and "Bahri" in samples.theory_source
    # One params fit per n (each with the three widths; every one estimation-limited here, so no exponent).
    assert sorted(fits[fits.axis == "params"].fixed) == sorted(f"n={n}" for n in SIZES)


def test_the_verdict_beside_a_fit_follows_its_rule():
    # 2/k = 1 for the teacher with k = 2. A tight alpha of 0.7 excludes it: disagrees, with a note that says
    # in which direction. A noisy one (log-normal sd 0.6 per seed and n: an interval spanning more than a
    # factor of 3) contains it but cannot tell 1 from 0.7 or 1.3: inconclusive.
    config = approx.Config(targets=("teacher",), dims=(16,), teacher_k=(2,), n_samples=SIZES)
    tight = pick_one(fit_table(_curve_rows(0.7, 1.2), config), axis="samples")
    assert tight.alpha_hi < 1.0 and tight.verdict == "disagrees"
    note = verdict_notes(pd.DataFrame([tight]))[0]
    assert "disagrees with the theory's 1" in note and "below it" in note
    noisy = pick_one(fit_table(_curve_rows(0.7, 1.2, noise=0.6, seeds=(0, 1, 2, 3)), config), axis="samples")
    assert noisy.alpha_lo < 1.0 < noisy.alpha_hi and noisy.alpha_hi / max(noisy.alpha_lo, 1e-9) > 3
    assert noisy.verdict == "inconclusive"


def test_a_learning_curve_widens_its_sweep_where_the_widest_width_was_best():
    # Widths 2 and 4 on a k = 2 teacher: width 4 is best at both n (measured), so the run trains width 8 there,
    # then 16 (at most twice, and while a network has at most one parameter per 4 samples: 97 <= 100 at
    # n = 400), and says so; the bar still sums to 1 and never goes back.
    seen = []
    config = approx.Config(
        targets=("teacher",), dims=(4,), teacher_k=(2,), teacher_draws=1, widths=(2, 4), n_samples=(400, 800),
        n_test=500, seeds=(0, 1, 2), lm_iters=100,
    )  # fmt: skip
    result = approx.run(config, progress=seen.append)
    shallow = result.rows[result.rows.arch == "shallow"]
    assert sorted(shallow[shallow.n_samples == 800].width.unique()) == [2, 4, 8, 16]
    assert any("the widest width was best at n = 400, 800, so width 8 was trained" in n for n in result.notes)
    assert all(f > 0 for f in seen) and sum(seen) == pytest.approx(1.0, abs=1e-12)
    assert pick_one(result.analysis, axis="params", fixed="n=800").n_widths_used == 4


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
    from dimcurse.experiments.distance.neighbours import ChunkPlan, parse_metric
    from dimcurse.experiments.distance.sets import PointSet
    from dimcurse.experiments.distance.summary import structure

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
    run_plan = plan.make(config)
    train = split_inputs(run_plan, run_plan.settings[0], 0).train
    pset = PointSet("torus", 12, train, train[:1], None)
    structure = structure(pset, [parse_metric("l2")], DistanceConfig(id_points=2000), ChunkPlan(1 << 20))
    assert reported.twonn_id == pytest.approx(structure["l2"]["twonn_id"], rel=1e-12)
    assert reported.mle_id == pytest.approx(structure["l2"]["mle_id"], rel=1e-12)
    raw = intrinsic.measure(train, 20, 2000)
    assert reported.twonn_id == pytest.approx(raw["twonn_id"], rel=1e-12)
    assert reported.twonn_id_lo < reported.twonn_id < reported.twonn_id_hi
    assert abs(reported.twonn_id - 3) < 0.3  # a 3-torus


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
    assert abs(fit.twonn_id - 2) < 0.15 and "2/ID" in fit.theory_source
    assert fit.alpha_lo <= fit.alpha_theory <= fit.alpha_hi, fit
    assert abs(fit.alpha - fit.alpha_theory) < 0.3, fit
    assert fit.verdict in ("agrees", "inconclusive")  # the interval contains 2/ID: it cannot disagree
    assert any("is consistent with an ID of" in note and f": {fit.verdict}" in note for note in result.notes)


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
    assert abs(fit.twonn_id - 3) < 0.5 and "TwoNN ID" in fit.theory_source
    assert fit.alpha_theory == pytest.approx(2 / fit.twonn_id)
    # Widths 2..8 on 480 rows give alpha 0.33 (measured): 2/alpha = 6.1 exceeds d = 3, and no k of 3 inputs has
    # so low a rate, so k_from_alpha is blank and the caveat says why.
    assert 0 < fit.alpha < 2 / 3
    assert np.isnan(fit.k_from_alpha) and f"2/alpha = {2 / fit.alpha:.3g} exceeds d = 3" in fit.caveat


def test_a_file_too_small_for_an_id_still_fits_and_says_why(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (25, 2))
    path = tmp_path / "tiny.csv"
    pd.DataFrame(np.c_[x, x.sum(1) ** 2], columns=["a", "b", "y"]).to_csv(path, index=False)
    result = approx.run(approx.Config(data=str(path), widths=(1, 2, 3), lm_iters=3, seeds=(0,)))
    assert result.rows.twonn_id.isna().all()
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


DOCS_CURVE = "dimcurse approx --target teacher --teacher-k 2 --dims 16 --widths 4,8,16 --samples 250,500,1000,2000 --baselines knn --seeds 2 --teacher-draws 1 --test-samples 1000"  # noqa: E501


@pytest.mark.slow
def test_the_docs_learning_curve_gives_the_networks_exponent_in_samples(cli, monkeypatch):
    # Issue: the docs' own example gave no network exponent ("width-limited (the widest was best) ... fewer
    # than 3 sizes left"). Trained to convergence, the best width per n gives one, with its verdict beside 2/k.
    result = run_docs_example(cli, monkeypatch, DOCS_CURVE)
    network = pick_one(result.analysis, arch="shallow", axis="samples")
    assert np.isfinite(network.alpha) and network.n_widths_used >= 3 and network.alpha_theory == 1.0
    assert network.verdict == verdict(network.alpha_lo, network.alpha_hi, 1.0)
    knn = pick_one(result.analysis, arch="knn", axis="samples")
    assert knn.alpha_theory == pytest.approx(1 / 16) and knn.verdict in VERDICTS


DOCS_SURFACE = "dimcurse approx --data examples/surface.npz"


@pytest.mark.slow
def test_on_a_2d_surface_in_40d_the_defaults_fit_a_network_exponent_with_its_verdict(cli, monkeypatch):
    # Issue: on a user's own file of this kind no network exponent appeared (10 of 12 models flagged). The
    # file (examples/make_examples.py): 6,000 points x = tanh(zA + b) of a 2-d z in 40-d, y a smooth function
    # of z. With the defaults: widths from the rows, each model trained to convergence or its cap, an exponent
    # with its verdict beside 2/ID. The verdict is the rule's (docs/approx.md shows what holds alpha below 2/ID
    # where it is), never "agrees" for an alpha more than 30 % from 2/ID.
    result = run_docs_example(cli, monkeypatch, DOCS_SURFACE)
    fit = pick_one(result.analysis, arch="shallow", axis="params")
    assert 1.8 < fit.twonn_id < 2.3  # the surface is 2-dimensional
    assert "2/ID with TwoNN ID" in fit.theory_source  # the ID's prediction, not a target's own exponent
    assert np.isfinite(fit.alpha) and fit.n_widths_used >= 3
    assert fit.verdict == verdict(fit.alpha_lo, fit.alpha_hi, fit.alpha_theory)
    if abs(fit.alpha / fit.alpha_theory - 1) > 0.3:
        assert fit.verdict != "agrees"
    assert any(note.startswith("widths 4, 5, 7, 10, 14 (the default on 4800 training rows)") for note in result.notes)
    assert any("is consistent with an ID of" in note for note in result.notes)
