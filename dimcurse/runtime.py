"""Device, dtype and randomness: passed to kernels explicitly, never hidden global state."""

from __future__ import annotations

import contextlib
import os
import zlib

import numpy as np
import torch

from dimcurse.errors import DimcurseError

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; ``cpu``, ``cuda`` and ``cuda:N`` are checked to exist."""
    spec = str(spec).strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DimcurseError(f"{spec!r} was asked for but torch sees no CUDA device", "--device")
        try:
            device = torch.device(spec)
        except RuntimeError:
            raise DimcurseError(f"{spec!r} is not a device (use auto, cpu, cuda or cuda:N)", "--device") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DimcurseError(f"{spec!r}: only {torch.cuda.device_count()} CUDA device(s) are present", "--device")
        return device
    raise DimcurseError(f"{spec!r} is not a device (use auto, cpu, cuda or cuda:N)", "--device")


def resolve_dtype(name: str) -> torch.dtype:
    """``float32`` or ``float64``."""
    try:
        return DTYPES[str(name).strip().lower()]
    except KeyError:
        raise DimcurseError(f"{name!r} is not a dtype (use float32 or float64)", "--dtype") from None


def derive_seed(seed: int, *stream: object) -> int:
    """A 63-bit seed for one random stream, derived from the user's seed and the stream's name.

    Each (seed, dim, purpose) gets an independent stream, so adding a dimension to a
    sweep never changes the numbers of the others. ``zlib.crc32`` (not ``hash``) keeps
    the derivation stable across processes.
    """
    words = [int(seed)] + [zlib.crc32(repr(part).encode()) for part in stream]
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0] >> 1)


def generator(seed: int, *stream: object) -> torch.Generator:
    """A CPU ``torch.Generator`` for one stream.

    Data are always drawn on the CPU and then moved, so CPU and CUDA runs of the same
    seed see the same points.
    """
    return torch.Generator(device="cpu").manual_seed(derive_seed(seed, *stream))


def numpy_rng(seed: int, *stream: object) -> np.random.Generator:
    """A numpy ``Generator`` for one stream (sub-sampling real data sets)."""
    return np.random.default_rng(derive_seed(seed, *stream))


# Torch threads on the CPU. One by default: two threads stall at every OpenMP barrier when anything else runs
# on a 2-core machine (2x slower than one thread with one busy process beside them, 8-37x on a loaded machine:
# docs/reliability.md section 8), while on a quiet machine a second thread gained 1.41x. One thread also
# makes a table independent of how busy the machine was.
DEFAULT_THREADS = 1


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_threads(threads: int | None, option: str = "--threads", load: float | None = None) -> tuple[int, str | None]:
    """The thread count to use and a warning (None when there is none): below 1 is an error, above the cores
    available a warning (oversubscribed threads wait on each other), and so is more than one thread where the
    load already leaves fewer cores free than threads (``load``: the 1-minute load average, read when None)."""
    threads = DEFAULT_THREADS if threads is None else threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise DimcurseError(f"must be a whole number of at least 1, got {threads!r}", option)
    cores = available_cores()
    if threads > cores:
        return threads, f"warning: {option} {threads} is more than the {cores} core(s) available; threads will wait"
    load = load_average() if load is None else load
    if threads > 1 and load is not None and cores - load < threads:
        return threads, (
            f"warning: {option} {threads} on a machine whose load ({load:.1f} on {cores} cores) leaves fewer than "
            f"{threads} free: threads stall at each barrier while a core is busy (measured here 2x slower than one "
            "thread with one busy process beside them, 8-37x under more load; docs/reliability.md section 8); "
            f"{option} 1 is the safe choice"
        )  # fmt: skip
    return threads, None


def load_average() -> float | None:
    """The 1-minute load average (runnable processes, this one's not yet counted), or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Run a block with ``threads`` torch threads (None: DEFAULT_THREADS), restoring the previous count."""
    count, _ = check_threads(threads)
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def float32_policy(tf32: bool = False):
    """Run a block with TF32 off (float32 that means float32: 24-bit mantissas in CUDA matmuls and cuDNN
    convolutions) unless ``tf32``; cuDNN allows TF32 by default, which cost the CNN's batched-against-alone
    agreement 4.5e-3 on an H200. Restores the previous settings. A no-op on the CPU, where TF32 does not exist."""
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(tf32)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def float32_state() -> dict:
    """What the provenance records: TF32 in CUDA matmuls and in cuDNN, and cuDNN's version (None without)."""
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
        "cudnn": cudnn,
    }
