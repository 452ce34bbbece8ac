"""Writers round-trip through pandas; files are written atomically with provenance."""

import json
import os

import pandas as pd
import pytest

from dimcurse import results
from dimcurse.errors import DimcurseError
from dimcurse.experiments.distance import kernel as distance


@pytest.fixture(scope="module")
def result():
    config = distance.Config(
        dims=(3, 30),
        dists=("gaussian",),
        metrics=("l2", "linf"),
        seeds=(0, 1),
        n_points=300,
        n_queries=20,
        id_points=100,
        k=5,
        mle_k=5,
    )
    return distance.run(config)


def _read(path, fmt):
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "json":
        return pd.DataFrame(json.loads(path.read_text())["rows"])
    if fmt == "jsonl":
        return pd.read_json(path, lines=True)
    if fmt == "parquet":
        return pd.read_parquet(path)
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|") and not ln.startswith("|---")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return pd.DataFrame(cells[1:], columns=cells[0]).replace("", float("nan"))


# Markdown is the summary a person reads (mean ± sd), not a raw-row format: tested below.
@pytest.mark.parametrize(
    "suffix, fmt", [(".csv", "csv"), (".json", "json"), (".jsonl", "jsonl"), (".parquet", "parquet")]
)
def test_every_format_round_trips(tmp_path, result, suffix, fmt):
    path = tmp_path / f"out{suffix}"
    results.write_result(result, str(path))
    back = _read(path, fmt)
    expected = result.rows
    assert list(back.columns) == list(expected.columns)
    numeric = expected.select_dtypes("number").columns
    pd.testing.assert_frame_equal(back[numeric].astype(float), expected[numeric].astype(float), rtol=1e-9)
    assert back["dist"].tolist() == expected["dist"].tolist()
    sidecar = json.loads((tmp_path / f"out{suffix}.provenance.json").read_text())
    assert sidecar["kernel"] == "distance" and sidecar["config"]["dims"] == [3, 30]
    for key in ("kernel_version", "versions", "device", "git_commit", "command", "timestamp", "config_key"):
        assert key in sidecar


