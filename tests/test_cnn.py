"""The batched CNN (issue 15): each model exactly as alone, parameter counts, memorisation, refusals."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

from dimcurse.experiments.overparam.cnn import (
    CNN1DClassifier,
    CNN2DClassifier,
    buckets,
    cnn1d_params,
    cnn2d_params,
    single_model,
)
from dimcurse.experiments.overparam.classifier import train_classifier
from tests.helpers import assert_clean_error

WIDTHS = [1, 2, 5, 8, 9, 16, 20, 25]


def _data(S: int, n: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(S, n, 40, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (S, n), generator=gen)
    return x, y


def test_the_batched_forward_equals_every_model_alone():
    model = CNN1DClassifier([0, 1], 40, WIDTHS, 10, dtype=torch.float64)
    x, _ = _data(2, 7)
    out = model(x)
    assert out.shape == (2, 7, len(WIDTHS), 10)
    for s in range(2):
        for j in range(len(WIDTHS)):
            alone = single_model(model, s, j)(x[s : s + 1])[0, :, 0]
            torch.testing.assert_close(out[s, :, j], alone, rtol=1e-12, atol=1e-13)


def test_batched_training_equals_every_model_trained_alone():
    """Adam on the sum of the models' losses, padded channels masked: after 3 epochs of mini-batches
    every model's test loss, error and weights equal those of the same model trained by itself."""
    widths, seeds = [2, 9, 16, 20], [0, 1]
    x, y = _data(2, 60)
    x_test, y_test = _data(2, 30, seed=1)
    kwargs = dict(epochs=3, batch_size=16, lr=3e-3, optimizer="adam", weight_decay=1e-3, loss="ce")
    model = CNN1DClassifier(seeds, 40, widths, 10, dtype=torch.float64)
    _assert_trains_as_alone(model, (x, y, x_test, y_test), kwargs, rtol=1e-9, atol=1e-12)


def _assert_trains_as_alone(model, data, kwargs, rtol, atol, augment=None):
    """Train the batched ``model`` and each of its models alone (same start, shuffles and augmentation):
    the final losses, errors and weights agree to ``rtol`` / ``atol``."""
    x, y, x_test, y_test = data
    seeds, widths = model.seeds, model.widths
    start = [[single_model(model, s, j) for j in range(len(widths))] for s in range(len(seeds))]
    batched = train_classifier(model, x, y, x_test, y_test, seeds, augment=augment and augment(seeds), **kwargs)
    for s, seed in enumerate(seeds):
        for j in range(len(widths)):
            alone = start[s][j]
            run = train_classifier(
                alone,
                x[s : s + 1],
                y[s : s + 1],
                x_test[s : s + 1],
                y_test[s : s + 1],
                [seed],
                augment=augment and augment([seed]),
                **kwargs,
            )
            for key in ("test_loss", "train_loss", "test_error"):  # the image net: evaluation-mode statistics
                np.testing.assert_allclose(batched.records[-1][key][s, j], run.records[-1][key][0, 0], rtol=rtol)
            for a, b in zip(single_model(model, s, j).parameters(), alone.parameters()):
                torch.testing.assert_close(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("width", [1, 3, 25, 64])
def test_parameter_counts_match_the_formula(width):
    alone = CNN1DClassifier([0], 40, [width], 10)
    counted = sum(p.numel() for p in alone.parameters())
    assert counted == cnn1d_params(40, width, 10) == 6 * width**2 + 58 * width + 10
    assert cnn1d_params(40, 25, 10) == 5210  # the MNIST-1D paper's ConvBase at 25 channels


def test_buckets_keep_every_width_once_and_pad_little():
    widths = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 100, 120]
    groups = buckets(widths)
    assert sorted(j for g in groups for j in g) == list(range(len(widths)))
    for group in groups:  # consecutive widths in sorted order
        sizes = sorted(widths[j] for j in group)
        assert [w for w in sorted(widths) if sizes[0] <= w <= sizes[-1]] == sizes
    assert CNN1DClassifier([0], 40, widths, 10).padding_overhead() < 1.2
    assert buckets([64, 64, 64]) == [[0, 1, 2]] and len(buckets([1, 1000])) == 2  # no padding 1 -> 1000


def _random_labels_fit(cli, setting: str) -> pd.DataFrame:
    """One tiny cnn trained full-batch on 100 samples whose every label is random (Zhang et al. 2017)."""
    base = "overparam --model cnn --train-samples 100 --test-samples 200 --label-noise 1 --batch-size 0 --seeds 1"
    code, out, err = cli(*f"{base} {setting} --quiet --out - --format csv".split())
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


@pytest.mark.slow
def test_a_tiny_cnn_fits_random_labels(cli):
    """Zhang et al. 2017 with a convolutional net: 100 MNIST-1D sequences, every label random."""
    rows = _random_labels_fit(cli, "--widths 32 --epochs 300 --lr 3e-3")
    assert rows.train_error.iloc[0] == 0 and rows.interpolates.iloc[0]
    assert rows.test_error.iloc[0] > 0.7  # nothing learned: chance is 0.9


@pytest.mark.parametrize(
    "args, option",
    [
        (("--data", "teacher"), "--data"),
        (("--data", "examples-like.csv"), "--data"),
        (("--widths", "0"), "--widths"),
        (("--widths", "4,-2"), "--widths"),
        (("--depth", "2"), "--model"),
        (("--ridge", "0.1"), "--ridge"),
    ],
)
def test_cnn_refusals(cli, args, option):
    assert_clean_error(*cli("overparam", "--model", "cnn", *args), option)


