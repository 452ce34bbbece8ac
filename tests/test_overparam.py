"""dimcurse overparam: closed-form risk, double-descent peak, memorisation, ridge, batching, data, CLI."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch

from dimcurse.errors import DimcurseError
from dimcurse.experiments.overparam import kernel as overparam
from dimcurse.experiments.overparam import models, summary
from dimcurse.experiments.overparam.kernel import Config, run
from dimcurse.experiments.overparam.summary import summary_table
from dimcurse.experiments.overparam.task import load_task
from dimcurse.experiments.overparam.classifier import MLPClassifier, train_classifier
from dimcurse.experiments.overparam.theory import hastie_risk, minnorm_risk_exact

from tests.helpers import assert_clean_error, pick_one

# --------------------------------------------------------------------------- linear: Hastie et al. 2019

LINEAR_N, LINEAR_SEEDS = 400, tuple(range(10))
GAMMAS = (0.25, 0.5, 0.75, 1.5, 2.0, 4.0)


@pytest.fixture(scope="module")
def linear_rows():
    widths = tuple(int(g * LINEAR_N) for g in GAMMAS) + (392, 408)  # gamma 0.98 and 1.02
    config = Config(model="linear", widths=widths, n_train=LINEAR_N, n_test=200, seeds=LINEAR_SEEDS)
    return run(config).rows


@pytest.mark.slow
@pytest.mark.parametrize("gamma", GAMMAS)
def test_linear_risk_matches_hastie_closed_form(linear_rows, gamma):
    """n = 400, seeds 0-9: the mean excess risk is within 4 standard errors + 5 % of the asymptotic risk
    (the finite-n bias is <= 1.3 % at these gamma), and within 4 standard errors of the exact finite-n mean."""
    p = int(gamma * LINEAR_N)
    rows = linear_rows[linear_rows.width == p]
    mean, se = rows.excess_risk.mean(), rows.excess_risk.std(ddof=1) / np.sqrt(len(rows))
    theory = hastie_risk(gamma, 1.0, 0.25)
    # the table's theory is the exact finite-n mean (the limit is for ridges, and says so)
    assert rows.theory_risk.iloc[0] == pytest.approx(minnorm_risk_exact(LINEAR_N, p, 1.0, 0.25))
    assert not rows.theory_risk_limit.any()
    assert abs(mean - theory) < 4 * se + 0.05 * theory, (gamma, mean, theory)
    assert abs(mean - minnorm_risk_exact(LINEAR_N, p, 1.0, 0.25)) < 4 * se + 1e-3
    assert rows.interpolates.all() == (gamma > 1)


def test_linear_risk_diverges_near_gamma_one(linear_rows):
    near = linear_rows[linear_rows.width.isin([392, 408])].groupby("width").excess_risk.mean()
    far = linear_rows[linear_rows.width.isin([200, 800])].groupby("width").excess_risk.mean()
    assert near.min() > 5 * far.max()
    assert (linear_rows[linear_rows.width.isin([392, 408])].theory_risk > 10).all()


def test_optimal_ridge_removes_the_linear_peak():
    widths = (100, 200, 380, 420, 800)
    ridgeless = run(Config(model="linear", widths=widths, n_train=400, n_test=100, seeds=(0, 1))).rows
    ridged = run(Config(model="linear", widths=widths, n_train=400, n_test=100, seeds=(0, 1), ridge=(0.25,))).rows
    assert ridged.excess_risk.max() < 0.2 * ridgeless.excess_risk.max()
    theory = ridged.groupby("width").theory_risk.first()
    assert ridged.theory_risk_limit.all()  # no finite-n closed form for a ridge: the column says it is a limit
    measured = ridged.groupby("width").excess_risk.mean()
    assert np.allclose(measured, theory, rtol=0.15)


# --------------------------------------------------------------------------- random features: Belkin et al. 2019

RF_FEATURES = (20, 50, 100, 150, 180, 200, 220, 250, 400, 1000, 3000)


@pytest.fixture(scope="module")
def rf_result():
    config = Config(
        data="digits", widths=RF_FEATURES, n_train=200, n_test=400, label_noise=(0.2,), ridge=(0.0, 0.1), seeds=(0, 1)
    )
    return run(config)


def test_random_features_peak_at_features_equal_samples(rf_result):
    rows = rf_result.rows[rf_result.rows.ridge == 0]
    loss = rows.groupby("width").test_loss.mean()
    error = rows.groupby("width").test_error.mean()
    assert 180 <= loss.idxmax() <= 220 and 180 <= error.idxmax() <= 220
    assert loss.max() > 10 * loss[3000] and loss.max() > 10 * loss[20]
    # Beyond the threshold min-norm fits every (noisy) label exactly; below it the squared loss stays well above 0
    # (the arg-max error can reach 0 earlier: classification is easier than interpolation).
    assert (rows[rows.width >= 250].train_error == 0).all() and (rows[rows.width >= 250].train_loss < 1e-12).all()
    assert (rows[rows.width <= 180].train_loss > 1e-3).all() and not rows[rows.width <= 180].interpolates.any()
    summary = rf_result.fits[rf_result.fits.ridge == 0]
    # the test-loss peak (and, since issue 15, the test-error bump, marked "error peak")
    assert pick_one(summary, width=200).mark in ("loss peak", "loss peak, error peak")
    assert "threshold" in pick_one(summary, width=220).mark


def test_ridge_lowers_the_random_features_peak(rf_result):
    loss = rf_result.rows.groupby(["ridge", "width"]).test_loss.mean()
    assert loss[0.1].max() < 0.05 * loss[0.0].max()
    assert not rf_result.rows[rf_result.rows.ridge == 0.1].interpolates.any()
    assert any("no test-loss peak" in note for note in rf_result.notes)


# --------------------------------------------------------------------------- mlp: Zhang et al. 2017


@pytest.mark.slow
def test_mlp_memorises_random_labels_with_test_error_at_chance():
    config = Config(
        model="mlp",
        data="digits",
        widths=(512,),
        n_train=100,
        n_test=400,
        label_noise=(0.0, 1.0),
        epochs=150,
        batch_size=0,
        lr=3e-3,
        seeds=(0, 1),
    )
    result = run(config)
    rows = result.rows
    noisy, clean = rows[rows.label_noise == 1.0], rows[rows.label_noise == 0.0]
    assert any(
        note.startswith("random labels (noise 1.0), width 512: train error 0,") and "with clean labels" in note
        for note in result.notes
    ), result.notes
    assert (noisy.train_error == 0).all() and noisy.interpolates.all()
    assert abs(noisy.test_error.mean() - noisy.chance_error.iloc[0]) < 0.1  # chance is ~0.89 here
    assert clean.test_error.mean() < 0.3
    assert (noisy.epochs_to_interpolate.to_numpy() > clean.epochs_to_interpolate.to_numpy()).all()


def test_batched_training_equals_one_model_at_a_time():
    task = load_task(Config(model="mlp", data="teacher", n_train=96, n_test=64, teacher_dim=6, seeds=(0, 1)), 0.0)
    seeds, widths = [0, 1], [3, 17, 40]
    S = len(seeds)
    kwargs = dict(epochs=6, batch_size=32, lr=3e-3)
    x, xt = task.x.float(), task.x_test.float()[None].expand(S, -1, -1)
    yt = task.y_test[None].expand(S, -1)
    batched = train_classifier(
        MLPClassifier(seeds, 6, widths, task.classes, depth=2), x, task.y, xt, yt, seeds, **kwargs
    )
    for si, seed in enumerate(seeds):
        for j, width in enumerate(widths):
            alone = train_classifier(
                MLPClassifier([seed], 6, [width], task.classes, depth=2),
                x[si : si + 1],
                task.y[si : si + 1],
                xt[:1],
                yt[:1],
                [seed],
                **kwargs,
            )
            for key in ("train_loss", "test_loss", "test_error", "weight_norm"):
                assert alone.records[-1][key][0, 0] == pytest.approx(
                    batched.records[-1][key][si, j], rel=1e-4, abs=1e-6
                )


def test_a_diverged_model_is_isolated_and_the_others_unchanged():
    task = load_task(Config(model="mlp", data="teacher", n_train=64, n_test=32, teacher_dim=6, seeds=(0,)), 0.0)
    xt, yt = task.x_test.float()[None], task.y_test[None]
    kwargs = dict(epochs=3, batch_size=16, lr=3e-3)
    clean = train_classifier(
        MLPClassifier([0], 6, [4, 8, 16], task.classes), task.x.float(), task.y, xt, yt, [0], **kwargs
    )
    model = MLPClassifier([0], 6, [4, 8, 16], task.classes)
    with torch.no_grad():
        model.rest[2][0, 0, 0] = float("nan")  # the readout of width 8 (model index 1)
    poisoned = train_classifier(model, task.x.float(), task.y, xt, yt, [0], **kwargs)
    assert poisoned.diverged.tolist() == [[False, True, False]]
    assert np.isnan(poisoned.records[-1]["test_loss"][0, 1])
    for j in (0, 2):
        assert poisoned.records[-1]["test_loss"][0, j] == clean.records[-1]["test_loss"][0, j]


def test_record_every_keeps_the_curve_and_summary_uses_the_last_epoch():
    result = run(overparam.SMOKE)
    assert sorted(result.rows.epoch.unique()) == [0.0, 2.0, 4.0, 5.0]  # from the initialisation
    assert set(result.fits.width) == {2, 16, 64} and len(result.fits) == 3
    assert result.provenance["training_subsets"] == {}  # teacher data are drawn, not subset


def test_summary_marks_threshold_and_interior_peak():
    rows = []
    for seed in (0, 1):
        for width, loss, fits in [(1, 1.0, False), (2, 5.0 + seed, False), (3, 2.0, True), (4, 1.5, True)]:
            rows.append(
                {
                    "model": "random-features",
                    "data": "x",
                    "label_noise": 0.0,
                    "ridge": 0.0,
                    "weight_decay": 0.0,
                    "n_train": 2,
                    "feature_map": "relu",
                    "width": width,
                    "params": 10 * width,
                    "params_per_sample": width / 2,
                    "epoch": 0.0,
                    "seed": seed,
                    "train_loss": 0.0,
                    "test_loss": loss,
                    "test_error": 0.1,
                    "interpolates": fits,
                    "epochs_to_interpolate": np.nan,
                    "diverged": False,
                }
            )
    table = pd.DataFrame(rows)
    summary = summary_table(table)
    assert summary.mark.tolist() == ["", "loss peak", "threshold", ""]
    assert summary.fit_fraction.tolist() == [0.0, 0.0, 1.0, 1.0]
    note = overparam.summary_notes(table, summary)[0]
    assert "threshold at width 3" in note and "peak at width 2 (2/2 seeds" in note and "0.667 ± 0" in note


# --------------------------------------------------------------------------- data


def test_training_subsets_are_per_seed_recorded_and_deterministic():
    config = Config(data="digits", n_train=50, n_test=20, seeds=(0, 1))
    a, b = load_task(config, 0.3), load_task(config, 0.3)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert a.subsets[0]["indices"] != a.subsets[1]["indices"] and len(a.subsets[0]["indices"]) == 50
    clean = load_task(config, 0.0)
    changed = (clean.y != a.y).float().mean().item()
    assert 0.2 < changed <= 0.3  # 30 % replaced, about 1/10 of them by the same label
    assert abs(float(a.x.mean())) < 0.2  # standardised with the pool's statistics


def test_mnist1d_generation_is_deterministic():
    config = Config(data="mnist1d", n_train=100, n_test=50, seeds=(3,))
    a, b = load_task(config, 0.0), load_task(config, 0.0)
    assert torch.equal(a.x, b.x) and torch.equal(a.y_test, b.y_test) and a.x.shape == (1, 100, 40)


def _write_cifar(folder, n_train=4, n_test=3, truncate=False):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        n = n_test if name == "test_batch.bin" else n_train
        records = np.concatenate([rng.integers(0, 10, (n, 1)), rng.integers(0, 256, (n, 3072))], 1).astype(np.uint8)
        data = records.tobytes()
        (folder / name).write_bytes(data[:-5] if truncate and name == "test_batch.bin" else data)
    return records


def test_cifar10_binary_files_written_here_are_read(tmp_path):
    from dimcurse.data import load_dataset

    test_records = _write_cifar(tmp_path / "cifar-10-batches-bin")
    data = load_dataset(f"cifar10:{tmp_path}")
    assert data.x.shape == (20, 3072) and data.x_test.shape == (3, 3072)
    assert np.array_equal(data.y_test, test_records[:, 0]) and data.x_test[0, 0] == pytest.approx(
        test_records[0, 1] / 255
    )


@pytest.mark.parametrize("make", ["missing", "truncated", "empty-dir"])
def test_bad_data_folders_are_one_line_exit_2(cli, tmp_path, make):
    if make == "truncated":
        _write_cifar(tmp_path / "c", truncate=True)
        spec = f"cifar10:{tmp_path / 'c'}"
    elif make == "empty-dir":
        (tmp_path / "m").mkdir()
        spec = f"mnist:{tmp_path / 'm'}"
    else:
        spec = f"fashion-mnist:{tmp_path / 'nowhere'}"
    code, out, err = cli("overparam", "--data", spec, "--features", "10", "--quiet")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "--data" in err, err


def test_too_many_samples_is_a_clear_error():
    with pytest.raises(DimcurseError, match="--train-samples"):
        load_task(Config(data="digits", n_train=5000), 0.0)


# --------------------------------------------------------------------------- CLI

BAD = [
    (["--model", "cnn3"], "--model"),
    (["--data", "imagenet"], "--data"),
    (["--model", "linear", "--data", "digits"], "--data"),
    (["--data", "gaussian"], "--data"),
    (["--label-noise", "1.5"], "--label-noise"),
    (["--label-noise", "nan"], "--label-noise"),
    (["--ridge", "-1"], "--ridge"),
    (["--ridge", "0.1", "--model", "mlp"], "--ridge"),
    (["--widths", "0,4"], "--widths"),
    (["--widths", "4", "--features", "8"], "--features"),
    (["--train-samples", "0"], "--train-samples"),
    (["--model", "mlp", "--optimizer", "lbfgs"], "--optimizer"),
    (["--model", "mlp", "--loss", "hinge"], "--loss"),
    (["--model", "mlp", "--lr", "0"], "--lr"),
    (["--model", "mlp", "--batch-size", "-2"], "--batch-size"),
    (["--record-every", "5"], "--model"),
    (["--model", "linear", "--noise-var", "-1"], "--noise-var"),
    (["--model", "linear", "--label-noise", "0.1"], "--label-noise"),
    (["--summary-out", "-"], "--fit-out"),  # the older name, still taken: the error names the option now
    (["--seeds", "0,0"], "--seeds"),
    (["--model", "mlp", "--steps", "0"], "--steps"),
    (["--epochs", "0"], "--epochs"),
]


@pytest.mark.parametrize("args, option", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert_clean_error(*cli("overparam", *args, "--quiet"), option, tmp_path)


def test_cli_writes_rows_and_summary(cli, tmp_path):
    code, out, _ = cli(
        "overparam",
        "--model",
        "linear",
        "--features",
        "20,60",
        "--train-samples",
        "40",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "rows.csv"),
        "--summary-out",
        str(tmp_path / "summary.json"),
    )
    assert code == 0 and "summary" in out and "theory" in out
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert len(rows) == 4 and list(rows.columns) == overparam.COLUMNS
    summary = pd.DataFrame(json.loads((tmp_path / "summary.json").read_text())["rows"])
    assert summary.width.tolist() == [20, 60] and summary.mark.tolist() == ["", "threshold"]


def test_an_exploding_mlp_is_flagged_diverged_not_blamed_on_width(cli):
    """Issue: --lr 1e9 ended with a train loss of 1e19, diverged False, and a note blaming the width."""
    from dimcurse.experiments.overparam import kernel as overparam

    config = overparam.Config(model="mlp", widths=(8, 16), epochs=3, lr=1e9, seeds=(0, 1), n_train=200, n_test=200)
    result = overparam.run(config)
    assert result.rows["diverged"].all() and result.rows["train_loss"].isna().all()
    assert any("every model diverged" in note for note in result.notes)
    assert not any("no width fits" in note for note in result.notes)


# --------------------------------------------------------------------------- sample-wise (Nakkiran et al. 2019 §7)

SAMPLEWISE_P, SAMPLEWISE_N = 60, (20, 40, 50, 70, 80, 120, 240)


@pytest.fixture(scope="module")
def samplewise():
    config = Config(model="linear", widths=(SAMPLEWISE_P,), n_train=SAMPLEWISE_N, n_test=200, seeds=tuple(range(12)))
    return run(config)


def test_samplewise_sweep_gives_one_row_per_n_and_seed(samplewise):
    rows = samplewise.rows
    assert sorted(rows.n_train.unique()) == list(SAMPLEWISE_N)
    assert (rows.groupby("n_train").size() == 12).all() and rows.width.eq(SAMPLEWISE_P).all()
    assert (rows.params_per_sample == SAMPLEWISE_P / rows.n_train).all()


@pytest.mark.parametrize("n", SAMPLEWISE_N)
def test_samplewise_excess_risk_matches_the_exact_closed_form_at_every_n(samplewise, n):
    """12 seeds at p = 60: the mean excess risk within 4 standard errors + 10 % of the exact finite-n mean
    (the sample is heavy-tailed within a few of the threshold; no n here is within 10 of it)."""
    rows = samplewise.rows[samplewise.rows.n_train == n]
    theory = minnorm_risk_exact(n, SAMPLEWISE_P, 1.0, 0.25)
    assert rows.theory_risk.iloc[0] == pytest.approx(theory)
    mean, se = rows.excess_risk.mean(), rows.excess_risk.std(ddof=1) / np.sqrt(len(rows))
    assert abs(mean - theory) < 4 * se + 0.1 * theory, (n, mean, theory)


def test_samplewise_more_data_hurts_before_it_helps(samplewise):
    """At fixed width near the threshold the test loss rises with n (to n = 50, 70: either side of p = 60)
    before it falls; the note says so and names the closed form beside it."""
    curve = samplewise.rows.groupby("n_train").test_loss.mean()
    # exact means: excess risk 0.79 (n = 20), 1.56 (50), 1.67 (70), 0.084 (240); test loss adds sigma^2 = 0.25
    assert curve[50] > 1.5 * curve[20] and curve[70] > 1.5 * curve[240] and curve[240] < curve[20]
    note = " ".join(" ".join(samplewise.notes).split())
    assert "more data hurts" in note and "sample-wise double descent" in note and "theory" in note
    assert "interpolation threshold at width" not in note  # no model-wise sentence for one width
    marks = samplewise.analysis.set_index("n_train").mark
    assert marks[50].startswith("threshold") and marks.str.contains("peak").sum() == 1  # the largest n fitted; one peak


def test_samplewise_random_features_peak_near_n_equals_features(cli):
    code, out, err = cli(
        "overparam",
        "--model",
        "random-features",
        "--data",
        "digits",
        "--widths",
        "150",
        "--train-samples",
        "50,100,140,150,160,200,400",
        "--test-samples",
        "300",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        "-",
        "--format",
        "csv",
    )
    curve = pd.read_csv(io.StringIO(out)).groupby("n_train").test_loss.mean()
    assert code == 0 and curve.idxmax() in (140, 150, 160) and curve.max() > 10 * curve[400]


def test_training_sizes_must_be_distinct_and_fit_the_pool(cli):
    code, out, err = cli("overparam", "--train-samples", "100,100")
    assert_clean_error(code, out, err, "--train-samples")
    code, out, err = cli("overparam", "--data", "digits", "--train-samples", "100,5000", "--test-samples", "100")
    assert_clean_error(code, out, err, "--train-samples")
    assert "asked for 5000" in err


# ------------------------------------------------------------------ random Fourier features (Belkin et al. 2019)


def test_fourier_features_are_nested_cos_sin_pairs():
    features = models.feature_map_of("fourier", 5, 7, 0, "cpu")
    x = torch.randn(30, 5, dtype=torch.float64)
    phi = features(x)
    assert phi.shape == (30, 7)
    np.testing.assert_allclose((phi[:, 0::2][:, :3] ** 2 + phi[:, 1::2] ** 2).numpy(), 1.0, rtol=1e-12)  # pairs
    wider = models.feature_map_of("fourier", 5, 300, 0, "cpu")(x)  # past one block of 64 frequencies
    # the first N features of the same draw (to the rounding of a matrix product of another width)
    torch.testing.assert_close(wider[:, :7], phi, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(
        models.feature_map_of("fourier", 5, 200, 0, "cpu")(x), wider[:, :200], rtol=1e-13, atol=1e-15
    )


def test_fourier_features_peak_at_n_equals_features_on_digits(cli):
    code, out, err = cli(
        "overparam",
        "--model",
        "random-features",
        "--feature-map",
        "fourier",
        "--data",
        "digits",
        "--features",
        "50,150,190,200,210,250,1000",
        "--train-samples",
        "200",
        "--test-samples",
        "500",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        "-",
        "--format",
        "csv",
    )
    rows = pd.read_csv(io.StringIO(out))
    curve = rows.groupby("width").test_loss.mean()
    assert code == 0 and (rows.feature_map == "fourier").all()
    assert curve.idxmax() == 200 and curve[200] > 20 * curve[1000] and curve[200] > 20 * curve[50]
    assert rows[rows.width >= 200].interpolates.all() and not rows[rows.width < 200].interpolates.any()


@pytest.mark.parametrize(
    "args, option",
    [(("--feature-map", "gabor"), "--feature-map"), (("--model", "mlp", "--feature-map", "fourier"), "--feature-map")],
)
def test_feature_map_refusals(cli, args, option):
    assert_clean_error(*cli("overparam", *args), option)


# --------------------------------------------------------------------------- epoch-wise (Nakkiran et al. 2019 §6)


def _curve(values):
    return pd.Series(values, index=np.arange(len(values), dtype=float) * 10)


def test_an_epochwise_peak_is_a_sustained_fall_rise_and_fall():
    down_up_down = [0.9, 0.5, 0.4, 0.38, 0.42, 0.47, 0.5, 0.5, 0.48, 0.44, 0.4, 0.36, 0.35, 0.34, 0.34]
    dip, peak, end = summary.epoch_peak(_curve(down_up_down), 0.03)
    assert 20 <= dip <= 40 and 50 <= peak <= 80 and end == 140
    overfit = [0.9, 0.5, 0.4, 0.38, 0.42, 0.47, 0.5, 0.52, 0.53, 0.53, 0.54, 0.54, 0.55, 0.55, 0.55]
    assert summary.epoch_peak(_curve(overfit), 0.03) is None  # a rise that never comes down is overfitting
    rng = np.random.default_rng(0)
    noisy = 0.4 + 0.02 * rng.standard_normal(40)  # SGD's step-to-step noise around a flat curve
    assert summary.epoch_peak(_curve(noisy), summary.epoch_margin(_curve(noisy), 1000)) is None


def test_the_epochwise_margin_is_the_test_sets_noise():
    assert summary.epoch_margin(_curve([0.9, 0.35]), 1000) == pytest.approx(3 * np.sqrt(0.9 * 0.1 / 1000))
    assert summary.epoch_margin(_curve([0.01, 0.02]), 10**6) == summary.EPOCH_PEAK_MARGIN


def test_the_summary_marks_the_test_error_peak_beside_the_loss_peak():
    rows = []
    for seed in (0, 1):
        for width, loss, error, fits in [
            (1, 1.0, 0.3, False),
            (2, 2.0, 0.6, False),
            (3, 5.0, 0.5, True),
            (4, 1.5, 0.2, True),
        ]:
            rows.append(
                {
                    "model": "mlp",
                    "feature_map": "none",
                    "data": "x",
                    "label_noise": 0.0,
                    "ridge": 0.0,
                    "weight_decay": 0.0,
                    "n_train": 2,
                    "width": width,
                    "params": 10 * width,
                    "params_per_sample": width / 2,
                    "epoch": 5.0,
                    "seed": seed,
                    "train_loss": 0.0,
                    "test_loss": loss,
                    "test_error": error,
                    "interpolates": fits,
                    "epochs_to_interpolate": 3.0,
                    "diverged": False,
                }
            )
    table = pd.DataFrame(rows)
    summary = summary_table(table)
    assert summary.mark.tolist() == ["", "error peak", "threshold, loss peak", ""]
    note = " ".join(overparam.summary_notes(table, summary))
    assert "Test-error peak at width 2 (2/2 seeds), 60.00% there" in note


def test_the_recipes_load_and_validate():
    from pathlib import Path

    from dimcurse.sweep import load_sweep

    recipes = sorted((Path(__file__).parents[1] / "recipes").glob("*.toml"))
    assert recipes
    kernels = {}
    for path in recipes:
        kernels[path.stem] = {point.kernel for point in load_sweep(path)}  # each point validated as it loads
    assert all(found == {"overparam"} for name, found in kernels.items() if name != "digits-upsampled-pope")
    # Pope et al.: the intrinsic dimension (distance) and the learning curves (overparam) at 3 sizes + a control.
    pope = load_sweep(recipes[[p.stem for p in recipes].index("digits-upsampled-pope")])
    assert kernels["digits-upsampled-pope"] == {"distance", "overparam"}
    sizes = {"digits", "digits+upsample:2", "digits+upsample:4", "digits+noise:64"}
    for experiment in ("pope-id", "pope-mlp", "pope-knn"):
        assert {p.config.data for p in pope if p.experiment == experiment} == sizes


def test_rows_of_version_2_without_a_feature_map_still_report_and_plot():
    result = run(
        Config(model="random-features", data="digits", widths=(50, 100, 200), n_train=100, n_test=100, seeds=(0,))
    )
    result.rows = result.rows.drop(columns=["feature_map"])  # as a store written before VERSION 3 holds them
    result.analysis, result.notes = None, []
    overparam.analysis(result, Config())
    assert (result.rows.feature_map == "relu").all() and result.analysis.mark.str.contains("threshold").any()
    pytest.importorskip("matplotlib")
    fig = overparam.figure(result)
    drawn = [line for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata())]
    # the test-loss series over its three widths, at their parameters per sample (width x 10 classes + ... / n)
    widths = sorted(result.analysis.width)
    assert any(len(line.get_xdata()) == len(widths) for line in drawn), [len(line.get_xdata()) for line in drawn]
