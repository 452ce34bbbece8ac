"""Your own data in every kernel: files and arrays, the API, plugins, and every bad file refused cleanly."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dimcurse
from dimcurse.errors import DimcurseError
from tests.helpers import assert_clean_error

SMALL = ["--points", "600", "--queries", "40", "--id-points", "400", "--seeds", "1", "--quiet"]


def _manifold(n=1200, k=3, d=40, seed=0):
    """A k-dimensional manifold embedded nonlinearly in R^d (sines and cosines of k uniform coordinates)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 1, (n, k))
    features = np.concatenate([np.sin(2 * t), np.cos(3 * t), t**2], 1)
    return features @ rng.standard_normal((3 * k, d))


def test_the_same_array_as_npy_csv_and_parquet_gives_identical_rows(cli, tmp_path):
    x = _manifold()
    np.save(tmp_path / "emb.npy", x)
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(x.shape[1])])
    frame.to_csv(tmp_path / "emb.csv", index=False)
    frame.to_csv(tmp_path / "emb.tsv", index=False, sep="\t")
    frame.to_parquet(tmp_path / "emb.parquet")
    outs = []
    for name in ("emb.npy", "emb.csv", "emb.tsv", "emb.parquet"):
        code, out, err = cli("distance", "--data", str(tmp_path / name), *SMALL, "--out", "-", "--format", "csv")
        assert code == 0, err
        outs.append(out)
    assert outs[0] == outs[1] == outs[2] == outs[3]
    provenance = json.loads(
        (cli("distance", "--data", str(tmp_path / "emb.csv"), *SMALL, "--out", "-", "--format", "json")[1])
    )["provenance"]
    assert provenance["data"]["rows"] == 1200 and len(provenance["data"]["sha256"]) == 16


def test_twonn_of_a_manifold_through_the_cli_and_the_api(cli, tmp_path):
    x = _manifold(k=3)
    np.save(tmp_path / "m.npy", x)
    code, out, _ = cli("distance", "--data", str(tmp_path / "m.npy"), *SMALL, "--out", "-", "--format", "csv")
    rows = pd.read_csv(__import__("io").StringIO(out)).set_index("dist")
    assert abs(rows.loc["m", "twonn_id"] - 3) < 0.6  # k = 3, 400 points
    assert rows.loc["gaussian", "twonn_id"] > 15 and rows.loc["gaussian-cov", "theory_id"] == 9  # rank 3k
    # the covariance-matched Gaussian keeps the spectrum but not the manifold: higher ID than the data
    assert rows.loc["gaussian-cov", "twonn_id"] > rows.loc["m", "twonn_id"] + 1
    result = dimcurse.distance(x, points=600, queries=40, id_points=400, seeds=1)
    api = result.summary.set_index("dist")
    assert api.loc["array", "twonn_id_mean"] == pytest.approx(rows.loc["m", "twonn_id"])  # same values, same draws
    assert result.provenance["data"]["source"] == "array"


def test_approx_and_overparam_on_files_the_test_writes(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1500, 4))
    frame = pd.DataFrame(x, columns=list("abcd")).assign(price=np.sin(2 * x[:, 0]) * x[:, 1] + x[:, 2])
    frame.to_csv(tmp_path / "reg.csv", index=False)
    code, out, err = cli(
        "approx",
        "--data",
        str(tmp_path / "reg.csv"),
        "--target-column",
        "price",
        "--widths",
        "4,8,16",
        "--lm-iters",
        "30",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "a.csv"),
    )
    rows = pd.read_csv(tmp_path / "a.csv")
    assert code == 0, err
    assert set(rows.target) == {"reg"} and (rows.dim == 4).all() and (rows.rel_rmse < 0.5).all()
    assert json.loads((tmp_path / "a.csv.provenance.json").read_text())["data"]["columns"] == 4
    labels = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)
    np.savez(tmp_path / "cls.npz", x=x, y=labels)
    code, out, err = cli(
        "overparam",
        "--data",
        str(tmp_path / "cls.npz"),
        "--train-samples",
        "400",
        "--test-samples",
        "200",
        "--widths",
        "20,400,2000",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "o.csv"),
    )
    rows = pd.read_csv(tmp_path / "o.csv")
    assert code == 0, err
    assert set(rows.data) == {"cls"} and rows.test_error.max() < 0.75  # 4 classes: chance is 0.75


