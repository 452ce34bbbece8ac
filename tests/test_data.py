"""Synthetic distributions and the offline real-data loaders."""

import struct

import numpy as np
import pytest
import torch

from dimcurse.data import draw, load_dataset, parse_distribution, validate_finite
from dimcurse.errors import DimcurseError


def test_distributions_have_the_right_support():
    assert draw(parse_distribution("uniform"), 100, 5, 0).min() >= 0
    sphere = draw(parse_distribution("sphere"), 100, 5, 0, torch.float64)
    torch.testing.assert_close(sphere.norm(dim=1), torch.ones(100, dtype=torch.float64))
    sub = draw(parse_distribution("subspace:3"), 200, 40, 0, torch.float64)
    assert torch.linalg.matrix_rank(sub).item() == 3
    torus = draw(parse_distribution("torus:2"), 200, 10, 0, torch.float64)
    assert torch.linalg.matrix_rank(torus).item() == 4  # two circles span 4 directions


def test_draw_is_deterministic_and_prefix_stable():
    dist = parse_distribution("subspace:2")
    a = draw(dist, 50, 8, 3)
    torch.testing.assert_close(a, draw(dist, 50, 8, 3), rtol=0, atol=0)
    assert not torch.equal(draw(dist, 50, 8, 4), a)
    queries = draw(dist, 20, 8, 3, torch.float64, stream="queries")
    assert not torch.equal(queries, a[:20])
    # Points and queries of a subspace set share one subspace: together they still have rank 2.
    assert torch.linalg.matrix_rank(torch.cat([draw(dist, 50, 8, 3, torch.float64), queries])).item() == 2


@pytest.mark.parametrize("text", ["normal", "subspace", "subspace:0", "torus:x", ""])
def test_unknown_distributions(text):
    with pytest.raises(DimcurseError, match="--dist"):
        parse_distribution(text)


def test_subspace_larger_than_dimension_is_refused():
    with pytest.raises(DimcurseError, match="--dims"):
        draw(parse_distribution("subspace:10"), 5, 4, 0)


@pytest.mark.slow
def test_digits_and_mnist1d_load_offline():
    digits = load_dataset("digits")
    assert digits.x.shape == (1797, 64)
    m1 = load_dataset("mnist1d")
    assert m1.x.shape == (4000, 40) and m1.x_test.shape == (1000, 40)
    from dimcurse import data as data_module

    state = np.random.get_state()[1].copy()
    again = data_module._mnist1d.__wrapped__()  # regenerate: deterministic for its seed
    np.testing.assert_array_equal(again.x, m1.x)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # numpy's global state untouched


def _write_idx(folder, prefix, n, rows=28, cols=28):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    with open(folder / f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes())
    with open(folder / f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())
    return images


def test_torchvision_reads_idx_files_written_here(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = _write_idx(raw, "train", 30)
    _write_idx(raw, "t10k", 10)
    data = load_dataset(f"mnist:{tmp_path}")
    assert data.x.shape == (30, 784) and data.x_test.shape == (10, 784)
    np.testing.assert_allclose(data.x[0], images[0].ravel() / 255.0, rtol=1e-6)


def test_missing_or_corrupt_folders_are_clear_errors(tmp_path):
    with pytest.raises(DimcurseError, match="no such folder"):
        load_dataset(f"mnist:{tmp_path / 'nowhere'}")
    with pytest.raises(DimcurseError, match="--data"):
        load_dataset(f"fashion-mnist:{tmp_path}")  # exists but holds no files: never a download
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw, "train", 30)
    _write_idx(raw, "t10k", 10)
    with open(raw / "train-images-idx3-ubyte", "r+b") as f:
        f.truncate(100)  # a truncated IDX file
    with pytest.raises(DimcurseError, match="--data"):
        load_dataset(f"mnist:{tmp_path}")


@pytest.mark.parametrize("spec", ["cifar", "mnist", "digits:x"])
def test_unknown_data_sets(spec):
    with pytest.raises(DimcurseError, match="--data"):
        load_dataset(spec)


