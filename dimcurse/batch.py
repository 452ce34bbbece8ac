"""Batch runs: every point of a sweep through an executor, each finished one into the store.

Executors run ``run_point`` somewhere — ``serial`` (this process), ``processes`` (a
local pool) or ``dask`` (an existing Dask cluster) — and hand outcomes back; only this
coordinating process writes the store, so workers never race on it. A point that raises
or whose training diverges is recorded as failed (with its error, and its rows if it
had any) and the sweep goes on; ``retries`` resubmits failed points.

Threads: a pool of W workers on C cores gives each worker max(1, C // W) torch threads,
so the pool never oversubscribes the cores (two threads stall badly on a loaded
machine; PERFORMANCE.md). Each Dask worker, which runs as many points at once as it has
task threads T, sets torch to max(1, C // T) threads on its own machine's C cores. The
serial executor keeps this process's setting.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Callable, Iterator

import torch

from dimcurse.errors import DimcurseError
from dimcurse.experiments import REGISTRY, run_kernel
from dimcurse.memory import OUT_OF_MEMORY, out_of_memory_message
from dimcurse.runtime import resolve_device
from dimcurse.results import pack_table
from dimcurse.report import unreadable_record
from dimcurse.store import QUARANTINE, Store, read_records
from dimcurse.sweep import Point

EXECUTORS = ("serial", "processes", "dask")


def run_point(kernel: str, config, device: str) -> dict:
    """Run one point: its rows (records), provenance and wall time. Runs in a worker.

    ``device`` is resolved here, on the worker (``auto`` means that machine's GPU if any).
    """
    started = time.perf_counter()
    # The worker's own thread count (set by the executor for its share of the cores).
    result = run_kernel(REGISTRY[kernel], config, resolve_device(device), threads=torch.get_num_threads())
    rows = result.rows
    diverged = int(rows["diverged"].sum()) if "diverged" in rows else 0
    tables = {name: pack_table(table) for name, table in result.tables.items()}
    return {
        "rows": rows.to_dict(orient="records"),
        "provenance": result.provenance,
        "tables": tables,
        "elapsed_s": round(time.perf_counter() - started, 3),
        "diverged": diverged,
    }


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _dask_worker_threads(dask_worker=None) -> int:
    """On each Dask worker (``client.run`` passes it in): torch threads = cores // its task threads (at least 1)."""
    worker = dask_worker
    slots = getattr(getattr(worker, "state", None), "nthreads", None) or getattr(worker, "nthreads", 1)
    threads = max(1, (os.cpu_count() or 1) // max(1, int(slots)))
    torch.set_num_threads(threads)
    return threads


def _serial(points: list[Point], device: str) -> Iterator[tuple[Point, dict | BaseException]]:
    for point in points:
        try:
            yield point, run_point(point.kernel, point.config, device)
        except Exception as exc:  # recorded, and the sweep goes on
            yield point, exc


def _processes(
    points: list[Point], device: str, workers: int, threads: int | None = None
) -> Iterator[tuple[Point, dict | BaseException]]:
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    # spawn, not fork: a forked child of a process that has run torch's thread pool can hang.
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(threads,))
    try:
        futures = {pool.submit(run_point, p.kernel, p.config, device): p for p in points}
        for future in as_completed(futures):
            exc = future.exception()
            yield futures[future], exc if exc is not None else future.result()
    except BaseException:
        # Ctrl-C or an error here: do not wait for the points in flight (their results would be lost anyway).
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def check_executor(executor: str, workers: int = 2, scheduler: str | None = None, device: str = "cpu") -> str | None:
    """Refuse what cannot run before anything is written; returns the Dask scheduler address (if dask).

    The device is checked here for the local executors; a Dask cluster's workers resolve
    it on their own machines.
    """
    if executor not in EXECUTORS:
        raise DimcurseError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})", "--executor")
    if workers < 1:
        raise DimcurseError(f"must be at least 1, got {workers}", "--workers")
    if executor != "dask":
        resolve_device(device)
        return None
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise DimcurseError("the dask executor needs distributed: pip install 'dimcurse[dask]'", "--executor") from None
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        raise DimcurseError(
            "give the cluster's address (--scheduler tcp://HOST:PORT or DASK_SCHEDULER_ADDRESS)", "--scheduler"
        )
    return address


