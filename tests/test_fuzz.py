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

A second property (at the end) drives the kernels with valid but extreme values and asks
for finite tables or clean refusals, and no Python warning from any module.

``DIMCURSE_FUZZ_EXAMPLES`` sets the examples per command (default 25; docs/reliability.md
used 300), ``DIMCURSE_FUZZ_REPORT=FILE`` writes the outcome counts as JSON. Examples are
derandomised: the same command line generates the same inputs.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dimcurse.cli import main

EXAMPLES = int(os.environ.get("DIMCURSE_FUZZ_EXAMPLES", "25"))
TIME_LIMIT = 15  # seconds per run
# The tour runs minutes of real work whenever its arguments are valid: a third of the examples,
# each stopped after 4 s (its refusals come in well under a second).
TOUR_LIMIT, TOUR_SHARE = 4, 3
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

# --------------------------------------------------------------------------- value pools

BAD_NUMBER = ["", " ", "abc", "1.5", "nan", "NaN", "inf", "-inf", "1e3", "0x10", "2**8", "--1", "１"]
COUNT = ["0", "-1", "-7", "99999999999999999999", "1" + "0" * 40] + BAD_NUMBER
FLOAT = ["0", "-1", "nan", "inf", "-inf", "1e308", "1e400", "-0", "1e-320", "abc", "", "0.5,0.5", "1,2"]
LIST = [
    ",",
    ",,",
    "1,,2",
    "[1, 2]",
    "1;2",
    "1 2",
    "2,2",
    "a,b",
    "1,-1",
    "nan,2",
    "0",
    "-3",
    "",
    " , ",
    "1e30",
    "99999999999999999999",
    "3," * 3,
]
NAME = ["nosuch", "", " ", "UNKNOWN-THING", "l2,", ",", "a,a", "x" * 300, "../etc", "é"]
OUT = [
    "rows.csv",
    "rows.json",
    "rows.jsonl",
    "rows.md",
    "rows.parquet",
    "rows.xyz",
    "rows",
    "-",
    "",
    "missing/rows.csv",
    "rows.csv/",
    ".",
    "ro/rows.csv",
    "/proc/rows.csv",
    "sweep.toml",
]
FIGURE = ["fig.png", "fig.svg", "fig.pdf", "fig.txt", "", "missing/fig.png", "fig", "/proc/fig.png"]
FORMAT = ["json", "jsonl", "csv", "markdown", "table", "xml", "", "CSV"]
DEVICE = ["cpu", "auto", "cuda", "cuda:7", "gpu", "", "mps", "cpu:0"]
DTYPE = ["float32", "float64", "float16", "int8", "", "double"]
SEEDS = ["1", "2", "0,1", "0,0", "-1", "0", "99999999999999999999", "100000000", "4294967296,1", ",", "a"] + BAD_NUMBER
JUNK = ["--nosuch", "-x", "--", "---", "-", "--dims=", "--help-me", "extra-argument", "--seeds=="]
WHERE = ["dim=10", "dim>", "nosuch=1", "=", "dim=abc", "dim==", "", "dim=1,dim=2", "seed<0", "dim!=nan"]
INPUTS = [
    "rows.csv",
    "rows.json",
    "store",
    "missing.csv",
    "empty.csv",
    "garbage.csv",
    "nan.csv",
    "notastore",
    "sweep.toml",
    "",
    ".",
    "rows.parquet",
    "/proc/self/mem",
]
# The user's data files the inputs fixture writes: good ones and each kind of bad one.
DATA_FILES = [
    "data-good.npy",
    "data-good.csv",
    "data-labels.npz",
    "data-nan.npy",
    "data-ragged.csv",
    "data-empty.csv",
    "data-text.csv",
    "data-flat.npy",
    "data-nox.npz",
    "data-obj.npy",
    "data-strlabels.csv",
    "data-missing.npy",
    "notastore",
    "data-odd.xlsx",
]
SWEEPS = [
    "sweep.toml",
    "bad.toml",
    "badkey.toml",
    "empty.toml",
    "garbage.toml",
    "missing.toml",
    "notastore",
    "rows.csv",
    "",
]

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


# --------------------------------------------------------------------------- the work folder


