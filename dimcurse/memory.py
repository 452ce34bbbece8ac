"""Memory guard: refuse a request that cannot fit, with an estimate, before anything is allocated.

Each kernel estimates the peak bytes of a config (``estimate_bytes``); ``require``
compares it with the memory available now — MemAvailable of /proc/meminfo on the CPU
(free plus reclaimable; the physical total elsewhere), free memory on a CUDA device —
and refuses anything above 90 % of it, naming the option to lower. The estimates count
the large arrays only (points, features, activations, parameters and optimiser state),
so they err low; what they protect against is the request that would take the machine
down, not a few percent.
"""

from __future__ import annotations

import os
import re

import torch

from dimcurse.errors import DimcurseError

HEADROOM = 0.9

# torch >= 2.5 has torch.OutOfMemoryError (raised by every device); older ones only the CUDA class.
OUT_OF_MEMORY = tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


def out_of_memory_message(exc: BaseException) -> str:
    """One line for a device out-of-memory error that reached the user: what torch said, and what to lower."""
    asked = re.search(r"Tried to allocate ([0-9.]+ ?[KMGT]?i?B)", str(exc))
    said = f" asking for {asked.group(1)} more" if asked else ""
    return (
        f"the device ran out of memory{said}; use a smaller --batch-size or --chunk, fewer points, "
        "widths or seeds, or --device cpu"
    )


def available_bytes(device: torch.device | str = "cpu") -> int:
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"


def require(needed: float, what: str, option: str, device: torch.device | str = "cpu") -> None:
    """Raise ``DimcurseError`` if ``needed`` bytes exceed 90 % of what ``device`` has available."""
    have = available_bytes(device)
    if needed > HEADROOM * have:
        raise DimcurseError(
            f"{what} needs about {human(needed)} of memory but {human(have)} is available on "
            f"{torch.device(device).type}; lower it",
            option,
        )