def test_overparam_on_a_file_defaults_to_its_rows(cli, tmp_path):
    """Issue 26: a 1,500-row file ran out of test rows by default (300 held out, 1,000 asked for)."""
    rng = np.random.default_rng(4)
    centres = rng.normal(0, 3, (4, 20))
    y = rng.integers(0, 4, 1500)
    np.savez(tmp_path / "blobs.npz", x=centres[y] + rng.normal(size=(1500, 20)), y=y)
    code, _, err = cli(
        "overparam", "--data", str(tmp_path / "blobs.npz"), "--seeds", "1", "--out", str(tmp_path / "b.csv")
    )
    assert code == 0, err
    config = json.loads((tmp_path / "b.csv.provenance.json").read_text())["config"]
    assert config["n_train"] == [1000] and config["n_test"] == 300  # every held-out row (20 %)
    rows = pd.read_csv(tmp_path / "b.csv")
    assert rows.width.max() == 20 * 1000 and rows.params_per_sample.min() == 0.1 * 4  # the widths follow n
    # a file with fewer training rows than 1,000 trains on all of them
    np.savez(tmp_path / "small.npz", x=centres[y[:500]], y=y[:500])
    code, _, err = cli(
        "overparam", "--data", str(tmp_path / "small.npz"), "--model", "knn", "--out", str(tmp_path / "s.csv")
    )
    config = json.loads((tmp_path / "s.csv.provenance.json").read_text())["config"]
    assert code == 0 and config["n_train"] == [400] and config["n_test"] == 100, err


def test_a_run_reads_a_users_file_once(tmp_path, monkeypatch):
    """Issue 26: one run read the file four times (settings, memory estimate, data, provenance), a module cache
    hiding it; now it is read once and passed down, as the device is."""
    from dimcurse import userdata
    from dimcurse.experiments.approx import kernel as approx

    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (300, 3))
    np.savez(tmp_path / "r.npz", x=x, y=x[:, 0] * x[:, 1])
    reads, load = [], userdata.load
    monkeypatch.setattr(userdata, "load", lambda *a, **k: reads.append(a[0]) or load(*a, **k))
    result = approx.run(approx.Config(data=str(tmp_path / "r.npz"), widths=(4, 8), lm_iters=5, seeds=(0,)))
    assert len(reads) == 1 and result.provenance["data"]["rows"] == 300
    # overparam too, its sizes taken from the file's rows
    from dimcurse.experiments.overparam import kernel as overparam

    np.savez(tmp_path / "c.npz", x=x, y=(x[:, 0] > 0).astype(int))
    reads.clear()
    result = overparam.run(overparam.Config(data=str(tmp_path / "c.npz"), widths=(10, 300), seeds=(0,)))
    assert len(reads) == 1 and result.provenance["config"]["n_test"] == 60
    # and distance, over every seed
    from dimcurse.experiments.distance import kernel as distance

    reads.clear()
    result = distance.run(distance.Config(data=str(tmp_path / "r.npz"), n_points=200, n_queries=20, seeds=(0, 1, 2)))
    assert len(reads) == 1 and result.provenance["data"]["rows"] == 300


def test_images_in_an_npz_are_flattened(tmp_path):
    rng = np.random.default_rng(2)
    images, labels = rng.uniform(0, 1, (300, 1, 6, 6)), rng.integers(0, 3, 300)
    np.savez(tmp_path / "img.npz", x=images, y=labels)
    from dimcurse import userdata

    data = userdata.load(str(tmp_path / "img.npz"), need_y=True)
    assert data.x.shape == (300, 36) and data.image_shape == (1, 6, 6)