def _dask(points: list[Point], device: str, address: str) -> Iterator[tuple[Point, dict | BaseException]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise DimcurseError(f"cannot reach the Dask scheduler at {address}: {exc}", "--scheduler") from None
    try:
        client.run(_dask_worker_threads)
        futures = {
            client.submit(run_point, p.kernel, p.config, device, pure=False, key=f"dimcurse-{p.key}"): p for p in points
        }
        for future in dask_completed(list(futures)):
            try:
                yield futures[future], future.result()
            except Exception as exc:
                yield futures[future], exc
    finally:
        client.close()


def execute(
    points: list[Point],
    executor: str,
    device: str,
    workers: int = 2,
    scheduler: str | None = None,
    threads: int | None = None,
):
    """Outcomes of ``points`` as they finish: (point, result dict or the exception it raised). ``threads``:
    each process worker's torch threads (None: cores // workers)."""
    address = check_executor(executor, workers, scheduler, device)
    if executor == "serial":
        return _serial(points, device)
    if executor == "processes":
        return _processes(points, device, workers, threads)
    return _dask(points, device, address)


@dataclass
class BatchReport:
    """What a batch did: counts, and the failed points with their errors."""

    total: int
    skipped: int
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    last: tuple[str, str, float | None] | None = None
    """The point finished last: its label, status and elapsed seconds (None before the first)."""
    quarantined: str = ""
    """What was moved out of the store before the run (its unreadable lines), in words; "" when nothing."""


def status(points: list[Point], folder) -> dict[str, str]:
    """Per point key: ``done``, ``failed`` or ``pending`` according to the store."""
    records = read_records(folder)
    return {p.key: records[p.key]["status"] if p.key in records else "pending" for p in points}


def _record(point: Point, outcome, device: str, attempt: int) -> dict:
    base = {
        "key": point.key,
        "experiment": point.experiment,
        "kernel": point.kernel,
        "kernel_version": REGISTRY[point.kernel].VERSION,
        "axes": dict(point.axes),
        "config": point.config_json(),
        "device": device,
        "attempt": attempt,
    }
    if isinstance(outcome, BaseException):
        if isinstance(outcome, OUT_OF_MEMORY):
            error = out_of_memory_message(outcome)
        else:
            error = " ".join(traceback.format_exception_only(type(outcome), outcome)[-1].split())
        return {**base, "status": "failed", "error": error, "rows": [], "provenance": None, "elapsed_s": None}
    error = f"training diverged in {outcome['diverged']} model(s)" if outcome["diverged"] else None
    return {
        **base,
        "status": "failed" if error else "done",
        "error": error,
        "rows": outcome["rows"],
        "tables": outcome.get("tables", {}),
        "provenance": outcome["provenance"],
        "elapsed_s": outcome["elapsed_s"],
    }


def run_batch(
    points: list[Point],
    folder,
    *,
    executor: str = "serial",
    device: str = "cpu",
    workers: int = 2,
    scheduler: str | None = None,
    force: bool = False,
    retries: int = 0,
    progress: Callable[[BatchReport], None] | None = None,
    threads: int | None = None,
) -> BatchReport:
    """Run every point not yet done (all with ``force``), appending each outcome to the store as it arrives.
    ``threads``: torch threads of each process worker (None: cores // workers)."""
    check_executor(executor, workers, scheduler, device)
    if retries < 0:
        raise DimcurseError(f"must be at least 0, got {retries}", "--retries")
    store = Store.open(folder, check=unreadable_record)
    try:
        done = {k for k, s in status(points, folder).items() if s == "done"}
        todo = [p for p in points if force or p.key not in done]
        report = BatchReport(total=len(points), skipped=len(points) - len(todo))
        if store.quarantined is not None:
            report.quarantined = (
                f"{store.quarantined.describe_bad()}: moved to {Path(folder) / QUARANTINE}; this sweep's points "
                "among them run again"
            )
        if progress is not None:
            progress(report)
        for attempt in range(retries + 1):
            retry = []
            for point, outcome in execute(todo, executor, device, workers, scheduler, threads):
                record = _record(point, outcome, device, attempt)
                if record["status"] == "failed" and attempt < retries:
                    retry.append(point)
                    continue
                store.append(record)
                report.last = (point.label(), record["status"], record["elapsed_s"])
                if record["status"] == "done":
                    report.done += 1
                else:
                    report.failed.append((point.label(), record["error"]))
                if progress is not None:
                    progress(report)
            if not retry:
                break
            todo = retry
        return report
    finally:
        store.close()
