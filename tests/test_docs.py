"""The docs: generated tables fresh and complete, links that resolve, a short README, Python that runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from dimcurse.cli import app
from dimcurse.experiments import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from readme_examples import GENERATED, PAGES, generated, scratch  # noqa: E402  (tools/ is not a package)

TEXTS = {page: (ROOT / page).read_text() for page in PAGES}
BLOCKS = [(page, m.group(2), m.group(3), m.group(4)) for page, text in TEXTS.items() for m in GENERATED.finditer(text)]


def test_every_page_exists_and_every_docs_page_is_listed():
    assert sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")) == sorted(PAGES[1:])


@pytest.mark.parametrize("page, kind, name, body", BLOCKS, ids=[f"{p}: {k} {n}" for p, k, n, _ in BLOCKS])
def test_generated_blocks_are_fresh(page, kind, name, body):
    assert body == generated(kind, name), f"{page}: run python tools/readme_examples.py --tables"


def test_every_command_has_its_options_and_every_kernel_its_columns_on_a_page():
    commands = set(typer.main.get_command(app).commands)
    assert {name for _, kind, name, _ in BLOCKS if kind == "options"} == commands
    assert {name for _, kind, name, _ in BLOCKS if kind == "columns"} == set(REGISTRY)


@pytest.mark.parametrize("kernel", sorted(REGISTRY))
def test_every_column_has_a_meaning(kernel):
    module = REGISTRY[kernel]
    assert list(module.COLUMN_DOCS) == list(module.COLUMNS)  # the same columns, in the rows' order
    assert all(text.strip() for text in module.COLUMN_DOCS.values())


def test_the_readme_is_short_and_every_link_resolves():
    assert len(TEXTS["README.md"].splitlines()) <= 300
    for page, text in TEXTS.items():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not target.startswith("http"):
                assert ((ROOT / page).parent / target).exists(), f"{page}: broken link {target}"


def test_each_command_page_follows_the_template():
    sections = ["What it measures", "Usage", "Options", "Output columns", "Theory and exactness", "Results", "Speed"]
    for page in ("docs/distance.md", "docs/approx.md", "docs/overparam.md"):
        headings = re.findall(r"^## (.+)$", TEXTS[page], re.M)
        assert headings == sections, page


PYTHON = [(page, block) for page, text in TEXTS.items() for block in re.findall(r"```python\n(.*?)```", text, re.S)]


@pytest.mark.slow
@pytest.mark.parametrize("page, code", PYTHON, ids=[f"{p} #{i}" for i, (p, _) in enumerate(PYTHON)])
def test_python_blocks_run(page, code, tmp_path):
    # In a fresh interpreter: a block may register targets or data sets, which must not leak into other tests.
    scratch(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, f"{page}: {done.stderr[-2000:]}"


def test_every_option_names_what_it_takes():
    """A number's option says FLOAT or INT, a name's NAME: typer's own '<str>' told the user nothing."""
    for name, command in typer.main.get_command(app).commands.items():
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "is_flag", False):
                assert param.metavar, f"dimcurse {name} {param.opts[0]} has no metavar"


def test_every_moved_name_in_docs_python_md_is_where_the_page_says():
    # Public names are contracts: the page's table of moved names is read here, so it cannot drift from the
    # code. Each importable name of the "now" column must be found at its new home.
    import importlib

    text = (ROOT / "docs" / "python.md").read_text()
    table = text.split("## Names that moved")[1].split("\n\n", 2)[2]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| `dimcurse.")]
    assert len(rows) >= 6
    for before, now in rows:
        home = re.findall(r"`(dimcurse[\w.]*)`", now)[0]
        try:  # a module: every name of the "before" column lives in it now
            found = importlib.import_module(home)
        except ImportError:  # a module's attribute
            module, attr = home.rsplit(".", 1)
            assert hasattr(importlib.import_module(module), attr), home
            continue
        for name in (n.rsplit(".", 1)[-1] for n in re.findall(r"`([\w.]+)`", before)):
            assert hasattr(found, name), f"{name} not in {home}"
