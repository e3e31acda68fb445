"""The MobileNetV2-like network of a spec, in PyTorch, and a hooked MAC count that checks :func:`.encoding.flops`."""

from __future__ import annotations

import torch
from torch import nn

from .encoding import DATASETS, NUM_CLASSES, RESOLUTION, Spec, SpecError, parse_spec


def hooked_flops(model: nn.Module, resolution: int = RESOLUTION) -> int:
    """MACs of every Conv2d and Linear, counted from a real forward pass (checks :func:`flops`)."""
    total = 0

    def conv_hook(m: nn.Conv2d, _inp, out):
        nonlocal total
        total += m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups) * m.out_channels * out.shape[2] * out.shape[3]

    def linear_hook(m: nn.Linear, _inp, _out):
        nonlocal total
        total += m.in_features * m.out_features

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    handles += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, resolution, resolution))
    finally:
        for h in handles:
            h.remove()
    return total


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1x1 expand -> k x k depthwise (stride) -> 1x1 project, plus an identity or 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, mid: int, kernel: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(c_in, mid, 1), conv_bn(mid, mid, kernel, stride, groups=mid),
                                  conv_bn(mid, c_out, 1, relu=False))
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out
                         else conv_bn(c_in, c_out, 1, stride, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class MobileNetV2Like(nn.Module):
    def __init__(self, spec: Spec, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.spec = spec
        self.stem = conv_bn(3, spec.stem, 3, 2)
        blocks: list[nn.Module] = []
        c_in = spec.stem
        for stage in spec.stages:
            for j in range(stage.layers):
                blocks.append(InvertedResidual(c_in, stage.out, stage.bottleneck * stage.expansion, stage.kernel,
                                               stage.stride if j == 0 else 1))
                c_in = stage.out
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn(c_in, spec.head, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(spec.head, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling (Zen-NAS's measurement point)."""
        return self.head(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))

    def feature_modules(self) -> list[nn.Module]:
        return [self.stem, *self.blocks]


def build_model(spec: Spec | str | dict, num_classes: int = NUM_CLASSES) -> MobileNetV2Like:
    """The network of a spec, untrained: hand it to your own ImageNet training."""
    return MobileNetV2Like(spec if isinstance(spec, Spec) else parse_spec(spec), num_classes)


def build_network(arch: str, dataset: str) -> MobileNetV2Like:
    if dataset not in DATASETS:
        raise SpecError(f"unknown dataset {dataset!r} for the MobileNetV2 space; expected one of {sorted(DATASETS)}")
    return build_model(arch, DATASETS[dataset].num_classes)
