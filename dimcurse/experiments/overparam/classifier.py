"""overparam's batched MLP classifiers (many widths x seeds as one computation) and the mini-batch trainer
both its trained models use (the MLP here and the CNNs of cnn.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from dimcurse.nets import drop_models, exploded, get_activation, nonfinite_models, sample_chunk, uniform_init
from dimcurse.runtime import generator


def mlp_params(dim: int, width: int, depth: int, classes: int) -> int:
    """Parameters of a fully connected classifier: (d + 1) w + (depth - 1)(w + 1) w + (w + 1) C."""
    return (dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * classes


class MLPClassifier(torch.nn.Module):
    """``depth`` hidden layers of width w and C logits per model: (S, n, d) -> (S, n, M, C).

    The first layers of all widths are concatenated into one (S, d, sum w) product (one
    kernel for the layer that sees the data); the later layers and the readouts are
    per-width batched products over seeds. Initialisation: PyTorch's Linear default,
    each model from its own (seed, width, layer) stream.
    """

    def __init__(
        self, seeds, dim: int, widths, classes: int, *, depth: int = 1, activation: str = "relu", dtype=torch.float32
    ):
        super().__init__()
        self.act, self.widths, self.depth, self.classes = get_activation(activation), list(widths), depth, classes
        offsets = np.cumsum([0] + self.widths)
        self.blocks = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]

        def draw(shape, fan_in, w, layer, part):
            parts = [
                uniform_init(shape, 1 / math.sqrt(fan_in), s, "mlp", dim, w, depth, classes, layer, part) for s in seeds
            ]
            return torch.stack(parts).to(dtype)

        self.w0 = torch.nn.Parameter(torch.cat([draw((dim, w), dim, w, 0, "w") for w in self.widths], 2))
        self.b0 = torch.nn.Parameter(torch.cat([draw((1, w), dim, w, 0, "b") for w in self.widths], 2))
        self.rest = torch.nn.ParameterList()  # per width: (w, b) for layers 1..depth-1, then the readout
        for w in self.widths:
            for layer in range(1, depth + 1):
                fan_out = classes if layer == depth else w
                self.rest.append(torch.nn.Parameter(draw((w, fan_out), w, w, layer, "w")))
                self.rest.append(torch.nn.Parameter(draw((1, fan_out), w, w, layer, "b")))

    def _model(self, j: int):
        per = 2 * self.depth
        return self.rest[j * per : (j + 1) * per]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.act(torch.baddbmm(self.b0, x, self.w0))
        outs = []
        for j, block in enumerate(self.blocks):
            h, params = first[:, :, block], self._model(j)
            for layer in range(self.depth):
                h = torch.baddbmm(params[2 * layer + 1], h, params[2 * layer])
                if layer < self.depth - 1:
                    h = self.act(h)
            outs.append(h)
        return torch.stack(outs, 2)

    def params_per_model(self, dim: int) -> list[int]:
        return [mlp_params(dim, w, self.depth, self.classes) for w in self.widths]

    def hidden_units(self) -> int:
        return self.depth * sum(self.widths) + len(self.widths) * self.classes

    def model_slices(self, s: int, j: int):
        block = self.blocks[j]
        return [(self.w0, (s, slice(None), block)), (self.b0, (s, slice(None), block))] + [
            (p, (s,)) for p in self._model(j)
        ]

    def weight_norms(self) -> torch.Tensor:
        """(S, M) Euclidean norm of each model's parameters."""
        S, M = self.w0.shape[0], len(self.widths)
        norms = torch.zeros(S, M, dtype=torch.float64)
        with torch.no_grad():
            for s in range(S):
                for j in range(M):
                    norms[s, j] = sum(float((p[i].double() ** 2).sum()) for p, i in self.model_slices(s, j)) ** 0.5
        return norms


@dataclass
class ClassifierRun:
    """What ``train_classifier`` returns: per-model (S, M) arrays at each recorded epoch."""

    records: list[
        dict
    ]  # {"epoch", "train_loss", "train_error", "test_loss", "test_error", "first_zero", "weight_norm"}
    diverged: np.ndarray
    steps: int
    steps_per_epoch: int


@dataclass
class Resume:
    """Where one training keeps its state (``--checkpoint``): saved at an epoch's end once the checkpoint's
    interval has passed, read back at the start of the same training in a later run."""

    checkpoint: object  # dimcurse.checkpoint.Checkpoint
    key: tuple

    def load(self) -> dict | None:
        return self.checkpoint.load(self.key)

    def save(self, value: dict) -> None:
        self.checkpoint.save(self.key, value)

    def due(self) -> bool:
        return self.checkpoint.due()


