"""Figures carry the tables' numbers: plotted series against aggregated rows, log axes, valid files."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from dimcurse import plot  # noqa: E402
from dimcurse.experiments import figure_for  # noqa: E402
from dimcurse.errors import DimcurseError  # noqa: E402
from dimcurse.experiments.approx import kernel as approx  # noqa: E402
from dimcurse.experiments.approx.fits import best_width_rows  # noqa: E402
from dimcurse.experiments.distance import kernel as distance
from dimcurse.experiments.overparam import kernel as overparam

from tests.helpers import assert_clean_error, without_module  # noqa: E402


def _axis(fig, title):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title))


def _line(ax, label):
    """The data line of a series by its legend label (a line, or an errorbar container's first line)."""
    for container in ax.containers:
        if container.get_label() == label:
            return container.lines[0]
    matches = [line for line in ax.lines if line.get_label() == label]
    assert matches, f"no series {label!r} in {[ln.get_label() for ln in ax.lines]}"
    return matches[0]


def _labelled_ticks(ax, which):
    """The tick labels a reader sees on one axis, inside its view limits."""
    ax.figure.canvas.draw()
    axis = ax.xaxis if which == "x" else ax.yaxis
    low, high = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    ticks = axis.get_majorticklocs()
    labels = [t.get_text() for t in axis.get_majorticklabels()]
    minor = [t.get_text() for t, v in zip(axis.get_minorticklabels(), axis.get_minorticklocs()) if low <= v <= high]
    return [lab for lab, v in zip(labels, ticks) if lab and low <= v <= high] + [m for m in minor if m]


def assert_readable(fig):
    """Every log axis shows at least two labelled ticks; no legend lies over its axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for which in ("x", "y"):
            if (ax.get_xscale() if which == "x" else ax.get_yscale()) == "log":
                assert len(_labelled_ticks(ax, which)) >= 2, (ax.get_title(), which)
        legend = ax.get_legend()
        if legend is not None:
            assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)), ax.get_title()


@pytest.fixture(scope="module")
def distance_result():
    return distance.run(
        distance.Config(dims=(2, 10, 100), metrics=("l2", "l1"), seeds=(0, 1), n_points=1500, n_queries=40, id_points=0)
    )


@pytest.mark.slow
def test_distance_figure_plots_the_table(distance_result):
    fig = figure_for(distance_result)
    rows = distance_result.rows
    contrast = _axis(fig, "nearest and farthest")
    assert contrast.get_xscale() == "log" and contrast.get_yscale() == "log"
    line = _line(contrast, "uniform, l2")
    expected = rows[rows.metric == "l2"].groupby("dim").relative_contrast.mean()
    np.testing.assert_allclose(line.get_xdata(), expected.index)
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    cv = _axis(fig, "distances concentrate")
    theory = next(ln for ln in cv.lines if ln.get_label() == "theory, uniform, l2")
    np.testing.assert_allclose(theory.get_ydata(), rows[rows.metric == "l2"].groupby("dim").theory_dist_cv.first())
    assert_readable(fig)
    hist = _axis(fig, "concentration")
    assert [ln.get_label() for ln in hist.lines] == ["d = 2", "d = 10", "d = 100"]
    widths = [np.sum(ln.get_ydata() > 0.5) for ln in hist.lines]
    assert widths[0] > widths[1] > widths[2]  # the histogram narrows as d grows: concentration


def test_real_data_figure_is_bars_beside_the_gaussian():
    result = distance.run(distance.Config(data="digits", seeds=(0,), n_points=800, n_queries=40, id_points=0))
    fig = figure_for(result)
    bars = _axis(fig, "d = 64").patches
    expected = result.rows.groupby(["dist", "metric"]).relative_contrast.mean().to_numpy()
    np.testing.assert_allclose(sorted(b.get_height() for b in bars), sorted(expected))
    # the matched Gaussian's histogram is drawn beside the data's
    hist = _axis(fig, "concentration")
    assert sorted(ln.get_label() for ln in hist.lines) == sorted(result.rows.dist.unique())
    assert_readable(fig)
    assert not [ax for ax in fig.axes if ax.get_title().startswith("intrinsic dimension")]  # none measured


def test_a_data_sets_figure_shows_its_intrinsic_dimension():
    """Issue 26: the key number of a user's data, TwoNN and MLE beside its Gaussians' known dimension."""
    result = distance.run(distance.Config(data="digits", seeds=(0, 1), n_points=600, n_queries=20, id_points=500))
    ids = _axis(figure_for(result), "intrinsic dimension")
    twonn = next(c for c in ids.containers if c.get_label() == "TwoNN")
    expected = result.rows[result.rows.metric == "l2"].groupby("dist", sort=False).twonn_id.mean()
    np.testing.assert_allclose([b.get_height() for b in twonn], expected.to_numpy())
    assert any(ln.get_label() == "ambient d = 64" for ln in ids.lines)


@pytest.mark.slow
def test_approx_figure_fits_and_exponents():
    result = approx.run(
        approx.Config(
            targets=("barron",),
            dims=(2, 4),
            widths=(4, 8, 16, 32),
            steps=60,
            n_samples=300,
            n_test=300,
            seeds=(0, 1),
            baselines=("random-features",),
        )
    )
    fig = figure_for(result)
    ax = _axis(fig, "error against size")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    rows = result.rows
    expected = rows[(rows.dim == 2) & (rows.arch == "shallow")].groupby("params").rel_rmse.mean()
    fit = result.fits[(result.fits.dim == 2) & (result.fits.arch == "random-features")].iloc[0]
    label = f"barron, d=2, random-features, alpha {fit.alpha:.3g} [{fit.alpha_lo:.3g}, {fit.alpha_hi:.3g}]"
    assert label in [t.get_text() for t in ax.get_legend().get_texts()]  # the fitted alpha and interval in the legend
    shallow = next(ln.get_label() for ln in ax.lines if ln.get_label().startswith("barron, d=2, shallow"))
    np.testing.assert_allclose(_line(ax, shallow).get_ydata(), expected.to_numpy())
    assert_readable(fig)
    alphas = _axis(fig, "the curse in one picture")
    fits = result.fits[result.fits.arch == "shallow"].sort_values("dim")
    np.testing.assert_allclose(_line(alphas, "barron, shallow").get_ydata(), fits.alpha.to_numpy())
    # the sizes a fit left out are drawn hollow, exactly those (issue 26)
    from matplotlib.collections import PathCollection  # scatter points; the bands are PolyCollections

    scatters = [np.asarray(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]
    hollow = sorted(float(x) for points in scatters for x in points[:, 0])
    left_out = []
    for _, fit in result.fits.iterrows():
        used = {int(p) for p in fit.used_params.split(",") if p} if isinstance(fit.used_params, str) else None
        sizes = rows[(rows.dim == fit.dim) & (rows.arch == fit.arch)].params.unique()
        left_out += [float(p) for p in sizes if used is not None and p not in used]
    assert left_out and hollow == sorted(left_out)


def test_approx_figure_draws_the_learning_curve_and_the_bridge():
    # A learning curve on torus:2 inputs: its best-width curve (validation-chosen) and k-NN's, and the
    # exponents against the measured ID with both intervals beside 2/ID and 1/ID.
    config = approx.Config(
        targets=("teacher",), dims=(8,), teacher_k=(2,), widths=(4, 8, 16), lm_iters=100, inputs="torus:2",
        n_samples=(200, 400, 800), n_test=300, seeds=(0,), teacher_draws=2, baselines=("knn",),
    )  # fmt: skip
    result = approx.run(config)
    fig = figure_for(result)
    curve = _axis(fig, "learning curves")
    knn = next(ln for ln in curve.lines if ln.get_label().startswith("knn"))
    rows = result.rows[result.rows.arch == "knn"].groupby("n_samples").rel_rmse.mean()
    np.testing.assert_allclose(knn.get_ydata(), rows.to_numpy())
    best = best_width_rows(result.rows[result.rows.arch == "shallow"]).groupby("n_samples").rel_rmse.mean()
    shallow = next(ln for ln in curve.lines if ln.get_label().startswith("shallow (best width)"))
    np.testing.assert_allclose(shallow.get_ydata(), best.to_numpy())
    assert _axis(fig, "error against size at n = 800")
    bridge = _axis(fig, "the bridge")
    labels = [t.get_text() for t in bridge.get_legend().get_texts()]
    assert any(label.startswith("2/ID") for label in labels) and any(label.startswith("1/ID") for label in labels)
    assert_readable(fig)


@pytest.mark.slow
def test_overparam_figure_marks_the_threshold_and_plots_the_curve():
    config = overparam.Config(data="digits", widths=(50, 150, 200, 220, 400), n_train=200, n_test=300, seeds=(0, 1))
    result = overparam.run(config)
    fig = figure_for(result)
    loss = _axis(fig, "train and test loss")
    assert loss.get_xscale() == "log" and loss.get_yscale() == "log"
    test = _line(loss, "test, random-features on digits")
    np.testing.assert_allclose(test.get_ydata(), result.rows.groupby("width").test_loss.mean().to_numpy())
    # x is N / n (features per sample), so the threshold sits where the text says, near 1, not at 10 params/sample
    np.testing.assert_allclose(test.get_xdata(), np.array([50, 150, 200, 220, 400]) / 200)
    width = result.fits[result.fits.mark.str.contains("threshold")].width.iloc[0]
    vertical = [
        ln for ln in loss.lines if ln.get_label() != "interpolation threshold" and len(set(ln.get_xdata())) == 1
    ]
    assert vertical and vertical[0].get_xdata()[0] == pytest.approx(width / 200)
    assert "N / n" in loss.get_xlabel()
    assert_readable(fig)
    curve = overparam.run(overparam.SMOKE)
    epochs = _axis(figure_for(curve), "test error over training")
    assert [ln.get_label() for ln in epochs.lines] == ["width 2", "width 16", "width 64"]  # one series per width


@pytest.mark.slow
def test_linear_figure_draws_the_closed_form_risk_and_no_undrawn_threshold():
    config = overparam.Config(model="linear", n_train=100, n_test=200, seeds=(0, 1), widths=(20, 50, 90, 110, 200, 400))
    result = overparam.run(config)
    fig = figure_for(result)
    loss = _axis(fig, "train and test loss")
    theory = _line(loss, "theory risk, exact, linear on gaussian")
    expected = result.rows.groupby("width").theory_risk.first()
    expected = expected[np.isfinite(expected)]  # the exact mean is infinite for |p - n| <= 1
    np.testing.assert_allclose(theory.get_xdata(), expected.index / 100)
    np.testing.assert_allclose(theory.get_ydata(), expected.to_numpy())
    assert_readable(fig)
    # theory in black, the measurement in its setting's colour; the legend a key, not one entry per line (issue 26)
    measured = _line(loss, "excess risk, linear on gaussian")
    assert theory.get_color() == "black" and measured.get_color() != "black"
    key = [t.get_text() for t in loss.get_legend().get_texts()]
    styles = ["train", "test", "excess risk", "theory risk: exact", "interpolation threshold"]
    assert key == ["linear on gaussian", *styles]
    narrow = overparam.run(overparam.Config(model="linear", n_train=100, n_test=100, seeds=(0,), widths=(10, 20, 40)))
    legend = [t.get_text() for t in _axis(figure_for(narrow), "train and test loss").get_legend().get_texts()]
    assert "interpolation threshold" not in legend  # no width fits the training set: nothing drawn, nothing listed


def test_samplewise_figure_plots_test_loss_and_the_closed_form_against_n():
    config = overparam.Config(model="linear", n_train=(20, 40, 55, 65, 80, 160), n_test=200, seeds=(0, 1), widths=(60,))
    result = overparam.run(config)
    fig = figure_for(result)
    ax = _axis(fig, "test loss against n")
    assert ax.get_xlabel() == "training samples n" and ax.get_xscale() == "log"
    test = _line(ax, "test loss, linear on gaussian, width 60")
    means = result.rows.groupby("n_train").test_loss.mean()
    np.testing.assert_allclose(test.get_xdata(), means.index)
    np.testing.assert_allclose(test.get_ydata(), means.to_numpy())
    theory = _line(ax, "theory risk, exact, linear on gaussian, width 60")
    expected = result.rows.groupby("n_train").theory_risk.first()
    np.testing.assert_allclose(theory.get_ydata(), expected[np.isfinite(expected)].to_numpy())
    assert [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == ":" and len(ln.get_xdata())] == [60]
    assert_readable(fig)


@pytest.mark.slow
def test_epochwise_heat_map_holds_the_mean_test_error_per_width_and_epoch():
    config = overparam.Config(
        model="cnn", widths=(2, 4, 8), n_train=200, n_test=200, epochs=4, record_every=1, seeds=(0, 1), batch_size=50
    )
    result = overparam.run(config)
    assert sorted(result.rows.epoch.unique()) == [0.0, 1.0, 2.0, 3.0, 4.0]  # from the initialisation
    assert result.rows[["train_loss", "test_loss", "train_error", "test_error"]].notna().all().all()
    fig = figure_for(result)
    ax = _axis(fig, "test error over epochs and width")
    mesh = ax.collections[0].get_array().reshape(3, 5)
    expected = result.rows.pivot_table(index="width", columns="epoch", values="test_error", aggfunc="mean")
    np.testing.assert_allclose(mesh, expected.to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2", "4", "8"]
    assert_readable(fig)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_saved_files_are_valid_images(distance_result, tmp_path, suffix):
    path = tmp_path / f"fig{suffix}"
    plot.save(figure_for(distance_result), str(path))
    data = path.read_bytes()
    if suffix == ".png":
        import matplotlib.image

        assert matplotlib.image.imread(str(path)).shape[2] in (3, 4)
    elif suffix == ".svg":
        assert ET.fromstring(data).tag.endswith("svg")
    else:
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]


@pytest.mark.slow
def test_cli_plot_flag_and_plot_command(cli, tmp_path):
    code, _, _ = cli(
        "distance",
        "--dims",
        "2,20",
        "--points",
        "500",
        "--queries",
        "20",
        "--id-points",
        "0",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "rows.csv"),
        "--plot",
        str(tmp_path / "run.png"),
    )
    assert code == 0 and (tmp_path / "run.png").stat().st_size > 1000
    code, _, err = cli("plot", str(tmp_path / "rows.csv"), "--out", str(tmp_path / "again.svg"))
    assert code == 0 and "wrote" in err and (tmp_path / "again.svg").exists()


@pytest.mark.parametrize(
    "args, option",
    [
        (["distance", "--dims", "2", "--plot", "fig.gif"], "--plot"),
        (["distance", "--dims", "2", "--plot", "no/dir/f.png"], "--plot"),
        (["plot", "nothing.csv", "--out", "f.png"], "no such store"),
        (["plot", "nothing.csv", "--out", "f.bmp"], "--out"),
    ],
)
def test_plot_errors_are_one_line_before_any_work(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert_clean_error(*cli(*args, "--quiet") if args[0] != "plot" else cli(*args), option, tmp_path)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    without_module(monkeypatch, "matplotlib")
    with pytest.raises(DimcurseError, match=r"dimcurse\[plot\]"):
        plot.pyplot()
