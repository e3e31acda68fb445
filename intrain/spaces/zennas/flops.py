"""Cost of a Zen-NAS structure, counted analytically (no module is built).

Three conventions, because the papers compare under one and readers expect another:

* `budget_flops`: ``MasterNet.get_FLOPs(224)`` of Zen-NAS, the number every search in
  Zen-NAS, ZiCo and AZ-NAS checks against its budget. It adds BN (C x H x W per BN), uses
  ``H // stride`` for every output side, and counts a projection shortcut of a strided unit at
  ``(H_out / stride)^2``, i.e. the stride divides the resolution twice (an under-count).
* `macs`: multiply-accumulates of every Conv2d and the Linear, at the sides PyTorch
  computes (what a forward hook sees).
* `params`: the built module's parameter numel (conv weights, projection biases, BN
  weight+bias, SE, Linear weight+bias); `zen_model_size` is Zen-NAS's ``get_model_size``
  (one number per BN channel, no Linear bias but one), kept for comparison with its logs.

``se=True`` counts the SE modules the trained networks carry (``--use_se``); searches run without.
"""

from __future__ import annotations

from dataclasses import dataclass

from intrain.spaces.zennas.grammar import ConvBlock, IDWBlock, Structure, parse_structure

RESOLUTION = 224
NUM_CLASSES = 1000
SE_RATIO = 0.25


def smart_round(x: float, base: int = 8) -> int:
    """Zen-NAS's ``global_utils.smart_round`` with an explicit base: nearest multiple, at least ``base``.

    Examples:
        >>> smart_round(20.0), smart_round(12.0), smart_round(6.4)
        (16, 16, 8)
    """
    return max(base, round(x / float(base)) * base)


def se_channels(c: int) -> int:
    """Width of the SE bottleneck: max(1, round(C / 4))."""
    return max(1, int(round(c * SE_RATIO)))


def dw_width(channels: int, expansion: int) -> int:
    """Width of a unit's depthwise conv: smart_round(channels * e, 8)."""
    return smart_round(channels * float(expansion), 8)