def test_provenance_is_embedded_in_json_markdown_and_parquet(tmp_path, result):
    for name in ("a.json", "a.md", "a.parquet"):
        results.write_result(result, str(tmp_path / name))
    assert json.loads((tmp_path / "a.json").read_text())["provenance"]["kernel"] == "distance"
    assert f'"kernel_version": {distance.VERSION}' in (tmp_path / "a.md").read_text()
    import pyarrow.parquet as pq

    meta = pq.read_schema(tmp_path / "a.parquet").metadata[b"dimcurse"]
    assert json.loads(meta)["config"]["metrics"] == ["l2", "linf"]


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, result, monkeypatch):
    path = tmp_path / "table.csv"
    path.write_text("previous\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(DimcurseError, match="No space left"):
        results.write_result(result, str(path))
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # no temporary left behind


def test_aggregate_is_mean_and_sd_over_seeds(result):
    summary = results.aggregate(result)
    assert len(summary) == 4 and (summary.n_seeds == 2).all()
    rows = result.rows[(result.rows.dim == 30) & (result.rows.metric == "l2")]
    row = summary[(summary.dim == 30) & (summary.metric == "l2")].iloc[0]
    assert row.nn_dist_mean == pytest.approx(rows.nn_dist.mean())
    assert row.nn_dist_sd == pytest.approx(rows.nn_dist.std(ddof=1))


@pytest.mark.parametrize(
    "path, fmt, message",
    [
        ("out.xlsx", None, "cannot tell the format"),
        ("-", "yaml", "unknown format"),
        ("/nonexistent-dir/x.csv", None, "does not exist"),
        ("x.csv", "table", "for the terminal"),
    ],
)
def test_output_checks(path, fmt, message):
    with pytest.raises(DimcurseError, match=message):
        results.check_writable(path, fmt)


def test_output_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(DimcurseError, match="does not exist"):
        results.check_writable(str(blocker / "x.csv"), None)
    with pytest.raises(DimcurseError, match="is a directory"):
        results.check_writable(str(tmp_path), "csv")


def test_markdown_is_the_mean_sd_table_on_screen(cli, tmp_path):
    code, out, _ = cli(
        "distance",
        "--dims",
        "10",
        "--metric",
        "l2,lp:0.5",
        "--points",
        "300",
        "--queries",
        "20",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "d.md"),
    )
    text = (tmp_path / "d.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert code == 0 and len(table) == 2 + 2  # header, rule, one row per metric (not one per seed)
    assert "dist_cv (mean ± sd)" in table[0] and "dist_cv theory" in table[0] and "±" in table[2]
    assert "≈ " in table[3]  # the lp:0.5 cv theory is a limit, marked as on screen
    assert "<summary>provenance</summary>" in text and "far_dist" not in table[0]


def test_distance_summary_out_and_histograms_beside_the_rows(cli, tmp_path):
    out = tmp_path / "d.csv"
    code, _, _ = cli(
        "distance",
        "--dims",
        "5,20",
        "--points",
        "300",
        "--queries",
        "40",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(out),
        "--summary-out",
        str(tmp_path / "s.csv"),
    )
    summary = pd.read_csv(tmp_path / "s.csv")
    assert code == 0 and len(summary) == 2 and (summary.n_seeds == 2).all() and "dist_cv_sd" in summary
    histograms = pd.read_csv(tmp_path / "d.csv.histograms.csv")
    assert set(histograms.dim) == {5, 20} and set(histograms.seed) == {0, 1}
    pytest.importorskip("matplotlib")
    from dimcurse import report
    from dimcurse.experiments import figure_for

    (result,) = report.report(str(out))
    assert len(figure_for(result).axes) == 3  # the histogram panel is redrawn from the saved file


def test_a_warning_from_dimcurse_code_fails_the_suite():
    """pyproject's filterwarnings turns warnings raised in dimcurse's modules into errors (and only those)."""
    import warnings

    code = compile("import numpy as np\nnp.float64(1.0) / np.float64(0.0)\n", "dimcurse/example.py", "exec")
    with pytest.raises(RuntimeWarning, match="divide by zero"):
        exec(code, {"__name__": "dimcurse.example"})
    with warnings.catch_warnings(record=True):
        exec(code, {"__name__": "someone_else"})  # another package's warning is left to it


def test_a_result_shows_itself_in_a_notebook_a_print_and_on_stdout(capsys):
    """Issue 33: repr(result) was a 3.4 kB dataclass dump, result.to("-") raised KeyError: 'table', and nothing
    printed the command line's tables from Python."""
    import dimcurse
    from tests.helpers import run_cli

    result = dimcurse.distance(dims=[2, 10], points=300, queries=20, seeds=2, id_points=0, device="cpu")
    result.notes.append("a note <with> markup")
    assert repr(result).startswith("<dimcurse Result distance: 4 rows, 2 seed(s)") and len(repr(result)) < 200
    html = result._repr_html_()
    assert "<table" in html and "relative_contrast_mean" in html and "a note &lt;with&gt; markup" in html
    markdown = result._repr_markdown_().splitlines()
    assert markdown[0] == "**dimcurse distance**" and markdown[2].startswith("| dist | dim | metric |")
    assert set(markdown[3]) == {"|", "-"} and "- note: a note <with> markup" in markdown
    # to("-") and print() show what `dimcurse distance ... --out -` prints
    code, shown, _ = run_cli("distance", "--dims", "2,10", "--points", "300", "--queries", "20", "--seeds", "2",
                             "--id-points", "0", "--device", "cpu", "--out", "-")  # fmt: skip
    result.notes.pop()
    capsys.readouterr()
    result.to("-")
    printed = capsys.readouterr().out
    assert code == 0 and printed.splitlines()[:4] == shown.splitlines()[:4]
    assert str(result).splitlines()[:4] == shown.splitlines()[:4]
    result.to("-", "csv")
    assert capsys.readouterr().out.startswith("dim,dist,metric,seed")


def test_the_package_lists_its_public_api():
    import dimcurse

    for name in ("distance", "approx", "overparam", "register_target", "register_dataset", "__version__"):
        assert name in dimcurse.__all__ and name in dir(dimcurse)
    assert "_allocator" not in dir(dimcurse)


def test_a_result_draws_its_figure_and_refuses_a_bad_path_first(tmp_path):
    import dimcurse
    from dimcurse.errors import DimcurseError

    result = dimcurse.distance(dims=[2, 10], points=300, queries=10, seeds=1, id_points=0)
    assert result.plot(str(tmp_path / "d.png")) == str(tmp_path / "d.png") and (tmp_path / "d.png").stat().st_size
    assert type(result.figure()).__name__ == "Figure"
    with pytest.raises(DimcurseError, match="image format"):
        result.plot(str(tmp_path / "d.gif"))
    with pytest.raises(DimcurseError, match="does not exist"):
        result.plot(str(tmp_path / "nowhere" / "d.png"))
