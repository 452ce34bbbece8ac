"""Every command the README and the docs pages show runs as shown, and every CLI command is documented."""

import re
import shlex
import sys
from pathlib import Path

import pytest

from dimcurse.cli import app

# end-to-end: the inner loop (-m "not slow") leaves it out; one worker runs them all, in page order (a store one
# page makes, a later page reads, in the module's one folder)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs-examples")]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from readme_examples import PAGES, scratch  # noqa: E402  (tools/ is not a package)

README = ROOT / "README.md"
TEXT = README.read_text()


def _examples():
    """(page, command, first line of its shown output) for every ``$ dimcurse ...`` line of a console
    block, page by page in PAGES order (a store one page makes, a later page reads)."""
    found = []
    for page in PAGES:
        for block in re.findall(r"```console\n(.*?)```", (ROOT / page).read_text(), re.S):
            lines = block.splitlines()
            for i, line in enumerate(lines):
                if line.startswith("$ dimcurse"):
                    shown = lines[i + 1] if i + 1 < len(lines) else ""
                    found.append((page, line[2:], shown))
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
    shown = {shlex.split(example)[1] for _, example, _ in EXAMPLES}
    assert commands <= shown | {"--version"}, commands - shown


def test_the_readmes_listed_commands_run_on_a_page():
    # The README lists its quick start and data commands without output; each runs on a docs page.
    listed = [line[2:].split("  #")[0].strip() for line in TEXT.splitlines() if line.startswith("$ dimcurse")]
    run = {example for _, example, _ in EXAMPLES}
    assert listed and set(listed) <= run, set(listed) - run


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all examples, in page order, holding a copy of benchmarks/sweeps and examples/
    so the examples' paths work as they do from the repository root."""
    folder = tmp_path_factory.mktemp("readme")
    scratch(folder)
    return folder


# Examples another module runs as shown (the same command, its first output line checked there): the quick tour
# (tests/test_tour.py builds its fixture from it; running it twice cost 40 s of the suite) and the teacher's
# exponents against k and d (tests/test_approx.py asserts them; 80 s).
RUN_ELSEWHERE = {
    "dimcurse tour --quick --out tour-quick": "tests/test_tour.py",
    "dimcurse approx --target teacher --dims 4,16 --teacher-k 2,4 --widths 4,8,16,32 --seeds 2": "tests/test_approx.py",
    "dimcurse approx --target teacher --teacher-k 2 --dims 16 --widths 4,8,16 --samples 250,500,1000,2000 "
    "--baselines knn --seeds 2 --teacher-draws 1 --test-samples 1000": "tests/test_bridge.py",
    "dimcurse approx --data examples/surface.npz": "tests/test_bridge.py",
}


def test_the_examples_run_elsewhere_are_run_there():
    for example, module in RUN_ELSEWHERE.items():
        assert example in (ROOT / module).read_text() and any(e == example for _, e, _ in EXAMPLES)


@pytest.mark.parametrize("page, example, shown", EXAMPLES, ids=[f"{p}: {e}" for p, e, _ in EXAMPLES])
def test_readme_example_runs(cli, workdir, monkeypatch, page, example, shown):
    if example in RUN_ELSEWHERE:
        pytest.skip(f"run as shown by {RUN_ELSEWHERE[example]}")
    monkeypatch.chdir(workdir)
    args = shlex.split(example)[1:]
    code, out, err = cli(*args)
    expect_error = shown.startswith("error:")
    assert code == (2 if expect_error else 0), err
    produced = (out + err).splitlines()
    assert produced and produced[0].rstrip() == shown.rstrip()
