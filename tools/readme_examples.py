"""Keep the README's and the docs' shown output real, and their reference tables generated.

    python tools/readme_examples.py [PAGE ...] [--only TEXT] [--tables]
    python tools/readme_examples.py --times [NAME ...]

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

With ``--times`` it runs the commands of benchmarks/stated_times.json (the named entries, else all, one after
another: on a quiet machine) and writes each wall time into every place that states it::

    <!-- generated: times all -->          docs/benchmarks.md's list of the stated times
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
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


# --------------------------------------------------------------------------- stated times

# The one table of the wall times the README, the docs, the recipes and the CLI's help state: each entry's
# command, its measured seconds, when and where, and the places that state it, each a template whose {time}
# ("45 s") or {when} ("45 s on 2 cores, 2026-12-07") this script fills. `--times` measures and fills;
# `--tables` fills (and regenerates docs/benchmarks.md's list); tests/test_docs.py checks every place.
TIMES = ROOT / "benchmarks" / "stated_times.json"
DURATION = r"(?:< 1 s|\d+ s|\d+ min \d\d s|\d+ h \d\d min|\{time\})"
WHEN = rf"(?:{DURATION} on \d+ cores, \d{{4}}-\d\d-\d\d|\{{when\}})"


def stated_times() -> dict:
    return json.loads(TIMES.read_text())


def stated(entry: dict, form: str) -> str:
    """An entry's time as the docs state it: ``45 s`` ({time}) or ``45 s on 2 cores, 2026-12-07`` ({when})."""
    from dimcurse.layout import duration

    time = duration(entry["seconds"])
    return time if form == "time" else f"{time} on {entry['cores']} cores, {entry['date']}"


def filled(template: str, entry: dict) -> str:
    return template.replace("{time}", stated(entry, "time")).replace("{when}", stated(entry, "when"))


def _pattern(template: str) -> re.Pattern:
    """The template with any stated time (or a placeholder) where {time} and {when} stand."""
    parts = re.split(r"(\{time\}|\{when\})", template)
    return re.compile("".join(DURATION if p == "{time}" else WHEN if p == "{when}" else re.escape(p) for p in parts))


def fill_places(entries: dict) -> None:
    """Write each entry's measured time into every place that states it."""
    for entry in entries.values():
        if entry.get("seconds") is None:
            continue
        for path, template in entry["places"]:
            file = ROOT / path
            text = file.read_text()
            new = _pattern(template).sub(lambda _: filled(template, entry), text)
            if new != text:
                file.write_text(new)


def times_table(_: str) -> str:
    """The stated times: each command, its wall time, when and on what, and where it is stated."""
    rows = ["| command | wall time | measured | processor | stated in |", "|---|---|---|---|---|"]
    for name, entry in stated_times().items():
        where = ", ".join(dict.fromkeys(path for path, _ in entry["places"]))
        if entry.get("seconds") is None:
            rows.append(f"| `{_cell(entry['command'])}` | not measured yet | | | {where} |")
            continue
        when = f"{entry['date']}, {entry['cores']} cores, {entry['threads']} thread(s)"
        rows.append(
            f"| `{_cell(entry['command'])}` | {stated(entry, 'time')} | {when} | {_cell(entry['cpu'])} | {where} |"
        )
    return "\n".join(rows) + "\n"


def measure(names: list[str]) -> None:
    """Run each named entry's command (all when none is named) as a whole process, in order, in one scratch
    folder (or the repository root for "where": "root"), and record its wall time, date and processor."""
    entries = stated_times()
    unknown = [n for n in names if n not in entries]
    if unknown:
        sys.exit(f"no stated time named {', '.join(unknown)} (known: {', '.join(entries)})")
    with tempfile.TemporaryDirectory() as cwd:
        scratch(Path(cwd))
        shutil.copytree(ROOT / "recipes", Path(cwd) / "recipes")
        for name, entry in entries.items():
            if names and name not in names:
                continue
            start = time.perf_counter()
            where = str(ROOT) if entry.get("where") == "root" else cwd
            done = subprocess.run(entry["command"], shell=True, cwd=where, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode:
                said = (done.stdout + done.stderr)[-1500:]
                sys.exit(f"{name}: {entry['command']} failed ({done.returncode}): {said}")
            entry.update(seconds=round(seconds, 1), date=datetime.date.today().isoformat(), cores=os.cpu_count())
            entry.update(threads=1, cpu=_processor())
            print(f"{name}: {stated(entry, 'when')}", flush=True)
            TIMES.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")  # each as it comes
    fill_places(entries)


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tour_settings(which: str) -> str:
    """Each step of ``dimcurse tour`` (``quick`` or ``full``) with its settings: the fields that differ from
    the kernel's defaults (dimcurse/tour.py's configs)."""
    import dataclasses

    from dimcurse import tour

    rows = ["| step | kernel | settings (where not the kernel's defaults) |", "|---|---|---|"]
    for step, config in tour.configs(which == "quick").items():
        default = type(config)()
        changed = [
            f"{f.name} = {_value(getattr(config, f.name))}"
            for f in dataclasses.fields(config)
            if getattr(config, f.name) != getattr(default, f.name)
        ]
        kernel = type(config).__name__.removesuffix("Config").lower()
        rows.append(f"| {step} | {kernel} | {_cell('; '.join(changed))} |")
    return "\n".join(rows) + "\n"


def _value(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


TABLES = {
    "options": options_table,
    "columns": columns_table,
    "fits": fits_table,
    "usage": usage_block,
    "times": times_table,
    "tour": tour_settings,
}


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
    if args[:1] == ["--times"]:  # measure the stated times (the named ones, else all), then fill their places
        measure(args[1:])
        args = ["--tables"]
    only, tables = None, "--tables" in args
    args = [a for a in args if a != "--tables"]
    if "--only" in args:
        at = args.index("--only")
        only = args[at + 1]
        del args[at : at + 2]
    pages = [ROOT / page for page in (args or PAGES)]
    if tables:
        fill_places(stated_times())
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
