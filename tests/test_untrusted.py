"""Nothing read from disk is executed or unpickled."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from dimcurse.data import load_dataset
from dimcurse.errors import DimcurseError

PACKAGE = Path(__file__).resolve().parents[1] / "dimcurse"

# Calls that run or unpickle what they read. torch.load is allowed only with weights_only=True.
FORBIDDEN = [
    r"\beval\(",
    r"\bexec\(",
    r"\bpickle\.",
    r"\bmarshal\.",
    r"\bshelve\.",
    r"read_pickle\(",
    r"allow_pickle\s*=\s*True",
    r"yaml\.load\(",
    r"torch\.load\((?![^)]*weights_only\s*=\s*True)",
    r"__import__\([^\"']",
]


@pytest.mark.parametrize("pattern", FORBIDDEN)
def test_the_package_has_no_call_that_runs_or_unpickles_data(pattern):
    hits = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, line) and not line.lstrip().startswith("#")
    ]
    assert hits == []


class _Trap:
    """Unpickling this writes a file: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "unpickled"))


def _plant(folder, suffix: str, marker):
    """The six CIFAR-10 batch files, each a trap pickle."""
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / f"{name}{suffix}").write_bytes(pickle.dumps(_Trap(marker)))
    return folder


def test_cifar10_never_unpickles_the_python_version(tmp_path):
    """A folder holding only the pickled ("python version") batches is refused, and nothing in it runs."""
    marker = tmp_path / "ran"
    folder = _plant(tmp_path / "cifar-10-batches-py", "", marker)
    with pytest.raises(DimcurseError, match="binary version"):
        load_dataset(f"cifar10:{tmp_path}")
    with pytest.raises(DimcurseError, match="binary version"):
        load_dataset(f"cifar10:{folder}")
    assert not marker.exists()
    # A pickle named like a binary batch is read as bytes: refused by its size, never loaded.
    _plant(tmp_path / "cifar-10-batches-bin", ".bin", marker)
    with pytest.raises(DimcurseError, match="truncated or not a CIFAR-10 binary batch"):
        load_dataset(f"cifar10:{tmp_path}")
    assert not marker.exists()
    assert np.frombuffer(pickle.dumps(_Trap(marker)), np.uint8).size % 3073  # the premise of the refusal


def test_an_object_npy_and_npz_are_refused_and_never_unpickled(cli, tmp_path):
    """numpy.save of an object array writes a pickle; dimcurse loads with allow_pickle=False."""
    import numpy as np

    marker = tmp_path / "ran"
    trap = np.empty(2, dtype=object)
    trap[0], trap[1] = _Trap(marker), 1
    np.save(tmp_path / "trap.npy", trap, allow_pickle=True)
    np.savez(tmp_path / "trap.npz", x=trap, y=np.arange(2))
    for name in ("trap.npy", "trap.npz"):
        code, out, err = cli("distance", "--data", str(tmp_path / name), "--quiet")
        assert code == 2 and out == "" and "unpickling" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()
