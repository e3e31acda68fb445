"""The Zen-NAS structure string: parse it into frozen blocks and format it back.

Zen-NAS, ZiCo and AZ-NAS write an ImageNet network as a flat string of ``Name(int,...)`` terms
(``PlainNet/__init__.py`` in idstcv/ZenNAS):

    SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)...SuperConvK1BNRELU(128,2048,1,1)

* ``SuperConvK3BNRELU(in,out,stride,sub_layers)``: the stem (3x3 conv, BN, ReLU);
* ``SuperResIDWE{e}K{k}(in,out,stride,bottleneck,sub_layers)``: e in {1,2,4,6}, k in {3,5,7};
* ``SuperConvK1BNRELU(in,out,stride,sub_layers)``: the head (1x1 conv to 2048, never mutated).

A term may carry a ``name|`` prefix inside its parentheses; Zen-NAS ignores it when it prints a
structure, so `format_structure` drops it too. This module imports no torch: the search
and the budget check run on strings only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from intrain.core.errors import InputError

EXPANSIONS = (1, 2, 4, 6)
KERNELS = (3, 5, 7)
STRIDES = (1, 2)
#: The twelve block types in the order of Zen-NAS's search-space list (E1K3, E2K3, E4K3, E6K3, E1K5, ...).
IDW_TYPES: tuple[str, ...] = tuple(f"SuperResIDWE{e}K{k}" for k in KERNELS for e in EXPANSIONS)
STEM, HEAD = "SuperConvK3BNRELU", "SuperConvK1BNRELU"
_TERM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\(([^()]*)\)")
_IDW = re.compile(r"SuperResIDWE(\d+)K(\d+)$")


class ZenStructureError(InputError):
    """A Zen-NAS structure string this space cannot build; the message names the block and the reason."""


@dataclass(frozen=True)
class ConvBlock:
    """``SuperConvK{kernel}BNRELU``: sub_layers x (conv, BN, ReLU); the stem (k=3) or the head (k=1)."""

    kernel: int
    in_channels: int
    out_channels: int
    stride: int
    sub_layers: int = 1
    name: str | None = field(default=None, compare=False)

    @property
    def type_name(self) -> str:
        return f"SuperConvK{self.kernel}BNRELU"

    def format(self) -> str:
        return f"{self.type_name}({self.in_channels},{self.out_channels},{self.stride},{self.sub_layers})"


@dataclass(frozen=True)
class IDWBlock:
    """``SuperResIDWE{e}K{k}``: sub_layers x two inverted-residual units (see `.network`)."""

    expansion: int
    kernel: int
    in_channels: int
    out_channels: int
    stride: int
    bottleneck: int
    sub_layers: int
    name: str | None = field(default=None, compare=False)

    @property
    def type_name(self) -> str:
        return f"SuperResIDWE{self.expansion}K{self.kernel}"

    def format(self) -> str:
        return (
            f"{self.type_name}({self.in_channels},{self.out_channels},{self.stride},"
            f"{self.bottleneck},{self.sub_layers})"
        )


Block = ConvBlock | IDWBlock


@dataclass(frozen=True)
class Structure:
    """A whole network: stem, IDW blocks, head (the classifier Linear(head.out, 1000) is implied)."""

    blocks: tuple[Block, ...]

    @property
    def n_layers(self) -> int:
        """Zen-NAS's ``get_num_layers``: the sum of every block's sub_layers, stem and head included."""
        return sum(b.sub_layers for b in self.blocks)

    def format(self) -> str:
        return format_structure(self)


def format_structure(structure: Structure | tuple[Block, ...]) -> str:
    """The canonical string (no block names), as Zen-NAS's ``str(net)`` prints it.

    Examples:
        >>> format_structure(parse_structure("SuperConvK3BNRELU(a|3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)"))
        'SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)'
    """
    blocks = structure.blocks if isinstance(structure, Structure) else structure
    return "".join(b.format() for b in blocks)


def _ints(where: str, type_name: str, args: str, arity: int, fields: str) -> list[int]:
    parts = args.split(",")
    if len(parts) != arity:
        raise ZenStructureError(f"{where}: {type_name} takes {arity} integers ({fields}), got {len(parts)}")
    values = []
    for label, raw in zip(fields.split(","), parts):
        raw = raw.strip()
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ZenStructureError(f"{where}: {label} must be an integer, got {raw!r}")
        values.append(int(raw))
    for label, value in zip(fields.split(","), values):
        if label == "stride":
            if value not in STRIDES:
                raise ZenStructureError(f"{where}: stride must be 1 or 2, got {value}")
        elif value < 1:
            raise ZenStructureError(f"{where}: {label} must be a positive integer, got {value}")
    return values


def _block(index: int, text: str, type_name: str, args: str) -> Block:
    where = f"block {index} ({text})"
    name = None
    if "|" in args:
        name, args = args.split("|", 1)
    if type_name in (STEM, HEAD):
        c_in, c_out, stride, sub = _ints(where, type_name, args, 4, "in,out,stride,sub_layers")
        return ConvBlock(3 if type_name == STEM else 1, c_in, c_out, stride, sub, name)
    m = _IDW.match(type_name)
    if m is None or int(m.group(1)) not in EXPANSIONS or int(m.group(2)) not in KERNELS:
        raise ZenStructureError(
            f"{where}: unknown block {type_name!r}; this space knows {STEM}, {HEAD} and "
            f"SuperResIDWE{{e}}K{{k}} with e in {EXPANSIONS}, k in {KERNELS}"
        )
    c_in, c_out, stride, btl, sub = _ints(where, type_name, args, 5, "in,out,stride,bottleneck,sub_layers")
    return IDWBlock(int(m.group(1)), int(m.group(2)), c_in, c_out, stride, btl, sub, name)


def check_structure(blocks: tuple[Block, ...]) -> Structure:
    """Stem first (3 input channels), head last, IDW blocks between, each block's in = the previous out."""
    texts = [b.format() for b in blocks]
    if len(blocks) < 3:
        raise ZenStructureError(
            f"a structure needs a stem, at least one IDW block and a head; got {len(blocks)} block(s)"
        )
    first, last = blocks[0], blocks[-1]
    if not (isinstance(first, ConvBlock) and first.kernel == 3):
        raise ZenStructureError(f"block 0 ({texts[0]}): the first block must be the stem {STEM}")
    if first.in_channels != 3:
        raise ZenStructureError(f"block 0 ({texts[0]}): the stem takes 3 (RGB) input channels, got {first.in_channels}")
    if not (isinstance(last, ConvBlock) and last.kernel == 1):
        raise ZenStructureError(f"block {len(blocks) - 1} ({texts[-1]}): the last block must be the head {HEAD}")
    for i, b in enumerate(blocks[1:-1], start=1):
        if not isinstance(b, IDWBlock):
            raise ZenStructureError(f"block {i} ({texts[i]}): only SuperResIDWE blocks may stand between stem and head")
    for i in range(1, len(blocks)):
        if blocks[i].in_channels != blocks[i - 1].out_channels:
            raise ZenStructureError(
                f"block {i} ({texts[i]}): channel chain broken: in_channels "
                f"{blocks[i].in_channels} != block {i - 1}'s out_channels {blocks[i - 1].out_channels}"
            )
    return Structure(tuple(blocks))


def parse_structure(text: str) -> Structure:
    """Parse and check a structure string; raises `ZenStructureError` saying what is wrong.

    Examples:
        >>> s = parse_structure("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperConvK1BNRELU(32,2048,1,1)")
        >>> s.blocks[1].expansion, s.blocks[1].bottleneck, s.n_layers
        (6, 8, 3)
    """
    if not isinstance(text, str):
        raise ZenStructureError(f"a structure is a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ZenStructureError("empty structure string")
    blocks: list[Block] = []
    pos = 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None:
            rest = text[pos : pos + 40]
            raise ZenStructureError(
                f"block {len(blocks)}: cannot read a Name(int,...) term at character {pos}: {rest!r}"
            )
        blocks.append(_block(len(blocks), m.group(0).strip(), m.group(1), m.group(2)))
        pos = m.end()
    return check_structure(tuple(blocks))