def _side(res: int, kernel: int, stride: int) -> int:
    return (res + 2 * ((kernel - 1) // 2) - kernel) // stride + 1  # PyTorch's output side


@dataclass
class Cost:
    """One block's (or one network's) cost in every convention."""

    flops: float = 0.0  # Zen-NAS get_FLOPs
    macs: int = 0  # Conv2d + Linear MACs at PyTorch's sides
    params: int = 0  # parameter numel
    model_size: float = 0.0  # Zen-NAS get_model_size

    def __iadd__(self, other: Cost) -> Cost:
        self.flops += other.flops
        self.macs += other.macs
        self.params += other.params
        self.model_size += other.model_size
        return self


class _Walker:
    """Adds up the layers of one block, tracking Zen's side (``res``) and PyTorch's (``side``)."""

    def __init__(self, res: int, side: int):
        self.res, self.side, self.cost = res, side, Cost()

    def conv(self, c_in: int, c_out: int, k: int, stride: int, groups: int = 1) -> None:
        self.cost.flops += c_in * c_out * k**2 * self.res**2 // stride**2 // groups
        self.cost.model_size += c_in * c_out * k**2 // groups
        self.res //= stride
        self.side = _side(self.side, k, stride)
        self.cost.macs += k * k * (c_in // groups) * c_out * self.side**2
        self.cost.params += c_in * c_out * k**2 // groups

    def bn(self, c: int) -> None:
        self.cost.flops += self.res**2 * c
        self.cost.model_size += c
        self.cost.params += 2 * c

    def se(self, c: int) -> None:
        s = se_channels(c)
        self.cost.flops += c * s + s * c + c + c * self.res**2
        self.cost.model_size += c * s + 2 * s + s * c + 2 * c
        self.cost.macs += 2 * c * s
        self.cost.params += 2 * c * s + 2 * s + 2 * c

    def unit(self, c_in: int, mid: int, c_out: int, k: int, stride: int, project: bool, se: bool) -> None:
        """1x1 -> BN ReLU -> k x k depthwise (stride) -> BN ReLU [-> SE] -> 1x1 -> BN, + shortcut."""
        side_in = self.side
        self.conv(c_in, mid, 1, 1)
        self.bn(mid)
        self.conv(mid, mid, k, stride, groups=mid)
        self.bn(mid)
        if se:
            self.se(mid)
        self.conv(mid, c_out, 1, 1)
        self.bn(c_out)
        if project:  # biased 1x1 conv + BN; Zen counts it at (res / stride)^2
            r = self.res / stride
            self.cost.flops += c_in * c_out * r**2 + r**2 * c_out
            self.cost.model_size += c_in * c_out + c_out
            self.cost.macs += c_in * c_out * _side(side_in, 1, stride) ** 2
            self.cost.params += c_in * c_out + c_out + 2 * c_out


def block_cost(block: ConvBlock | IDWBlock, res: int, side: int, se: bool = False) -> tuple[Cost, int, int]:
    """(cost, Zen's output side, PyTorch's output side) of one block entered at side ``res``/``side``."""
    w = _Walker(res, side)
    if isinstance(block, ConvBlock):
        c_in, stride = block.in_channels, block.stride
        for _ in range(block.sub_layers):
            w.conv(c_in, block.out_channels, block.kernel, stride)
            w.bn(block.out_channels)
            c_in, stride = block.out_channels, 1
        return w.cost, w.res, w.side
    c_in, stride = block.in_channels, block.stride
    btl, out = block.bottleneck, block.out_channels
    for i in range(block.sub_layers):
        # unit A: ResBlockProj on sub-layer 0 (always projects), ResBlock after (projects if in != btl)
        w.unit(
            c_in,
            dw_width(btl, block.expansion),
            btl,
            block.kernel,
            stride,
            project=(i == 0 or stride > 1 or c_in != btl),
            se=se,
        )
        # unit B: stride 1, projects if btl != out
        w.unit(btl, dw_width(out, block.expansion), out, block.kernel, 1, project=btl != out, se=se)
        c_in, stride = out, 1
    return w.cost, w.res, w.side


def block_costs(
    structure: Structure | str, resolution: int = RESOLUTION, se: bool = False, num_classes: int = NUM_CLASSES
) -> list[tuple[Cost, int, int]]:
    """Per block (and a last entry for the classifier): (cost, Zen side out, PyTorch side out)."""
    s = parse_structure(structure) if isinstance(structure, str) else structure
    res = side = resolution
    rows = []
    for block in s.blocks:
        cost, res, side = block_cost(block, res, side, se)
        rows.append((cost, res, side))
    c = s.blocks[-1].out_channels
    fc = Cost(
        flops=c * num_classes,
        macs=c * num_classes,
        params=c * num_classes + num_classes,
        model_size=c * num_classes + 1,
    )
    rows.append((fc, 1, 1))
    return rows


def total_cost(
    structure: Structure | str, resolution: int = RESOLUTION, se: bool = False, num_classes: int = NUM_CLASSES
) -> Cost:
    """Every convention for the whole network (blocks + classifier)."""
    total = Cost()
    for cost, _, _ in block_costs(structure, resolution, se, num_classes):
        total += cost
    return total


def budget_flops(structure: Structure | str, resolution: int = RESOLUTION, se: bool = False) -> float:
    """Zen-NAS's ``MasterNet.get_FLOPs(resolution)``: the number the budgets are checked against.

    Examples:
        >>> round(budget_flops("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)"
        ...                    "SuperResIDWE6K3(48,96,2,48,1)SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)") / 1e6, 1)
        162.4
    """
    return total_cost(structure, resolution, se).flops


def macs(structure: Structure | str, resolution: int = RESOLUTION, se: bool = False) -> int:
    """Conv2d + Linear multiply-accumulates of the built network (forward hooks count the same)."""
    return total_cost(structure, resolution, se).macs


def params(structure: Structure | str, se: bool = False) -> int:
    """Parameter numel of the built network, with or without SE.

    Examples:
        >>> params("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)")
        17976
    """
    return total_cost(structure, RESOLUTION, se).params


def zen_model_size(structure: Structure | str, se: bool = False) -> float:
    """Zen-NAS's ``MasterNet.get_model_size()`` (not the numel: one per BN channel, Linear bias as 1)."""
    return total_cost(structure, RESOLUTION, se).model_size


def describe_costs(structure: Structure | str, resolution: int = RESOLUTION) -> tuple[dict[str, float], list[dict]]:
    """``intrain describe``'s Zen-NAS conventions and one table row per block (and the classifier).

    Examples:
        >>> conv, rows = describe_costs("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)")
        >>> conv["zen_layers"], [r["text"][:17] for r in rows][-1]
        (3.0, 'Linear(16,1000)')
    """
    s = parse_structure(structure) if isinstance(structure, str) else structure
    plain, se = total_cost(s, resolution), total_cost(s, resolution, se=True)
    conventions = {
        "zen_flops": plain.flops,
        "zen_flops_se": se.flops,
        "macs_se": float(se.macs),
        "params_se": float(se.params),
        "zen_model_size": plain.model_size,
        "zen_layers": float(s.n_layers),
    }
    table = []
    for i, (block, (cost, _res, side)) in enumerate(zip([*s.blocks, None], block_costs(s, resolution))):
        table.append(
            {
                "block": i,
                "text": block.format() if block else f"Linear({s.blocks[-1].out_channels},1000)",
                "sub_layers": block.sub_layers if block else 1,
                "out_side": side,
                "zen_flops": cost.flops,
                "macs": cost.macs,
                "params": cost.params,
            }
        )
    return conventions, table
