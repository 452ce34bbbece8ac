"""Shared fixtures. Tests run torch on one thread: small operations stall on two under load."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

torch.set_num_threads(1)


@pytest.fixture
def cli():
    """Invoke ``dimcurse.cli.main`` like a user: returns (exit code, stdout, stderr)."""
    from dimcurse.cli import main

    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(_Main(main), list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


class _Main:
    """Adapts ``main(argv)`` (which calls sys.exit) to what CliRunner.invoke expects."""

    def __init__(self, main):
        self.main_fn = main
        self.name = "dimcurse"

    def main(self, args=None, prog_name=None, **kwargs):
        self.main_fn(list(args or []))


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