# Bad files written as text, and the ones numpy writes.
TEXT_FILES = {
    "inf.csv": "a,b\n1,2\n3,inf\n",
    "ragged.csv": "a,b\n1,2\n3,4,5\n",
    "empty.csv": "",
    "text.csv": "a,b\n1,x\n2,y\n",
    "table.xlsx": "not really",
    "labels.csv": "a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n",
    "floaty.csv": "a,b,y\n1,2,0.5\n3,4,1.5\n5,6,0.5\n",
}


def _nan_array():
    x = np.ones((20, 3))
    x[5, 1] = np.nan
    return x


ARRAY_FILES = {
    "nan.npy": lambda p: np.save(p, _nan_array()),
    "flat.npy": lambda p: np.save(p, np.arange(10.0)),
    "nox.npz": lambda p: np.savez(p, z=np.ones((4, 2))),
    "short.npz": lambda p: np.savez(p, x=np.ones((10, 2)), y=np.arange(7)),
    "folder.npy": lambda p: p.mkdir(),
}


def _write_bad(tmp_path, name):
    path = tmp_path / name
    if name in TEXT_FILES:
        path.write_text(TEXT_FILES[name])
    elif name in ARRAY_FILES:
        ARRAY_FILES[name](path)
    return path  # anything else: a file that is not there


@pytest.mark.parametrize(
    "kernel, name, said",
    [
        ("distance", "nan.npy", "row 5, column 1"),
        ("distance", "inf.csv", "row 1, column 1"),
        ("distance", "ragged.csv", "ragged"),
        ("distance", "empty.csv", "empty"),
        ("distance", "text.csv", "non-numeric column(s) b (drop them; a column named y is left out)"),
        ("approx", "text.csv", "non-numeric column(s) b (drop them, or name the target with --target-column)"),
        ("distance", "flat.npy", "shape (10,)"),
        ("distance", "nox.npz", "no array x"),
        ("distance", "missing.npy", "no such file"),
        ("distance", "folder.npy", "is a folder"),
        ("distance", "table.xlsx", "unknown data file type"),
        ("overparam", "labels.csv", "map them first, e.g. {'cat': 0, 'dog': 1}"),
        ("overparam", "floaty.csv", "labels must be the integers 0..C-1"),
        ("approx", "labels.csv", "the target holds text"),
        ("approx", "short.npz", "y has 7 values for 10 rows"),
    ],
)
def test_every_bad_file_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, kernel, name, said):
    path = _write_bad(tmp_path, name)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.chdir(out_dir)
    code, out, err = cli(kernel, "--data", str(path), "--quiet", "--out", "r.csv")
    assert_clean_error(code, out, err, "--data", out_dir)
    assert said in err


def test_too_few_rows_for_k_and_a_file_too_big_for_memory(cli, tmp_path, monkeypatch):
    np.save(tmp_path / "few.npy", np.random.default_rng(0).normal(size=(12, 3)))
    code, out, err = cli("distance", "--data", str(tmp_path / "few.npy"), "--queries", "5", "--quiet")
    assert_clean_error(code, out, err, "--k")
    assert "few has 12 rows, 5 of them queries" in err
    from dimcurse import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": 1000)
    code, out, err = cli("distance", "--data", str(tmp_path / "few.npy"), "--queries", "5", "--k", "3", "--quiet")
    assert_clean_error(code, out, err, "--data")
    assert "needs about" in err


def test_the_api_takes_the_cli_names_and_forms():
    result = dimcurse.distance(dims=10, points="1e3", queries=20, seeds=3, id_points=0, dist="uniform,gaussian")
    assert sorted(result.rows.seed.unique()) == [0, 1, 2] and set(result.rows.dim) == {10}
    assert set(result.summary.dist) == {"uniform", "gaussian"} and "relative_contrast_mean" in result.summary
    same = dimcurse.distance(
        dims=(10,), n_points=1000, n_queries=20, seeds="0..2", id_points=0, dists=["uniform", "gaussian"]
    )
    pd.testing.assert_frame_equal(
        result.rows.drop(columns=["elapsed_s"], errors="ignore"), same.rows.drop(columns=["elapsed_s"], errors="ignore")
    )
    for bad, option in [
        (dict(pionts=3), "did you mean points?"),
        (dict(points="abc"), "--points"),
        (dict(points=[1, 2]), "--points"),
        (dict(metric="cos"), "did you mean cosine?"),
        (dict(seeds=True), "--seeds"),
    ]:
        with pytest.raises(DimcurseError, match=option.replace("?", r"\?")):
            dimcurse.distance(**bad)
    assert "points (or n_points) = 10000" in dimcurse.distance.__doc__
    from dimcurse.api import make_config
    from dimcurse.configs import DistanceConfig

    assert make_config("distance", dict(points="1e3", dist="gaussian", seeds=2)) == DistanceConfig(
        n_points=1000, dists=("gaussian",), seeds=(0, 1)
    )


