"""Small helpers shared by the test modules."""

import contextlib
import io

import numpy as np


def run_cli(*args: str):
    """Run ``dimcurse ARGS`` in-process like a user: (exit code, stdout, stderr). The ``cli`` fixture."""
    from dimcurse.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def pick_one(frame, **where):
    """The single row of ``frame`` matching every column=value in ``where`` (asserts there is exactly one)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= frame[column] == value
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]


def assert_clean_error(code, out, err, option, folder=None):
    """A user error: exit code 2, nothing on stdout, one ``error:`` line naming ``option``, no file left in
    ``folder``."""
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and option in lines[0], err
    if folder is not None:
        assert list(folder.iterdir()) == []  # nothing half-written


def without_module(monkeypatch, prefix: str) -> None:
    """Make every import of a module starting with ``prefix`` fail, as if the extra were not installed."""
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith(prefix):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)


def run_docs_example(cli, monkeypatch, command: str, page: str = "docs/approx.md"):
    """Run a command a docs page shows, as shown, from the repository root (tests/test_readme.py leaves it
    to the module that asserts on it); its first output line is checked against the page. Returns the
    kernel's Result."""
    import shlex
    from pathlib import Path

    from dimcurse import experiments

    root = Path(__file__).resolve().parents[1]
    results, run = [], experiments.run_kernel
    monkeypatch.setattr(experiments, "run_kernel", lambda *a, **k: results.append(run(*a, **k)) or results[-1])
    monkeypatch.chdir(root)
    code, out, err = cli(*shlex.split(command)[1:])
    assert code == 0, err
    lines = (root / page).read_text().splitlines()
    assert out.splitlines()[0].rstrip() == lines[lines.index(f"$ {command}") + 1].rstrip()
    return results[0]


def shallow_problem(n: int, seeds, *, width: int, stream: int, dim: int = 2, target=None, dtype=None):
    """The second-order trainers' test problem (test_lm, test_gn, test_convergence): inputs uniform on
    [-1, 1]^dim from generator ``stream``, the target sin(2 x0) cos(x1) (or ``target(x)``), and the starting
    parameters of a shallow ReLU network of ``width`` per seed: (x, y, theta)."""
    import torch

    from dimcurse.experiments.approx.networks import Shallow

    dtype = dtype or torch.float64
    gen = torch.Generator().manual_seed(stream)
    x = torch.rand(len(seeds), n, dim, generator=gen, dtype=dtype) * 2 - 1
    y = target(x) if target is not None else torch.sin(2 * x[..., 0]) * torch.cos(x[..., 1])
    return x, y, Shallow(list(seeds), dim, [width], "relu", dtype=dtype).flat(0)
