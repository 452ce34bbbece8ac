"""The approximation kernel end to end: rates, the curse for fixed bases, trees on compositional targets."""

import numpy as np
import pandas as pd
import pytest

from dimcurse.errors import DimcurseError
from dimcurse.experiments import approx
from helpers import pick_one


def _fit(result, **where):
    return pick_one(result.fits, **where)


def test_error_falls_with_width_on_a_smooth_one_dimensional_target():
    # cos 4x on [-2pi, 2pi] (the Poggio group's 1-d composition), seed 0, 1500 Adam steps.
    rows = approx.run(approx.Config(targets=("cos4x",), widths=(4, 16, 64), steps=1500, n_samples=1000,
                                    n_test=1000, seeds=(0,))).rows
    errors = rows.sort_values("width").rel_rmse.to_numpy()
    assert np.all(np.diff(errors) < 0) and errors[-1] < 0.9


def test_trained_networks_keep_their_exponent_while_random_features_collapse():
    # Barron target, d = 2 and 32, widths 4..64, 3000 samples (approximation regime), seeds 0-1.
    # Measured: shallow 1.16 -> 0.29, random features 1.26 -> 0.01.
    result = approx.run(approx.Config(targets=("barron",), dims=(2, 32), widths=(4, 8, 16, 32, 64), steps=800,
                                      n_samples=3000, n_test=1000, seeds=(0, 1), baselines=("random-features",)))
    net_2, net_32 = _fit(result, dim=2, arch="shallow").alpha, _fit(result, dim=32, arch="shallow").alpha
    rf_2, rf_32 = _fit(result, dim=2, arch="random-features").alpha, _fit(result, dim=32, arch="random-features").alpha
    assert rf_32 < 0.25 * rf_2  # the fixed basis's exponent collapses with d
    assert net_32 > rf_32 + 0.15 and net_32 > 0.2  # the trained network's does not
    assert _fit(result, dim=32, arch="shallow").alpha_theory == 0.5
    assert _fit(result, dim=32, arch="random-features").alpha_theory == pytest.approx(1 / 32)


def test_a_tree_network_beats_a_shallow_one_at_matched_parameters_on_the_8_input_product():
    # Tree of width 8 per node: 7 * (4*8 + 1) = 231 parameters; shallow width 23: 10*23 + 1 = 231.
    rows = approx.run(approx.Config(targets=("product",), dims=(8,), archs=("shallow", "tree"), widths=(8, 23),
                                    steps=800, n_samples=2000, n_test=1000, seeds=(0, 1))).rows
    tree = rows[(rows.arch == "tree") & (rows.params == 231)].rel_rmse
    shallow = rows[(rows.arch == "shallow") & (rows.params == 231)].rel_rmse
    assert len(tree) == len(shallow) == 2
    assert tree.max() < 0.5 * shallow.min()


def test_rows_fit_table_and_determinism():
    config = approx.Config(targets=("kan-xy",), archs=("shallow", "deep"), widths=(4, 8, 16), depth=2, steps=100,
                           n_samples=300, n_test=300, seeds=(0, 1), baselines=("random-features", "knn"))
    first, second = approx.run(config), approx.run(config)
    rows = first.rows
    assert list(rows.columns) == approx.COLUMNS and set(rows.arch) == {"shallow", "deep", "random-features", "knn"}
    assert (rows.dim == 2).all() and not rows.diverged.any()
    assert (rows.rel_rmse > 0).all() and (rows[rows.arch == "knn"].train_rmse == 0).all()  # 1-NN interpolates
    timing = ["elapsed_s"]
    pd.testing.assert_frame_equal(rows.drop(columns=timing), second.rows.drop(columns=timing))
    assert list(first.fits.columns) == approx.FIT_COLUMNS and len(first.fits) == 4
    deep = rows[rows.arch == "deep"]
    assert deep[deep.width == 4].params.iloc[0] == 3 * 4 + 5 * 4 + 5


@pytest.mark.parametrize("overrides, option", [
    (dict(widths=(0,)), "--widths"), (dict(depth=0), "--depth"), (dict(targets=("nope",)), "--target"),
    (dict(targets=("kan-xy",), dims=(8,)), "--dims"), (dict(archs=("tree",), dims=(6,)), "--arch"),
    (dict(optimizer="sgd"), "--optimizer"), (dict(activation="gelu"), "--activation"),
    (dict(baselines=("svm",)), "--baselines"), (dict(lr=0.0), "--lr"), (dict(targets=("teacher",), dims=(2,)), "--dims"),
])
def test_validation_names_the_option(overrides, option):
    with pytest.raises(DimcurseError) as err:
        approx.validate(approx.Config(**overrides))
    assert err.value.option == option
