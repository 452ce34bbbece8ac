"""Where a result came from: versions, configuration, device, commit, command line and time."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from dimcurse import allocator, runtime
from dimcurse.version import __version__

SCHEMA_VERSION = 1  # bumped when the layout of rows or provenance changes


def config_dict(config) -> dict:
    """A config dataclass as plain JSON-ready values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_key(kernel: str, version: int, config) -> str:
    """A stable 16-hex key of (kernel, kernel version, resolved config): the identity of a result. A field a
    Config added after stores were written (its ``KEY_LATER_FIELDS``) is left out at its default, so every
    point stored before it keeps its key and a batch resumes instead of running it again."""
    values = config_dict(config)
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    for name in getattr(config, "KEY_LATER_FIELDS", ()):
        if getattr(config, name) == defaults[name]:
            values.pop(name)
    blob = json.dumps({"kernel": kernel, "version": version, "config": values}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the dimcurse source tree when it is a git checkout (``+dirty`` if modified)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    """Library versions that can change a number in a table."""
    return {
        "dimcurse": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def describe_device(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return "cpu"


def provenance(kernel: str, version: int, config, device: torch.device, command: list[str] | None = None) -> dict:
    """The provenance block every output carries (embedded in json/markdown, a sidecar otherwise)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kernel": kernel,
        "kernel_version": version,
        "config_key": config_key(kernel, version, config),
        "config": config_dict(config),
        "device": describe_device(device),
        "torch_threads": torch.get_num_threads(),
        "float32": runtime.float32_state(),  # TF32 off unless --tf32 (runtime.float32_policy)
        "malloc_tuned": allocator.tune(),  # glibc keeps freed blocks mapped (allocator.py)
        "versions": versions(),
        "git_commit": git_commit(),
        "command": list(sys.argv if command is None else command),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
