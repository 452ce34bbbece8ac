"""A run's finished work kept in a folder, so that a killed run started again resumes (``--checkpoint DIR``).

The folder holds ``run.json`` (what the run is: kernel, kernel version, configuration, versions, device) and
one file per piece of finished work, named by a digest of its key. A run given the folder again reads each
piece instead of computing it; a piece is written whole or not at all (a temporary file, then
``os.replace``), so a kill at any instant leaves either the old piece or the new one. A folder of another
run (any configuration field, version or device different) is refused, never mixed into this one: the
rows of a resumed run are those of an uninterrupted one, bit for bit on the CPU, except their wall times.

Nothing read back is unpickled: a piece is written by ``torch.save`` after its numpy arrays become tensors
(tagged, to come back as arrays), and read by ``torch.load(weights_only=True)``, which builds tensors and
plain containers only (docs/reliability.md, section 4).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from dimcurse.errors import DimcurseError
from dimcurse.version import __version__

OPTION = "--checkpoint"
RUN_FILE = "run.json"
EVERY_S = 30.0  # a long training loop saves its state at most this often (s of wall time): a few ms a save


class Checkpoint:
    """The folder of one run; ``load(key)`` a finished piece (None: not yet), ``save(key, value)`` one."""

    def __init__(self, folder: str | os.PathLike, identity: dict, every_s: float | None = None):
        self.folder = Path(folder)
        self.every_s = EVERY_S if every_s is None else every_s
        self.loaded = 0  # pieces read back (the run's note says how many)
        self._last = time.monotonic()
        _claim(self.folder, identity)

    def _path(self, key) -> Path:
        return self.folder / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:24]}.pt"

    def load(self, key):
        """The piece saved under ``key`` (any repr-stable value), or None."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 (a damaged piece: say which, never guess)
            raise DimcurseError(f"{path} cannot be read ({type(error).__name__}); delete it to recompute it", OPTION)
        if not isinstance(stored, dict) or stored.get("key") != repr(key):
            raise DimcurseError(f"{path} holds another piece of work; delete it to recompute it", OPTION)
        self.loaded += 1
        return _decoded(stored["value"])

    def save(self, key, value) -> None:
        """Write ``value`` under ``key`` whole: a kill during the write leaves the previous file. ``value``:
        tensors, numpy arrays and scalars, and dicts, lists, tuples and sets of them, str, int, float, None."""
        path = self._path(key)
        part = path.with_suffix(".part")
        torch.save({"key": repr(key), "value": _encoded(value)}, part)
        os.replace(part, path)
        self._last = time.monotonic()

    def due(self) -> bool:
        """Whether ``every_s`` of wall time passed since the last save (a loop's saves cost it little)."""
        return time.monotonic() - self._last >= self.every_s

    def drop(self, key) -> None:
        """Remove a piece the run no longer needs (a loop's state once its result is saved)."""
        self._path(key).unlink(missing_ok=True)


ARRAY, SET = "__numpy_array__", "__set__"  # tags: what weights_only loading has no type for


def _encoded(value):
    """``value`` in the types ``torch.load(weights_only=True)`` rebuilds: arrays as tagged tensors, numpy
    scalars as Python ones, sets as tagged lists."""
    if isinstance(value, np.ndarray):
        return {ARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _encoded(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return {SET: [_encoded(v) for v in value]}
    if isinstance(value, (list, tuple)):
        return type(value)(_encoded(v) for v in value)
    return value


def _decoded(value):
    """The inverse of ``_encoded``."""
    if isinstance(value, dict):
        if set(value) == {ARRAY}:
            return value[ARRAY].numpy()
        if set(value) == {SET}:
            return {_decoded(v) for v in value[SET]}
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_decoded(v) for v in value)
    return value


def identity(kernel: str, version: int, config, device) -> dict:
    """What makes two runs the same run: the kernel and its version, every configuration field, the
    versions of dimcurse and torch, the device."""
    fields = dataclasses.asdict(config)
    return {
        "kernel": kernel,
        "kernel_version": int(version),
        "config": json.loads(json.dumps(fields, default=str)),
        "dimcurse": __version__,
        "torch": torch.__version__,
        "device": str(device),
    }


def _claim(folder: Path, mine: dict) -> None:
    """Make ``folder`` this run's, or refuse it with the first field that differs."""
    if folder.exists() and not folder.is_dir():
        raise DimcurseError(f"{folder} is a file, not a folder", OPTION)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DimcurseError(f"cannot make the folder {folder}: {error.strerror}", OPTION) from None
    path = folder / RUN_FILE
    if not path.exists():
        if any(folder.iterdir()):
            raise DimcurseError(f"{folder} is not empty and holds no {RUN_FILE}: give an empty or new folder", OPTION)
        part = path.with_suffix(".part")
        part.write_text(json.dumps(mine, indent=1, sort_keys=True) + "\n")
        os.replace(part, path)
        return
    try:
        theirs = json.loads(path.read_text())
    except (OSError, ValueError):
        raise DimcurseError(f"{path} cannot be read: give a new folder", OPTION) from None
    differs = _first_difference(theirs, mine)
    if differs:
        raise DimcurseError(
            f"{folder} holds another run ({differs}): give a new folder, or the command that made it", OPTION
        )


def _first_difference(theirs: dict, mine: dict) -> str | None:
    """The first field in which two identities differ, in words (None: the same run)."""
    for name in sorted(set(theirs) | set(mine)):
        if name == "config":
            continue
        if theirs.get(name) != mine.get(name):
            return f"{name} {theirs.get(name)!r} there, {mine.get(name)!r} here"
    a, b = theirs.get("config", {}), mine.get("config", {})
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            return f"{name} {a.get(name)!r} there, {b.get(name)!r} here"
    return None
