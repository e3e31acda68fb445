"""Zen-NAS's mutation (``evolution_search.py``, ``SearchSpace/search_space_IDW_fixfc.py``) as a search problem.

One child of a parent structure:

1. ``edits`` times draw a block index uniformly (stem and head included; a repeated index is
   skipped, not redrawn) and replace that block by one candidate of ``gen_search_space``:
   * stem: ``SuperConvK3BNRELU(3, c, stride, 1)`` with c uniform over the distinct widths of
     `channel_choices` (the stem's width x {2.5, 2, 1.5, 1.25, 1, 1/1.25, 1/1.5, 1/2, 1/2.5},
     at least 8, rounded to a multiple of 8);
   * head: itself (Zen-NAS never changes the 1x1 head);
   * IDW block: type, out width, sub_layers and bottleneck jointly: the type by
     `TYPE_WEIGHTS`, then out in `channel_choices`, sub_layers in
     `sublayer_choices`, bottleneck in `channel_choices`, each uniform; stride kept.
2. Re-chain the in-channels; split every block with >= 6 sub-layers into ``(in,out,s,btl,3)`` +
   ``(out,out,1,btl,n-3)`` (twice, as Zen-NAS splits in the mutation and again after it).

A child with more layers than the cap (stem and head count: 14 up to 600M FLOPs, 16 above) or
more than the budget's ``get_FLOPs(224)`` is dropped and another is drawn. Zen-NAS uses 1 edit
while its population has at most 10 members and 2 after; inside Algorithm 1 the history plays
the population's role (`ZenSearch.mutate_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from intrain.core.errors import InputError
from intrain.spaces.zennas.flops import RESOLUTION, budget_flops, macs, params, smart_round
from intrain.spaces.zennas.grammar import (
    IDW_TYPES,
    ConvBlock,
    IDWBlock,
    Structure,
    check_structure,
    format_structure,
    parse_structure,
)

#: Initial structure of the Zen-NAS, ZiCo and AZ-NAS ImageNet search scripts (every budget).
INITIAL = (
    "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)"
    "SuperResIDWE6K3(48,96,2,48,1)SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)"
)
#: Width factors: multiply by the first four, keep, divide by the last four (Zen-NAS divides, and
#: c / 1.25 is not always the float c * 0.8, so the rounding of a half can differ).
GROW, SHRINK = (2.5, 2.0, 1.5, 1.25), (1.25, 1.5, 2.0, 2.5)
SPLIT_AT = 6
#: How often each of `IDW_TYPES` is drawn. ``gen_search_space`` starts one candidate list
#: before its type loop and, per type, appends the type's candidates, de-duplicates into a new
#: list and appends that to the list of lists; the next type's candidates are then appended to
#: the list already stored. Stored list j therefore holds types 0..j+1 (the last one 0..11),
#: and a uniform draw from their concatenation weighs the types 12:12:11:...:2.
TYPE_WEIGHTS: tuple[int, ...] = (12, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2)


def max_layers(budget: float) -> int:
    """The searches' ``--max_layers``: 14 for budgets up to 600M FLOPs, 16 above."""
    return 14 if budget <= 600e6 else 16


def channel_choices(c: int) -> list[int]:
    """``get_select_student_channels_list``: distinct widths c x factor, >= 8, multiple of 8, descending.

    Examples:
        >>> channel_choices(8), channel_choices(32)
        ([16, 8], [80, 64, 48, 40, 32, 24, 16])
    """
    raw = [c * f for f in GROW] + [float(c)] + [c / f for f in SHRINK]
    return sorted({smart_round(max(8, x), 8) for x in raw}, reverse=True)


def sublayer_choices(n: int) -> list[int]:
    """n-2 .. n+2, positive (``get_select_student_sublayers_list`` less the empty layer)."""
    return sorted({max(0, n + d) for d in (0, 1, 2, -1, -2)} - {0}, reverse=True)


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def replacement(block: ConvBlock | IDWBlock, rng: np.random.Generator) -> ConvBlock | IDWBlock:
    """One candidate of ``gen_search_space`` for this block, drawn with the published weights."""
    if isinstance(block, ConvBlock):
        if block.kernel == 1:
            return block  # the head never changes
        return ConvBlock(
            block.kernel, block.in_channels, _pick(rng, channel_choices(block.out_channels)), block.stride, 1
        )
    weights = np.asarray(TYPE_WEIGHTS, dtype=float)
    type_name = IDW_TYPES[int(rng.choice(len(IDW_TYPES), p=weights / weights.sum()))]
    e, k = int(type_name[len("SuperResIDWE")]), int(type_name[-1])
    out = _pick(rng, channel_choices(block.out_channels))
    sub = _pick(rng, sublayer_choices(block.sub_layers))
    btl = _pick(rng, channel_choices(block.bottleneck))
    return IDWBlock(e, k, block.in_channels, out, block.stride, btl, sub)


