"""Every command the README shows runs as shown, and every CLI command is documented."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from dimcurse.cli import app

pytestmark = pytest.mark.slow  # end-to-end: the inner loop (-m "not slow") leaves it out

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text()


def _examples():
    """(command, first line of its shown output) for every ``$ dimcurse ...`` line."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", TEXT, re.S):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("$ dimcurse"):
                shown = lines[i + 1] if i + 1 < len(lines) else ""
                found.append((line[2:], shown))
    return found


EXAMPLES = _examples()


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", TEXT, re.S).group(1).strip().splitlines()
    assert first_block == ['pip install -e ".[test]" && dimcurse distance --dims 2,10,100,1000', "python -m pytest -q"]
    ci = (README.parent / ".ci" / "run").read_text()
    for command in first_block:
        assert command in ci


def test_there_are_examples_of_every_command():
    commands = {cmd.name or cmd.callback.__name__ for cmd in app.registered_commands}
    shown = {shlex.split(example)[1] for example, _ in EXAMPLES}
    assert commands <= shown | {"--version"}, commands - shown


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all examples, in README order (a store made by one example is read by the next),
    holding a copy of benchmarks/sweeps so the examples' paths work as they do from the repository root."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(README.parent / "benchmarks" / "sweeps", folder / "benchmarks" / "sweeps")
    shutil.copytree(README.parent / "examples", folder / "examples")  # the "Your own data" files
    return folder


@pytest.mark.parametrize("example, shown", EXAMPLES, ids=[e for e, _ in EXAMPLES])
def test_readme_example_runs(cli, workdir, monkeypatch, example, shown):
    monkeypatch.chdir(workdir)
    args = shlex.split(example)[1:]
    code, out, err = cli(*args)
    expect_error = shown.startswith("error:")
    assert code == (2 if expect_error else 0), err
    produced = (out + err).splitlines()
    assert produced and produced[0].rstrip() == shown.rstrip()
