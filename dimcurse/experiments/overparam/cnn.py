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
from typing import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dimcurse.nets import uniform_init
from dimcurse.runtime import generator

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
    params: list[torch.nn.Parameter]  # 1-D: w1, b1, w2, b2, w3, b3, readout, bias; 2-D: (kernel, scale, shift) x 4, ...


def _masked_bucket(net, members: list[int], cmax: int, shapes, dtype) -> _Bucket:
    """A bucket's parameters: zeros of ``shapes`` (leading axis: one group per seed x member), each
    model's block filled by ``net._init_model``, and a gradient mask that keeps the padding zero."""
    values = [torch.zeros(shape, dtype=torch.float64) for shape in shapes]
    masks = [torch.zeros(shape, dtype=torch.bool) for shape in shapes]
    for s, seed in enumerate(net.seeds):
        for i, j in enumerate(members):
            net._init_model(values, masks, s * len(members) + i, seed, net.widths[j])
    params = [torch.nn.Parameter(v.to(dtype)) for v in values]
    for param, mask in zip(params, masks):
        net._params.append(param)
        name = f"_keep_{len(net._params)}"  # a buffer, so .to(device) moves the mask with the model
        net.register_buffer(name, mask.to(dtype), persistent=False)
        param.register_hook(lambda grad, name=name: grad * getattr(net, name))
    return _Bucket(members, cmax, params)


class _BatchedCNN(torch.nn.Module):
    """What the 1-D and the 2-D nets share: models found by (seed, width) in their buckets, and the
    batched-model interface ``train_classifier`` uses (``model_slices``, ``weight_norms``)."""

    seeds: list
    widths: list
    buckets: list

    def _index(self) -> None:
        self.position = {j: (b, i) for b, bucket in enumerate(self.buckets) for i, j in enumerate(bucket.models)}

    def model_slices(self, s: int, j: int):
        b, i = self.position[j]
        bucket = self.buckets[b]
        return [(param, (s * len(bucket.models) + i,)) for param in bucket.params]

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


class CNN1DClassifier(_BatchedCNN):
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
        self._index()

    # ------------------------------------------------------------------ parameters

    def _bucket(self, members: list[int], dtype) -> _Bucket:
        S, m, cmax, L = len(self.seeds), len(members), max(self.widths[j] for j in members), self.out_length
        G = S * m
        shapes = [
            (G, cmax, 1, CNN1D_LAYERS[0][0]),
            (G, cmax),
            (G, cmax, cmax, CNN1D_LAYERS[1][0]),
            (G, cmax),
            (G, cmax, cmax, CNN1D_LAYERS[2][0]),
            (G, cmax),
            (G, cmax * L, self.classes),
            (G, self.classes),
        ]
        return _masked_bucket(self, members, cmax, shapes, dtype)

    def _init_model(self, values, masks, g: int, seed: int, c: int) -> None:
        L, C = self.out_length, self.classes
        layers = [(0, (c, 1, CNN1D_LAYERS[0][0])), (2, (c, c, CNN1D_LAYERS[1][0])), (4, (c, c, CNN1D_LAYERS[2][0]))]
        for number, (slot, shape) in enumerate(layers):
            fan_in = shape[1] * shape[2]
            bound = 1 / math.sqrt(fan_in)
            values[slot][g, :c, : shape[1]] = uniform_init(shape, bound, seed, "cnn1d", c, number, "w")
            values[slot + 1][g, :c] = uniform_init((c,), bound, seed, "cnn1d", c, number, "b")
            masks[slot][g, :c, : shape[1]] = True
            masks[slot + 1][g, :c] = True
        cmax = values[0].shape[1]
        rows = (torch.arange(cmax)[:, None] < c).expand(cmax, L).reshape(-1)  # channel-major flatten, like torch's
        bound = 1 / math.sqrt(c * L)
        values[6][g, rows] = uniform_init((c * L, C), bound, seed, "cnn1d", c, 3, "w")
        values[7][g] = uniform_init((C,), bound, seed, "cnn1d", c, 3, "b")
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
                h = F.conv1d(
                    h, weight.reshape(G * cmax, -1, kernel), b.reshape(-1), stride=stride, padding=padding, groups=G
                )
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


