"""Batched convolutional classifiers: every (seed, width) model in a few grouped convolutions.

The MNIST-1D paper's convolutional net (Greydanus 2020): three Conv1d layers of c channels
(kernel 5, 3, 3; stride 2, padding 1), ReLU after each, and a linear readout of the
flattened c x L' map. On 40-sample sequences L' = 5, and a model has 6c^2 + 58c + 10
parameters (10 classes): ``cnn1d_params``.

Batching. Models are stacked along the channel axis and run as one grouped convolution,
one group per (seed, model). A grouped convolution needs the same channel count in every
group, so the widths are put in buckets (the partition that balances the cost of one more
convolution call against the multiply-adds of padding, ``buckets``) and every model is
padded to its bucket's largest width. The padded channels hold zero
weights and zero biases, and a gradient mask keeps them zero under Adam(W) and SGD, so
they carry exact zeros through ReLU and the readout: each model trains exactly as it would
alone (to the order of floating-point sums), which tests/test_cnn.py checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dimcurse.nets import _uniform

CNN1D_LAYERS = ((5, 2, 1), (3, 2, 1), (3, 2, 1))  # (kernel, stride, padding) of the three Conv1d layers
# What one more grouped convolution costs, in the units of a padded model's c^2 multiply-adds: on the
# 2-core CPU a call's overhead (~30 us) is about the work of padding a model by 256 = 16^2 channel pairs
# at batch 100 (benchmarks/bench_cnn.py). Small widths share a bucket; wide ones keep their own.
CALL_COST = 256.0


def conv1d_length(length: int) -> int:
    """The sequence length after the three layers (40 -> 19 -> 10 -> 5)."""
    for kernel, stride, padding in CNN1D_LAYERS:
        length = (length + 2 * padding - kernel) // stride + 1
    return length


def cnn1d_params(length: int, width: int, classes: int, in_channels: int = 1) -> int:
    """Parameters of one MNIST-1D CNN: three convolutions with biases and the readout."""
    k1, k2, k3 = (layer[0] for layer in CNN1D_LAYERS)
    convs = width * (in_channels * k1 + 1) + width * (width * k2 + 1) + width * (width * k3 + 1)
    return convs + (width * conv1d_length(length) + 1) * classes


def buckets(widths: list[int], call_cost: float = CALL_COST) -> list[list[int]]:
    """Indices of ``widths`` grouped into buckets of consecutive sorted widths, each run padded to its
    largest: the partition that minimises the sum over buckets of call_cost + m cmax^2 (m models
    padded to cmax channels; the c x c layers cost ~c^2), found by dynamic programming."""
    order = sorted(range(len(widths)), key=lambda j: widths[j])
    sizes = [widths[j] for j in order]
    best, cut = [0.0] + [math.inf] * len(sizes), [0] * (len(sizes) + 1)
    for end in range(1, len(sizes) + 1):
        for start in range(end):
            cost = best[start] + call_cost + (end - start) * sizes[end - 1] ** 2
            if cost < best[end]:
                best[end], cut[end] = cost, start
    out, end = [], len(sizes)
    while end:
        out.append(order[cut[end] : end])
        end = cut[end]
    return out[::-1]


@dataclass
class _Bucket:
    models: list[int]  # indices into the widths
    cmax: int
    params: list[torch.nn.Parameter]  # w1, b1, w2, b2, w3, b3, readout, readout bias
    masks: list[torch.Tensor]


class CNN1DClassifier(torch.nn.Module):
    """The MNIST-1D CNN for every (seed, width): (S, n, L) sequences -> (S, n, M, C) logits.

    Initialisation is PyTorch's Conv1d/Linear default (uniform in +-1/sqrt(fan_in)), each model
    from its own (seed, width, layer) stream, so a model does not depend on the sweep around it.
    """

    def __init__(self, seeds, length: int, widths, classes: int, dtype=torch.float32):
        super().__init__()
        self.widths, self.classes, self.length = list(widths), classes, length
        self.seeds = list(seeds)
        self.out_length = conv1d_length(length)
        self._params = torch.nn.ParameterList()
        self.buckets = [self._bucket(members, dtype) for members in buckets(self.widths)]
        self.position = {j: (b, i) for b, bucket in enumerate(self.buckets) for i, j in enumerate(bucket.models)}

    # ------------------------------------------------------------------ parameters

    def _bucket(self, members: list[int], dtype) -> _Bucket:
        S, m, cmax, L = len(self.seeds), len(members), max(self.widths[j] for j in members), self.out_length
        G = S * m
        shapes = [(G, cmax, 1, CNN1D_LAYERS[0][0]), (G, cmax), (G, cmax, cmax, CNN1D_LAYERS[1][0]), (G, cmax),
                  (G, cmax, cmax, CNN1D_LAYERS[2][0]), (G, cmax), (G, cmax * L, self.classes), (G, self.classes)]
        values = [torch.zeros(shape, dtype=torch.float64) for shape in shapes]
        masks = [torch.zeros(shape, dtype=torch.bool) for shape in shapes]
        for s, seed in enumerate(self.seeds):
            for i, j in enumerate(members):
                self._init_model(values, masks, s * m + i, seed, self.widths[j])
        params = [torch.nn.Parameter(v.to(dtype)) for v in values]
        for param, mask in zip(params, masks):
            self._params.append(param)
            keep = mask.to(dtype)
            param.register_hook(lambda grad, keep=keep: grad * keep.to(grad.device))
        return _Bucket(members, cmax, params, masks)

    def _init_model(self, values, masks, g: int, seed: int, c: int) -> None:
        L, C = self.out_length, self.classes
        layers = [(0, (c, 1, CNN1D_LAYERS[0][0])), (2, (c, c, CNN1D_LAYERS[1][0])), (4, (c, c, CNN1D_LAYERS[2][0]))]
        for number, (slot, shape) in enumerate(layers):
            fan_in = shape[1] * shape[2]
            bound = 1 / math.sqrt(fan_in)
            values[slot][g, :c, : shape[1]] = _uniform(shape, bound, seed, "cnn1d", c, number, "w")
            values[slot + 1][g, :c] = _uniform((c,), bound, seed, "cnn1d", c, number, "b")
            masks[slot][g, :c, : shape[1]] = True
            masks[slot + 1][g, :c] = True
        cmax = values[0].shape[1]
        rows = (torch.arange(cmax)[:, None] < c).expand(cmax, L).reshape(-1)  # channel-major flatten, like torch's
        bound = 1 / math.sqrt(c * L)
        values[6][g, rows] = _uniform((c * L, C), bound, seed, "cnn1d", c, 3, "w")
        values[7][g] = _uniform((C,), bound, seed, "cnn1d", c, 3, "b")
        masks[6][g, rows] = True
        masks[7][g] = True

    # ------------------------------------------------------------------ forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S, n, L = x.shape
        outs = [None] * len(self.widths)
        for bucket in self.buckets:
            m, cmax = len(bucket.models), bucket.cmax
            G = S * m
            h = x.transpose(0, 1)[:, :, None, :].expand(n, S, m, L).reshape(n, G, L)  # one input channel per group
            w1, b1, w2, b2, w3, b3, readout, bias = bucket.params
            for (weight, b), (kernel, stride, padding) in zip(((w1, b1), (w2, b2), (w3, b3)), CNN1D_LAYERS):
                h = F.conv1d(h, weight.reshape(G * cmax, -1, kernel), b.reshape(-1), stride=stride, padding=padding,
                             groups=G)
                h = torch.relu(h)
            flat = h.reshape(n, G, cmax * self.out_length)
            logits = torch.einsum("ngk,gkc->ngc", flat, readout) + bias  # (n, G, C)
            logits = logits.reshape(n, S, m, self.classes).transpose(0, 1)
            for i, j in enumerate(bucket.models):
                outs[j] = logits[:, :, i]
        return torch.stack(outs, 2)

    # ------------------------------------------------------------------ the batched-model interface

    def params_per_model(self, dim: int | None = None) -> list[int]:
        return [cnn1d_params(self.length, w, self.classes) for w in self.widths]

    def hidden_units(self) -> int:
        """Activations per sample across all models (for chunking the evaluation)."""
        lengths = [self.length]
        for kernel, stride, padding in CNN1D_LAYERS:
            lengths.append((lengths[-1] + 2 * padding - kernel) // stride + 1)
        return sum(b.cmax * len(b.models) for b in self.buckets) * sum(lengths[1:])

    def model_slices(self, s: int, j: int):
        b, i = self.position[j]
        bucket = self.buckets[b]
        g = s * len(bucket.models) + i
        return [(param, (g,)) for param in bucket.params]

    def weight_norms(self) -> torch.Tensor:
        """(S, M) Euclidean norm of each model's parameters (the padding is zero)."""
        norms = torch.zeros(len(self.seeds), len(self.widths), dtype=torch.float64)
        with torch.no_grad():
            for s in range(len(self.seeds)):
                for j in range(len(self.widths)):
                    norms[s, j] = sum(float((p[i].double() ** 2).sum()) for p, i in self.model_slices(s, j)) ** 0.5
        return norms

    def padding_overhead(self) -> float:
        """Multiply-adds of the padded c x c layers over those of the models alone (1 = no padding)."""
        padded = sum(b.cmax**2 * len(b.models) for b in self.buckets)
        return padded / max(1, sum(w * w for w in self.widths))


