"""Stated times cannot drift: every wall time the README, the docs, the recipes and the commands' help state
comes from benchmarks/stated_times.json (measured by `python tools/readme_examples.py --times`), each place
states exactly its entry's time, and no other time on cores is stated anywhere."""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from readme_examples import DURATION, filled, stated_times  # noqa: E402  (tools/ is not a package)

ENTRIES = stated_times()
PLACES = [(name, path, template) for name, entry in ENTRIES.items() for path, template in entry["places"]]
SCANNED = [
    *sorted(ROOT.glob("*.md")), *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "recipes").glob("*.toml")),
    *sorted((ROOT / "dimcurse").rglob("*.py")),
]  # fmt: skip
# A time on cores ("45 s on 2 cores", "4 min 52 s on 2 CPU cores"), the old "about 45 s ... cores", and a
# quick-start line's "# 45 s": each must be a place of the list.
SPACED = DURATION.replace(" ", r"\s+")  # a time broken across a line end too
ON_CORES = re.compile(SPACED + r"\s+on\s+\d+\s+(?:CPU\s+)?cores")
ABOUT = re.compile(r"about \d+ (?:s|min|minutes|seconds)\b[^.\n]{0,30}cores")
COMMENTED = re.compile(rf"dimcurse [^\n#]*(#\s*{DURATION})\s*$", re.M)


def test_every_entry_is_a_measurement_with_its_date_and_machine():
    for name, entry in ENTRIES.items():
        assert entry["seconds"] > 0 and entry["command"] and entry["places"], name
        datetime.date.fromisoformat(entry["date"])
        assert entry["cores"] >= 1 and entry["threads"] >= 1 and entry["cpu"], name


@pytest.mark.parametrize("name, path, template", PLACES, ids=[f"{n}: {p}" for n, p, _ in PLACES])
def test_each_place_states_its_entrys_time(name, path, template):
    assert filled(template, ENTRIES[name]) in (ROOT / path).read_text(), (
        f"{path} does not state {name}'s time as the list has it: run python tools/readme_examples.py --tables"
    )


def _covered(path: Path) -> list[tuple[int, int]]:
    """The spans of a file's text that are places of the list."""
    text, spans = path.read_text(), []
    for name, where, template in PLACES:
        if ROOT / where == path:
            words = filled(template, ENTRIES[name])
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(words), text)]
    return spans


@pytest.mark.parametrize("path", SCANNED, ids=[str(p.relative_to(ROOT)) for p in SCANNED])
def test_no_time_is_stated_outside_the_list(path):
    text, spans = path.read_text(), _covered(path)
    stray = [
        m.group(0)
        for pattern in (ON_CORES, COMMENTED)
        for m in pattern.finditer(text)
        if not any(a <= m.start(m.lastindex or 0) and m.end(m.lastindex or 0) <= b for a, b in spans)
    ]  # fmt: skip  (a commented line: its "# 45 s")
    stray += [m.group(0) for m in ABOUT.finditer(text)]
    assert not stray, f"{path.relative_to(ROOT)}: times not in benchmarks/stated_times.json: {stray}"
