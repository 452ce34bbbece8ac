"""The CLI answers at once and speaks its users' language: lazy imports, -h, defaults, examples, hints."""

import json
import subprocess
import sys

import pytest

from tests.helpers import assert_clean_error

COMMANDS = ("distance", "approx", "overparam", "batch", "report", "compare", "plot", "tour", "info")
PROBE = """
import json, sys
from dimcurse.cli import main
try:
    main({args!r})
except SystemExit:
    pass
loaded = sorted(m for m in ("torch", "pandas", "numpy", "dimcurse.experiments") if m in sys.modules)
print(json.dumps(loaded), file=sys.stderr)
"""


def _loaded(args):
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True)
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]] + [[c, "--help"] for c in COMMANDS])
def test_help_and_version_import_neither_torch_nor_pandas(args):
    out, loaded = _loaded(args)
    assert out.strip() and loaded == [], f"{args} loaded {loaded}"


def test_top_level_help_welcomes_and_shows_whole_descriptions(cli):
    code, out, _ = cli("--help")
    text = " ".join(out.split())
    assert code == 0 and "New here? Run: dimcurse tour --quick" in text
    assert "real data of low intrinsic dimension concentrates less." in text  # not cut to "..."
    assert "..." not in out.split("Commands:")[1]


@pytest.mark.parametrize("command", ["distance", "approx", "overparam", "batch", "report", "compare", "plot", "tour"])
def test_every_command_help_has_examples_defaults_and_list_metavars(cli, command):
    code, out, _ = cli(command, "-h")
    assert code == 0 and "Examples:" in out and out.count(f"dimcurse {command}") >= 2
    if command == "distance":
        assert "--dims A,B,..." in out and "[default: (2,10,100,1000)]" in " ".join(out.split())
        assert "[default: (uniform)]" in " ".join(out.split())


def test_numbers_and_seed_ranges_as_users_write_them(cli):
    code, out, err = cli(
        "distance",
        "--dims",
        "5",
        "--points",
        "1e3",
        "--queries",
        "2e1",
        "--seeds",
        "0..1",
        "--id-points",
        "0",
        "--out",
        "-",
        "--format",
        "csv",
    )
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3 and ",1000,20," in lines[1]  # n_points, n_queries


@pytest.mark.parametrize(
    "args, option, hint",
    [
        (["distance", "--dims", "10", "100"], "--dims", "lists take commas, not spaces: --dims 10,100"),
        (["distance", "--metric", "cos"], "--metric", "did you mean cosine?"),
        (["distance", "--dist", "normal"], "--dist", "did you mean gaussian?"),
        (["distance", "--out", "d.png"], "--out", "for a figure use --plot d.png"),
        (["distance", "--points", "1e4x"], "--points", "'1e4x' is not an integer"),
        (["distance", "--dimz", "3"], "--dimz", "did you mean --dims"),
        (["approx", "--target", "baron"], "--target", "did you mean barron?"),
        (["plot", "x.csv", "--out", "x.jpg"], "--out", "image format"),
        (["report", "nowhere"], "STORE", "no such store"),
        (["plot", "nowhere.csv"], "--out", "missing"),
    ],
)
def test_parser_errors_name_the_option_and_hint_the_fix(cli, args, option, hint):
    code, out, err = cli(*args)
    assert_clean_error(code, out, err, option)
    assert hint in err


def test_startup_is_cheap_next_to_import_torch():
    """Not a timing test: the benchmark (benchmarks/bench_startup.py) measures the ratio; here, that
    --help loads no module that takes long to import, checked through -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dimcurse", "--help"], capture_output=True, text=True
    )
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert done.returncode == 0 and not {"torch", "pandas", "matplotlib", "numpy"} & modules
