"""The network of a Zen-NAS structure, laid out as Zen-NAS builds it (``PlainNet/SuperResIDWEXKX.py``).

One sub-layer of ``SuperResIDWE{e}K{k}(in,out,s,btl,L)`` is two inverted-residual units:

* A: 1x1 in->dA, BN, ReLU; k x k depthwise stride s, BN, ReLU; [SE]; 1x1 dA->btl, BN;
  dA = smart_round(btl*e, 8). On sub-layer 0 its shortcut is always a biased 1x1 conv (stride s)
  + BN (``ResBlockProj``); later sub-layers project only when in != btl.
* B: 1x1 btl->dB, BN, ReLU; k x k depthwise, BN, ReLU; [SE]; 1x1 dB->out, BN; dB = smart_round(out*e, 8);
  projection only when btl != out.

Each unit ends with a ReLU after the add. Stem and head are conv-BN-ReLU; then global average
pooling and ``Linear(head, 1000)``; every BN has eps 1e-3 (``MasterNet``). SE (avg pool, 1x1 to
round(C/4), BN, ReLU, 1x1 back, BN, sigmoid, multiply) is off while searching and on for the
trained networks. ``residual=False`` drops every shortcut, as Zen-NAS's own search scores its
networks (``no_reslink=True``).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from intrain.spaces.zennas.flops import NUM_CLASSES, dw_width, se_channels
from intrain.spaces.zennas.grammar import ConvBlock, IDWBlock, Structure, parse_structure

BN_EPS = 1e-3


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS)


class SqueezeExcite(nn.Module):
    """Zen-NAS's SE: x * sigmoid(BN(conv(ReLU(BN(conv(avgpool(x)))))))."""

    def __init__(self, c: int):
        super().__init__()
        s = se_channels(c)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(c, s, 1, bias=False),
            _bn(s),
            nn.ReLU(),
            nn.Conv2d(s, c, 1, bias=False),
            _bn(c),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class ConvBNReLU(nn.Sequential):
    """One sub-layer of the stem or head."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int):
        super().__init__(nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, bias=False), _bn(c_out), nn.ReLU())


class Unit(nn.Module):
    """One inverted-residual unit with its shortcut and the ReLU after the add."""

    def __init__(
        self, c_in: int, mid: int, c_out: int, k: int, stride: int, project: bool, se: bool, residual: bool = True
    ):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, mid, 1, bias=False),
            _bn(mid),
            nn.ReLU(),
            nn.Conv2d(mid, mid, k, stride, (k - 1) // 2, groups=mid, bias=False),
            _bn(mid),
            nn.ReLU(),
        ]
        if se:
            layers.append(SqueezeExcite(mid))
        layers += [nn.Conv2d(mid, c_out, 1, bias=False), _bn(c_out)]
        self.body = nn.Sequential(*layers)
        self.residual = residual
        self.proj = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride), _bn(c_out)) if residual and project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.residual:
            out = out + (x if self.proj is None else self.proj(x))
        return torch.relu(out)


def idw_units(block: IDWBlock, se: bool = False, residual: bool = True) -> list[Unit]:
    """The 2 x sub_layers units of one SuperResIDWE block, in forward order."""
    units, c_in, stride = [], block.in_channels, block.stride
    btl, out, k = block.bottleneck, block.out_channels, block.kernel
    for i in range(block.sub_layers):
        units.append(
            Unit(
                c_in,
                dw_width(btl, block.expansion),
                btl,
                k,
                stride,
                project=(i == 0 or stride > 1 or c_in != btl),
                se=se,
                residual=residual,
            )
        )
        units.append(Unit(btl, dw_width(out, block.expansion), out, k, 1, project=btl != out, se=se, residual=residual))
        c_in, stride = out, 1
    return units


def conv_layers(block: ConvBlock) -> nn.Sequential:
    c_in, stride, layers = block.in_channels, block.stride, []
    for _ in range(block.sub_layers):
        layers.append(ConvBNReLU(c_in, block.out_channels, block.kernel, stride))
        c_in, stride = block.out_channels, 1
    return nn.Sequential(*layers)


class ZenNet(nn.Module):
    """stem -> units -> head -> global average pool -> classifier (the probe interface of every space)."""

    def __init__(
        self, structure: Structure | str, num_classes: int = NUM_CLASSES, se: bool = False, residual: bool = True
    ):
        super().__init__()
        self.structure = parse_structure(structure) if isinstance(structure, str) else structure
        blocks = self.structure.blocks
        # stem and head are ConvBlocks, the blocks between IDWBlocks (grammar.check_structure)
        self.stem = conv_layers(cast(ConvBlock, blocks[0]))
        idw_blocks = cast("tuple[IDWBlock, ...]", blocks[1:-1])
        self.units = nn.Sequential(*[u for b in idw_blocks for u in idw_units(b, se, residual)])
        self.head = conv_layers(cast(ConvBlock, blocks[-1]))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(blocks[-1].out_channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling (Zen-NAS's ``forward_pre_GAP``)."""
        return self.head(self.units(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))

    def feature_modules(self) -> list[nn.Module]:
        """Every post-ReLU output AZ-NAS reads: stem, each unit, head."""
        return [self.stem, *self.units, self.head]


def build_model(
    structure: Structure | str, num_classes: int = NUM_CLASSES, se: bool = False, residual: bool = True
) -> ZenNet:
    """The untrained network of a structure string (``se=True`` for the exported/trained form).

    Examples:
        >>> net = build_model("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)")
        >>> tuple(net(torch.zeros(2, 3, 32, 32)).shape)
        (2, 1000)
    """
    return ZenNet(structure, num_classes, se, residual)
