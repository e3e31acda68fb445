"""NDS (Network Design Spaces, Radosavovic et al. 2019): networks from the benchmark's records.

The ImageNet variants of seven design spaces are supported. Each record's ``net`` field fixes a
network; `.encoding` validates it and gives it a canonical arch string, this module builds it
in PyTorch:

- **Cell spaces** (Amoeba, DARTS, ENAS, NASNet, PNAS): a DARTS-style ImageNet network. Genotype
  = normal and reduction cells, each a list of ``[op, input_state]`` pairs taken two per step
  (states 0 and 1 are the two previous cells' outputs), plus the states concatenated into the
  cell output. ``width`` C is the first cells' channel count, ``depth`` the number of cells;
  cells at depth//3 and 2*depth//3 reduce (stride 2, channels doubled). Stem: 3x3/2 conv to
  C/2, 3x3/2 conv to C, then ReLU + 3x3/2 conv (x8 downsampling); global pool + linear head.
- **ResNeXt spaces** (ResNeXt-A/B): residual bottleneck stages with per-stage depth ``ds``,
  width ``ws``, stride ``ss``, bottleneck multiplier ``bot_muls`` and number of groups
  ``num_gs``. Entry 0 of every list is the fixed stem (three 3x3/2 conv-BN-ReLU layers 3->32->64->64,
  the DARTS ImageNet stem at width 64, hence stride 8); entries 1.. are the residual stages.
  That reading of entry 0 is the only one that reproduces the records' parameter counts (all
  294 of them exactly), see tests/test_nds.py.

Correctness bar: `count_params` equals every record's ``params`` and `count_flops`
its ``flops`` (at 224x224) for all 897 mirrored models. The two record families count FLOPs
differently (see `FlopConvention`); each convention was fitted to the records and
reproduces all of them exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
from torch import nn

from intrain.spaces.nds.encoding import (
    DATASETS,
    NUM_CLASSES,
    RECORD_RESOLUTION,
    RESNEXT_STEM,
    CellGenotype,
    CellNetSpec,
    NDSRecordError,
    ResNeXtSpec,
    parse_net,
)

# ----------------------------------------------------------------------------- cell operations


class Zero(nn.Module):
    """The ``none`` op: zeros of the strided output shape (keeps the graph, contributes nothing)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the side with two offset 1x1/2 convs (each giving half the channels), then BN."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        if c_out % 2:
            raise NDSRecordError(f"factorized reduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)
    )


def _depthwise_pointwise(c: int, kernel: int, stride: int, dilation: int) -> list[nn.Module]:
    pad = dilation * (kernel - 1) // 2
    return [
        nn.ReLU(),
        nn.Conv2d(c, c, kernel, stride, pad, dilation=dilation, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c),
    ]


def separable(c: int, kernel: int, stride: int, dilation: int = 1, repeats: int = 2) -> nn.Sequential:
    """``repeats`` x (ReLU, depthwise kxk, pointwise 1x1, BN); only the first is strided."""
    layers: list[nn.Module] = []
    for i in range(repeats):
        layers += _depthwise_pointwise(c, kernel, stride if i == 0 else 1, dilation)
    return nn.Sequential(*layers)


