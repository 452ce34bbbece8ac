"""A result store: a directory with an append-only log of finished points, one JSON line each.

``DIR/points.jsonl`` gets one line per finished point — its key (hash of kernel,
kernel version and resolved config), experiment, kernel, config, status (``ok`` or
``failed``), error, elapsed time, provenance and rows — written with one ``write`` and
an ``fsync``. A process killed mid-write can leave at most one partial last line. Readers
(``read_store``) name every line they cannot use (that line, or any other damage) rather
than skip it in silence, and the next writer moves such lines to ``points.quarantine``
before appending, so a finished point is never lost and the store is never left
unreadable. The latest line of a key wins (``--force``
appends a fresh result rather than editing the old one).

One writer at a time: ``DIR/.lock`` is held with ``flock`` for the whole batch; a second
batch on the same store is refused with a clear error rather than interleaving lines.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dimcurse.errors import DimcurseError

LOG = "points.jsonl"
LOCK = ".lock"


QUARANTINE = "points.quarantine"  # unreadable lines moved aside by a batch, each with its line number and why
STATUSES = ("done", "failed")


@dataclass(frozen=True)
class BadLine:
    """A line of the log no reader can use: its number (from 1) and why."""

    number: int
    why: str


@dataclass
class Contents:
    """What a store's log holds: the latest record per key (with its line number), the lines that could not
    be read, and how many lines a later line of the same key replaced."""

    path: Path
    latest: dict[str, dict] = field(default_factory=dict)
    line_of: dict[str, int] = field(default_factory=dict)
    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0
    replaced: int = 0

    def describe_bad(self, bad: list[BadLine] | None = None, shown: int = 3) -> str:
        """``points.jsonl: 2 of 40 lines unreadable (line 4: not JSON; line 40: ...)``."""
        bad = self.bad if bad is None else bad
        named = "; ".join(f"line {b.number}: {b.why}" for b in bad[:shown])
        more = f"; and {len(bad) - shown} more" if len(bad) > shown else ""
        return f"{self.path}: {len(bad)} of {self.lines} lines unreadable ({named}{more})"


def read_store(folder: str | Path) -> Contents:
    """Every line of the log, checked: a record is a JSON object with a key, a kernel, a status (done or
    failed) and a list of rows; anything else is a ``BadLine`` (a partial last line, an interrupted write,
    included). The latest record of a key wins."""
    path = Path(folder).expanduser() / LOG
    contents = Contents(path)
    if not path.exists():
        return contents
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            contents.lines = number
            record, why = _parse(raw)
            if why:
                contents.bad.append(BadLine(number, why))
                continue
            if record["key"] in contents.latest:
                contents.replaced += 1
            contents.latest[record["key"]] = record
            contents.line_of[record["key"]] = number
    return contents


def _parse(raw: bytes) -> tuple[dict | None, str]:
    """A line's record, or why it is none."""
    if not raw.endswith(b"\n"):
        return None, "no line end (a write that was interrupted)"
    if not raw.strip():
        return None, "an empty line"
    try:
        record = json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        return None, "not JSON"
    if not isinstance(record, dict):
        return None, f"JSON but not a point record (a {type(record).__name__})"
    missing = [name for name in ("key", "kernel", "status", "rows") if name not in record]
    if missing:
        return None, f"a record without {', '.join(missing)}"
    if record["status"] not in STATUSES or not isinstance(record["rows"], list):
        return None, f"a record whose status ({record['status']!r}) or rows are not a point's"
    return record, ""


def read_records(folder: str | Path) -> dict[str, dict]:
    """The latest record per key (unreadable lines left out: ``read_store`` names them)."""
    return read_store(folder).latest


def is_store(folder: str | Path) -> bool:
    return (Path(folder).expanduser() / LOG).exists()


@dataclass
class Store:
    """The writing side: open (locks and repairs), ``append`` records, ``close``."""

    folder: Path
    _lock: object = field(default=None, repr=False)
    quarantined: "Contents | None" = None  # the log as found on open, when unreadable lines were moved aside

    @classmethod
    def open(cls, folder: str | Path, check: Callable[[dict], str] | None = None) -> "Store":
        """The store, locked, its unreadable lines moved aside (``check``: why a well-formed record cannot be
        read, or "": the kernels' own checks, which this module cannot import)."""
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
        store.quarantined = store._repair(check)
        return store

    def _repair(self, check: Callable[[dict], str] | None = None) -> "Contents | None":
        """Move every unreadable line (a killed writer's partial last line among them) to ``QUARANTINE``, each
        with its line number and why, and keep the readable ones, so the next append starts on a fresh line
        and no bytes are lost; returns what the log held when any line was moved (else None)."""
        path = self.folder / LOG
        contents = read_store(self.folder)
        for key, record in list(contents.latest.items()) if check is not None else []:
            why = check(record)
            if why:  # the point runs again: its record is moved aside with the unreadable lines
                contents.bad.append(BadLine(contents.line_of[key], why))
                del contents.latest[key]
        contents.bad.sort(key=lambda bad: bad.number)
        if not contents.bad:
            return None
        why_of = {bad.number: bad.why for bad in contents.bad}
        moved = time.strftime("%Y-%m-%dT%H:%M:%S")
        fresh = path.with_name(LOG + ".tmp")
        # One pass: each line goes to the quarantine (after a line saying which and why) or to the fresh log.
        with open(path, "rb") as old, open(fresh, "wb") as new, open(self.folder / QUARANTINE, "ab") as aside:
            for number, raw in enumerate(old, 1):
                if number not in why_of:
                    new.write(raw)
                    continue
                head = json.dumps({"line": number, "why": why_of[number], "moved": moved})
                aside.write(head.encode() + b"\n" + raw.rstrip(b"\n") + b"\n")
            for handle in (aside, new):  # the quarantine holds every moved line before the log loses it
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(fresh, path)  # atomic: readers see the old log or the new one, never half of one
        return contents

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
