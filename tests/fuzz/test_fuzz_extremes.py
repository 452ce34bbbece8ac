"""Property-based valid but extreme values: each kernel driven at the edges validation accepts gives a table
whose non-nullable values are finite, or a clean refusal; no Python warning from any module."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.support import EXAMPLES, FUZZ, OUTCOMES, REFUSALS, TIME_LIMIT, run

# end-to-end: the inner loop (-m "not slow") leaves it out; one worker runs the fuzz suites (one work folder)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]

# The second property: values validation accepts, at the edges (tiny and huge Lp exponents, counts,
# dimensions and scales; degenerate sets; constant, near-constant and all-noise targets; one class;
# labels all noise). Each run must refuse cleanly (exit 2, one line) or succeed with every column its
# kernel does not declare NULLABLE finite in the rows it wrote, and nothing on stderr but dimcurse's
# own lines: no Python warning of any module.

X_FILES = ["x-dups.npy", "x-lattice.npy", "x-const.npy", "x-huge.npy", "x-tiny.npy", "digits"]
Y_FILES = ["y-const.csv", "y-nearconst.csv", "y-huge.csv", "y-tiny.csv", "y-noise.csv", "data-good.csv"]
C_FILES = ["c-one.npz", "c-noise.npz", "c-rare.npz", "data-labels.npz"]
EXTREME = {
    "distance": {
        "base": [
            "--dims",
            "3",
            "--points",
            "200",
            "--queries",
            "5",
            "--seeds",
            "1",
            "--id-points",
            "50",
            "--k",
            "3",
            "--mle-k",
            "3",
        ],
        "options": {
            "--metric": [
                "lp:0.001",
                "lp:0.01",
                "lp:0.05",
                "lp:0.3",
                "lp:16",
                "lp:17",
                "lp:1000",
                "lp:1e9",
                "lp:1e300",
                "linf",
                "cosine",
                "l1",
                "lp:0.001,lp:1000",
            ],
            "--dims": ["1", "2", "1,2", "2000", "1,5000"],
            "--points": ["2", "3", "4", "5000"],
            "--queries": ["1", "199"],
            "--k": ["1", "2", "49"],
            "--mle-k": ["2", "49"],
            "--id-points": ["0", "4", "5000"],
            "--dist": ["sphere", "torus:1", "subspace:1", "gaussian", "uniform", "sphere,torus:1"],
            "--dtype": ["float64", "float32"],
            "--chunk": ["1", "7"],
            "--data": X_FILES,
        },
    },
    "approx": {
        "base": ["--dims", "2", "--widths", "4,8,16", "--seeds", "2", "--samples", "200", "--test-samples", "100"],
        "options": {
            "--target": ["q-power", "teacher", "barron", "kan-xy", "sin-prod"],
            "--q-power-k": ["1", "10"],
            "--teacher-k": ["1", "2"],
            "--dims": ["1", "50", "1,2"],
            "--widths": ["1", "1,2,3", "4,8,16"],
            "--samples": ["2", "3", "20"],
            "--test-samples": ["1", "2"],
            "--lm-iters": ["1", "30"],
            "--data": Y_FILES,
            "--test-fraction": ["0.01", "0.99"],
            "--dtype": ["float64"],
            "--activation": ["tanh", "relu"],
            "--seeds": ["1", "3"],
        },
        "pairs": [
            ["--optimizer", "adam", "--steps", "1"],
            ["--optimizer", "adam", "--steps", "30", "--lr", "1e6"],
            ["--optimizer", "adam", "--steps", "20", "--lr", "1e-12"],
            ["--optimizer", "lbfgs", "--steps", "3"],
            ["--arch", "deep", "--optimizer", "adam", "--steps", "5"],
            ["--arch", "tree", "--optimizer", "adam", "--steps", "5"],
        ],
    },
    "overparam": {
        "base": [
            "--model",
            "linear",
            "--train-samples",
            "30",
            "--test-samples",
            "30",
            "--widths",
            "5,30,60",
            "--seeds",
            "2",
        ],
        "options": {
            "--label-noise": ["0", "1", "0.999"],
            "--ridge": ["1e-300", "1e-12", "1e300", "0"],
            "--train-samples": ["1", "2", "3"],
            "--test-samples": ["1"],
            "--widths": ["1", "1,2", "29,30,31"],
            "--noise-var": ["0", "1e-300", "1e300"],
            "--signal-var": ["0", "1e-300", "1e300"],
            "--teacher-dim": ["1"],
            "--dtype": ["float64"],
        },
        "pairs": [
            ["--model", "random-features"],
            ["--model", "random-features", "--data", "digits"],
            ["--model", "mlp", "--data", "teacher", "--epochs", "3"],
            ["--model", "mlp", "--data", "teacher", "--epochs", "3", "--lr", "1e9"],
            ["--model", "mlp", "--data", "teacher", "--epochs", "2", "--lr", "1e-30"],
            ["--model", "mlp", "--data", "teacher", "--epochs", "2", "--batch-size", "1"],
            ["--model", "random-features", "--data", "c-one.npz"],
            ["--model", "random-features", "--data", "c-noise.npz", "--test-samples", "20"],
            ["--model", "mlp", "--data", "c-rare.npz", "--epochs", "2", "--test-samples", "20"],
            ["--model", "mlp", "--data", "c-noise.npz", "--epochs", "2", "--label-noise", "1", "--test-samples", "20"],
        ],
    },
}
OWN_STDERR = ("wrote ", "note:", "warning:", "error:")  # dimcurse's lines; anything else came from elsewhere


@st.composite
def extreme_arguments(draw, command: str) -> list[str]:
    spec = EXTREME[command]
    args = [command, *spec["base"]]
    if spec.get("pairs") and draw(st.booleans()):
        args += draw(st.sampled_from(spec["pairs"]))
    for name in draw(st.lists(st.sampled_from(sorted(spec["options"])), max_size=3, unique=True)):
        args += [name, draw(st.sampled_from(spec["options"][name]))]
    if "--data" in args and command != "overparam":  # a file fixes the dimension (and approx's target)
        args = _without(args, "--dims", "--dist", "--target", "--q-power-k", "--teacher-k")
    return args + ["--quiet", "--out", "rows.csv"]


def _without(args: list[str], *names: str) -> list[str]:
    out, skip = [], False
    for token in args:
        if skip:
            skip = False
        elif token in names:
            skip = True
        else:
            out.append(token)
    return out


def check_extreme(command: str, args: list[str], inputs: Path) -> None:
    import warnings

    from dimcurse.experiments import REGISTRY

    work = Path(tempfile.mkdtemp(prefix="extreme-"))
    shutil.copytree(inputs, work, dirs_exist_ok=True)
    cwd = os.getcwd()
    try:
        os.chdir(work)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # every Python warning, from any module, is recorded
            code, out, err = run(args, TIME_LIMIT)
        context = f"args={args!r}\ncode={code}\nstdout={out[-1500:]!r}\nstderr={err[-1500:]!r}"
        assert "Traceback" not in err + out, context
        assert not caught, f"{context}\nwarnings={[str(w.message) for w in caught]}"
        foreign = [line for line in err.splitlines() if line.strip() and not line.startswith(OWN_STDERR)]
        assert not foreign, context
        if code == 2:
            OUTCOMES[f"{command} (extreme)"]["refused (exit 2, one line)"] += 1
            REFUSALS[command][err.split(":")[1].strip() if err.count(":") > 1 else err.strip()] += 1
            assert len(err.strip().splitlines()) == 1 and err.startswith("error:"), context
            return
        if code is None:
            OUTCOMES[f"{command} (extreme)"]["valid, stopped at the time limit"] += 1
            return
        assert code == 0, context
        OUTCOMES[f"{command} (extreme)"]["succeeded, every non-nullable value finite"] += 1
        rows = pd.read_csv(work / "rows.csv")
        assert len(rows) and "undefined" not in rows, context
        kernel = REGISTRY[command]
        defined = [c for c in rows.select_dtypes("number").columns if c not in kernel.NULLABLE]
        assert np.isfinite(rows[defined].to_numpy(dtype=float)).all(), context
        numeric = rows.select_dtypes("number").to_numpy(dtype=float)
        assert not np.isinf(numeric).any(), context  # nullable means undefined (blank), never inf
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("command", list(EXTREME))
def test_valid_extreme_values_give_finite_tables_or_clean_refusals(command, inputs):
    @settings(FUZZ, max_examples=EXAMPLES)
    @given(extreme_arguments(command))
    def prop(args):
        check_extreme(command, args, inputs)

    prop()
