"""Keep freed memory in the process: glibc must not hand large blocks back to the OS on every step.

By default glibc serves blocks above a (dynamic, at most 32 MiB) threshold with their own
``mmap`` and returns them on ``free``; the next training step faults the same pages in
again. On the 2-core development machine that was up to 29 s of system time in a 37.6 s
``dimcurse approx --width 512`` (shared/PERFORMANCE.md). Serving every block from the
heap (``M_MMAP_MAX = 0``) and trimming the heap only above 2 GiB of free top memory
(``M_TRIM_THRESHOLD``) keeps the pages mapped between steps; the memory stays with the
process for reuse, as with torch's own CUDA caching allocator.

No torch import here: the entry point calls this before anything large is allocated.
``DIMCURSE_MALLOC=default`` leaves glibc as it is (to measure the difference).
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's <malloc.h>
M_MMAP_MAX = -4
TRIM_BYTES = 2**31 - 1  # mallopt takes an int

_done: bool | None = None


def tune() -> bool:
    """Apply the settings once per process; True when glibc accepted them (False elsewhere, e.g. musl, macOS)."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get("DIMCURSE_MALLOC", "").strip().lower() == "default":
        return _done
    try:
        # The running process's own symbols: glibc's mallopt where there is one. (ctypes.util.find_library
        # would start a subprocess, ldconfig, before the entry point's Ctrl-C handler is in place.)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return _done
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
    return _done
