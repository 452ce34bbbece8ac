"""Batch runs: sweep files, the store (kill and resume, locking), executors, failures, report, compare."""

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from dimcurse.batch import run_batch
from dimcurse.report import compare, report
from dimcurse.store import LOG, QUARANTINE, Store, read_records, read_store
from dimcurse.sweep import load_sweep

from tests.helpers import assert_clean_error

SWEEP = """
[[experiment]]
name = "curse"
kernel = "distance"
[experiment.fixed]
n_points = 1500
n_queries = 40
id_points = 0
[experiment.grid]
dims = [2, 10, 100]
metrics = ["l2", "l1"]
seeds = [0, 1]

[[experiment]]
name = "dd"
kernel = "overparam"
[experiment.fixed]
model = "linear"
n_train = 60
n_test = 60
widths = [30, 55, 65, 120]
[experiment.grid]
seeds = [0, 1, 2]
"""
N_POINTS = 3 * 2 * 2 + 3


def _sweep(tmp_path, text=SWEEP, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(folder):
    """Every stored row with its point key, timing columns dropped (wall times differ run to run)."""
    frames = []
    for key, record in sorted(read_records(folder).items()):
        frame = pd.DataFrame(record["rows"])
        frame.insert(0, "key", key)
        frames.append(frame.drop(columns=[c for c in frame if c.endswith("_s")]))
    return pd.concat(frames, ignore_index=True)


def test_grid_expansion_keys_and_types(tmp_path):
    points = load_sweep(_sweep(tmp_path))
    assert len(points) == N_POINTS and len({p.key for p in points}) == N_POINTS
    first = points[0]
    assert first.config.dims == (2,) and first.config.metrics == ("l2",) and first.config.seeds == (0,)
    assert first.label() == "curse: dims=2, metrics=l2, seeds=0" and first.config.n_points == 1500
    assert [p.key for p in load_sweep(_sweep(tmp_path))] == [p.key for p in points]  # stable across loads
    assert points[-1].config.widths == (30, 55, 65, 120)


BAD_SWEEPS = [
    ("[[experiment]\nkernel = 'distance'", "not valid TOML", None),
    ("[[experiment]]\nname = 'x'\nkernel = 'nope'", "unknown kernel 'nope'", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\n[experiment.fixed]\ndimz = [2]", "unknown key 'dimz'", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\n[experiment.fixed]\nn_points = 'many'", "key 'n_points'", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\n[experiment.grid]\ndims = [2, 'ten']", "key 'dims'", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\n[experiment.grid]\nn_points = [100, 0]", "--points", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\n[experiment.grid]\nseeds = 3", "grid key 'seeds'", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\n[experiment.fixed]\nk = true", "key 'k'", "'x'"),
    ("[[experiment]]\nname = 'x'\nkernel = 'distance'\nextra = 1", "unknown key 'extra'", "#1"),
    ("title = 'no experiments'", "unknown top-level key", None),
]


@pytest.mark.parametrize("text, expected, experiment", BAD_SWEEPS, ids=[b[1] for b in BAD_SWEEPS])
def test_malformed_sweeps_are_one_line_naming_file_experiment_and_key(
    cli, tmp_path, monkeypatch, text, expected, experiment
):
    path = _sweep(tmp_path, text, "bad.toml")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = cli("batch", str(path), "--quiet")
    assert_clean_error(code, out, err, expected, work)  # nothing ran: no store was created
    assert "bad.toml" in err and (experiment is None or experiment in err)


def test_serial_run_then_rerun_skips_and_force_reruns(tmp_path):
    points = load_sweep(_sweep(tmp_path))
    store = tmp_path / "s"
    first = run_batch(points, store)
    assert first.done == N_POINTS and first.skipped == 0 and not first.failed
    again = run_batch(points, store)
    assert again.done == 0 and again.skipped == N_POINTS
    forced = run_batch(points[:2], store, force=True)
    assert forced.done == 2
    assert len((store / LOG).read_text().splitlines()) == N_POINTS + 2 and len(read_records(store)) == N_POINTS


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "ctrl-c"])
def test_killed_mid_run_then_resumed_gives_exactly_the_uninterrupted_rows(tmp_path, sig):
    path = _sweep(tmp_path)
    reference = tmp_path / "reference"
    run_batch(load_sweep(path), reference)
    store = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "dimcurse",
        "batch",
        str(path),
        "--store",
        str(store),
        "--quiet",
        "--device",
        "cpu",
    ]
    # A background job may inherit SIGINT ignored; restore the default so Python installs its Ctrl-C handler.
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(read_records(store)) < 3:
        time.sleep(0.05)
    proc.send_signal(sig)
    assert proc.wait() == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    finished = len(read_records(store))
    assert 3 <= finished < N_POINTS, "the kill must land mid-run"
    if sig == signal.SIGINT:  # a Ctrl-C says what was kept, and how to go on
        assert proc.stderr.read().strip() == (
            f"interrupted: {finished} of {N_POINTS} points saved in {store}; run the same command to resume"
        )
    with open(store / LOG, "ab") as handle:
        handle.write(b'{"key": "half-writ')  # what a kill inside a write leaves behind
    contents = read_store(store)  # the partial line is named, not read
    assert len(contents.latest) == finished and [b.why for b in contents.bad] == [
        "no line end (a write that was interrupted)"
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert (
        done.returncode == 0
        and "unreadable" in done.stderr
        and (store / QUARANTINE).read_text().endswith('{"key": "half-writ\n')
    )  # moved aside, not lost
    lines = (store / LOG).read_text().splitlines()
    assert len(lines) == N_POINTS and all(
        json.loads(line)["status"] == "done" for line in lines
    )  # none lost, none twice
    pd.testing.assert_frame_equal(_table(store), _table(reference))


@pytest.mark.slow
def test_processes_and_dask_executors_match_serial(tmp_path):
    distributed = pytest.importorskip("distributed")
    points = load_sweep(_sweep(tmp_path))
    run_batch(points, tmp_path / "serial")
    run_batch(points, tmp_path / "processes", executor="processes", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_batch(points, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    serial = _table(tmp_path / "serial")
    pd.testing.assert_frame_equal(_table(tmp_path / "processes"), serial)
    pd.testing.assert_frame_equal(_table(tmp_path / "dask"), serial)


# Points of about a second each: a worker killed after the first one finishes is still busy with another.
CLUSTER_SWEEP = """
[[experiment]]
name = "slow"
kernel = "overparam"
[experiment.fixed]
data = "teacher"
n_train = 800
n_test = 500
widths = [400, 800, 1600, 3200]
[experiment.grid]
seeds = [0, 1, 2, 3, 4, 5]
"""


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_real_scheduler_and_two_workers_lose_one_to_sigkill_and_the_rows_stay_exact(tmp_path):
    """Issue 26: a `dask scheduler` and two `dask worker` processes on 127.0.0.1, not a LocalCluster; one
    worker is killed (SIGKILL) mid-run and its points are rerun on the other; every process is stopped."""
    distributed = pytest.importorskip("distributed")
    sweep = _sweep(tmp_path, CLUSTER_SWEEP, "cluster.toml")
    run_batch(load_sweep(sweep), tmp_path / "serial")
    file, store, started = tmp_path / "scheduler.json", tmp_path / "cluster", []

    def start(*args):
        log = open(tmp_path / f"process-{len(started)}.log", "wb")
        started.append(subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT))
        return started[-1]

    try:
        start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(file))  # fmt: skip
        _wait_for(file.exists, 60, "the scheduler file")
        address = json.loads(file.read_text())["address"]
        workers = [
            start(
                "distributed.cli.dask_worker",
                "--scheduler-file",
                str(file),
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                name,
                "--death-timeout",
                "60",
            )  # fmt: skip
            for name in ("w0", "w1")
        ]
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        batch = start("dimcurse", "batch", str(sweep), "--store", str(store), "--executor", "dask",
                      "--scheduler", address, "--quiet")  # fmt: skip
        log = store / LOG
        _wait_for(lambda: log.exists() and log.read_text().count("\n") >= 1 or batch.poll() is not None, 120, "a row")
        done = log.read_text().count("\n")
        assert batch.poll() is None and done < 6, "the run ended before the kill: make the points slower"
        workers[0].send_signal(signal.SIGKILL)
        assert batch.wait(timeout=180) == 0, (tmp_path / "process-3.log").read_text()
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    records = [json.loads(line) for line in (store / LOG).read_text().splitlines()]
    assert len(records) == 6 and all(r["status"] == "done" for r in records)  # none lost, none twice
    pd.testing.assert_frame_equal(_table(store), _table(tmp_path / "serial"))
    assert all(p.returncode is not None for p in started)
    scheduler_log = (tmp_path / "process-0.log").read_text()
    assert re.search(r"Remove worker addr: \S+ name: w0", scheduler_log)  # the scheduler saw the kill mid-run


FAILING = """
[[experiment]]
name = "ok"
kernel = "overparam"
[experiment.fixed]
model = "linear"
n_train = 40
n_test = 40
widths = [20, 80]
[experiment.grid]
seeds = [0, 1]

[[experiment]]
name = "raises"
kernel = "overparam"
[experiment.fixed]
data = "mnist:/nonexistent/folder"
widths = [10]

[[experiment]]
name = "diverges"
kernel = "approx"
[experiment.fixed]
widths = [16]
steps = 30
n_samples = 100
n_test = 100
seeds = [0]
optimizer = "adam"
lr = 1e6
"""


def test_a_raising_point_and_a_diverging_one_are_recorded_and_the_rest_completes(cli, tmp_path):
    path = _sweep(tmp_path, FAILING)
    code, out, err = cli(
        "batch", str(path), "--store", str(tmp_path / "s"), "--quiet", "--device", "cpu", "--retries", "1"
    )
    assert code == 1
    records = {r["experiment"]: r for r in read_records(tmp_path / "s").values()}
    assert sum(r["status"] == "done" for r in read_records(tmp_path / "s").values()) == 2
    assert records["raises"]["status"] == "failed" and "no such folder" in records["raises"]["error"]
    assert records["raises"]["attempt"] == 1  # retried once, then recorded
    assert records["diverges"]["status"] == "failed" and "diverged" in records["diverges"]["error"]
    assert records["diverges"]["rows"]  # the rows are kept, flagged
    assert "2 run" in out and "2 failed" in out and "failed: raises" in out and "failed: diverges" in out


def test_a_second_batch_on_a_locked_store_is_refused(cli, tmp_path):
    path = _sweep(tmp_path)
    held = Store.open(tmp_path / "s")
    try:
        code, out, err = cli("batch", str(path), "--store", str(tmp_path / "s"), "--quiet")
        assert_clean_error(code, out, err, "in use by another batch process")
    finally:
        held.close()
    assert not (tmp_path / "s" / LOG).exists()


SLOW = """
[[experiment]]
name = "slow"
kernel = "distance"
[experiment.fixed]
dims = [100]
n_points = 20000
n_queries = 1000
id_points = 0
[experiment.grid]
seeds = {seeds}
""".format(seeds=list(range(200)))


@pytest.mark.slow
def test_two_real_batch_processes_on_one_store(tmp_path):
    path = _sweep(tmp_path, SLOW)  # 200 points: the first batch is still running when the second starts
    store = tmp_path / "shared"
    command = [
        sys.executable,
        "-m",
        "dimcurse",
        "batch",
        str(path),
        "--store",
        str(store),
        "--quiet",
        "--device",
        "cpu",
    ]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not read_records(store):
        time.sleep(0.05)
    second = subprocess.run(command, capture_output=True, text=True)
    assert first.poll() is None, "the first batch must still be running"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert second.returncode == 2 and "in use by another batch process" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    complete = (store / LOG).read_bytes().split(b"\n")[:-1]  # the kill may have cut a last line short
    records = [json.loads(line) for line in complete]
    assert len({r["key"] for r in records}) == len(records) >= 1  # whole lines, each point once


def test_report_filters_groups_and_writes(cli, tmp_path):
    points = load_sweep(_sweep(tmp_path))
    run_batch(points, tmp_path / "s")
    results = {r.kernel: r for r in report(str(tmp_path / "s"), ["metric=l2"])}
    assert set(results["distance"].rows.metric) == {"l2"} and len(results["distance"].rows) == 6
    code, out, _ = cli(
        "report",
        str(tmp_path / "s"),
        "--kernel",
        "distance",
        "--where",
        "dim=100",
        "--group-by",
        "metric",
        "--out",
        str(tmp_path / "r.csv"),
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "r.csv")
    assert table.metric.tolist() == ["l2", "l1"] and (table.n_seeds == 2).all() and "relative_contrast_mean" in table
    code, out, _ = cli("report", str(tmp_path / "s"))
    assert code == 0 and "dimcurse distance" in out and "dimcurse overparam" in out
    for args, option in (
        (["--where", "nope=1"], "--where"),
        (["--group-by", "nope"], "--group-by"),
        (["--kernel", "approx"], "--kernel"),
        (["--out", str(tmp_path / "x.csv")], "--kernel"),
    ):
        assert_clean_error(*cli("report", str(tmp_path / "s"), *args), option)


def test_compare_lines_up_settings_and_warns_on_differences(cli, tmp_path):
    points = load_sweep(_sweep(tmp_path))
    run_batch(points, tmp_path / "a")
    run_batch(points, tmp_path / "b")
    table, warnings = compare(str(tmp_path / "a"), str(tmp_path / "b"))
    measured = table[table.kind == "measured"].dropna(subset=["a_mean"])
    assert (measured["diff"] == 0).all() and warnings == [] and not measured["beyond_noise"].fillna(False).any()
    assert {"relative_contrast", "excess_risk", "elapsed_s"} <= set(table.quantity)
    assert set(table[table.kind == "timing"].quantity) == {c for c in table.quantity if c.endswith("_s")}
    # distance's own metric column (l1/l2) survives beside the quantity compared
    assert set(table[table.kernel == "distance"].metric) == {"l1", "l2"}
    assert {"a_sd", "a_n", "b_sd", "b_n"} <= set(table.columns)
    log = tmp_path / "b" / LOG
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    lines[0]["provenance"]["kernel_version"] = 99
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    code, out, err = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--kernel", "distance")
    assert code == 0 and "warning: distance: kernel version differ" in err and "B / A" in out
    assert_clean_error(*cli("compare", str(tmp_path / "a"), str(tmp_path / "nowhere")), "no such store")
    # two kernels in each store, equal runs: one line per kernel (issue 33: it printed 173 lines); --all prints
    # one table per kernel, each with its own settings only
    code, out, err = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0 and "distance: 36 quantities compared; none beyond the seed noise" in out
    assert "overparam: " in out and "compare distance: B = " not in out and len(out.splitlines()) < 10
    code, out, err = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--all")
    assert code == 0 and "compare distance: B = " in out and "compare overparam: B = " in out
    assert "timing distance run_elapsed_s: B / A = " in out and len(out.splitlines()) < 100


def test_a_batch_whose_stderr_is_a_log_writes_one_line_per_finished_point(cli, tmp_path):
    code, _, err = cli("batch", str(_sweep(tmp_path)), "--store", str(tmp_path / "s"))
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d batch ")  # each line starts with the local time
    lines = [line for line in err.splitlines() if stamp.match(line)]
    assert code == 0 and len(lines) == N_POINTS, err
    assert lines[0].split(" ", 2)[2].startswith(f"batch 1/{N_POINTS} [curse: ") and " done in " in lines[0]
    assert lines[-1].endswith(", 0 left") and f"{N_POINTS - 1} left, ETA " in lines[0]
    assert re.search(r"ETA \d\d:\d\d:\d\d \((< 1|\d+) s\)$", lines[0]), lines[0]
    code, _, err = cli("batch", str(_sweep(tmp_path)), "--store", str(tmp_path / "s"), "--quiet")
    assert code == 0 and "batch 1/" not in err


def test_compare_reads_result_files(cli, tmp_path):
    for name in ("a", "b"):
        code, _, _ = cli(
            "distance",
            "--dims",
            "5",
            "--points",
            "300",
            "--queries",
            "20",
            "--id-points",
            "0",
            "--seeds",
            "2",
            "--quiet",
            "--out",
            str(tmp_path / f"{name}.csv"),
        )
        assert code == 0
    table, warnings = compare(str(tmp_path / "a.csv"), str(tmp_path / "b.csv"))
    assert (table[table.quantity == "relative_contrast"]["ratio"] == 1.0).all() and warnings == []


@pytest.mark.parametrize(
    "args, option",
    [
        (["--retries", "-1"], "--retries"),
        (["--workers", "0"], "--workers"),
        (["--executor", "slurm"], "--executor"),
        (["--executor", "dask"], "--scheduler"),
        (["--store", "/proc/no/such"], "--store"),
        (["--device", "cuda:7"], "--device"),
    ],
)
def test_batch_option_errors(cli, tmp_path, monkeypatch, args, option):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    path = _sweep(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert_clean_error(*cli("batch", str(path), "--quiet", *args), option, work)  # refused before a store is made


def test_missing_sweep_file(cli, tmp_path):
    assert_clean_error(*cli("batch", str(tmp_path / "none.toml")), "no such sweep file")


def test_report_never_pools_a_setting_that_varies(cli, tmp_path):
    """Issue: --group-by metric on a store swept over d pooled three dimensions under d = 10's theory."""
    run_batch(load_sweep(_sweep(tmp_path)), tmp_path / "s")
    (result,) = report(str(tmp_path / "s"), ["metric=l2"], ("metric",), "distance")
    assert result.group_by == ["metric", "dim"] and "kept dim as group keys" in result.notes[0]
    code, out, _ = cli(
        "report", str(tmp_path / "s"), "--kernel", "distance", "--group-by", "metric", "--out", str(tmp_path / "g.csv")
    )
    table = pd.read_csv(tmp_path / "g.csv")
    assert code == 0 and len(table) == 6 and (table.n_seeds == 2).all()
    # pooling on request: the caption says so, and theory that differs across the pool is left blank
    (pooled,) = report(str(tmp_path / "s"), ["metric=l2"], ("metric",), "distance", pool=("dim",))
    code, out, _ = cli("report", str(tmp_path / "s"), "--kernel", "distance", "--group-by", "metric", "--pool", "dim")
    assert code == 0 and "seeds and dim (pooled by --pool)" in out
    from dimcurse.results import aggregate

    summary = aggregate(pooled)
    assert len(summary) == 1 and (summary.n_seeds == 6).all() and summary.theory_mean_pow_dist.isna().all()


@pytest.mark.parametrize(
    "where, rows",
    [
        ("dim>=10", 16),
        ("dim<10", 8),
        ("dim!=2", 16),
        ("metric!=l1", 12),
        ("dim in (2, 100)", 16),
        ("metric in l1|l2,dim<=2", 8),
        ("dim>2,dim<100", 8),
    ],
)
def test_where_operators(tmp_path, where, rows):
    run_batch(load_sweep(_sweep(tmp_path)), tmp_path / "s")
    from dimcurse.report import split_filters

    (result,) = report(str(tmp_path / "s"), split_filters(where), kernel="distance")
    assert len(result.rows) == rows // 2  # 3 dims x 2 metrics x 2 seeds = 12 rows in all


def test_where_that_matches_nothing_lists_the_values(cli, tmp_path):
    run_batch(load_sweep(_sweep(tmp_path)), tmp_path / "s")
    code, _, err = cli("report", str(tmp_path / "s"), "--where", "dim=7")
    assert code == 2 and "dim has 2, 10, 100" in err and len(err.strip().splitlines()) == 1
    for bad in ("dim~3", "metric>l1", "dim=abc"):
        assert_clean_error(*cli("report", str(tmp_path / "s"), "--where", bad), "--where")


def test_report_rows_exports_the_raw_rows(cli, tmp_path):
    run_batch(load_sweep(_sweep(tmp_path)), tmp_path / "s")
    code, out, _ = cli(
        "report", str(tmp_path / "s"), "--kernel", "overparam", "--rows", "--out", str(tmp_path / "r.csv")
    )
    table = pd.read_csv(tmp_path / "r.csv")
    assert code == 0 and len(table) == 3 * 4 and "seed" in table and "test_loss" in table  # 3 seeds x 4 widths


@pytest.mark.slow
def test_compare_flags_noise_and_fail_if_sets_the_exit_code(cli, tmp_path):
    sweep = SWEEP.replace("n_points = 1500", "n_points = 1500\nk = 10")
    run_batch(load_sweep(_sweep(tmp_path)), tmp_path / "a")
    run_batch(
        load_sweep(_sweep(tmp_path, sweep.replace("n_points = 1500", "n_points = 600"), "b.toml")), tmp_path / "b"
    )
    table, warnings = compare(str(tmp_path / "a"), str(tmp_path / "b"), "distance")
    assert any("setting n_points differs: A 1500 vs B 600" in w for w in warnings)
    nn = table[(table.quantity == "nn_dist") & (table.dim == 100)]
    assert nn["beyond_noise"].all() and (nn["ratio"] > 1.01).all()  # fewer points: farther nearest neighbours
    ok = cli(
        "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--kernel", "distance", "--fail-if", "nn_dist:ratio>10"
    )
    assert ok[0] == 0
    code, out, err = cli(
        "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--kernel", "distance", "--fail-if", "nn_dist:ratio>1.01"
    )
    assert code == 1 and "fail-if nn_dist:ratio>1.01" in err and "B / A" in out
    for rule in ("ratio>>1", "speed>1", "nope:ratio>1"):
        assert_clean_error(*cli("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--fail-if", rule), "--fail-if")


def test_report_shows_approx_fits_from_stored_rows(cli, tmp_path):
    sweep = """
[[experiment]]
name = "fit"
kernel = "approx"
[experiment.fixed]
targets = ["barron"]
dims = [2]
widths = [2, 4, 8]
n_samples = 400
n_test = 400
lm_iters = 20
[experiment.grid]
seeds = [0, 1]
"""
    run_batch(load_sweep(_sweep(tmp_path, sweep)), tmp_path / "s")
    (result,) = report(str(tmp_path / "s"))
    assert result.fits is not None and len(result.fits) == 1 and np.isfinite(result.fits.alpha_theory[0])
    code, out, _ = cli("report", str(tmp_path / "s"))
    assert code == 0 and "exponent fits" in out and "Barron 1993" in out


def test_store_keeps_the_histograms_for_the_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from dimcurse.experiments import figure_for

    run_batch(load_sweep(_sweep(tmp_path)), tmp_path / "s")
    (result,) = report(str(tmp_path / "s"), ["metric=l2", "dim in (2, 100)"], kernel="distance")
    hist = result.tables["histograms"]
    assert set(hist.dim) == {2, 100} and set(hist.metric) == {"l2"} and len(hist) == 2 * 2 * 60  # dims x seeds x bins
    assert len(figure_for(result).axes) == 3


def test_a_store_written_before_issue_34_still_loads_reports_and_plots(tmp_path, monkeypatch):
    # tests/data/main-1206.store was written by main at f05aba9 (2026-12-06), before approx's ID columns took
    # distance's spelling (id_twonn -> twonn_id) and overparam's file moved to the provenance key "data": its
    # points are found done (approx's VERSION 6, 2026-12-07, the faster Gauss–Newton, gives its point a new key,
    # so it alone runs again), the stored rows report under the names now, and each kernel's figure draws.
    import shutil
    from pathlib import Path

    from dimcurse.experiments import figure_for

    root = Path(__file__).resolve().parent.parent
    store = shutil.copytree(root / "tests" / "data" / "main-1206.store", tmp_path / "main-1206.store")
    monkeypatch.chdir(root)  # the sweep names examples/labels.npz from the repository's root
    tables = {r.kernel: r for r in report(str(store))}
    assert sorted(tables) == ["approx", "distance", "overparam"] and all(len(r.rows) for r in tables.values())
    approx_rows = tables["approx"].rows
    assert "twonn_id" in approx_rows and "id_twonn" not in approx_rows and approx_rows.twonn_id.notna().all()
    assert tables["approx"].analysis is not None and "twonn_id" in tables["approx"].analysis
    assert tables["overparam"].analysis is not None
    outcome = run_batch(load_sweep(root / "tests" / "data" / "main-1206.toml"), store)
    assert (outcome.total, outcome.skipped, outcome.done) == (3, 2, 1)
    pytest.importorskip("matplotlib")
    for result in tables.values():
        assert figure_for(result).axes


def test_a_store_written_before_the_kernels_moved_still_loads(tmp_path):
    # tests/data/premove.store was written at commit aeb8259, when the kernels were single modules
    # (dimcurse/experiments/distance.py ...); keys hash the kernel's name, version and config, never a
    # module path, so every point is still found done and its rows report.
    import shutil
    from pathlib import Path

    data = Path(__file__).parent / "data"
    store = shutil.copytree(data / "premove.store", tmp_path / "premove.store")
    outcome = run_batch(load_sweep(data / "premove.toml"), store)
    # approx's VERSION 3 and 4 (2026-12-04: the bump teacher, draws, Gauss–Newton; the bridge) give its point a
    # new key, so it alone runs again; distance's and overparam's are found done.
    assert (outcome.total, outcome.skipped, outcome.done) == (3, 2, 1)
    tables = report(str(store))
    assert sorted(r.kernel for r in tables) == ["approx", "distance", "overparam"]
    assert all(len(r.rows) for r in tables)


def test_the_eta_is_the_mean_pace_of_the_points_run_times_those_left():
    from dimcurse.cli import _log_line

    line = _log_line(("curse: dims=2", "done", 2.0), 5, 12, spent=30.0, computed=3)  # 2 skipped, 3 run in 30 s
    assert re.search(r"batch 5/12 \[curse: dims=2\] done in 2.0 s, 7 left, ETA \d\d:\d\d:\d\d \(1 min 10 s\)$", line)
    assert _log_line(("a", "failed", None), 12, 12, spent=9.0, computed=12).endswith("batch 12/12 [a] failed, 0 left")
    assert "ETA" not in _log_line(("a", "done", 1.0), 3, 12, spent=0.0, computed=0)  # all skipped so far: no pace