def single_model(model, s: int, j: int):
    """Model (s, j) of a batched CNN alone, as a one-seed one-width network with the same weights (and,
    for the 2-D net, batch-norm statistics): for the tests and the loop baseline."""
    dtype, c = next(model.parameters()).dtype, model.widths[j]
    images = isinstance(model, CNN2DClassifier)
    alone = (
        CNN2DClassifier([model.seeds[s]], model.shape, [c], model.classes, dtype=dtype)
        if images
        else CNN1DClassifier([model.seeds[s]], model.length, [c], model.classes, dtype=dtype)
    )
    with torch.no_grad():
        for (dst, _), (src, index) in zip(alone.model_slices(0, 0), model.model_slices(s, j)):
            block = src[index]
            dst[0].copy_(block[tuple(slice(0, n) for n in dst.shape[1:])] if images else _crop(block, c, dst.shape[1:]))
        if images:
            b, i = model.position[j]
            g = s * len(model.buckets[b].models) + i
            for layer, mult in enumerate(CNN2D_MULTIPLIERS):
                size, width = model.buckets[b].cmax * mult, c * mult
                for stat in ("mean", "var"):
                    getattr(alone, f"{stat}_0_{layer}").copy_(getattr(model, f"{stat}_{b}_{layer}")[g * size :][:width])
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


# --------------------------------------------------------------------------- images: Nakkiran et al.'s 5-layer CNN

CNN2D_MULTIPLIERS = (1, 2, 4, 8)  # the four 3x3 conv blocks have c, 2c, 4c, 8c channels
CNN2D_POOLED = (False, True, True, True)  # max-pooling (2x2) after blocks 2, 3 and 4, then a global max


def cnn2d_params(in_channels: int, width: int, classes: int) -> int:
    """Parameters of one 5-layer CNN (Nakkiran et al. 2019): four bias-free 3x3 convolutions with batch
    norm (scale and shift), and the linear readout of the 8c pooled channels; about 1.56 M at c = 64."""
    chans = [in_channels] + [m * width for m in CNN2D_MULTIPLIERS]
    convs = sum(9 * a * b for a, b in zip(chans[:-1], chans[1:]))
    return convs + 2 * sum(chans[1:]) + (chans[-1] + 1) * classes


