"""Property-based bad input: every command, driven with generated argument lists.

Each generated run must either succeed with a valid table (exit 0, the table on stdout or
a readable file with rows) or exit 2 with one ``error:`` line on stderr and nothing on
stdout — never a traceback, never a partial or stray output file. A run still going after
``TIME_LIMIT`` seconds (a valid request for real work) is stopped and must also have left
no output file behind.

Arguments are a tiny valid budget (so accepted runs are quick) followed by generated
option/value pairs, which override it (the last of a repeated option wins): wrong types,
empty and huge values, negative and zero counts, NaN and inf, unknown names, malformed
lists, unknown options, duplicated options, bad paths and bad input files.

The sweep files (test_fuzz_sweeps.py) and valid but extreme values (test_fuzz_extremes.py) are the other
two suites; tests/fuzz/support.py holds what they share.

``DIMCURSE_FUZZ_EXAMPLES`` sets the examples per command and ``DIMCURSE_FUZZ_REPORT`` the report (support.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.support import (  # the value pools
    COUNT,
    FLOAT,
    LIST,
    NAME,
    OUT,
    FIGURE,
    FORMAT,
    DEVICE,
    DTYPE,
    SEEDS,
    JUNK,
    WHERE,
    INPUTS,
    DATA_FILES,
    SWEEPS,
)
from tests.fuzz.support import (
    EXAMPLES,
    FUZZ,
    OUTCOMES,
    TIME_LIMIT,
    TOUR_LIMIT,
    TOUR_SHARE,
    check_table_file,
    files,
    last,
    run,
)

# end-to-end: the inner loop (-m "not slow") leaves it out; one worker runs the fuzz suites (one work folder)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]

COMMON = {
    "--seeds": SEEDS,
    "--device": DEVICE,
    "--dtype": DTYPE,
    "--format": FORMAT,
    "--out": OUT,
    "-o": OUT,
    "--plot": FIGURE,
}

SPECS = {
    "info": {"base": [], "options": {}, "flags": []},
    "distance": {
        "base": [
            "--dims",
            "3",
            "--points",
            "60",
            "--queries",
            "5",
            "--seeds",
            "1",
            "--id-points",
            "20",
            "--k",
            "3",
            "--mle-k",
            "3",
            "--quiet",
        ],
        "options": {
            **COMMON,
            "--dims": LIST + ["2,10", "1", "5"],
            "--dist": NAME
            + ["gaussian", "subspace:2", "subspace:", "subspace:0", "subspace:x", "mixture:3", "uniform,uniform"],
            "--metric": NAME + ["l1", "cosine", "lp:0.5", "lp:", "lp:-1", "lp:nan", "lp:inf", "linf,l2"],
            "--points": COUNT + ["2", "30"],
            "--queries": COUNT + ["1", "4"],
            "--k": COUNT + ["1", "2"],
            "--mle-k": COUNT + ["2"],
            "--id-points": COUNT + ["10"],
            "--chunk": COUNT + ["1", "3"],
            "--data": NAME
            + ["digits", "mnist:missing", "mnist:", "cifar10:.", "fashion-mnist:ro", "mnist1d"]
            + DATA_FILES,
        },
        "flags": ["--download", "--quiet", "-q"],
    },
    "approx": {
        "base": [
            "--target",
            "barron",
            "--dims",
            "2",
            "--widths",
            "4",
            "--steps",
            "5",
            "--samples",
            "40",
            "--test-samples",
            "40",
            "--seeds",
            "1",
            "--baselines",
            "knn",
            "--quiet",
        ],
        "options": {
            **COMMON,
            "--width": COUNT + ["4"],
            "--widths": LIST + ["2,8"],
            "--target": NAME + ["kan-xy", "teacher"],
            "--dims": LIST + ["2,4"],
            "--arch": NAME + ["deep", "tree", "shallow,deep"],
            "--depth": COUNT + ["2"],
            "--activation": NAME + ["tanh", "relu"],
            "--samples": COUNT + ["20"],
            "--test-samples": COUNT + ["10"],
            "--steps": COUNT + ["3"],
            "--optimizer": NAME + ["lbfgs"],
            "--lr": FLOAT + ["0.01"],
            "--baselines": NAME + ["random-features"],
            "--knn-k": COUNT + ["2"],
            "--teacher-k": COUNT + ["1"],
            "--q-power-k": COUNT + ["2"],
            "--fit-out": OUT,
            "--data": DATA_FILES,
            "--target-column": ["y", "nosuch", ""],
            "--test-fraction": FLOAT + ["0.3"],
        },
        "flags": ["--list-targets", "--quiet"],
    },
    "overparam": {
        "base": [
            "--model",
            "linear",
            "--train-samples",
            "20",
            "--test-samples",
            "20",
            "--widths",
            "5,30",
            "--seeds",
            "1",
            "--quiet",
        ],
        "options": {
            **COMMON,
            "--model": NAME + ["random-features", "mlp", "cnn"],
            "--data": NAME + ["digits", "teacher", "mnist:missing", "cifar10:.", "cifar10:"] + DATA_FILES,
            "--target-column": ["y", "nosuch"],
            "--test-fraction": FLOAT + ["0.5"],
            "--widths": LIST + ["4,8"],
            "--features": LIST + ["10,40"],
            "--depth": COUNT + ["2"],
            "--train-samples": COUNT + ["30"],
            "--test-samples": COUNT + ["30"],
            "--label-noise": FLOAT + ["0.2", "0,0.5", "1.5"],
            "--ridge": FLOAT + ["0.1", "0,0.1"],
            "--weight-decay": FLOAT,
            "--epochs": COUNT + ["2"],
            "--steps": COUNT + ["3"],
            "--optimizer": NAME + ["sgd"],
            "--lr": FLOAT,
            "--batch-size": COUNT + ["8"],
            "--loss": NAME + ["mse", "ce"],
            "--activation": NAME,
            "--record-every": COUNT + ["1"],
            "--signal-var": FLOAT,
            "--noise-var": FLOAT,
            "--teacher-dim": COUNT + ["3"],
            "--summary-out": OUT,
        },
        "flags": ["--download", "--quiet"],
    },
    "batch": {
        "base": ["--store", "runs"],
        "positional": SWEEPS,
        "options": {
            "--store": ["runs", "", "rows.csv", "ro/store", "store", "/proc/store", "missing/deep/store"],
            "--retries": COUNT + ["1"],
            "--executor": NAME + ["serial", "dask", "processes"],
            "--workers": COUNT + ["1"],
            "--scheduler": ["", "nosuch", "tcp://", "inproc://x"],
            "--device": DEVICE,
        },
        "flags": ["--dry-run", "--force"],
    },
    "tour": {
        "base": ["--quick", "--out", "tour"],
        "options": {"--device": DEVICE, "--out": OUT + ["tour"], "-o": OUT},
        "flags": ["--quick"],
    },
    "plot": {
        "base": ["--out", "fig.png"],
        "positional": INPUTS,
        "options": {"--out": FIGURE, "-o": FIGURE, "--kernel": NAME + ["distance", "approx"], "--where": WHERE},
        "flags": [],
    },
    "report": {
        "base": [],
        "positional": INPUTS,
        "options": {
            "--where": WHERE,
            "--group-by": NAME + ["dim", "dim,seed", "dim,dim"],
            "--kernel": NAME + ["distance"],
            "--format": FORMAT,
            "--out": OUT,
            "-o": OUT,
        },
        "flags": [],
    },
    "compare": {
        "base": [],
        "positional": INPUTS,
        "positionals": 2,
        "options": {"--kernel": NAME + ["distance"], "--where": WHERE, "--format": FORMAT, "--out": OUT, "-o": OUT},
        "flags": [],
    },
}


@st.composite
def arguments(draw, command: str) -> list[str]:
    spec = SPECS[command]
    args = [command]
    for _ in range(spec.get("positionals", 1) if "positional" in spec else 0):
        args.append(draw(st.sampled_from(spec["positional"])))
    args += spec["base"]
    choices = [("option", name) for name in spec["options"]] + [("flag", f) for f in spec["flags"]] + [("junk", None)]
    for kind, name in draw(st.lists(st.sampled_from(choices), max_size=4)):
        if kind == "option":
            value = draw(st.sampled_from(spec["options"][name]))
            args += (
                draw(st.sampled_from([[name, value], [f"{name}={value}"]])) if name.startswith("--") else [name, value]
            )
        elif kind == "flag":
            args.append(name)
        else:
            args.append(draw(st.sampled_from(JUNK)))
    return args


def check(command: str, args: list[str], inputs: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    shutil.copytree(inputs, work, dirs_exist_ok=True)
    (work / "ro").chmod(0o555)
    cwd = os.getcwd()
    try:
        before = files(work)
        os.chdir(work)
        try:
            code, out, err = run(args, TOUR_LIMIT if command == "tour" else TIME_LIMIT)
        finally:
            os.chdir(cwd)
        after = files(work)
        new = sorted(set(after) - set(before))
        changed = sorted(k for k in before if k in after and after[k] != before[k])
        context = f"args={args!r}\ncode={code}\nstdout={out[-2000:]!r}\nstderr={err[-2000:]!r}\nnew={new}"
        _check_outcome(command, args, code, out, err=err, work=work, new=new, changed=changed, context=context)
    finally:
        (work / "ro").chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)


STORE_FILES = {"runs/points.jsonl", "runs/.lock", "store/.lock", "store/points.jsonl"}


def _check_outcome(command, args, code, out, *, err, work, new, changed, context) -> None:
    assert "Traceback" not in err and "Traceback" not in out, context
    assert not [name for name in new if name.endswith(".tmp")], context  # no temporary left by a failed write
    if code == 2:
        OUTCOMES[command]["refused (exit 2, one line)"] += 1
        lines = err.strip().splitlines()
        assert out == "" and len(lines) == 1 and lines[0].startswith("error:"), context
        assert set(new) <= {"runs/.lock"} and set(changed) <= {"store/.lock"}, context  # nothing written
    elif code is None:
        OUTCOMES[command]["valid, stopped at the time limit"] += 1
        # Stopped mid-run: no result file; a batch store holds only complete points; a tour keeps the
        # figures of the steps it finished (whole files: no temporary is left, checked above).
        finished = {name for name in new if command == "tour" and name.endswith(".png")}
        assert set(new) - finished <= STORE_FILES and set(changed) <= STORE_FILES, context
    elif code == 0:
        OUTCOMES[command]["succeeded with a valid table"] += 1
        _check_success(command, args, out, work, new, context)
    else:
        # Only a batch whose points failed ends with 1 (it lists them); anything else is a bug.
        assert command == "batch" and code == 1 and "failed" in err, context
        OUTCOMES[command]["batch ran, points failed (exit 1, listed)"] += 1


def _check_success(command, args, out, work, new, context) -> None:
    if command in ("info", "batch", "tour", "plot") or "--list-targets" in args:
        assert out.strip() or new, context
        return
    target = last(args, "--out", "-o") or "-"
    if target == "-":
        assert out.strip(), context  # the table
        return
    path = Path(target) if Path(target).is_absolute() else work / target
    fmt = last(args, "--format")
    if fmt in (None, "") and path.suffix in (".csv", ".json", ".jsonl", ".parquet"):
        check_table_file(path)
    else:
        assert path.is_file() and path.stat().st_size > 0, context


@pytest.mark.parametrize("command", list(SPECS))
def test_generated_arguments_succeed_or_are_refused_cleanly(command, inputs):
    examples = max(5, EXAMPLES // TOUR_SHARE) if command == "tour" else EXAMPLES

    @settings(FUZZ, max_examples=examples)
    @given(arguments(command))
    def prop(args):
        check(command, args, inputs)

    prop()
    assert torch.is_grad_enabled()  # later tests train networks in this process
