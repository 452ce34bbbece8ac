"""What the three fuzz suites share: the generated value pools, the example budget, the outcome counts, one
hypothesis settings object, and running one command line in-process under a time limit.

``DIMCURSE_FUZZ_EXAMPLES`` sets the examples per command (default 25; docs/reliability.md used 300),
``DIMCURSE_FUZZ_REPORT=FILE`` writes the outcome counts as JSON (run with ``-n 0``: one process counts
them all). Examples are derandomised: the same command line generates the same inputs.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import signal
import sys
from pathlib import Path

import pandas as pd
import torch
from hypothesis import HealthCheck, settings

from dimcurse.cli import main

EXAMPLES = int(os.environ.get("DIMCURSE_FUZZ_EXAMPLES", "25"))
TIME_LIMIT = 15  # seconds per run
# The tour runs minutes of real work whenever its arguments are valid: a third of the examples,
# each stopped after 4 s (its refusals come in well under a second).
TOUR_LIMIT, TOUR_SHARE = 4, 3
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
REFUSALS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)  # extreme values, by option
# Every suite's examples: derandomised, no deadline (a run may take seconds), no example database on disk.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

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


# --------------------------------------------------------------------------- running one command line


def quiet(fn, args):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            fn(args)
        except SystemExit as exc:
            assert not exc.code, args


class TimeLimit(BaseException):
    """Raised by the alarm: not an Exception, so no handler in dimcurse can swallow it."""


def run(args: list[str], limit: int) -> tuple[int | None, str, str]:
    """Run in-process like a user; exit code None if stopped at TIME_LIMIT. Exceptions escaping main propagate."""
    out, err = io.StringIO(), io.StringIO()

    def stop(signum, frame):
        raise TimeLimit

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
    except TimeLimit:
        code = None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        torch.set_grad_enabled(state[0])
        torch.set_num_threads(state[1])
        torch.set_default_dtype(state[2])
        sys.stdout, sys.stderr = streams
    return code, out.getvalue(), err.getvalue()


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def last(args: list[str], *names: str) -> str | None:
    """The value the CLI uses for an option: the last occurrence, in either spelling."""
    value = None
    for i, token in enumerate(args):
        for name in names:
            if token == name and i + 1 < len(args):
                value = args[i + 1]
            elif token.startswith(name + "="):
                value = token[len(name) + 1 :]
    return value


def check_table_file(path: Path) -> None:
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
