import pytest
import torch

from dimcurse.errors import DimcurseError
from dimcurse.runtime import derive_seed, generator, resolve_device, resolve_dtype
from tests.helpers import assert_clean_error, run_cli


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(DimcurseError, match="--device"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_a_clear_error(spec):
    with pytest.raises(DimcurseError, match="no CUDA device"):
        resolve_device(spec)


def test_dtype():
    assert resolve_dtype("float64") is torch.float64
    with pytest.raises(DimcurseError, match="--dtype"):
        resolve_dtype("float16")


def test_streams_are_stable_and_independent():
    assert derive_seed(0, "draw", 10) == derive_seed(0, "draw", 10)
    assert derive_seed(0, "draw", 10) != derive_seed(0, "draw", 100)
    assert derive_seed(0, "draw", 10) != derive_seed(1, "draw", 10)
    a = torch.rand(3, generator=generator(4, "x"))
    b = torch.rand(3, generator=generator(4, "x"))
    assert torch.equal(a, b)


def test_float32_means_float32_unless_tf32_is_asked_for_and_the_provenance_says_which():
    """Issue 27: cuDNN allows TF32 by default (the CNN's agreement check failed on an H200 with it); a run turns
    it off unless tf32=True (--tf32), records the setting, and restores the process's own after. On the CPU,
    where TF32 does not exist, tf32=True is refused: it was recorded as on for runs it never touched."""
    import torch

    import dimcurse
    from dimcurse.runtime import float32_policy, float32_state

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    plain = dimcurse.distance(dims=4, points=200, queries=10, seeds=1, id_points=0, device="cpu")
    assert plain.provenance["float32"]["tf32_matmul"] is False and plain.provenance["float32"]["tf32_cudnn"] is False
    with float32_policy(True):  # what a CUDA run with --tf32 records
        assert float32_state()["tf32_matmul"] is True and float32_state()["tf32_cudnn"] is True
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    with pytest.raises(DimcurseError, match="TF32 exists only in CUDA") as refused:
        dimcurse.distance(dims=4, points=200, queries=10, seeds=1, id_points=0, device="cpu", tf32=True)
    assert refused.value.option == "--tf32"
    code, out, err = run_cli("distance", "--dims", "4", "--device", "cpu", "--tf32")
    assert_clean_error(code, out, err, "--tf32")


def test_two_threads_on_a_loaded_machine_are_warned_with_the_measured_cost(monkeypatch):
    from dimcurse import runtime

    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    count, warning = runtime.check_threads(2, load=1.5)  # 0.5 cores free for 2 threads
    assert count == 2 and "load (1.5 on 2 cores) leaves fewer than 2 free" in warning and "8-37x" in warning
    assert runtime.check_threads(2, load=0.0)[1] is None  # a quiet machine: the 1.4x gain stands
    assert runtime.check_threads(1, load=7.0)[1] is None  # one thread never waits on another
    assert runtime.check_threads(None, load=7.0)[1] is None  # the default is one


def test_the_command_line_prints_the_load_warning_once_at_the_start(monkeypatch):
    from dimcurse import runtime

    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    monkeypatch.setattr(runtime, "load_average", lambda: 2.3)
    code, out, err = run_cli("distance", "--dims", "3", "--points", "50", "--queries", "5", "--threads", "2", "-q")
    assert code == 0 and "dimcurse distance" in out
    assert err.count("warning: --threads 2 on a machine whose load (2.3 on 2 cores)") == 1, err


def test_the_python_api_says_the_load_warning_in_a_note(monkeypatch):
    import dimcurse
    from dimcurse import runtime

    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    monkeypatch.setattr(runtime, "load_average", lambda: 2.3)
    result = dimcurse.distance(dims=3, points=50, queries=5, seeds=1, id_points=0, threads=2)
    assert result.notes[0].startswith("threads 2 on a machine whose load (2.3 on 2 cores)")
    quiet = dimcurse.distance(dims=3, points=50, queries=5, seeds=1, id_points=0)  # one thread: nothing to say
    assert not any("load" in note for note in quiet.notes)