def single_model(model: CNN1DClassifier, s: int, j: int) -> CNN1DClassifier:
    """Model (s, j) alone, as a one-seed one-width network with the same weights (for the tests and the
    loop baseline)."""
    alone = CNN1DClassifier([model.seeds[s]], model.length, [model.widths[j]], model.classes,
                            dtype=next(model.parameters()).dtype)
    c = model.widths[j]
    with torch.no_grad():
        for (dst, _), (src, index) in zip(alone.model_slices(0, 0), model.model_slices(s, j)):
            dst.copy_(_crop(src[index], c, dst.shape[1:]))
    return alone


def _crop(value: torch.Tensor, c: int, shape) -> torch.Tensor:
    """A padded parameter's block for a width-c model, in the shape of a model alone."""
    if value.dim() == 3 and value.shape[0] != shape[0]:  # a c x c x k kernel padded to cmax
        return value[: shape[0], : shape[1]]
    if value.dim() == 1 and value.shape[0] != shape[0]:
        return value[: shape[0]]
    if value.dim() == 2 and value.shape[0] != shape[0]:  # the readout: rows of the padded channel-major map
        cmax = value.shape[0] // (shape[0] // c)
        length = shape[0] // c
        return value.reshape(cmax, length, -1)[:c].reshape(c * length, -1)
    return value[tuple(slice(0, n) for n in shape)]

