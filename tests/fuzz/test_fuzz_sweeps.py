"""Property-based sweep files: generated TOML loads with every point validated, or is refused in one line naming
the file, the experiment and the key."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dimcurse.errors import DimcurseError
from dimcurse.experiments import REGISTRY
from dimcurse.sweep import load_sweep
from tests.fuzz.support import EXAMPLES, FUZZ, OUTCOMES

# end-to-end: the inner loop (-m "not slow") leaves it out; one worker runs the fuzz suites (one work folder)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]

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


@settings(FUZZ, max_examples=EXAMPLES * 4)
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
