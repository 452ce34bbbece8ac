"""Shared fixtures. Tests run torch on one thread: small operations stall on two under load."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import run_cli

torch.set_num_threads(1)
# pytest-xdist's workers (python -m pytest runs on both cores: pyproject.toml's addopts) get COLUMNS=80 and
# LINES=24 from execnet; a serial run has neither, and the tables fit 120 columns then (render.console).
if os.environ.get("PYTEST_XDIST_WORKER"):
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
# A kernel's non-finite value outside its NULLABLE contract raises here (in use it is blanked and
# flagged): results.check_defined. Subprocesses the tests start inherit it.
os.environ["DIMCURSE_STRICT"] = "1"


def pytest_collection_modifyitems(items):
    """The slow tests first (a stable sort: each module's order kept): a worker that takes them early leaves
    the short ones to fill the end, so both cores finish together (pyproject.toml's addopts)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def cli():
    """Run ``dimcurse ARGS`` in-process like a user: returns (exit code, stdout, stderr)."""
    return run_cli


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
