"""Writers round-trip through pandas; files are written atomically with provenance."""

import json
import os

import pandas as pd
import pytest

from dimcurse import results
from dimcurse.errors import DimcurseError
from dimcurse.experiments import distance


@pytest.fixture(scope="module")
def result():
    config = distance.Config(dims=(3, 30), dists=("gaussian",), metrics=("l2", "linf"), seeds=(0, 1),
                             n_points=300, n_queries=20, id_points=100, k=5, mle_k=5)
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


@pytest.mark.parametrize("suffix, fmt", [(".csv", "csv"), (".json", "json"), (".jsonl", "jsonl"), (".parquet", "parquet"), (".md", "markdown")])
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


@pytest.mark.parametrize("path, fmt, message", [
    ("out.xlsx", None, "cannot tell the format"), ("-", "yaml", "unknown format"),
    ("/nonexistent-dir/x.csv", None, "does not exist"), ("x.csv", "table", "for the terminal"),
])
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