def rechain(blocks: list) -> list:
    """Set each block's in-channels to the previous block's out-channels."""
    out = [blocks[0]]
    for b in blocks[1:]:
        out.append(replace(b, in_channels=out[-1].out_channels))
    return out


def split(blocks: list) -> list:
    """Zen-NAS's ``split(6)``: a block of n >= 6 sub-layers becomes 3 + (n - 3), the second at stride 1."""
    out = []
    for b in blocks:
        if isinstance(b, IDWBlock) and b.sub_layers >= SPLIT_AT:
            first = SPLIT_AT // 2
            out += [
                replace(b, sub_layers=first),
                replace(b, in_channels=b.out_channels, stride=1, sub_layers=b.sub_layers - first),
            ]
        else:
            out.append(b)
    return out


def mutate_structure(structure: Structure, rng: np.random.Generator, edits: int = 2) -> Structure:
    """One child: ``edits`` block replacements (repeats skipped), re-chained, split (no budget check)."""
    blocks = list(structure.blocks)
    done: set[int] = set()
    for _ in range(edits):
        i = int(rng.integers(len(blocks)))
        if i in done:
            continue
        done.add(i)
        blocks[i] = replacement(blocks[i], rng)
    return check_structure(tuple(split(split(rechain(blocks)))))


@dataclass
class ZenSearch:
    """Algorithm 1's problem on the Zen-NAS space: start, mutate within budget and cap, describe.

    Examples:
        >>> p = ZenSearch(450e6)
        >>> child = p.mutate_at(p.start(np.random.default_rng(0)), np.random.default_rng(1), 0)
        >>> budget_flops(child) <= 450e6 and parse_structure(child).n_layers <= 14
        True
    """

    budget: float
    layer_cap: int | None = None
    resolution: int = RESOLUTION
    initial: str = INITIAL
    max_tries: int = 10_000
    edits_after: int = field(default=10)  # 1 edit while the history has <= this many members, then 2

    def __post_init__(self) -> None:
        if self.layer_cap is None:
            self.layer_cap = max_layers(self.budget)
        s = parse_structure(self.initial)
        self.initial = format_structure(s)
        if budget_flops(s, self.resolution) > self.budget or s.n_layers > self.layer_cap:
            raise InputError(
                f"the initial structure ({budget_flops(s, self.resolution) / 1e6:.1f}M FLOPs, "
                f"{s.n_layers} layers) exceeds the budget {self.budget:.3g} or the cap {self.layer_cap}"
            )

    def fits(self, s: Structure) -> bool:
        assert self.layer_cap is not None  # set by __post_init__
        return s.n_layers <= self.layer_cap and budget_flops(s, self.resolution) <= self.budget

    def start(self, rng: np.random.Generator) -> str:
        return self.initial

    def mutate_at(self, arch: str, rng: np.random.Generator, history_size: int) -> str:
        """A child within budget and cap; 1 edit while ``history_size <= 10``, else 2 (children over are dropped)."""
        parent = parse_structure(arch)
        edits = 1 if history_size <= self.edits_after else 2
        for _ in range(self.max_tries):
            child = mutate_structure(parent, rng, edits)
            if self.fits(child):
                return format_structure(child)
        raise RuntimeError(
            f"no child of {arch} fits {self.budget:.3g} FLOPs and {self.layer_cap} layers in {self.max_tries} draws"
        )

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """The steady-state mutation (2 edits), for callers that do not pass the history size."""
        return self.mutate_at(arch, rng, self.edits_after + 1)

    def describe(self, arch: str) -> dict[str, float]:
        s = parse_structure(arch)
        return {
            "flops": float(budget_flops(s, self.resolution)),
            "macs": float(macs(s, self.resolution)),
            "params": float(params(s)),
            "params_se": float(params(s, se=True)),
            "layers": float(s.n_layers),
        }
