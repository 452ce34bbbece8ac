"""Wide data files (hundreds of columns): their columns projected onto principal components before training
(--components, plan.projection), the widths that then fit the rows, and an exponent from a 576-column file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dimcurse import data, memory, objects, userdata
from dimcurse.errors import DimcurseError
from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.approx import plan
from dimcurse.experiments.approx.data import make_data
from dimcurse.experiments.approx.networks import shallow_params
from helpers import assert_clean_error


def grey_objects(rows: int, k: int, resolution: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A user's file as the issue described it: grey images (resolution² columns) of one object moved by k
    factors, and the objects target of those factors."""
    unit = objects.factors(rows, k, seed)
    rgb = objects.render(unit, resolution).reshape(rows, 3, resolution * resolution)
    return rgb.mean(1).astype(np.float32), objects.target(unit)


def test_principal_axes_agree_from_the_covariance_and_from_the_thin_svd():
    rng = np.random.default_rng(0)
    sample = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 30)) + rng.normal(size=(40, 30)) * 1e-3
    wide_vectors, wide_values = data.principal_axes(sample[:, :30])  # 40 rows, 30 columns: the covariance
    tall = np.c_[sample, np.zeros((40, 20))]  # 50 columns > 40 rows: the thin SVD
    svd_vectors, svd_values = data.principal_axes(tall)
    assert np.all(np.diff(wide_values) <= 1e-12) and np.all(np.diff(svd_values) <= 1e-12)  # largest first
    np.testing.assert_allclose(svd_values[:6], wide_values[:6], rtol=1e-9)
    for j in range(6):  # the same axes up to sign; the padded columns carry nothing
        assert abs(abs(svd_vectors[:30, j] @ wide_vectors[:, j]) - 1) < 1e-8
        assert np.abs(svd_vectors[30:, j]).max() < 1e-12


def test_a_wide_file_is_projected_onto_the_components_that_carry_its_variance():
    x, y = grey_objects(1500, 2, 12)  # 144 columns
    spec = userdata.register_array(x, y, name="wide")
    made = plan.make(approx.Config(data=spec, seeds=(0, 1)))
    projected = made.projected
    assert projected.columns == 144 and not projected.given
    assert projected.share >= plan.VARIANCE_KEPT and projected.components <= plan.MAX_COMPONENTS
    # the fewest such components: one fewer carries less than 99.9 %
    train = x[plan.file_split(made.config, made.file, 0, False)["train"]].astype(np.float64)
    mean, std = plan.standardiser(train)
    values = data.principal_axes((train - mean) / std)[1]
    assert np.cumsum(values)[projected.components - 2] / values.sum() < plan.VARIANCE_KEPT
    setting = made.settings[0]
    assert setting.dim == projected.components and setting.columns == 144
    assert any("projected onto their first" in note for note in made.notes)
    # each seed's network inputs: centred on its training rows, the components' variances falling and averaging
    # 1 (not whitened); its test rows go through the same map
    inputs = make_data(made, setting, torch.float64, torch.device("cpu"))
    assert inputs.x_train.shape == (2, 1200, projected.components)
    np.testing.assert_allclose(inputs.x_train.mean(1), 0, atol=1e-9)
    variances = inputs.x_train.var(1, unbiased=True)
    np.testing.assert_allclose(variances.mean(1), 1, rtol=1e-9)
    assert (variances.diff(dim=1) <= 1e-9).all() and variances[:, 0].min() > 3 * variances[:, -1].max()
    assert inputs.x_test.shape == (2, 300, projected.components)
    assert float(inputs.x_test.var(1).mean()) == pytest.approx(1, abs=0.1)


def test_narrow_files_and_components_zero_are_not_projected_and_a_given_count_is_kept():
    x, y = grey_objects(600, 2, 8)  # 64 columns: at the default's threshold, not above it
    narrow = userdata.register_array(x[:, :64], y)
    assert plan.make(approx.Config(data=narrow)).projected is None
    wide = userdata.register_array(np.c_[x, x[:, :8] ** 2], y)  # 72 columns
    assert plan.make(approx.Config(data=wide, components=0)).projected is None
    given = plan.make(approx.Config(data=wide, components=5))
    assert given.projected.components == 5 and given.projected.given and given.settings[0].dim == 5


def test_rows_say_the_files_columns_and_the_components_and_count_the_trained_parameters():
    x, y = grey_objects(800, 2, 10)
    result = approx.run(approx.Config(data=userdata.register_array(x, y), components=6, widths=(2, 3, 4), seeds=(0,)))
    rows = result.rows
    assert (rows.dim == 100).all() and (rows.components == 6).all()
    assert list(rows.params) == [shallow_params(6, w) for w in (2, 3, 4)]
    assert result.provenance["config"]["components"] == 6


