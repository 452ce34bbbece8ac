"""Keep the README's and the docs' shown output real, and their reference tables generated.

    python tools/readme_examples.py [PAGE ...] [--only TEXT] [--tables]

Without ``--tables`` it refreshes the outputs of the pages' ``console`` examples by running them
(README.md and every docs/*.md page when no PAGE is named; ``--only TEXT`` refreshes only the blocks
whose commands contain TEXT, say ``overparam``). Each ```console block holds lines ``$ COMMAND``
followed by that command's output; the outputs are replaced by what the command prints now (stdout
and stderr), run in one scratch folder for all pages in order, as tests/test_readme.py runs them.

With ``--tables`` it rewrites only the generated blocks, fast and without running anything::

    <!-- generated: options distance -->   every option of a command (from its Config: dimcurse/configs.py)
    <!-- generated: columns distance -->   every output column of a kernel (its COLUMN_DOCS)
    <!-- generated: fits approx -->        every column of a kernel's analysis table (its FIT_COLUMN_DOCS)
    <!-- generated: usage distance -->     the command's usage line and examples (its --help)
    <!-- end generated -->

tests/test_docs.py fails when a generated block is stale or a command or column has none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
GENERATED = re.compile(r"(<!-- generated: (\w+) ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.S)
# The pages in the order their examples run (a store one page makes, a later page reads).
PAGES = [
    "README.md",
    "docs/data.md",
    "docs/distance.md",
    "docs/approx.md",
    "docs/overparam.md",
    "docs/batch.md",
    "docs/plot-and-tour.md",
    "docs/python.md",
    "docs/reliability.md",
    "docs/benchmarks.md",
    "docs/architecture.md",
    "docs/references.md",
]


# --------------------------------------------------------------------------- generated tables


def _command(name: str):
    import typer.main

    from dimcurse.cli import app

    return typer.main.get_command(app).commands[name]


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(param) -> str:
    if isinstance(param.show_default, str):
        return _cell(param.show_default)
    if getattr(param, "is_flag", False):
        return "on" if param.default else "off"
    if param.default is None or param.default == "" or param.show_default is False:
        return "—"
    return f"`{param.default}`"


def options_table(command: str) -> str:
    """Every parameter of ``dimcurse COMMAND``: its names, default and help (for a kernel, from Config)."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for param in _command(command).params:
        if param.param_type_name == "argument":
            names = f"`{param.metavar or param.name.upper()}` (argument)"
        else:
            names = ", ".join(f"`{opt}`" for opt in param.opts + param.secondary_opts)
        rows.append(f"| {names} | {_default(param)} | {_cell(getattr(param, 'help', '') or '')} |")
    return "\n".join(rows) + "\n"


def columns_table(kernel: str) -> str:
    """Every output column of a kernel's rows with its meaning (the kernel's COLUMN_DOCS)."""
    from dimcurse.experiments import REGISTRY

    module = REGISTRY[kernel]
    rows = ["| column | meaning |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(module.COLUMN_DOCS[name])} |" for name in module.COLUMNS]
    return "\n".join(rows) + "\n"


def fits_table(kernel: str) -> str:
    """Every column of a kernel's analysis table with its meaning (the kernel's FIT_COLUMN_DOCS)."""
    from dimcurse.experiments import REGISTRY

    docs = REGISTRY[kernel].FIT_COLUMN_DOCS
    rows = ["| column | meaning |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(text)} |" for name, text in docs.items()]
    return "\n".join(rows) + "\n"


def usage_block(command: str) -> str:
    """The command's usage line and its help's examples, as a text block."""
    import click

    cmd = _command(command)
    with click.Context(cmd, info_name=f"dimcurse {command}") as ctx:
        usage = cmd.get_usage(ctx).strip()
    examples = [line.strip() for line in (cmd.help or "").splitlines() if line.strip().startswith("dimcurse ")]
    return "```text\n" + usage + "\n\n" + "\n".join(examples) + "\n```\n"


TABLES = {"options": options_table, "columns": columns_table, "fits": fits_table, "usage": usage_block}


def generated(kind: str, name: str) -> str:
    return TABLES[kind](name)


def refresh_tables(text: str) -> str:
    return GENERATED.sub(lambda m: m.group(1) + generated(m.group(2), m.group(3)) + m.group(5), text)


# --------------------------------------------------------------------------- console examples


def run(command: str, cwd: str) -> str:
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb"}  # tables fit 120 columns (stacked panels)
    done = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=cwd, env=env)
    return (done.stdout + done.stderr).rstrip() + "\n"


def refresh(block: str, cwd: str, only: str | None = None) -> str:
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    if only is not None and not any(only in cmd for cmd in commands):
        return block
    return "".join(f"$ {cmd}\n{run(cmd, cwd)}" for cmd in commands)


def scratch(folder: Path) -> None:
    """The files the examples read, where the repository root has them."""
    shutil.copytree(ROOT / "benchmarks" / "sweeps", folder / "benchmarks" / "sweeps")
    shutil.copytree(ROOT / "examples", folder / "examples")  # the "Your own data" files


def main() -> None:
    args = sys.argv[1:]
    only, tables = None, "--tables" in args
    args = [a for a in args if a != "--tables"]
    if "--only" in args:
        at = args.index("--only")
        only = args[at + 1]
        del args[at : at + 2]
    pages = [ROOT / page for page in (args or PAGES)]
    if tables:
        for path in pages:
            path.write_text(refresh_tables(path.read_text()))
        return
    with tempfile.TemporaryDirectory() as cwd:
        scratch(Path(cwd))
        for path in pages:
            text = BLOCK.sub(lambda m: "```console\n" + refresh(m.group(1), cwd, only) + "```", path.read_text())
            path.write_text(text)


if __name__ == "__main__":
    main()
