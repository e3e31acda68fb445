"""The NAS-Bench-101 network in PyTorch: the pruned cell, stacked as the benchmark trained it."""

from __future__ import annotations

import torch
from torch import nn

from intrain.spaces.nb101.encoding import (
    CELLS_PER_STACK,
    NUM_STACKS,
    STEM_CHANNELS,
    ArchSpecError,
    CellSpec,
    dataset_spec,
    parse_arch,
    prune,
    vertex_channels,
)


class ConvBNReLU(nn.Sequential):
    """Conv(bias=False, same padding) -> BN -> ReLU, the benchmark's conv op and projection."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            # TF's defaults in the benchmark: decay 0.997, epsilon 1e-5.
            nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003),
            nn.ReLU(inplace=False),
        )


def make_op(op: str, channels: int) -> nn.Module:
    if op == "conv3x3-bn-relu":
        return ConvBNReLU(channels, channels, 3)
    if op == "conv1x1-bn-relu":
        return ConvBNReLU(channels, channels, 1)
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ArchSpecError(f"unknown operation {op!r}")


class Cell(nn.Module):
    """One pruned NB101 cell.

    Vertex t sums its predecessors' outputs (truncated to its width) and, if the input feeds it,
    a 1x1 projection of the cell input; the output concatenates the vertices that feed it and
    adds a 1x1 projection of the input when the input feeds the output directly.
    """

    def __init__(self, spec: CellSpec, c_in: int, c_out: int):
        super().__init__()
        n = spec.num_vertices
        self.n = n
        self.matrix = spec.matrix
        self.channels = vertex_channels(c_in, c_out, spec.matrix)
        self.ops = nn.ModuleDict()
        self.projections = nn.ModuleDict()
        for t in range(1, n - 1):
            self.ops[str(t)] = make_op(spec.ops[t], self.channels[t])
            if spec.matrix[0][t]:
                self.projections[str(t)] = ConvBNReLU(c_in, self.channels[t], 1)
        if spec.matrix[0][n - 1]:
            self.projections[str(n - 1)] = ConvBNReLU(c_in, c_out, 1)
        self.sources = [[s for s in range(1, t) if spec.matrix[s][t]] for t in range(n)]
        self.into_output = [t for t in range(1, n - 1) if spec.matrix[t][n - 1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: list[torch.Tensor] = [x]
        for t in range(1, self.n - 1):
            c = self.channels[t]
            terms = [values[s][:, :c] for s in self.sources[t]]
            if str(t) in self.projections:
                terms.append(self.projections[str(t)](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            values.append(self.ops[str(t)](total))
        out = None
        if self.into_output:
            parts = [values[t] for t in self.into_output]
            out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        key = str(self.n - 1)
        if key in self.projections:
            proj = self.projections[key](x)
            out = proj if out is None else out + proj
        assert out is not None  # a valid spec feeds the output from a vertex or from the input
        return out


class NB101Network(nn.Module):
    """Stem conv(128) -> 3 stacks of 3 cells (2x2 max-pool and channel doubling between) -> pool -> linear."""

    def __init__(self, arch: str | CellSpec, num_classes: int, stem_channels: int = STEM_CHANNELS):
        super().__init__()
        spec = arch if isinstance(arch, CellSpec) else parse_arch(arch)
        self.arch = spec.to_str()
        pruned = prune(spec)
        self.stem = ConvBNReLU(3, stem_channels, 3)
        blocks: list[nn.Module] = []
        c_in = c_out = stem_channels
        for stack in range(NUM_STACKS):
            if stack > 0:
                blocks.append(nn.MaxPool2d(2, stride=2))
                c_out *= 2
            for _ in range(CELLS_PER_STACK):
                blocks.append(Cell(pruned, c_in, c_out))
                c_in = c_out
        self.cells = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_out, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling (Zen-NAS's measurement point)."""
        return self.cells(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))

    def feature_modules(self) -> list[nn.Module]:
        """Stem and every cell, whose outputs AZ-NAS compares (the parameter-free pools are skipped)."""
        return [self.stem, *(b for b in self.cells if isinstance(b, Cell))]


#: BN momentum of the PyTorch NB101 models that published proxies were scored on (zero-cost-nas
#: ``nasbench1_ops.ConvBnRelu``: ``nn.BatchNorm2d`` defaults); the benchmark itself trained with 0.003.
REFERENCE_BN_MOMENTUM = 0.1


def build_network(arch: str, dataset: str, protocol: str = "uniform") -> NB101Network:
    """The benchmark network: always the pruned cell (that is the network the benchmark trained).

    ``protocol="reference"``: the same network with the PyTorch ports' BN momentum (0.1 instead of
    TF's 0.003), which only proxies reading running statistics after a forward (Zen) can see.
    """
    if protocol not in ("uniform", "reference"):
        raise ArchSpecError(f"unknown protocol {protocol!r}; expected 'uniform' or 'reference'")
    model = NB101Network(arch, dataset_spec(dataset).num_classes)
    if protocol == "reference":
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = REFERENCE_BN_MOMENTUM
    return model