def _class_loss(logits: torch.Tensor, labels: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-sample loss (S, n, M) of logits (S, n, M, C) against integer labels (S, n)."""
    C = logits.shape[-1]
    if loss == "ce":
        flat = torch.nn.functional.cross_entropy(
            logits.reshape(-1, C), labels[:, :, None].expand(logits.shape[:-1]).reshape(-1), reduction="none"
        )
        return flat.reshape(logits.shape[:-1])
    onehot = torch.nn.functional.one_hot(labels, C).to(logits.dtype)
    return ((logits - onehot[:, :, None, :]) ** 2).sum(-1)  # squared loss on one-hot targets, summed over classes


def evaluate_classifier(
    model, x: torch.Tensor, labels: torch.Tensor, loss: str, chunk: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and error rate per (seed, model) over all samples, (S, M) each, float64.

    In evaluation mode (``train(False)``): a network with batch norm (the image CNN) uses its running
    statistics, so a sample's prediction does not depend on the chunk it is evaluated in; the mode
    is restored after."""
    total_loss, wrong = 0.0, 0.0
    was_training = model.training
    model.train(False)  # evaluation mode
    try:
        with torch.no_grad():
            for start in range(0, x.shape[1], chunk):
                logits = model(x[:, start : start + chunk])
                lab = labels[:, start : start + chunk]
                total_loss = total_loss + _class_loss(logits, lab, loss).double().sum(1)
                wrong = wrong + (logits.argmax(-1) != lab[:, :, None]).double().sum(1)
    finally:
        model.train(was_training)
    return total_loss / x.shape[1], wrong / x.shape[1]


def train_classifier(
    model,
    x,
    labels,
    x_test,
    labels_test,
    seeds,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    loss: str = "ce",
    record_every: int = 0,
    steps: int | None = None,
    progress: Callable[[float], None] | None = None,
    augment: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    resume: Resume | None = None,
) -> ClassifierRun:
    """Mini-batch training of every (seed, width) classifier at once, on the sum of their losses.

    Adam(W) and SGD update each parameter from its own gradient, so the sum trains every
    model exactly as alone; each seed shuffles its own training set from its own stream.
    After every epoch the training error of each model is measured on the whole training
    set (to find the epoch it first reaches zero); test metrics are measured every
    ``record_every`` epochs and at the end. ``steps`` (optimiser steps) overrides ``epochs``.
    ``augment(batch, step)``: a transform of each (S, b, d) mini-batch (random crops and flips).
    ``resume``: the state at an epoch's end (models, optimiser, shuffling streams, records) is saved there
    when its interval has passed and read back at the start, so a killed run goes on from that epoch
    exactly as if it had not stopped.
    """
    S, n = labels.shape
    batch = n if batch_size <= 0 else min(batch_size, n)
    per_epoch = math.ceil(n / batch)
    total = steps if steps is not None else epochs * per_epoch
    params = list(model.parameters())
    opt = (
        torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True)
        if optimizer == "adam"
        else torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay, foreach=True)
    )
    gens = [generator(s, "shuffle", n) for s in seeds]
    alive = torch.ones(S, len(model.widths), dtype=torch.bool, device=x.device)
    first_zero = torch.full((S, len(model.widths)), float("nan"), dtype=torch.float64)
    chunk = sample_chunk(model, x)
    rows = torch.arange(S, device=x.device)[:, None]
    records, order, initial = [], None, None
    kept = resume.load() if resume is not None else None
    if kept is not None:
        model.load_state_dict(kept["model"])
        opt.load_state_dict(kept["opt"])
        for gen, state in zip(gens, kept["gens"]):
            gen.set_state(state)
        alive.copy_(kept["alive"].to(alive.device))
        first_zero, records, initial = kept["first_zero"], kept["records"], kept["initial"]
        if progress is not None:
            progress(kept["step"] / total)
    elif record_every:  # the curves start at the initialisation (epoch 0)
        train_loss, train_error = evaluate_classifier(model, x, labels, loss, chunk)
        test_loss, test_error = evaluate_classifier(model, x_test, labels_test, loss, chunk)
        records.append(_record(0.0, train_loss, train_error, test_loss, test_error, first_zero=first_zero, alive=alive))
        records[-1]["weight_norm"] = model.weight_norms().numpy()
    for step in range(kept["step"] if kept is not None else 0, total):
        if step % per_epoch == 0:
            order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(x.device)
        idx = order[:, (step % per_epoch) * batch : (step % per_epoch + 1) * batch]
        drop_models(model, opt, alive, nonfinite_models(model, alive))
        opt.zero_grad(set_to_none=False)
        batch_x = x[rows, idx] if augment is None else augment(x[rows, idx], step)
        per_model = _class_loss(model(batch_x), labels[rows, idx], loss).mean(1)
        (per_model * alive).sum().backward()
        initial = per_model.detach().clone() if initial is None else initial
        drop_models(model, opt, alive, alive & exploded(per_model.detach(), initial))
        opt.step()
        if (step + 1) % per_epoch == 0 or step + 1 == total:
            epoch = (step + 1) / per_epoch
            drop_models(model, opt, alive, nonfinite_models(model, alive))
            train_loss, train_error = evaluate_classifier(model, x, labels, loss, chunk)
            newly = (train_error.cpu() == 0) & torch.isnan(first_zero)
            first_zero[newly] = epoch
            final = step + 1 == total
            if final or (record_every and (step + 1) % (record_every * per_epoch) == 0):
                test_loss, test_error = evaluate_classifier(model, x_test, labels_test, loss, chunk)
                records.append(
                    _record(epoch, train_loss, train_error, test_loss, test_error, first_zero=first_zero, alive=alive)
                )
                records[-1]["weight_norm"] = model.weight_norms().numpy()
            if resume is not None and step + 1 < total and resume.due():
                state = {"model": model.state_dict(), "opt": opt.state_dict(), "gens": [g.get_state() for g in gens]}
                state.update(alive=alive.cpu(), first_zero=first_zero, records=records, initial=initial, step=step + 1)
                resume.save(state)
        if progress is not None:
            progress(1.0 / total)
    return ClassifierRun(records, (~alive).cpu().numpy(), total, per_epoch)


def _record(epoch, train_loss, train_error, test_loss, test_error, *, first_zero, alive) -> dict:
    dead = (~alive).cpu().numpy()
    out = {"epoch": epoch, "first_zero": first_zero.numpy().copy()}
    for name, value in (
        ("train_loss", train_loss),
        ("train_error", train_error),
        ("test_loss", test_loss),
        ("test_error", test_error),
    ):
        arr = value.cpu().numpy().copy()
        arr[dead] = np.nan  # a diverged model has no result
        out[name] = arr
    return out
