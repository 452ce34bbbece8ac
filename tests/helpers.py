"""Small helpers shared by the test modules."""

import numpy as np


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
