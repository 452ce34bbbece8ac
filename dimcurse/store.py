"""A result store: a directory with an append-only log of finished points, one JSON line each.

``DIR/points.jsonl`` gets one line per finished point — its key (hash of kernel,
kernel version and resolved config), experiment, kernel, config, status (``ok`` or
``failed``), error, elapsed time, provenance and rows — written with one ``write`` and
an ``fsync``. A process killed mid-write can leave at most one partial last line; readers
ignore it and the next writer cuts it off before appending, so a finished point is never
lost and the store is never left unreadable. The latest line of a key wins (``--force``
appends a fresh result rather than editing the old one).

One writer at a time: ``DIR/.lock`` is held with ``flock`` for the whole batch; a second
batch on the same store is refused with a clear error rather than interleaving lines.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dimcurse.errors import DimcurseError

LOG = "points.jsonl"
LOCK = ".lock"


def read_records(folder: str | Path) -> dict[str, dict]:
    """The latest record per key; a partial or corrupt line (an interrupted write) is skipped."""
    path = Path(folder).expanduser() / LOG
    if not path.exists():
        return {}
    latest = {}
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break  # the tail of an interrupted append
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and "key" in record:
                latest[record["key"]] = record
    return latest


def is_store(folder: str | Path) -> bool:
    return (Path(folder).expanduser() / LOG).exists()


@dataclass
class Store:
    """The writing side: open (locks and repairs), ``append`` records, ``close``."""

    folder: Path
    _lock: object = field(default=None, repr=False)

    @classmethod
    def open(cls, folder: str | Path) -> "Store":
        folder = Path(folder).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = open(folder / LOCK, "a+")
        except OSError as exc:
            raise DimcurseError(f"cannot use store {str(folder)!r}: {exc.strerror}", "--store") from None
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise DimcurseError(
                f"store {str(folder)!r} is in use by another batch process; wait for it or use another --store",
                "--store",
            ) from None
        store = cls(folder, lock)
        store._repair()
        return store

    def _repair(self) -> None:
        """Cut a partial last line left by a killed writer, so the next append starts on a fresh line."""
        path = self.folder / LOG
        if not path.exists():
            return
        with open(path, "rb+") as handle:
            data = handle.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())

    def append(self, record: dict) -> None:
        line = (json.dumps(record, default=_json_default, allow_nan=True) + "\n").encode()
        try:
            fd = os.open(self.folder / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DimcurseError(f"cannot write to store {str(self.folder)!r}: {exc.strerror}", "--store") from None
        try:
            size = os.fstat(fd).st_size
            try:
                # A full disk can take part of the line without an error: a short write counts as a failure.
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                os.fsync(fd)
            except OSError as exc:
                _cut(fd, size)  # the store keeps its complete lines and no fragment
                raise DimcurseError(f"cannot write to store {str(self.folder)!r}: {exc.strerror}", "--store") from None
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def _cut(fd: int, size: int) -> None:
    """Truncate back to ``size`` after a failed append (best effort: a store that cannot even be cut is
    repaired on open)."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)