def test_non_finite_data_is_refused():
    with pytest.raises(DimcurseError, match="NaN"):
        validate_finite(np.array([[1.0, np.nan]]), "x")


# --------------------------------------------------------------------------- broken data files


def _mnist_folder(tmp_path, n_train=30, n_test=10):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw, "train", n_train)
    _write_idx(raw, "t10k", n_test)
    return raw


def _idx_floats(path, values):
    """An IDX file of float32 (type 0x0D) images: a valid IDX format, but not MNIST's bytes."""
    values = np.asarray(values, dtype=">f4")
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x0D, 3) + struct.pack(">III", *values.shape) + values.tobytes())


def _break_labels(raw, label):
    with open(raw / "train-labels-idx1-ubyte", "r+b") as f:
        f.seek(8 + 3)
        f.write(bytes([label]))


BROKEN = {
    "empty images file": lambda raw: (raw / "train-images-idx3-ubyte").write_bytes(b""),
    "empty labels file": lambda raw: (raw / "t10k-labels-idx1-ubyte").write_bytes(b""),
    "header only": lambda raw: (raw / "train-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, 30, 28, 28)),
    "truncated labels": lambda raw: (raw / "train-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 2049, 30) + b"\x01" * 7
    ),
    "wrong magic": lambda raw: (raw / "train-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + b"\x00" * 64),
    "float images with NaN": lambda raw: _idx_floats(raw / "train-images-idx3-ubyte", np.full((30, 28, 28), np.nan)),
    "labels out of range": lambda raw: _break_labels(raw, 12),
    "fewer labels than images": lambda raw: (raw / "t10k-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 2049, 4) + b"\x01" * 4
    ),
    "images of the wrong shape": lambda raw: (raw / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 2051, 30, 7, 7) + b"\x00" * 30 * 49
    ),
    "images as a 1-d array": lambda raw: (raw / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">HBBI", 0, 0x08, 1, 30 * 784) + b"\x00" * 30 * 784
    ),
    "a folder where a file should be": lambda raw: (
        (raw / "train-images-idx3-ubyte").unlink(),
        (raw / "train-images-idx3-ubyte").mkdir(),
    ),
}


@pytest.mark.parametrize("breakage", list(BROKEN))
def test_broken_idx_files_are_one_line_errors(tmp_path, cli, monkeypatch, breakage):
    raw = _mnist_folder(tmp_path / "data")
    BROKEN[breakage](raw)
    with pytest.raises(DimcurseError, match="--data") as info:
        load_dataset(f"mnist:{tmp_path / 'data'}")
    assert "\n" not in str(info.value)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("distance", "--data", f"mnist:{tmp_path / 'data'}", "--quiet", "--out", "rows.csv")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: --data"), err
    assert not (tmp_path / "rows.csv").exists()


def _cifar_folder(tmp_path, labels_train=None):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        records = rng.integers(0, 256, size=(4, 3073), dtype=np.uint8)
        records[:, 0] = rng.integers(0, 10, size=4)
        (folder / name).write_bytes(records.tobytes())
    return folder


@pytest.mark.parametrize("breakage", ["label 10", "empty", "one byte short", "missing"])
def test_broken_cifar_files_are_one_line_errors(tmp_path, breakage):
    folder = _cifar_folder(tmp_path)
    batch = folder / "data_batch_3.bin"
    data = bytearray(batch.read_bytes())
    if breakage == "label 10":
        data[3073] = 10
        batch.write_bytes(bytes(data))
    elif breakage == "empty":
        batch.write_bytes(b"")
    elif breakage == "one byte short":
        batch.write_bytes(bytes(data[:-1]))
    else:
        batch.unlink()
    with pytest.raises(DimcurseError, match="--data") as info:
        load_dataset(f"cifar10:{tmp_path}")
    assert "\n" not in str(info.value) and "data_batch_3" in str(info.value) or breakage == "label 10"