def test_the_api_takes_arrays_tensors_frames_and_pairs(tmp_path):
    import torch

    x = _manifold(n=700)
    a = dimcurse.distance(x, points=500, queries=40, id_points=300, seeds=1)
    b = dimcurse.distance(torch.from_numpy(x), points=500, queries=40, id_points=300, seeds=1)
    c = dimcurse.distance(pd.DataFrame(x), points=500, queries=40, id_points=300, seeds=1)
    for other in (b, c):
        np.testing.assert_array_equal(a.rows.twonn_id.to_numpy(), other.rows.twonn_id.to_numpy())
    rng = np.random.default_rng(0)
    xr = rng.uniform(-1, 1, (900, 3))
    pair = dimcurse.approx((xr, xr[:, 0] * xr[:, 1]), widths="4,8,16", lm_iters=20, seeds=2)
    assert pair.analysis is not None and (pair.rows.dim == 3).all()
    pair.to(str(tmp_path / "p.parquet"))
    assert (tmp_path / "p.parquet").exists() and (tmp_path / "p.parquet.provenance.json").exists()


def test_sweep_files_take_the_cli_names(tmp_path):
    from dimcurse.sweep import load_sweep

    sweep = tmp_path / "s.toml"
    sweep.write_text(
        textwrap.dedent("""
        [[experiment]]
        name = "cli-names"
        kernel = "distance"
        [experiment.fixed]
        points = 500
        queries = 20
        dist = "gaussian"
        [experiment.grid]
        dims = [2, 5]
    """)
    )
    points = load_sweep(sweep)
    assert points[0].config.n_points == 500 and points[0].config.dists == ("gaussian",)
    sweep.write_text(sweep.read_text().replace("points = 500", "pionts = 500"))
    with pytest.raises(DimcurseError, match=r"unknown key 'pionts' \(did you mean points\?\)"):
        load_sweep(sweep)


def test_register_target_and_dataset_reach_the_api():
    import torch

    dimcurse.register_target(
        "test-ridge", lambda x: torch.sin(x[:, 0] + x[:, 1]), formula="sin(x1 + x2)", theory=(1.0, "a smooth ridge")
    )
    result = dimcurse.approx(
        target="test-ridge", dims=4, widths="4,8,16", lm_iters=20, seeds=2, samples=600, test_samples=600
    )
    assert set(result.analysis.theory_source) == {"a smooth ridge"} and (result.rows.rel_rmse < 1).all()
    rng = np.random.default_rng(0)
    dimcurse.register_dataset("test-blobs", lambda: (rng.normal(size=(500, 5)), np.arange(500) % 3))
    rows = dimcurse.overparam(data="test-blobs", train_samples=200, test_samples=100, widths="10,50", seeds=1).rows
    assert set(rows.data) == {"test-blobs"}
    with pytest.raises(DimcurseError, match="built-in target"):
        dimcurse.register_target("barron", lambda x: x[:, 0])
    with pytest.raises(DimcurseError, match="one value per row"):
        dimcurse.register_target("test-bad", lambda x: x)
        dimcurse.approx(target="test-bad", dims=2, widths="4,8,16", lm_iters=2, seeds=1)


PLUGIN = """
import torch
import dimcurse


def targets():
    dimcurse.register_target("plug-sum", lambda x: x.sum(1), formula="sum_i x_i", source="a test plugin")


def broken():
    raise RuntimeError("this plugin is broken on purpose")
"""