class CNN2DClassifier(_BatchedCNN):
    """Nakkiran et al.'s 5-layer CNN for every (seed, width): (S, n, C*H*W) images -> (S, n, M, classes).

    Four blocks of 3x3 convolution (no bias, padding 1), batch norm, ReLU, with 2x2 max-pooling after
    the last three, a global max-pool and a linear layer. Batched like the 1-D net: one group per
    (seed, model), widths bucketed and padded, the padding masked to zero (batch norm's scale and
    shift too, so a padded channel stays 0 in training and in evaluation). Batch norm uses the
    mini-batch's statistics in training and running averages (momentum 0.1) in evaluation mode.
    """

    def __init__(self, seeds, shape: tuple[int, int, int], widths, classes: int, dtype=torch.float32):
        super().__init__()
        self.seeds, self.shape, self.widths, self.classes = list(seeds), tuple(shape), list(widths), classes
        self._params = torch.nn.ParameterList()
        self.buckets = []
        for b, members in enumerate(buckets(self.widths)):
            bucket = self._bucket(members, dtype)
            for layer, mult in enumerate(CNN2D_MULTIPLIERS):
                size = len(self.seeds) * len(members) * bucket.cmax * mult
                self.register_buffer(f"mean_{b}_{layer}", torch.zeros(size, dtype=dtype))
                self.register_buffer(f"var_{b}_{layer}", torch.ones(size, dtype=dtype))
            self.buckets.append(bucket)
        self._index()

    def _bucket(self, members: list[int], dtype) -> _Bucket:
        G, cmax, cin = len(self.seeds) * len(members), max(self.widths[j] for j in members), self.shape[0]
        chans = [cin] + [m * cmax for m in CNN2D_MULTIPLIERS]
        shapes = []
        for a, b in zip(chans[:-1], chans[1:]):
            shapes += [(G, b, a, 3, 3), (G, b), (G, b)]  # kernel, batch-norm scale, shift
        shapes += [(G, chans[-1], self.classes), (G, self.classes)]
        return _masked_bucket(self, members, cmax, shapes, dtype)

    def _init_model(self, values, masks, g: int, seed: int, c: int) -> None:
        chans = [self.shape[0]] + [m * c for m in CNN2D_MULTIPLIERS]
        for layer, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            slot = 3 * layer
            values[slot][g, :b, :a] = uniform_init((b, a, 3, 3), 1 / math.sqrt(9 * a), seed, "cnn2d", c, layer, "w")
            values[slot + 1][g, :b] = 1.0  # batch norm starts as the identity
            for k in range(3):
                masks[slot + k][g, :b] = True if k else masks[slot][g, :b]
            masks[slot][g, :b, :a] = True
        bound = 1 / math.sqrt(chans[-1])
        values[-2][g, : chans[-1]] = uniform_init((chans[-1], self.classes), bound, seed, "cnn2d", c, 4, "w")
        values[-1][g] = uniform_init((self.classes,), bound, seed, "cnn2d", c, 4, "b")
        masks[-2][g, : chans[-1]] = True
        masks[-1][g] = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S, n, _ = x.shape
        cin, height, width = self.shape
        outs = [None] * len(self.widths)
        for b, bucket in enumerate(self.buckets):
            m, G = len(bucket.models), S * len(bucket.models)
            h = x.reshape(S, n, cin, height, width).transpose(0, 1)[:, :, None]
            h = h.expand(n, S, m, cin, height, width).reshape(n, G * cin, height, width)
            for layer, pooled in enumerate(CNN2D_POOLED):
                kernel, scale, shift = bucket.params[3 * layer : 3 * layer + 3]
                h = F.conv2d(h, kernel.reshape(-1, *kernel.shape[2:]), padding=1, groups=G)
                h = F.batch_norm(
                    h,
                    getattr(self, f"mean_{b}_{layer}"),
                    getattr(self, f"var_{b}_{layer}"),
                    scale.reshape(-1),
                    shift.reshape(-1),
                    training=self.training,
                    momentum=0.1,
                )
                h = torch.relu(h)
                if pooled and min(h.shape[-2:]) >= 2:
                    h = F.max_pool2d(h, 2)
            pooled = h.amax(dim=(-2, -1)).reshape(n, G, -1)  # the global max over what is left
            logits = torch.einsum("ngk,gkc->ngc", pooled, bucket.params[-2]) + bucket.params[-1]
            logits = logits.reshape(n, S, m, self.classes).transpose(0, 1)
            for i, j in enumerate(bucket.models):
                outs[j] = logits[:, :, i]
        return torch.stack(outs, 2)

    def params_per_model(self, dim: int | None = None) -> list[int]:
        return [cnn2d_params(self.shape[0], w, self.classes) for w in self.widths]

    def hidden_units(self) -> int:
        pixels = self.shape[1] * self.shape[2]
        return sum(b.cmax * len(b.models) for b in self.buckets) * pixels * 4


# --------------------------------------------------------------------------- data augmentation


def crop_and_flip(shape: tuple[int, int, int], seeds) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """Random crops (zero padding of H/8 pixels each side, then a random H x W window) and horizontal
    flips (probability 1/2) of each image of a (S, b, C*H*W) mini-batch, drawn per seed and step from
    the seed's own stream: the standard CIFAR augmentation Nakkiran et al. 2019 switch on or off."""
    channels, height, width = shape
    pad = max(1, height // 8)

    def augment(batch: torch.Tensor, step: int) -> torch.Tensor:
        S, b, _ = batch.shape
        images = F.pad(batch.reshape(S * b, channels, height, width), (pad, pad, pad, pad))
        draws = [generator(seed, "augment", step) for seed in seeds]
        offsets = torch.cat([torch.randint(0, 2 * pad + 1, (b, 2), generator=g) for g in draws]).to(batch.device)
        flips = torch.cat([torch.rand(b, generator=g) < 0.5 for g in draws]).to(batch.device)
        rows = offsets[:, :1] + torch.arange(height, device=batch.device)  # (S b, H)
        cols = offsets[:, 1:] + torch.arange(width, device=batch.device)
        cols = torch.where(flips[:, None], cols.flip(1), cols)
        picked = images[torch.arange(S * b, device=batch.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
        return picked.permute(0, 3, 1, 2).reshape(S, b, -1)  # (S b, H, W, C) -> channel-major rows again

    return augment
