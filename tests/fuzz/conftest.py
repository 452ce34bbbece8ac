"""The fuzz suites' work folder: valid and broken sweeps, stores, result and data files every example starts from."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dimcurse.cli import main
from tests.fuzz.support import OUTCOMES, REFUSALS, quiet


@pytest.fixture(scope="session")
def inputs(tmp_path_factory):
    """Input files every example starts from: a valid sweep, store and result files, and broken ones."""
    folder = tmp_path_factory.mktemp("fuzz-inputs")
    sweep = (
        '[[experiment]]\nname = "tiny"\nkernel = "distance"\n[experiment.fixed]\nn_points = 60\nn_queries = 5\n'
        "id_points = 0\n[experiment.grid]\ndims = [2, 5]\nseeds = [0]\n"
    )
    (folder / "sweep.toml").write_text(sweep)
    (folder / "bad.toml").write_text("[[experiment]\nname = ")
    (folder / "badkey.toml").write_text(sweep.replace("n_queries", "n_queeries"))
    (folder / "empty.toml").write_text("")
    (folder / "garbage.toml").write_bytes(bytes(range(256)) * 4)
    (folder / "notastore").mkdir()
    (folder / "ro").mkdir()
    quiet(main, ["batch", str(folder / "sweep.toml"), "--store", str(folder / "store")])
    quiet(
        main,
        [
            "distance",
            "--dims",
            "2,5",
            "--points",
            "60",
            "--queries",
            "5",
            "--seeds",
            "2",
            "--id-points",
            "0",
            "--quiet",
            "--out",
            str(folder / "rows.csv"),
        ],
    )
    quiet(
        main,
        [
            "distance",
            "--dims",
            "3",
            "--points",
            "60",
            "--queries",
            "5",
            "--seeds",
            "1",
            "--id-points",
            "0",
            "--quiet",
            "--out",
            str(folder / "rows.json"),
        ],
    )
    # Warm-up: every lazy import the commands make (optimisers, triton, sklearn, mnist1d, matplotlib)
    # happens here, not inside a run the alarm may stop, which would leave a half-imported module.
    for warm in (
        [
            "approx",
            "--dims",
            "2",
            "--widths",
            "4",
            "--steps",
            "2",
            "--samples",
            "20",
            "--test-samples",
            "20",
            "--seeds",
            "1",
            "--quiet",
        ],
        [
            "overparam",
            "--model",
            "mlp",
            "--data",
            "teacher",
            "--widths",
            "4",
            "--train-samples",
            "20",
            "--test-samples",
            "20",
            "--epochs",
            "1",
            "--seeds",
            "1",
            "--quiet",
        ],
        ["overparam", "--widths", "5", "--train-samples", "20", "--test-samples", "20", "--seeds", "1", "--quiet"],
        [
            "overparam",
            "--data",
            "digits",
            "--widths",
            "5",
            "--train-samples",
            "20",
            "--test-samples",
            "20",
            "--seeds",
            "1",
            "--quiet",
        ],
        ["plot", str(folder / "rows.csv"), "--out", str(folder / "warm.png")],
    ):
        quiet(main, warm)
    (folder / "warm.png").unlink()
    shutil.copy(folder / "rows.csv", folder / "rows.parquet")  # a csv under a parquet name
    (folder / "empty.csv").write_text("")
    (folder / "garbage.csv").write_bytes(b'\x00\xff\x10 not,a\ncsv"""\n' * 3)
    frame = pd.read_csv(folder / "rows.csv")
    frame.loc[0, "nn_dist"] = float("nan")
    frame["dim"] = frame["dim"].astype(float)
    frame.loc[1, "dim"] = float("inf")
    frame.to_csv(folder / "nan.csv", index=False)
    assert (folder / "store" / "points.jsonl").exists() and len(frame) == 4
    _data_files(folder)
    yield folder
    if OUTCOMES and os.environ.get("DIMCURSE_FUZZ_REPORT"):
        report = {**OUTCOMES, **({"refused, by option (extreme)": REFUSALS} if REFUSALS else {})}
        Path(os.environ["DIMCURSE_FUZZ_REPORT"]).write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")


def _data_files(folder: Path) -> None:
    """The DATA_FILES: small valid sets (points, regression, labels) and every kind of bad file."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4))
    np.save(folder / "data-good.npy", x)
    pd.DataFrame(x, columns=list("abcd")).assign(y=x[:, 0] - x[:, 1]).to_csv(folder / "data-good.csv", index=False)
    np.savez(folder / "data-labels.npz", x=x, y=(x[:, 0] > 0).astype(int))
    bad = x.copy()
    bad[3, 2] = np.nan
    np.save(folder / "data-nan.npy", bad)
    (folder / "data-ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    (folder / "data-empty.csv").write_text("")
    (folder / "data-text.csv").write_text("a,b\n1,x\n2,y\n")
    np.save(folder / "data-flat.npy", np.arange(5.0))
    np.savez(folder / "data-nox.npz", z=x)
    np.save(folder / "data-obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (folder / "data-strlabels.csv").write_text("a,b,y\n1,2,cat\n3,4,dog\n")
    (folder / "data-odd.xlsx").write_text("no")
    _extreme_files(folder, rng)


def _extreme_files(folder: Path, rng) -> None:
    """EXTREME_FILES: valid files at the edges (duplicates, ties, constant or tiny/huge values, one class)."""
    x = rng.normal(size=(120, 4))
    dups = x.copy()
    dups[60:] = dups[:60]  # every row twice
    np.save(folder / "x-dups.npy", dups)
    np.save(folder / "x-lattice.npy", rng.integers(0, 3, size=(150, 3)).astype(float))  # ties at every k
    np.save(folder / "x-const.npy", np.ones((120, 4)))
    np.save(folder / "x-huge.npy", x * 1e150)
    np.save(folder / "x-tiny.npy", x * 1e-150)
    frame = pd.DataFrame(x, columns=list("abcd"))
    frame.assign(y=3.0).to_csv(folder / "y-const.csv", index=False)
    frame.assign(y=1 + 1e-14 * rng.random(120)).to_csv(folder / "y-nearconst.csv", index=False)
    frame.assign(y=1e200 * x[:, 0]).to_csv(folder / "y-huge.csv", index=False)
    frame.assign(y=1e-200 * x[:, 0]).to_csv(folder / "y-tiny.csv", index=False)
    frame.assign(y=rng.normal(size=120)).to_csv(folder / "y-noise.csv", index=False)
    np.savez(folder / "c-one.npz", x=x, y=np.zeros(120, dtype=int))
    np.savez(folder / "c-noise.npz", x=x, y=rng.integers(0, 10, size=120))  # labels independent of x
    np.savez(folder / "c-rare.npz", x=x, y=(np.arange(120) == 0).astype(int))  # one sample of class 1