@pytest.fixture(scope="module")
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
    _quiet(main, ["batch", str(folder / "sweep.toml"), "--store", str(folder / "store")])
    _quiet(
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
    _quiet(
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
        _quiet(main, warm)
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


def _quiet(fn, args):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            fn(args)
        except SystemExit as exc:
            assert not exc.code, args


class _TimeLimit(BaseException):
    """Raised by the alarm: not an Exception, so no handler in dimcurse can swallow it."""


def _run(args: list[str], limit: int) -> tuple[int | None, str, str]:
    """Run in-process like a user; exit code None if stopped at TIME_LIMIT. Exceptions escaping main propagate."""
    out, err = io.StringIO(), io.StringIO()

    def stop(signum, frame):
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, stop)
    # The alarm can land anywhere, even inside torch.no_grad().__enter__, whose __exit__ then never
    # runs: a real interrupted process ends, but this one goes on to the next example, so torch's
    # process-wide state is put back after every run.
    state = torch.is_grad_enabled(), torch.get_num_threads(), torch.get_default_dtype()
    streams = sys.stdout, sys.stderr
    signal.alarm(limit)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _TimeLimit:
        code = None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        torch.set_grad_enabled(state[0])
        torch.set_num_threads(state[1])
        torch.set_default_dtype(state[2])
        sys.stdout, sys.stderr = streams
    return code, out.getvalue(), err.getvalue()


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _last(args: list[str], *names: str) -> str | None:
    """The value the CLI uses for an option: the last occurrence, in either spelling."""
    value = None
    for i, token in enumerate(args):
        for name in names:
            if token == name and i + 1 < len(args):
                value = args[i + 1]
            elif token.startswith(name + "="):
                value = token[len(name) + 1 :]
    return value


def _check_table_file(path: Path) -> None:
    """A written result: a readable file with at least one row."""
    assert path.is_file(), path
    suffix = path.suffix
    if suffix == ".csv":
        assert len(pd.read_csv(path)) > 0
    elif suffix == ".json":
        assert json.loads(path.read_text())
    elif suffix == ".jsonl":
        assert [json.loads(line) for line in path.read_text().splitlines() if line]
    elif suffix == ".parquet":
        assert len(pd.read_parquet(path)) > 0
    else:
        assert path.read_text().strip()


def check(command: str, args: list[str], inputs: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    shutil.copytree(inputs, work, dirs_exist_ok=True)
    (work / "ro").chmod(0o555)
    cwd = os.getcwd()
    try:
        before = _files(work)
        os.chdir(work)
        try:
            code, out, err = _run(args, TOUR_LIMIT if command == "tour" else TIME_LIMIT)
        finally:
            os.chdir(cwd)
        after = _files(work)
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
    target = _last(args, "--out", "-o") or "-"
    if target == "-":
        assert out.strip(), context  # the table
        return
    path = Path(target) if Path(target).is_absolute() else work / target
    fmt = _last(args, "--format")
    if fmt in (None, "") and path.suffix in (".csv", ".json", ".jsonl", ".parquet"):
        _check_table_file(path)
    else:
        assert path.is_file() and path.stat().st_size > 0, context


@pytest.mark.parametrize("command", list(SPECS))
def test_generated_arguments_succeed_or_are_refused_cleanly(command, inputs):
    examples = max(5, EXAMPLES // TOUR_SHARE) if command == "tour" else EXAMPLES

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(arguments(command))
    def prop(args):
        check(command, args, inputs)

    prop()
    assert torch.is_grad_enabled()  # later tests train networks in this process


# --------------------------------------------------------------------------- sweep files

import dataclasses  # noqa: E402
import math  # noqa: E402

from dimcurse.errors import DimcurseError  # noqa: E402
from dimcurse.experiments import REGISTRY  # noqa: E402
from dimcurse.sweep import load_sweep  # noqa: E402

pytestmark = pytest.mark.slow  # end-to-end: the inner loop (-m "not slow") leaves it out

SWEEP_VALUES = [
    0,
    -1,
    1,
    2,
    3,
    10**30,
    1.5,
    math.nan,
    math.inf,
    "abc",
    "",
    True,
    [],
    [1, 2],
    [1, 1],
    [3],
    ["a"],
    {"a": 1},
    "l2",
    "uniform",
    "digits",
    "mlp",
    "linear",
    "barron",
    [0.0, 0.1],
    [[1]],
]


def _toml(value) -> str:
    """A TOML literal for the generated values (tomllib only reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


@st.composite
def sweep_text(draw) -> str:
    blocks = []
    for _ in range(draw(st.integers(0, 3))):
        kernel = draw(st.sampled_from(list(REGISTRY) + ["nosuch", 3, None]))
        fields = [f.name for f in dataclasses.fields(REGISTRY[kernel].Config)] if kernel in REGISTRY else ["dims"]
        keys = st.sampled_from(fields + ["nosuch_key"])
        lines = ["[[experiment]]"]
        name = draw(st.sampled_from(["a", "b", "", 7, None]))
        if name is not None:
            lines.append(f"name = {_toml(name)}")
        if kernel is not None:
            lines.append(f"kernel = {_toml(kernel)}")
        for part in ("fixed", "grid"):
            entries = draw(st.dictionaries(keys, st.sampled_from(SWEEP_VALUES), max_size=3))
            if entries or draw(st.booleans()):
                lines.append(f"[experiment.{part}]")
                lines += [f"{key} = {_toml(value)}" for key, value in entries.items()]
        blocks.append("\n".join(lines))
    junk = draw(st.sampled_from(["", "", "title = 1", "[[experiment]", "experiment = 3"]))
    return "\n\n".join(blocks + [junk]) + "\n"


@settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sweep_text())
def test_generated_sweep_files_load_or_name_file_experiment_and_key(tmp_path, text):
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    try:
        points = load_sweep(path)
    except DimcurseError as exc:
        message = str(exc)
        OUTCOMES["sweep files"]["refused (one line naming the file)"] += 1
        assert "\n" not in message and message.startswith(str(path)), message
        # Past the file-level checks every message names the experiment (by name or position).
        assert "experiment" in message or "TOML" in message or "top-level" in message, message
        return
    OUTCOMES["sweep files"]["loaded (every point validated)"] += 1
    assert points and all(p.kernel in REGISTRY for p in points)


# --------------------------------------------------------------------------- valid but extreme values
#
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
REFUSALS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)  # by option
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
            code, out, err = _run(args, TIME_LIMIT)
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
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(extreme_arguments(command))
    def prop(args):
        check_extreme(command, args, inputs)

    prop()
