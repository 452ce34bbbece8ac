"""The CLI as a user types it: formats on stdout, bad input, determinism, version and info."""

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
import torch

from tests.helpers import assert_clean_error

SMALL = ["--points", "300", "--queries", "20", "--id-points", "100", "--seeds", "2", "--quiet"]


def test_version_and_info(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("dimcurse 0.")
    code, out, _ = cli("info")
    assert code == 0
    for word in ("dimcurse", "python", "torch", "numpy", "torch threads", "devices", "cpu"):
        assert word in out


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run([sys.executable, "-m", "dimcurse", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("dimcurse ")


def test_table_on_the_terminal(cli):
    code, out, err = cli("distance", "--dims", "2,50", *SMALL)
    assert code == 0 and err == ""
    assert "relative" in out and "contrast" in out and "theory" in out and "±" in out


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "markdown"])
def test_formats_on_stdout_carry_only_data(cli, fmt):
    code, out, err = cli("distance", "--dims", "3,30", "--metric", "l2,cosine", *SMALL, "--out", "-", "--format", fmt)
    assert code == 0 and err == ""
    if fmt == "csv":
        rows = pd.read_csv(io.StringIO(out))
    elif fmt == "json":
        body = json.loads(out)
        rows = pd.DataFrame(body["rows"])
        assert body["provenance"]["config"]["n_points"] == 300
    elif fmt == "jsonl":
        rows = pd.read_json(io.StringIO(out), lines=True)
    else:
        table = [line for line in out.splitlines() if line.startswith("|")]
        assert table[0].startswith("| dist | dim | metric |") and len(table) == 2 + 2 * 2  # one row per setting
        return
    assert len(rows) == 2 * 2 * 2  # dims x metrics x seeds
    assert {"relative_contrast", "contrast_he", "dist_cv", "twonn_id", "mle_id", "hubness"} <= set(rows.columns)


def test_out_file_writes_table_and_sidecar(cli, tmp_path):
    target = tmp_path / "r.parquet"
    code, out, _ = cli("distance", "--dims", "4", *SMALL, "--out", str(target))
    assert code == 0 and "nn dist" in out
    assert len(pd.read_parquet(target)) == 2
    assert json.loads((tmp_path / "r.parquet.provenance.json").read_text())["kernel"] == "distance"


def test_same_seed_gives_identical_output(cli):
    args = (
        "distance",
        "--dims",
        "5,40",
        "--dist",
        "uniform,sphere",
        "--metric",
        "l1,lp:0.5",
        *SMALL,
        "--out",
        "-",
        "--format",
        "csv",
    )
    first, second = cli(*args), cli(*args)
    assert first[0] == 0 and first[1] == second[1]


BAD = [
    (["--dims", "1,,2"], "--dims"),
    (["--dims", "abc"], "--dims"),
    (["--dims", "0"], "--dims"),
    (["--dims", "-5"], "--dims"),
    (["--points", "0"], "--points"),
    (["--points", "abc"], "--points"),
    (["--queries", "0"], "--queries"),
    (["--metric", "l3"], "--metric"),
    (["--metric", "lp:0"], "--metric"),
    (["--dist", "cube"], "--dist"),
    (["--dist", "subspace:0"], "--dist"),
    (["--dist", "subspace:9", "--dims", "4"], "--dims"),
    (["--points", "50", "--k", "60"], "--k"),
    (["--out", "/nonexistent-dir/x.csv"], "--out"),
    (["--out", "x.xlsx"], "--out"),
    (["--out", "-", "--format", "yaml"], "--format"),
    (["--device", "tpu"], "--device"),
    (["--dtype", "half"], "--dtype"),
    (["--seeds", "0"], "--seeds"),
    (["--seeds", "a"], "--seeds"),
    (["--data", "nonexistent"], "--data"),
    (["--data", "mnist:/nowhere"], "--data"),
    (["--data", "digits", "--dims", "10"], "--data"),
    (["--data", "digits", "--queries", "5000"], "--queries"),
    (["--id-points", "-1"], "--id-points"),
    (["--mle-k", "1"], "--mle-k"),
    (["--foo"], "--foo"),
]


@pytest.mark.parametrize("args, option", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert_clean_error(*cli("distance", *args, "--quiet"), option, tmp_path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_where_there_is_none(cli):
    code, _, err = cli("distance", "--device", "cuda", "--quiet")
    assert code == 2 and "no CUDA device" in err


def test_progress_goes_to_stderr_and_quiet_silences_it(cli):
    code, out, err = cli(
        "distance",
        "--dims",
        "3",
        "--points",
        "200",
        "--queries",
        "10",
        "--id-points",
        "50",
        "--seeds",
        "1",
        "--quiet",
        "--out",
        "-",
        "--format",
        "jsonl",
    )
    assert code == 0 and err == "" and len(out.splitlines()) == 1


APPROX_BAD = [
    (["--width", "0"], "--width"),
    (["--widths", "8,abc"], "--widths"),
    (["--depth", "0"], "--depth"),
    (["--target", "nope"], "--target"),
    (["--target", "kan-xy", "--dims", "8"], "--dims"),
    (["--arch", "tree", "--dims", "6"], "--arch"),
    (["--arch", "wide"], "--arch"),
    (["--lr", "-1"], "--lr"),
    (["--optimizer", "sgd"], "--optimizer"),
    (["--width", "8", "--widths", "8,16"], "--width"),
    (["--fit-out", "-"], "--fit-out"),
    (["--fit-out", "fits.xlsx"], "--fit-out"),
    (["--samples", "0"], "--samples"),
]


@pytest.mark.parametrize("args, option", APPROX_BAD, ids=[" ".join(a) for a, _ in APPROX_BAD])
def test_approx_bad_input_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    assert_clean_error(*cli("approx", *args, "--quiet"), option, tmp_path)


def test_approx_writes_rows_and_fits(cli, tmp_path):
    code, out, _ = cli(
        "approx",
        "--target",
        "kan-xy",
        "--widths",
        "4,8,16",
        "--steps",
        "20",
        "--samples",
        "200",
        "--test-samples",
        "200",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "rows.csv"),
        "--fit-out",
        str(tmp_path / "fits.json"),
    )
    assert code == 0 and "exponent fits" in out
    assert len(pd.read_csv(tmp_path / "rows.csv")) == 6
    fits = pd.DataFrame(json.loads((tmp_path / "fits.json").read_text())["rows"])
    assert fits.arch.tolist() == ["shallow"] and "alpha_theory" in fits


def test_list_targets(cli):
    code, out, _ = cli("approx", "--list-targets")
    assert code == 0
    for name in ("barron", "poggio-tree8", "kan-100d", "q-power", "cos4x", "teacher"):
        assert name in out


# Issue 34: an empty value (a script passing an empty variable) ran the defaults and exited 0 after the
# options were unified; every list option refuses it, in every kernel command.
EMPTY = [
    ("distance", "--dims"),
    ("distance", "--seeds"),
    ("distance", "--metric"),
    ("approx", "--dims"),
    ("approx", "--widths"),
    ("approx", "--seeds"),
    ("approx", "--samples"),
    ("approx", "--target"),
    ("overparam", "--widths"),
    ("overparam", "--train-samples"),
    ("overparam", "--label-noise"),
]


@pytest.mark.parametrize("command, option", EMPTY, ids=[f"{c} {o}" for c, o in EMPTY])
def test_an_empty_list_value_is_refused_not_read_as_the_default(cli, tmp_path, monkeypatch, command, option):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(command, option, "", "--quiet")
    assert_clean_error(code, out, err, option, tmp_path)
    assert "empty value" in err
