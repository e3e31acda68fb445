"""The NB201 network in PyTorch (the benchmark's AutoDL ``tiny_network``).

A 3x3 stem conv + BN, three stages of N=5 cells (C, 2C, 4C channels) joined by residual
reduction blocks, a final BN + ReLU, global average pooling and a linear head. Operations are
ReLU -> Conv(bias False) -> BN(affine) as in the benchmark (not the SamsungLabs copy, which differs).

With ``prune=True`` (the default) dead edges (`.encoding.live_edges`) are not instantiated:
the cell computes the same function at initialisation and its per-layer statistics are those of
the live graph, which is what makes isomorphic cells equal in distribution. ``prune``,
``fast_pool`` and ``protocol`` are NB201's own build options (`NB201Space.options`).

``reference=True`` (``protocol: reference``) builds the benchmark's own network (AutoDL ``InferCell``) instead: every
non-``none`` edge is instantiated and run, and an edge whose source node receives only ``none``
edges computes on zeros (AutoDL's ``Zero`` op returns ``x.mul(0)``), so its ReLU, conv and BN
run (BN statistics update, ReLU codes and FLOPs count) although they add nothing to the output.
``prune: false`` is not that network: it skips edges whose source node is empty.
"""

from __future__ import annotations

import torch
from torch import nn

from intrain.spaces.nb201.encoding import EDGES, NUM_NODES, Cell, dataset_spec, live_edges, parse_arch


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d(bias=False) -> BatchNorm2d, the benchmark's conv op."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class FastAvgPool3x3(nn.Module):
    """3x3 stride-1 average over the valid neighbours (``count_include_pad=False``).

    The same function as ``nn.AvgPool2d(3, 1, 1, count_include_pad=False)``, computed as a
    fixed depthwise box filter times a precomputed 1/count map: about 5x faster forward +
    backward on CPU, equal to it within float32 rounding (~1e-7). It has no parameters.
    """

    box: torch.Tensor  # a buffer (register_buffer), not a submodule

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.register_buffer("box", torch.ones(channels, 1, 3, 3), persistent=False)
        self._inv_count: dict[tuple[int, int, torch.device, torch.dtype], torch.Tensor] = {}

    def _inverse_count(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.shape[-2], x.shape[-1], x.device, x.dtype)
        inv = self._inv_count.get(key)
        if inv is None:
            ones = torch.ones(1, 1, *key[:2], device=x.device, dtype=x.dtype)
            count = nn.functional.conv2d(ones, torch.ones(1, 1, 3, 3, device=x.device, dtype=x.dtype), padding=1)
            inv = self._inv_count[key] = 1.0 / count
        return inv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        box = self.box.to(dtype=x.dtype)
        return nn.functional.conv2d(x, box, padding=1, groups=self.channels) * self._inverse_count(x)


def make_op(op: str, channels: int, fast_pool: bool = True) -> nn.Module:
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if op == "avg_pool_3x3":
        if fast_pool:
            return FastAvgPool3x3(channels)
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"operation {op!r} has no module (none edges are not instantiated)")


class SearchCell(nn.Module):
    """One NB201 cell; ``none`` edges (and, with ``prune``, dead edges) are not instantiated.

    With ``reference`` every non-``none`` edge is instantiated and run, empty nodes as zeros.
    """

    def __init__(self, cell: Cell, channels: int, prune: bool = True, fast_pool: bool = True, reference: bool = False):
        super().__init__()
        edges = live_edges(cell) if prune and not reference else tuple(e for e in EDGES if cell.op(*e) != "none")
        self.edges = edges
        self.reference = reference
        self.edge_ops = nn.ModuleList(make_op(cell.op(i, j), channels, fast_pool) for (i, j) in edges)
        self._by_target: list[list[tuple[int, int]]] = [[] for _ in range(NUM_NODES)]
        for k, (i, j) in enumerate(edges):
            self._by_target[i].append((k, j))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x]
        for i in range(1, NUM_NODES):
            acc: torch.Tensor | None = None
            for k, j in self._by_target[i]:
                src = nodes[j]
                if src is None:
                    if not self.reference:
                        continue
                    src = x * 0.0  # AutoDL: a node fed only by `none` edges holds x.mul(0)
                y = self.edge_ops[k](src)
                acc = y if acc is None else acc + y
            nodes.append(acc)
        out = nodes[-1]
        # The zero cell: keep the graph connected so shapes and autograd behave as the benchmark's.
        return out if out is not None else x * 0.0


class ResidualReduction(nn.Module):
    """The benchmark's ResNet basic block between stages (stride 2, channel doubling)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NB201 'tiny network' for one cell genotype."""

    def __init__(
        self,
        arch: str | Cell,
        num_classes: int,
        channels: int = 16,
        cells_per_stage: int = 5,
        prune: bool = True,
        fast_pool: bool = True,
        reference: bool = False,
    ):
        super().__init__()
        cell = arch if isinstance(arch, Cell) else parse_arch(arch)
        self.arch = cell.to_str()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(
                SearchCell(cell, c, prune=prune, fast_pool=fast_pool, reference=reference)
                for _ in range(cells_per_stage)
            )
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling (Zen-NAS's measurement point)."""
        return self.lastact(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))

    def feature_modules(self) -> list[nn.Module]:
        """Stem and every cell / reduction block, whose outputs AZ-NAS compares."""
        return [self.stem, *self.cells]


def build_network(
    arch: str, dataset: str, prune: bool = True, fast_pool: bool = True, reference: bool = False
) -> NB201Network:
    spec = dataset_spec(dataset)
    return NB201Network(arch, spec.num_classes, prune=prune, fast_pool=fast_pool, reference=reference)
