"""--checkpoint DIR: a killed approx or overparam run, started again with the same folder, resumes where it
stopped, and its rows equal those of an uninterrupted run (all but elapsed_s, the wall time)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from dimcurse import checkpoint as checkpoint_module
from dimcurse.api import make_config
from dimcurse.experiments import run_kernel
from dimcurse.experiments.overparam import kernel as overparam

# Four widths, each its own LM stage (a piece in the folder after each): the kill lands between two of them.
APPROX = ["approx", "--target", "barron", "--dims", "8", "--widths", "8,16,32,64", "--seeds", "2", "--quiet"]
# Two training-set sizes, each trained and kept whole: the interrupt lands after the first.
OVERPARAM = ["overparam", "--model", "mlp", "--widths", "4,16,64", "--epochs", "30", "--train-samples", "200,400"]
OVERPARAM += ["--seeds", "2", "--quiet"]


def _rows(path) -> pd.DataFrame:
    return pd.read_csv(path).drop(columns="elapsed_s")


def _kill_after_first_piece(command: list[str], folder, sig) -> subprocess.CompletedProcess:
    """Run ``dimcurse COMMAND`` and send ``sig`` as soon as the first piece of finished work is in ``folder``."""
    argv = [sys.executable, "-m", "dimcurse", *command]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a test worker may ignore SIGINT
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while proc.poll() is None and not list(folder.glob("*.pt")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    return subprocess.CompletedProcess(argv, proc.wait(), "", proc.stderr.read())


def _resume_equals_uninterrupted(cli, command, tmp_path, sig, code):
    folder = tmp_path / "ck"
    killed = _kill_after_first_piece(
        [*command, "--checkpoint", str(folder), "--out", str(tmp_path / "k.csv")], folder, sig
    )
    assert killed.returncode == code, killed.stderr  # it was still running when the signal came
    assert "Traceback" not in killed.stderr
    if sig == signal.SIGINT:
        assert f"finished work is kept in {folder}; run the same command to resume" in killed.stderr
    again, whole = tmp_path / "again.csv", tmp_path / "whole.csv"
    status, out, err = cli(*command, "--checkpoint", str(folder), "--out", str(again))
    assert status == 0, err
    assert f"resumed from {folder}:" in out.replace("\n", " ")
    assert cli(*command, "--out", str(whole))[0] == 0
    pd.testing.assert_frame_equal(_rows(again), _rows(whole))


@pytest.mark.slow
def test_approx_killed_after_a_width_resumes_with_the_rows_of_an_uninterrupted_run(cli, tmp_path):
    _resume_equals_uninterrupted(cli, APPROX, tmp_path, signal.SIGKILL, -signal.SIGKILL)


@pytest.mark.slow
def test_overparam_interrupted_after_a_size_resumes_with_the_rows_of_an_uninterrupted_run(cli, tmp_path):
    _resume_equals_uninterrupted(cli, OVERPARAM, tmp_path, signal.SIGINT, 130)


class _Stop(Exception):
    pass


def _stopping_after(calls: int):
    """A progress callback that raises _Stop (as a kill would end the run) at its ``calls``-th call."""
    seen = []

    def progress(fraction):
        seen.append(fraction)
        if len(seen) == calls:
            raise _Stop

    return progress


def test_a_network_resumes_mid_training_from_its_saved_state_exactly(tmp_path, monkeypatch):
    """One training stopped after 37 of its 60 epochs' steps: the epochs saved (every epoch here) are read back
    with the optimiser's moments and each seed's shuffling stream, and the rest trains as if it had not stopped."""
    monkeypatch.setattr(checkpoint_module, "EVERY_S", 0.0)  # save at every epoch's end
    options = {"model": "mlp", "widths": "8,32", "epochs": 12, "train_samples": 100, "batch_size": 20, "seeds": 2}
    options["record_every"] = 3
    config = make_config("overparam", options)
    whole = run_kernel(overparam, config, "cpu").rows
    folder = tmp_path / "ck"
    with pytest.raises(_Stop):
        run_kernel(overparam, config, "cpu", _stopping_after(37), checkpoint=str(folder))
    assert len(list(folder.glob("*.pt"))) == 1  # the training's state, not yet its rows
    resumed = run_kernel(overparam, config, "cpu", checkpoint=str(folder))
    assert any(note.startswith(f"resumed from {folder}") for note in resumed.notes)
    pd.testing.assert_frame_equal(resumed.rows.drop(columns="elapsed_s"), whole.drop(columns="elapsed_s"))


def test_a_folder_of_another_run_is_refused_in_one_line(cli, tmp_path):
    folder = tmp_path / "ck"
    small = ["approx", "--target", "barron", "--dims", "2", "--widths", "4", "--seeds", "1", "--quiet"]
    assert cli(*small, "--checkpoint", str(folder))[0] == 0
    code, _, err = cli(*small[:-3], "--seeds", "2", "--quiet", "--checkpoint", str(folder))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--checkpoint" in err and "holds another run (seeds [0] there, [0, 1] here)" in err
    code, _, err = cli(*small, "--checkpoint", str(tmp_path / "ck" / "run.json"))
    assert code == 2 and "is a file, not a folder" in err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, err = cli(*small, "--checkpoint", str(tmp_path / "busy"))
    assert code == 2 and "is not empty and holds no run.json" in err
    code, _, err = cli("distance", "--dims", "2", "--checkpoint", str(tmp_path / "d"))
    assert code == 2 and "--checkpoint" in err


def test_a_damaged_piece_is_one_line_naming_it(cli, tmp_path):
    folder = tmp_path / "ck"
    small = ["approx", "--target", "barron", "--dims", "2", "--widths", "4", "--seeds", "1", "--quiet"]
    assert cli(*small, "--checkpoint", str(folder))[0] == 0
    (piece,) = folder.glob("*.pt")
    piece.write_bytes(b"not a checkpoint")
    code, out, err = cli(*small, "--checkpoint", str(folder))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot be read" in err and piece.name in err, err
