"""Injected faults: interruptions of a batch at random moments, full disks and read-only folders.

``DIMCURSE_FAULT_ROUNDS`` sets how many interruptions the batch test injects (default 4;
docs/reliability.md used 30); the moments come from a seeded generator, so a run is repeatable.
The real full-disk and read-only tests mount a small tmpfs (root only); they are skipped
where that is not allowed, and the simulated ones beside them always run.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from dimcurse import results as results_module
from dimcurse import store as store_module
from dimcurse.batch import run_batch
from dimcurse.errors import DimcurseError
from dimcurse.store import LOG, Store, read_records
from dimcurse.sweep import load_sweep

ROUNDS = int(os.environ.get("DIMCURSE_FAULT_ROUNDS", "4"))

SWEEP = """
[[experiment]]
name = "faults"
kernel = "distance"
[experiment.fixed]
n_points = 100000
n_queries = 200
id_points = 500
[experiment.grid]
dims = [20, 60, 120, 240]
seeds = SEEDS
"""
# Enough work per point (~0.16 s each here, 5 s for the 32: with 6,000 points the whole sweep took 0.8 s once
# glibc stopped returning pages, and every round landed before or after it) that rounds land mid-run.
N_SEEDS = max(6, 2 * ROUNDS)
N_POINTS = 4 * N_SEEDS
SWEEP = SWEEP.replace("SEEDS", str(list(range(N_SEEDS))))


def _table(store) -> pd.DataFrame:
    rows = [dict(row, key=record["key"]) for record in read_records(store).values() for row in record["rows"]]
    frame = pd.DataFrame(rows).drop(columns=["elapsed_s"], errors="ignore")
    return frame.sort_values(["dim", "seed"]).reset_index(drop=True)


def _lines_are_whole(store) -> list[dict]:
    """Every line of the store but a possibly partial last one is a whole JSON record."""
    path = store / LOG
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    whole = [json.loads(line) for line in lines[:-1]]
    if lines[-1]:
        with pytest.raises(ValueError):
            json.loads(lines[-1])  # a kill inside a write: the readers name it, the next writer moves it aside
    return whole


@pytest.mark.slow
def test_random_kills_and_ctrl_c_then_resume_give_exactly_the_uninterrupted_rows(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP)
    reference = tmp_path / "reference"
    run_batch(load_sweep(sweep), reference)
    store = tmp_path / "interrupted"
    command = [sys.executable, "-m", "dimcurse", "batch", str(sweep), "--store", str(store), "--device", "cpu"]
    rng = random.Random(7)
    log = []
    for round_ in range(ROUNDS):
        sig = (signal.SIGKILL, signal.SIGINT)[round_ % 2]
        delay = rng.uniform(0.5, 8.0)  # start-up (imports, store) is ~3 s of it: some land before any point
        proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(delay)
        proc.send_signal(sig)
        code = proc.wait()
        err = proc.stderr.read().decode()
        if code == 0:
            break  # it finished before the signal came
        assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130), (round_, sig.name, delay, code, err, log)
        assert "Traceback" not in err, err
        records = _lines_are_whole(store)
        keys = [r["key"] for r in records]
        assert len(keys) == len(set(keys)), "a point recorded twice"
        assert all(r["status"] == "done" for r in records)
        log.append((sig.name, round(delay, 2), len(keys)))
    assert any(0 < done < N_POINTS for _, _, done in log), log  # at least one landed between points
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    records = _lines_are_whole(store)
    assert len(records) == N_POINTS and len({r["key"] for r in records}) == N_POINTS, log
    pd.testing.assert_frame_equal(_table(store), _table(reference))
    print("interruptions (signal, seconds after start, points in the store):", log)


# --------------------------------------------------------------------------- write failures


DISTANCE = ["distance", "--dims", "3", "--points", "60", "--queries", "5", "--id-points", "0", "--quiet"]


def _fill(folder, leave: int = 0) -> None:
    """Fill the file system of ``folder`` to within ``leave`` bytes."""
    with open(folder / "filler", "wb", buffering=0) as handle:
        block = b"\0" * 4096
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
    if leave:
        size = (folder / "filler").stat().st_size
        os.truncate(folder / "filler", max(0, size - leave))


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (root only): a real disk to fill and to make read-only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root); the simulated faults still run")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _previous_result(cli, folder):
    """A first result (and sidecar) written to ``folder``: its path and every file's bytes."""
    out = folder / "rows.csv"
    assert cli(*DISTANCE, "--seeds", "1", "--out", str(out))[0] == 0
    return out, {p.name: p.read_bytes() for p in folder.iterdir()}


