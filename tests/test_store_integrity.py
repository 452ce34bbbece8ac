"""Stores never lose a point in silence: ten ways to damage points.jsonl, each named by every reader (report,
compare, plot, batch's resume), report refusing without --skip-bad, and batch moving the damaged lines aside
and running their points again, without losing a readable point."""

from __future__ import annotations

import json
import os

import pytest

from dimcurse.batch import run_batch
from dimcurse.report import report, store_info
from dimcurse.store import LOG, QUARANTINE, read_records, read_store
from dimcurse.sweep import load_sweep

from tests.helpers import assert_clean_error

SWEEP = """
[[experiment]]
name = "small"
kernel = "overparam"
[experiment.fixed]
model = "linear"
n_train = 40
n_test = 40
widths = [20, 60]
[experiment.grid]
seeds = [0, 1, 2, 3]
"""
POINTS = 4


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store")
    sweep = folder / "sweep.toml"
    sweep.write_text(SWEEP)
    run_batch(load_sweep(sweep), folder / "s")
    return folder / "s", sweep


def _lines(store) -> list[bytes]:
    return (store / LOG).read_bytes().splitlines(keepends=True)


def _record(line: bytes) -> dict:
    return json.loads(line)


def _json(record: dict) -> bytes:
    return json.dumps(record).encode() + b"\n"


def _last(**changes):
    """The damage that rewrites the last record with ``changes`` (a value None drops the field)."""

    def damage(lines):
        record = {**_record(lines[-1]), **changes}
        return lines[:-1] + [_json({k: v for k, v in record.items() if v is not None})]

    return damage


def _garbled(lines):
    return [lines[0][:40] + b"\x00garbage" + lines[0][40:]] + lines[1:]


# Each damage: (name, function from the clean lines to the damaged ones, the words a reader names it by, how
# many of the four points stay readable). Duplicates are not damage: they get a note, not an error.
DAMAGES = [
    ("truncated last line", lambda ls: ls[:-1] + [ls[-1][: len(ls[-1]) // 2]], "no line end", 3),
    ("garbage inside a line", _garbled, "not JSON", 3),
    ("random bytes", lambda ls: [os.urandom(5000).replace(b"\n", b"x") + b"\n"], "not JSON", 0),
    ("an empty line", lambda ls: ls[:2] + [b"\n"] + ls[2:], "an empty line", 4),
    ("a JSON list", lambda ls: ls + [b"[1, 2, 3]\n"], "not a point record", 4),
    ("a record without its key", _last(key=None), "without key", 3),
    ("a kernel not installed", _last(kernel="nosuch"), "not installed", 3),
    ("a newer version", _last(kernel_version=999), "newer dimcurse", 3),
    ("rows of another kernel", _last(kernel="distance"), "not distance rows", 3),
    ("a bad status", _last(status="maybe"), "status", 3),
]


@pytest.mark.parametrize("case", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_no_damage_is_silent_and_no_readable_point_is_lost(clean_store, tmp_path, cli, case):
    _, damage, words, readable = case
    source, sweep = clean_store
    store = tmp_path / "s"
    store.mkdir()
    (store / LOG).write_bytes(b"".join(damage(_lines(source))))
    # report refuses, naming the file, the line and why, and what to do
    code, out, err = cli("report", str(store))
    assert_clean_error(code, out, err, "STORE")
    assert "points.jsonl" in err and "line " in err and words in err and "--skip-bad" in err and "batch" in err
    # --skip-bad reports the readable points, with the same words in a note
    code, out, err = cli("report", str(store), "--skip-bad", "--rows", "--out", str(tmp_path / "rows.csv"))
    if readable:
        assert code == 0 and words in err.replace("\n", ""), err
        assert len(report(str(store), skip_bad=True)[0].rows.drop_duplicates(["seed"])) == readable
    else:
        assert code == 2 and "No point could be read" in err
    # compare and plot name them too
    if readable:
        code, out, err = cli("compare", str(source), str(store))
        assert words in (out + err).replace("\n", ""), (out, err)
        code, out, err = cli("plot", str(store), "--out", str(tmp_path / "f.png"))
        assert code == 0 and words in err.replace("\n", ""), err
    # info names every unreadable line; batch --dry-run says so too (it moves nothing)
    code, out, err = cli("info", str(store))
    assert code == 0 and words in out.replace("\n", "") and "unreadable: " in out, out
    table, _ = store_info(str(store))
    assert table.done.sum() + table.failed.sum() == readable, table
    code, out, err = cli("batch", str(sweep), "--store", str(store), "--dry-run")
    assert code == 0 and words in err.replace("\n", "") and not (store / QUARANTINE).exists(), err
    # batch moves the damaged lines aside, says so, and runs the lost points again: the store is whole
    code, out, err = cli("batch", str(sweep), "--store", str(store), "--quiet")
    err = err.replace("\n", "")  # the console wraps long paths inside a word
    assert code == 0 and QUARANTINE in err and words in err, err
    aside = (store / QUARANTINE).read_bytes()
    assert aside.count(b'"why"') >= 1 and words.encode() in aside
    contents = read_store(store)
    assert not contents.bad and len(contents.latest) == POINTS
    assert sorted(read_records(store)) == sorted(read_records(source))
    code, out, _ = cli("info", str(store))
    assert code == 0 and "unreadable" not in out and "moved aside by an earlier batch" in out.replace("\n", "")


def test_a_point_stored_twice_gets_a_note_and_the_latest_line_wins(clean_store, tmp_path, cli):
    source, _ = clean_store
    store = tmp_path / "s"
    store.mkdir()
    lines = _lines(source)
    (store / LOG).write_bytes(b"".join(lines + lines[:1]))
    code, out, err = cli("report", str(store))
    assert code == 0 and "1 line(s) repeat a point" in out + err


def test_info_of_a_whole_store_counts_its_points_rows_and_failures(clean_store, tmp_path, cli):
    source, _ = clean_store
    code, out, err = cli("info", str(source))
    assert code == 0, err
    assert "small" in out and "overparam" in out and " UTC" in out and "unreadable" not in out
    assert f"{POINTS} point(s)" in out
    store = tmp_path / "s"
    store.mkdir()
    lines = _lines(source)
    failed = {**_record(lines[0]), "status": "failed", "error": "training diverged in 2 model(s)", "rows": []}
    (store / LOG).write_bytes(b"".join(lines[1:]) + _json(failed))
    code, out, _ = cli("info", str(store))
    assert code == 0 and "failed: small seeds=" in out and "training diverged in 2 model(s)" in out
    code, out, err = cli("info", str(tmp_path / "nowhere"))
    assert_clean_error(code, out, err, "STORE")