@pytest.mark.slow
def test_an_entry_point_plugin_reaches_the_cli_and_a_broken_one_is_skipped(tmp_path):
    site = tmp_path / "site"
    info = site / "plug_pkg-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "plug_pkg.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plug-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dimcurse.targets]\nsum = plug_pkg:targets\nbad = plug_pkg:broken\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    listed = subprocess.run(
        [sys.executable, "-m", "dimcurse", "approx", "--list-targets"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0 and "plug-sum" in listed.stdout
    assert listed.stderr.strip().startswith("warning: plugin 'bad'") and len(listed.stderr.strip().splitlines()) == 1
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "dimcurse",
            "approx",
            "--target",
            "plug-sum",
            "--dims",
            "2",
            "--widths",
            "2,4,8",
            "--lm-iters",
            "5",
            "--seeds",
            "1",
            "--samples",
            "300",
            "--test-samples",
            "300",
            "--quiet",
            "--out",
            "-",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 0 and ",plug-sum," not in ran.stdout.splitlines()[0] and "plug-sum" in ran.stdout


def _docs_blocks(language):
    text = (Path(__file__).parents[1] / "docs" / "python.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.mark.slow
def test_the_plugin_in_docs_python_md_installs_as_printed_and_is_listed(tmp_path):
    """The entry-point group is a public name: the docs' snippet, installed, reaches --list-targets."""
    import tomllib

    (module,) = [b for b in _docs_blocks("python") if b.startswith("# my_package/dimcurse_plugin.py")]
    (table,) = [tomllib.loads(b) for b in _docs_blocks("toml") if "entry-points" in b]
    site = tmp_path / "site"
    (site / "my_package").mkdir(parents=True)
    (site / "my_package" / "__init__.py").write_text("")
    (site / "my_package" / "dimcurse_plugin.py").write_text(module)
    info = site / "my_package-0.1.dist-info"  # what pip writes for the package, by hand: no build, no network
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-package\nVersion: 0.1\n")
    lines = [
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
        for group, points in table["project"]["entry-points"].items()
    ]
    (info / "entry_points.txt").write_text("".join(lines))
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    listed = subprocess.run(
        [sys.executable, "-m", "dimcurse", "approx", "--list-targets"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0 and "cubic-sum" in listed.stdout and not listed.stderr.strip(), listed.stderr
    # the group's name between the move and its fix still loads, with one note
    (info / "entry_points.txt").write_text(
        "[dimcurse.experiments.approx.targets]\nmine = my_package.dimcurse_plugin:register\n"
    )
    listed = subprocess.run(
        [sys.executable, "-m", "dimcurse", "approx", "--list-targets"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0 and "cubic-sum" in listed.stdout
    assert listed.stderr.startswith("note: plugin 'mine'") and "'dimcurse.targets'" in listed.stderr


def test_duplicates_are_counted_dropped_and_leave_the_estimates_finite(cli, tmp_path):
    """Issue 17: exact copies (of a point, or of a query) made TwoNN's log 0 and the contrast's Dmin 0."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4))
    np.save(tmp_path / "dup.npy", np.concatenate([x, x[:150]]))
    code, out, err = cli(
        "distance",
        "--data",
        str(tmp_path / "dup.npy"),
        "--points",
        "510",
        "--queries",
        "40",
        "--id-points",
        "300",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        "-",
        "--format",
        "csv",
    )
    rows = pd.read_csv(__import__("io").StringIO(out))
    data = rows[rows.dist == "dup"]
    assert code == 0 and (data.duplicates > 50).all() and (rows[rows.dist != "dup"].duplicates == 0).all()
    assert (data.n_points == 510 - data.duplicates).all()
    for column in ("relative_contrast", "twonn_id", "mle_id", "nn_dist"):
        assert np.isfinite(data[column]).all() and (data.nn_dist > 0).all(), column
    from dimcurse.experiments.distance.sets import distinct_rows

    points = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [4.0, 5.0]])
    assert distinct_rows(points, np.array([[4.0, 5.0]])).tolist() == [True, True, False, False]