def _assert_refused_and_intact(code, out, err, folder, before, reason):
    """Exit 2 and one error line naming the reason; the table is on stdout (nothing computed is lost)."""
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: --out"), err
    assert "dimcurse distance" in out  # the table was shown before the write was tried
    assert reason in lines[0], err
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "filler"} == before  # old files intact
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_full_disk_keeps_the_previous_result_and_says_so(cli, small_disk):
    out, before = _previous_result(cli, small_disk)
    _fill(small_disk)
    code, stdout, err = cli(*DISTANCE, "--seeds", "2", "--out", str(out))
    _assert_refused_and_intact(code, stdout, err, small_disk, before, "No space left on device")


def test_full_disk_between_result_and_provenance_keeps_both_old(cli, small_disk):
    out, before = _previous_result(cli, small_disk)
    _fill(small_disk, leave=len(before["rows.csv"]) + 2048)  # room for a new table, not for its sidecar too
    code, stdout, err = cli(*DISTANCE, "--seeds", "2", "--out", str(out))
    _assert_refused_and_intact(code, stdout, err, small_disk, before, "No space left on device")


def test_read_only_folder_is_refused_before_the_run(cli, small_disk):
    out, before = _previous_result(cli, small_disk)
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    code, stdout, err = cli(*DISTANCE, "--seeds", "2", "--out", str(out))
    assert code == 2 and stdout == "" and err.startswith("error: --out") and "is not writable" in err, err
    assert {p.name: p.read_bytes() for p in small_disk.iterdir()} == before


def test_folder_that_becomes_read_only_during_the_run(cli, small_disk, monkeypatch):
    from dimcurse.experiments.distance import kernel as distance

    out, before = _previous_result(cli, small_disk)
    real_run = distance.run

    def run_then_remount(*args, **kwargs):
        result = real_run(*args, **kwargs)
        assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
        return result

    monkeypatch.setattr(distance, "run", run_then_remount)
    code, stdout, err = cli(*DISTANCE, "--seeds", "2", "--out", str(out))
    _assert_refused_and_intact(code, stdout, err, small_disk, before, "Read-only file system")


@pytest.mark.parametrize("call, failure", [("fsync", errno.ENOSPC), ("replace", errno.EROFS), ("write", errno.EIO)])
def test_simulated_write_failures_keep_the_previous_result(cli, tmp_path, monkeypatch, call, failure):
    out, before = _previous_result(cli, tmp_path)

    def broken(*args, **kwargs):
        raise OSError(failure, os.strerror(failure))

    if call == "write":
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                raise OSError(failure, os.strerror(failure))

        monkeypatch.setattr(results_module.os, "fdopen", lambda fd, mode: Failing(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(results_module.os, call, broken)
    code, stdout, err = cli(*DISTANCE, "--seeds", "2", "--out", str(out))
    monkeypatch.undo()
    _assert_refused_and_intact(code, stdout, err, tmp_path, before, os.strerror(failure))


@pytest.mark.slow
def test_store_on_a_full_disk_keeps_whole_lines_and_resumes(small_disk, tmp_path):
    sweep = tmp_path / "sweep.toml"
    # whole lines on a full disk need records, not work: 300 points each (the kill test's 100,000 are for timing)
    small = SWEEP.replace("n_points = 100000", "n_points = 300").replace("id_points = 500", "id_points = 0")
    assert small != SWEEP
    sweep.write_text(small)
    points = load_sweep(sweep)
    reference = tmp_path / "reference"
    run_batch(points, reference)
    store = small_disk / "store"
    run_batch(points[:3], store)
    _fill(small_disk)  # a record may still fit in the slack of the log's last page; a few more cannot
    with pytest.raises(DimcurseError, match="No space left on device"):
        run_batch(points, store)
    kept = len(_lines_are_whole(store))
    assert 3 <= kept < N_POINTS and (store / LOG).read_bytes().endswith(b"\n"), kept  # whole lines, no fragment
    (small_disk / "filler").unlink()
    run_batch(points, store)
    pd.testing.assert_frame_equal(_table(store), _table(reference))


def test_a_short_write_to_the_store_is_cut_back(tmp_path, monkeypatch):
    store = Store.open(tmp_path / "s")
    store.append({"key": "a", "status": "done"})
    real_write = os.write
    monkeypatch.setattr(store_module.os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    with pytest.raises(DimcurseError, match="--store"):
        store.append({"key": "b", "status": "done", "rows": list(range(100))})
    monkeypatch.undo()
    store.close()
    assert (tmp_path / "s" / LOG).read_text() == '{"key": "a", "status": "done"}\n'
