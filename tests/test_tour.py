"""dimcurse tour: the quick run writes its report, figures and results; sentences follow the numbers."""

import re

import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from dimcurse import tour  # noqa: E402

# end-to-end: the inner loop (-m "not slow") leaves it out; one worker runs the module (its tour, run once)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tour")]


README_TOUR = "dimcurse tour --quick --out tour-quick"  # the README's example: run here, not twice


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The README's quick tour through the CLI, in a folder named as the README names it (tests/test_readme.py
    leaves this one example to this module: it takes 40 s)."""
    import contextlib
    import io
    import os
    import shlex

    from dimcurse.cli import main

    base = tmp_path_factory.mktemp("tour")
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(base)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                main(shlex.split(README_TOUR)[1:])
            except SystemExit as exc:
                assert not exc.code, out.getvalue()
    finally:
        os.chdir(cwd)
    folder = base / "tour-quick"
    return folder, folder / "report.md", out.getvalue().splitlines()


def test_the_readme_shows_this_tour_and_its_first_line(quick):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text().splitlines()
    at = readme.index(f"$ {README_TOUR}")
    assert quick[2][0].rstrip() == readme[at + 1].rstrip()  # as tests/test_readme.py checks the others


def test_the_help_and_the_readme_give_the_quick_tours_time_alike():
    from pathlib import Path

    from typer.testing import CliRunner

    from dimcurse.cli import app

    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    (said,) = set(re.findall(r"tour --quick \((.+?); a report", shown))  # one stated time (test_stated_times)
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert f"`--quick` took {said}" in readme


def test_quick_tour_writes_report_figures_and_results(quick):
    folder, report, lines = quick
    text = report.read_text()
    figures = ("distance.png", "distance-digits.png", "objects.png", "distance-objects.png")
    figures += ("approx.png", "approx-teacher.png", "approx-tree.png")
    for figure in (*figures, "overparam.png"):
        assert (folder / figure).stat().st_size > 5000 and f"]({figure})" in text
    names = (
        "distance-uniform",
        "distance-digits",
        "distance-objects",
        "approx-barron",
        "approx-teacher",
        "approx-tree",
    )
    for name in (*names, "overparam"):
        rows = pd.read_csv(folder / f"{name}.csv")
        assert len(rows) > 0 and (folder / f"{name}.csv.provenance.json").exists()
        assert f"`{name}.csv` — {len(rows)} rows" in text
    steps = [line for line in lines if re.match(r"\d/\d ", line)]  # wrapped sentences may start with a number
    assert text.count("\n## ") == 3 and lines[:3] == steps and [s[:2] for s in steps] == ["1/", "2/", "3/"]


def test_sentences_carry_this_runs_numbers(quick):
    folder, report, _ = quick
    uniform = pd.read_csv(folder / "distance-uniform.csv")
    contrast = uniform[uniform.metric == "l2"].groupby("dim").relative_contrast.mean()
    text = report.read_text()
    assert f"fell from {contrast[2]:.3g} at d = 2 to {contrast[1000]:.3g} at d = 1000" in text
    dd = pd.read_csv(folder / "overparam.csv")
    loss = dd[dd.ridge == 0].groupby("width").test_loss.mean()
    assert f"peaked at {loss.max():.3g} with {loss.idxmax()} features" in text
    # exponents come with their intervals, as the fit table gives them
    assert "alpha = " in text and re.search(r"\d[.\d]* \[-?[\d.e-]+, -?[\d.e-]+\]", text)


def test_the_images_sentence_says_what_this_run_measured(quick):
    folder, report, _ = quick
    rows = pd.read_csv(folder / "distance-objects.csv")
    images = rows[~rows.dist.str.startswith("gaussian")].iloc[0]
    gauss = rows[rows.dist == "gaussian"].iloc[0]
    text = report.read_text()
    assert f"TwoNN finds {images.twonn_id:.2g}" in text and "150,528" in text
    assert f"{images.relative_contrast:.3g} against {gauss.relative_contrast:.3g}" in text
    # the claim is worded from the numbers: a TwoNN far from K says "not K"
    far = pd.DataFrame({"dist": ["objects:2:32", "gaussian"], "relative_contrast": [0.5, 0.9], "twonn_id": [5.0, 40.0]})
    (sentence,) = tour.images_sentences(far)
    assert "not K = 2" in sentence and "did not keep more than 0.5" in sentence


def test_sentences_are_withheld_when_the_run_does_not_show_the_effect():
    flat = pd.DataFrame({"metric": "l2", "dim": [2, 10, 100], "relative_contrast": [1.0, 2.0, 0.5]})
    real = pd.DataFrame(
        {"dist": ["digits", "gaussian(64)"], "relative_contrast": [0.5, 0.9], "twonn_id": [9.0, 40.0], "dim": [64, 64]}
    )
    first, second = tour.distance_sentences(flat, real)
    assert "no concentration claim" in first and "did not keep more contrast" in second
    rows = pd.DataFrame(
        {"ridge": 0.0, "width": [10, 20, 40], "test_loss": [3.0, 2.0, 1.0], "params_per_sample": 1.0, "n_train": 20}
    )
    result = type("R", (), {"rows": rows})()
    assert "no double-descent claim" in tour.overparam_sentences(result)[0]


def test_the_teacher_sentence_follows_the_fits():
    def result(alphas):
        rows = [
            {"dim": d, "teacher_k": k, "alpha": a, "alpha_lo": a - 0.1, "alpha_hi": a + 0.1}
            for (d, k), a in alphas.items()
        ]
        return type("R", (), {"analysis": pd.DataFrame(rows)})()

    shown = tour.teacher_sentences(result({(4, 2): 0.99, (4, 4): 0.55, (16, 2): 0.94, (16, 4): 0.47}))
    assert "followed k" in shown[0] and "0.99 [0.89, 1.09] for k = 2" in shown[0]
    flat = tour.teacher_sentences(result({(4, 2): 0.6, (4, 4): 0.55}))
    assert "no claim is made" in flat[0]