@pytest.mark.parametrize(
    "args, words",
    [
        (("--components", "3"), "give --data"),
        (("--components", "-1"), "at least 0"),
        (("--components", "many"), "many"),
    ],
)
def test_bad_components_get_one_line_and_exit_2(cli, args, words):
    assert_clean_error(*cli("approx", *args), "--components")
    assert words in cli("approx", *args)[2]


def test_as_many_components_as_columns_is_refused_naming_the_columns(cli, tmp_path):
    x, y = grey_objects(300, 2, 9)  # 81 columns
    path = tmp_path / "wide.npz"
    np.savez(path, x=x, y=y)
    code, out, err = cli("approx", "--data", str(path), "--components", "81")
    assert_clean_error(code, out, err, "--components")
    assert "81 columns" in err


def test_a_file_too_wide_to_project_in_memory_is_refused_by_size_before_projecting(monkeypatch):
    x, y = grey_objects(300, 2, 9)
    spec = userdata.register_array(x, y, name="wide")
    need = 8 * 81 * (300 + 4 * 240)  # the file and four copies of its 240 training rows, float64
    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": need)  # 90 % of it is allowed
    with pytest.raises(DimcurseError, match="projecting wide's 81 columns onto principal components") as caught:
        plan.make(approx.Config(data=spec))
    assert caught.value.option == "--data"


@pytest.mark.slow
def test_a_file_of_576_columns_gets_an_exponent_with_defaults(tmp_path):
    # The file, smaller: 8,000 grey 24 x 24 images of one object moved by 4 factors (position, size,
    # brightness). Projected onto 64 components, its 6,400 training rows allow widths 4, 6, 8 and 12 by the rows /
    # --samples-per-param rule; before the projection they allowed none (a width-4 network on 576 columns has
    # 2,313 parameters).
    x, y = grey_objects(8000, 4, 24)
    path = tmp_path / "objects576.npz"
    np.savez(path, x=x, y=y)
    result = approx.run(approx.Config(data=str(path)))
    fit = result.analysis.iloc[0]
    assert (result.rows.dim == 576).all() and result.rows.width.nunique() >= 3
    assert fit.n_widths_used >= 3 and fit.alpha > 0 and np.isfinite(fit.alpha_lo)
    assert 3 < fit.twonn_id < 5 and fit.alpha_theory == pytest.approx(2 / fit.twonn_id)


@pytest.mark.slow
def test_a_network_on_the_pixels_leaves_a_fifth_of_the_error_of_least_squares():
    # The objects target is not linear in the pixels (objects.py): on 20,000 grey 24 x 24 images of 4 factors,
    # least squares on the 576 pixels (and a constant) left 0.791, 0.805 and 0.795 of the sd on the held-out rows
    # of seeds 0, 1 and 2, and shallow networks of width 30 on the file's 64 components 0.145, 0.148 and 0.138
    # (2026-12-07): 5.55 times less. The bound is the issue's 5 times; the networks' sd over seeds is 0.005, so
    # the mean of three moves by about 2 % of it, and the margin is 11 %.
    x, y = grey_objects(20_000, 4, 24)
    config = approx.Config(data=userdata.register_array(x, y, name="objects576"), widths=(30,), seeds=(0, 1, 2))
    network = approx.run(config).rows.rel_rmse.to_numpy()
    file, design = userdata.load(config.data, need_y=True), np.c_[x, np.ones(len(x))].astype(np.float64)
    linear = []
    for seed in config.seeds:
        split = plan.file_split(config, file, seed, False)
        coef, *_ = np.linalg.lstsq(design[split["train"]], y[split["train"]], rcond=None)
        test = split["test"]
        linear.append(np.sqrt(np.mean((design[test] @ coef - y[test]) ** 2)) / y[test].std(ddof=1))
    assert np.mean(linear) >= 5 * np.mean(network), (linear, network)


def test_an_objects_spec_keeps_its_transforms_as_approx_data():
    # objects:K:R+upsample:F was read as objects:K:R (the transforms dropped in silence)
    made = plan.make(approx.Config(data="objects:2:4+upsample:2", widths=(2,)))
    assert made.file.name == "objects:2:4+upsample:2" and made.file.x.shape == (objects.ROWS, 3 * 8 * 8)
    assert made.projected.columns == 192
    noisy = plan.make(approx.Config(data="objects:2:4+noise:3", widths=(2,)))
    assert noisy.file.x.shape == (objects.ROWS, 48 + 3)