def factorized_kxk(c: int, k: int, stride: int) -> nn.Sequential:
    """ReLU, 1xk then kx1 conv (the stride split between them), BN."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c, c, (1, k), stride=(1, stride), padding=(0, k // 2), bias=False),
        nn.Conv2d(c, c, (k, 1), stride=(stride, 1), padding=(k // 2, 0), bias=False),
        nn.BatchNorm2d(c),
    )


def _skip(c: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c)


#: The DARTS/NDS operation vocabulary: name -> builder(channels, stride).
OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, s: Zero(s),
    "skip_connect": _skip,
    "avg_pool_2x2": lambda c, s: nn.AvgPool2d(2, s, 0, count_include_pad=False),
    "avg_pool_3x3": lambda c, s: nn.AvgPool2d(3, s, 1, count_include_pad=False),
    "avg_pool_5x5": lambda c, s: nn.AvgPool2d(5, s, 2, count_include_pad=False),
    "max_pool_2x2": lambda c, s: nn.MaxPool2d(2, s, 0),
    "max_pool_3x3": lambda c, s: nn.MaxPool2d(3, s, 1),
    "max_pool_5x5": lambda c, s: nn.MaxPool2d(5, s, 2),
    "max_pool_7x7": lambda c, s: nn.MaxPool2d(7, s, 3),
    "conv_1x1": lambda c, s: relu_conv_bn(c, c, 1, s),
    "conv_3x3": lambda c, s: relu_conv_bn(c, c, 3, s),
    "sep_conv_3x3": lambda c, s: separable(c, 3, s),
    "sep_conv_5x5": lambda c, s: separable(c, 5, s),
    "sep_conv_7x7": lambda c, s: separable(c, 7, s),
    "dil_conv_3x3": lambda c, s: separable(c, 3, s, dilation=2, repeats=1),
    "dil_conv_5x5": lambda c, s: separable(c, 5, s, dilation=2, repeats=1),
    "dil_sep_conv_3x3": lambda c, s: separable(c, 3, s, dilation=2),
    "conv_3x1_1x3": lambda c, s: factorized_kxk(c, 3, s),
    "conv_7x1_1x7": lambda c, s: factorized_kxk(c, 7, s),
}


# ----------------------------------------------------------------------------- networks


class Cell(nn.Module):
    def __init__(self, genotype: CellGenotype, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else relu_conv_bn(c_pp, c, 1)
        self.preprocess1 = relu_conv_bn(c_p, c, 1)
        self.inputs = [src for _, src in genotype.ops]
        self.concat = genotype.concat
        self.edges = nn.ModuleList(OPS[op](c, 2 if reduction and src < 2 else 1) for op, src in genotype.ops)
        self.out_channels = c * len(genotype.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(0, len(self.edges), 2):
            states.append(self.edges[i](states[self.inputs[i]]) + self.edges[i + 1](states[self.inputs[i + 1]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class CellNetwork(nn.Module):
    """DARTS-style ImageNet network of an NDS cell space."""

    def __init__(self, spec: CellNetSpec, num_classes: int = NUM_CLASSES):
        super().__init__()
        c = spec.width
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, 2, 1, bias=False),
            nn.BatchNorm2d(c // 2),
            nn.ReLU(),
            nn.Conv2d(c // 2, c, 3, 2, 1, bias=False),
            nn.BatchNorm2d(c),
        )
        self.stem1 = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
        c_pp, c_p, c_cur = c, c, c
        reduction_prev = True
        reductions = {spec.depth // 3, 2 * spec.depth // 3}
        cells = []
        for i in range(spec.depth):
            reduction = i in reductions
            if reduction:
                c_cur *= 2
            cell = Cell(spec.reduce if reduction else spec.normal, c_pp, c_p, c_cur, reduction, reduction_prev)
            cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.out_channels
        self.cells = nn.ModuleList(cells)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return s1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))

    def feature_modules(self) -> list[nn.Module]:
        return [self.stem1, *self.cells]


class Bottleneck(nn.Module):
    """Residual bottleneck: 1x1, grouped 3x3 (strided), 1x1, each with BN; projection on shape change."""

    def __init__(self, w_in: int, w_out: int, stride: int, bm: float, groups: int):
        super().__init__()
        w_b = int(round(w_out * bm))
        self.proj = None
        if w_in != w_out or stride != 1:
            self.proj = nn.Sequential(nn.Conv2d(w_in, w_out, 1, stride, bias=False), nn.BatchNorm2d(w_out))
        self.f = nn.Sequential(
            nn.Conv2d(w_in, w_b, 1, bias=False),
            nn.BatchNorm2d(w_b),
            nn.ReLU(),
            nn.Conv2d(w_b, w_b, 3, stride, 1, groups=groups, bias=False),
            nn.BatchNorm2d(w_b),
            nn.ReLU(),
            nn.Conv2d(w_b, w_out, 1, bias=False),
            nn.BatchNorm2d(w_out),
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu((x if self.proj is None else self.proj(x)) + self.f(x))


class ResNeXtNetwork(nn.Module):
    def __init__(self, spec: ResNeXtSpec, num_classes: int = NUM_CLASSES):
        super().__init__()
        stem: list[nn.Module] = []
        for c_in, c_out in RESNEXT_STEM:
            stem += [nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.stem = nn.Sequential(*stem)
        w = RESNEXT_STEM[-1][1]
        stages = []
        for d, w_out, s, bm, g in zip(spec.depths, spec.widths, spec.strides, spec.bottleneck, spec.groups):
            blocks = []
            for j in range(d):
                blocks.append(Bottleneck(w, w_out, s if j == 0 else 1, bm, g))
                w = w_out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(w, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))

    def feature_modules(self) -> list[nn.Module]:
        return [self.stem, *self.stages]


BUILDERS: dict[type, Callable[..., nn.Module]] = {CellNetSpec: CellNetwork, ResNeXtSpec: ResNeXtNetwork}


def build_model(net: dict | str, num_classes: int = NUM_CLASSES) -> nn.Module:
    spec = parse_net(net)
    return BUILDERS[type(spec)](spec, num_classes)


def build_network(arch: str, dataset: str) -> nn.Module:
    """The record's network for ``dataset`` (ImageNet's 1,000 classes)."""
    if dataset not in DATASETS:
        raise NDSRecordError(f"unknown NDS dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    return build_model(arch, DATASETS[dataset].num_classes)


# ----------------------------------------------------------------------------- complexity


def count_params(model: nn.Module) -> int:
    from intrain.engine.counting import count_params as count

    return count(model)


def _conv_macs(m: nn.Conv2d, inp: torch.Tensor, out: torch.Tensor, ignore_dilation: bool) -> int:
    h, w = out.shape[2], out.shape[3]
    if ignore_dilation and m.dilation != (1, 1):  # the cell records size dilated convs as undilated
        padding = cast("tuple[int, int]", m.padding)  # NDS convs have integer padding, never "same"/"valid"
        h, w = ((inp.shape[d] + 2 * padding[i] - m.kernel_size[i]) // m.stride[i] + 1 for i, d in ((0, 2), (1, 3)))
    return m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups) * m.out_channels * h * w


def _pool_window(m: nn.Module, inp: torch.Tensor) -> int:
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return inp.shape[2] * inp.shape[3]  # the global pool reads the whole map per output
    k = cast("int | tuple[int, int]", m.kernel_size)  # a max or average pool (nn.Module types it Tensor | Module)
    return k * k if isinstance(k, int) else k[0] * k[1]


class FlopConvention:
    """How one family of NDS records counts FLOPs (per forward of one 224x224 image).

    Both were fitted to the records and reproduce every one of them exactly:

    - cell spaces: conv multiply-adds with dilated convs sized as if undilated, the classifier's
      multiply-adds and bias, 1 per ReLU output element and the window size per pooled output element
      (max, average and the global pool); BatchNorm, additions and concatenations are free;
    - ResNeXt spaces: conv and classifier multiply-adds, the classifier bias, and 5 per BatchNorm
      output element.
    """

    def __init__(self, ignore_dilation: bool, relu: int, pools: bool, bn: int, linear_bias: bool):
        self.ignore_dilation, self.relu, self.pools, self.bn, self.linear_bias = (
            ignore_dilation,
            relu,
            pools,
            bn,
            linear_bias,
        )

    def __call__(self, m: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
        per_image = out.numel() // out.shape[0]
        if isinstance(m, nn.Conv2d):
            return _conv_macs(m, inp, out, self.ignore_dilation)
        if isinstance(m, nn.Linear):
            return (m.in_features + (self.linear_bias and m.bias is not None)) * m.out_features
        if isinstance(m, nn.BatchNorm2d):
            return self.bn * per_image
        if isinstance(m, nn.ReLU):
            return self.relu * per_image
        if self.pools and isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            return _pool_window(m, inp) * per_image
        return 0


#: The convention of each network family, keyed by the class `build_model` returns.
FLOP_CONVENTIONS: dict[type, FlopConvention] = {
    CellNetwork: FlopConvention(ignore_dilation=True, relu=1, pools=True, bn=0, linear_bias=True),
    ResNeXtNetwork: FlopConvention(ignore_dilation=False, relu=0, pools=False, bn=5, linear_bias=True),
}


def count_flops(model: nn.Module, resolution: int = RECORD_RESOLUTION) -> int:
    """FLOPs of one image in the records' convention (see `FlopConvention`), from one
    forward pass of a zero image with hooks, on the model's device (a model on the meta device
    works too: shapes only, but about 5x slower than a real CPU pass)."""
    from intrain.engine.counting import hooked_forward

    convention = FLOP_CONVENTIONS[type(model)]
    total = [0]
    device = next(model.parameters()).device
    hooked_forward(
        model,
        torch.zeros(1, 3, resolution, resolution, device=device),
        lambda m, inp, out: total.__setitem__(0, total[0] + convention(m, inp, out)),
    )
    return total[0]