def test_the_memory_guard_covers_the_cnn(cli):
    code, out, err = cli("overparam", "--model", "cnn", "--widths", "200000", "--quiet")
    assert_clean_error(code, out, err, "--widths")


# --------------------------------------------------------------------------- images: the 5-layer CNN


def test_the_image_cnn_has_nakkirans_parameter_count():
    assert cnn2d_params(3, 64, 10) == 1_557_066  # "about 1.56 M at c = 64"
    for width in (1, 5, 16):
        alone = CNN2DClassifier([0], (3, 32, 32), [width], 10)
        assert sum(p.numel() for p in alone.parameters()) == cnn2d_params(3, width, 10)
        assert cnn2d_params(3, width, 10) == 27 * width + 378 * width**2 + 30 * width + 80 * width + 10


def _images(S, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(S, n, 64, generator=gen, dtype=torch.float64), torch.randint(0, 10, (S, n), generator=gen)


def test_the_batched_image_cnn_equals_every_model_alone_in_training_and_evaluation():
    widths, seeds = [1, 3, 8, 12], [0, 1]
    x, y = _images(2, 48)
    x_test, y_test = _images(2, 24, seed=1)
    kwargs = dict(epochs=3, batch_size=16, lr=3e-3, optimizer="adam", weight_decay=1e-3, loss="ce")
    model = CNN2DClassifier(seeds, (1, 8, 8), widths, 10, dtype=torch.float64)
    _assert_trains_as_alone(model, (x, y, x_test, y_test), kwargs, rtol=1e-8, atol=1e-11)


@pytest.mark.slow
def test_a_tiny_image_cnn_fits_random_labels(cli):
    rows = _random_labels_fit(cli, "--data digits --widths 8 --epochs 150 --lr 1e-2")
    assert rows.train_error.iloc[0] == 0 and rows.test_error.iloc[0] > 0.7


# --------------------------------------------------------------------------- augmentation


def test_crop_and_flip_takes_a_window_of_the_padded_image_mirrored_or_not():
    from dimcurse.experiments.overparam.cnn import crop_and_flip

    images = torch.arange(2 * 3 * 64, dtype=torch.float64).reshape(2, 3, 64) + 1  # no zeros: padding shows
    out = crop_and_flip((1, 8, 8), [0, 1])(images, step=5)
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images.reshape(6, 1, 8, 8), (1, 1, 1, 1))[:, 0]
    for k, picture in enumerate(out.reshape(6, 8, 8)):
        windows = [padded[k, i : i + 8, j : j + 8] for i in range(3) for j in range(3)]
        assert any(torch.equal(picture, w) or torch.equal(picture, w.flip(1)) for w in windows)
    again = crop_and_flip((1, 8, 8), [0, 1])(images, step=5)
    assert torch.equal(out, again) and not torch.equal(out, crop_and_flip((1, 8, 8), [0, 1])(images, step=6))


def test_augmented_batched_training_equals_each_model_trained_alone():
    from dimcurse.experiments.overparam.cnn import crop_and_flip

    widths, seeds = [2, 6], [0, 1]
    x, y = _images(2, 32)
    x_test, y_test = _images(2, 16, seed=1)
    kwargs = dict(epochs=2, batch_size=16, lr=3e-3, optimizer="adam", loss="ce")
    model = CNN2DClassifier(seeds, (1, 8, 8), widths, 10, dtype=torch.float64)
    _assert_trains_as_alone(
        model,
        (x, y, x_test, y_test),
        kwargs,
        rtol=1e-8,
        atol=1e-11,
        augment=lambda seeds: crop_and_flip((1, 8, 8), seeds),
    )


def test_augmentation_is_recorded_and_refused_where_it_cannot_apply(cli):
    code, out, err = cli(
        "overparam",
        "--model",
        "cnn",
        "--data",
        "digits",
        "--widths",
        "2",
        "--train-samples",
        "50",
        "--test-samples",
        "50",
        "--epochs",
        "1",
        "--augment",
        "--seeds",
        "1",
        "--quiet",
        "--out",
        "-",
        "--format",
        "json",
    )
    import json

    payload = json.loads(out)
    assert code == 0 and payload["provenance"]["config"]["augment"] is True
    assert all(row["augment"] for row in payload["rows"])
    assert_clean_error(*cli("overparam", "--model", "cnn", "--augment"), "--augment")  # mnist1d: sequences
    assert_clean_error(*cli("overparam", "--model", "linear", "--augment"), "--augment")


def test_a_users_npz_of_images_trains_the_image_cnn_and_vectors_are_refused(cli, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 1, 12, 12)), rng.integers(0, 3, 120)
    np.savez(tmp_path / "images.npz", x=x, y=y)
    np.savez(tmp_path / "vectors.npz", x=x.reshape(120, -1), y=y)
    code, out, err = cli(
        "overparam",
        "--model",
        "cnn",
        "--data",
        str(tmp_path / "images.npz"),
        "--widths",
        "2,4",
        "--train-samples",
        "80",
        "--test-samples",
        "20",
        "--epochs",
        "2",
        "--augment",
        "--seeds",
        "1",
        "--quiet",
        "--out",
        "-",
        "--format",
        "csv",
    )
    rows = pd.read_csv(io.StringIO(out))
    assert code == 0, err
    assert rows.set_index("width").params.to_dict() == {2: cnn2d_params(1, 2, 3), 4: cnn2d_params(1, 4, 3)}
    assert_clean_error(*cli("overparam", "--model", "cnn", "--data", str(tmp_path / "vectors.npz")), "--data")
