"""Training curves: --record-every from step 0, --curves-out, and TensorBoard event files."""

import numpy as np
import pandas as pd
import pytest

from dimcurse.experiments.approx import kernel as approx
from dimcurse.experiments.overparam import kernel as overparam
from tests.helpers import assert_clean_error


def test_approx_curves_start_at_zero_and_end_at_the_rows():
    config = approx.Config(
        targets=("barron",),
        dims=(2,),
        widths=(4, 8, 16),
        lm_iters=12,
        n_samples=300,
        n_test=300,
        seeds=(0, 1),
        record_every=5,
    )
    result = approx.run(config)
    curves = result.tables["curves"]
    assert sorted(curves.step.unique()) == [0, 5, 10, 12] and set(curves.trainer) == {"lm"}
    last = curves[curves.step == 12].set_index(["width", "seed"]).sort_index()
    rows = result.rows.set_index(["width", "seed"]).sort_index()
    np.testing.assert_allclose(last.test_rmse, rows.test_rmse, rtol=1e-5)  # the curve's end is the row's result
    np.testing.assert_allclose(last.train_rmse, rows.train_rmse, rtol=1e-5)
    first = curves[curves.step == 0].groupby("width").rel_rmse.mean()
    assert (first > last.groupby("width").rel_rmse.mean()).all()  # training lowered the error from initialisation


def test_approx_adam_then_lm_curves_continue_the_step_count():
    config = approx.Config(
        targets=("barron",),
        dims=(2,),
        widths=(4, 8, 16),
        optimizer="adam+lm",
        steps=20,
        lm_iters=6,
        n_samples=300,
        n_test=300,
        seeds=(0,),
        record_every=10,
    )
    curves = approx.run(config).tables["curves"]
    one = curves[curves.width == 8]
    assert one.step.tolist() == [0, 10, 20, 26] and one.trainer.tolist() == ["adam", "adam", "adam", "lm"]


def test_overparam_curves_from_epoch_zero():
    config = overparam.Config(
        model="mlp", widths=(8, 32), epochs=4, record_every=2, seeds=(0, 1), n_train=200, n_test=200
    )
    result = overparam.run(config)
    curves = result.tables["curves"]
    assert sorted(curves.epoch.unique()) == [0.0, 2.0, 4.0]
    start = curves[curves.epoch == 0]
    assert start.train_loss.notna().all() and start.test_error.notna().all()
    assert (start.test_error > 0.5).all()  # an untrained 10-class net is near chance


def test_curves_out_and_tensorboard_files(cli, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, _, err = cli(
        "approx",
        "--dims",
        "2",
        "--widths",
        "4,8,16",
        "--lm-iters",
        "6",
        "--seeds",
        "2",
        "--samples",
        "300",
        "--test-samples",
        "300",
        "--record-every",
        "3",
        "--quiet",
        "--curves-out",
        str(tmp_path / "c.csv"),
        "--tensorboard",
        str(tmp_path / "tb"),
    )
    assert code == 0, err
    curves = pd.read_csv(tmp_path / "c.csv")
    assert len(curves) == 3 * 2 * 3  # widths x seeds x recorded steps (0, 3, 6)
    runs = sorted(p.name for p in (tmp_path / "tb").iterdir())
    # VERSION 4 named the inputs (cube: the target's own domain) in every run.
    assert len(runs) == 6 and runs[0].startswith("target=barron,inputs=cube,dim=2,arch=shallow,width=")
    events = EventAccumulator(str(tmp_path / "tb" / runs[0]))
    events.Reload()
    steps = [e.step for e in events.Scalars("rel_rmse")]
    assert steps == [0, 3, 6] and {"train_rmse", "test_rmse"} <= set(events.Tags()["scalars"])


@pytest.mark.parametrize(
    "args, option",
    [
        (["approx", "--curves-out", "c.csv"], "--curves-out"),
        (["approx", "--record-every", "2", "--curves-out", "-"], "--curves-out"),
        (["approx", "--record-every", "2", "--optimizer", "lbfgs"], "--record-every"),
        (["overparam", "--model", "mlp", "--tensorboard", "tb"], "--tensorboard"),
        (["approx", "--record-every", "2", "--tensorboard", "no/such/dir/tb"], "--tensorboard"),
    ],
)
def test_curve_options_refused_before_any_work(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert_clean_error(*cli(*args, "--quiet"), option, tmp_path)


def test_missing_tensorboard_names_the_extra(monkeypatch):
    from dimcurse.curves import check_tensorboard
    from dimcurse.errors import DimcurseError
    from tests.helpers import without_module

    without_module(monkeypatch, "torch.utils.tensorboard")
    with pytest.raises(DimcurseError, match=r"dimcurse\[tensorboard\]"):
        check_tensorboard()
