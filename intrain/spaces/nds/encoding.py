"""NDS records as arch strings: validation of a record's ``net`` and its canonical JSON (no torch).

Arch strings are the record's ``net`` as canonical JSON (sorted keys, no spaces); the string is
self-contained, so a network can be rebuilt without the benchmark file (`.network`).

Examples:
    >>> normalize_arch('{"width": 16, "depth": 1, "genotype": {"normal": [["skip_connect", 0], ["none", 1]],'
    ...                ' "normal_concat": [2], "reduce": [["max_pool_3x3", 0], ["skip_connect", 1]], "reduce_concat": [2]}}')
    '{"depth":1,"genotype":{"normal":[["skip_connect",0],["none",1]],"normal_concat":[2],"reduce":[["max_pool_3x3",0],["skip_connect",1]],"reduce_concat":[2]},"width":16}'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from intrain.core.errors import InputError
from intrain.spaces.base import DatasetSpec

#: Seven ImageNet design spaces: space name -> download catalog key of its records.
DESIGN_SPACES: dict[str, str] = {
    "nds_amoeba": "nds_amoeba_in",
    "nds_darts": "nds_darts_in",
    "nds_enas": "nds_enas_in",
    "nds_nasnet": "nds_nasnet_in",
    "nds_pnas": "nds_pnas_in",
    "nds_resnext_a": "nds_resnext-a_in",
    "nds_resnext_b": "nds_resnext-b_in",
}
NUM_CLASSES = 1000
RECORD_RESOLUTION = 224  # the records' params/flops are for 224x224 ImageNet inputs
#: ``resolution`` is the side the records were trained at; the workflow scores NDS at a reduced
#: side (config ``spaces.<nds space>.resolution``, default 64) to keep ~900 models cheap on CPU.
DATASETS: dict[str, DatasetSpec] = {"imagenet": DatasetSpec("imagenet", NUM_CLASSES, RECORD_RESOLUTION)}
RESNEXT_STEM = ((3, 32), (32, 64), (64, 64))  # (in, out) of the three 3x3 stride-2 stem convs


class NDSRecordError(InputError):
    """An NDS ``net`` record this builder cannot turn into a network, with the reason."""


#: The DARTS/NDS operation vocabulary (`.network.OPS` builds each one).
OP_NAMES: tuple[str, ...] = (
    "none",
    "skip_connect",
    "avg_pool_2x2",
    "avg_pool_3x3",
    "avg_pool_5x5",
    "max_pool_2x2",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "dil_sep_conv_3x3",
    "conv_3x1_1x3",
    "conv_7x1_1x7",
)


# ----------------------------------------------------------------------------- record specs


@dataclass(frozen=True)
class CellGenotype:
    """One cell type: (op, input state) pairs, two per step, and the states concatenated."""

    ops: tuple[tuple[str, int], ...]
    concat: tuple[int, ...]

    @property
    def steps(self) -> int:
        return len(self.ops) // 2


@dataclass(frozen=True)
class CellNetSpec:
    normal: CellGenotype
    reduce: CellGenotype
    width: int
    depth: int


@dataclass(frozen=True)
class ResNeXtSpec:
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    strides: tuple[int, ...]
    bottleneck: tuple[float, ...]
    groups: tuple[int, ...]


def _int(value, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NDSRecordError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def _genotype(pairs, concat, kind: str) -> CellGenotype:
    if not isinstance(pairs, list) or not pairs or len(pairs) % 2:
        raise NDSRecordError(f"{kind} cell: expected an even, non-empty list of [op, input] pairs, got {pairs!r}")
    ops = []
    for k, pair in enumerate(pairs):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise NDSRecordError(f"{kind} cell, entry {k}: expected [op, input], got {pair!r}")
        op, src = pair
        if not isinstance(op, str) or op not in OP_NAMES:
            raise NDSRecordError(f"{kind} cell, entry {k}: unknown operation {op!r}; known: {sorted(OP_NAMES)}")
        step = k // 2
        if _int(src, f"{kind} cell, entry {k} input") >= step + 2:
            raise NDSRecordError(
                f"{kind} cell, entry {k}: input state {src} does not exist yet at step {step} (states 0..{step + 1})"
            )
        ops.append((op, src))
    n_states = len(ops) // 2 + 2
    if not isinstance(concat, list) or not concat:
        raise NDSRecordError(f"{kind} cell: concat must be a non-empty list of states, got {concat!r}")
    for s in concat:
        if _int(s, f"{kind} concat state") >= n_states:
            raise NDSRecordError(f"{kind} cell: concat state {s} out of range 0..{n_states - 1}")
    return CellGenotype(tuple(ops), tuple(concat))


def _cell_spec(net: dict) -> CellNetSpec:
    g = net["genotype"]
    missing = {"normal", "normal_concat", "reduce", "reduce_concat"} - set(g)
    if missing:
        raise NDSRecordError(f"genotype lacks {sorted(missing)}")
    if net.get("aux"):
        raise NDSRecordError("auxiliary heads are not supported (no NDS ImageNet record uses one)")
    width = _int(net.get("width"), "width", 2)
    if width % 2:
        raise NDSRecordError(f"width must be even (the stem halves it), got {width}")
    return CellNetSpec(
        _genotype(g["normal"], g["normal_concat"], "normal"),
        _genotype(g["reduce"], g["reduce_concat"], "reduce"),
        width,
        _int(net.get("depth"), "depth", 1),
    )


def _resnext_spec(net: dict) -> ResNeXtSpec:
    if net.get("block_type") != "res_bottleneck_block":
        raise NDSRecordError(f"unknown block_type {net.get('block_type')!r}; supported: 'res_bottleneck_block'")
    lists: dict[str, Any] = {k: net.get(k) for k in ("ds", "ws", "ss", "bot_muls", "num_gs")}  # lists: checked below
    for k, v in lists.items():
        if not isinstance(v, list) or len(v) < 2:
            raise NDSRecordError(f"{k} must be a list with the stem entry and at least one stage, got {v!r}")
    if len({len(v) for v in lists.values()}) != 1:
        raise NDSRecordError(f"ds/ws/ss/bot_muls/num_gs differ in length: { {k: len(v) for k, v in lists.items()} }")
    stem = (lists["ds"][0], lists["ws"][0], lists["ss"][0], lists["bot_muls"][0], lists["num_gs"][0])
    if stem != (1, RESNEXT_STEM[-1][1], 8, 1.0, 1):
        raise NDSRecordError(f"entry 0 must be the fixed stem (d=1, w=64, s=8, bm=1, g=1), got {stem}")
    spec = ResNeXtSpec(*(tuple(v[1:]) for v in lists.values()))
    stages = zip(spec.depths, spec.widths, spec.strides, spec.bottleneck, spec.groups)
    for i, (d, w, s, bm, g) in enumerate(stages, start=1):
        for value, what in ((d, "depth"), (w, "width"), (s, "stride"), (g, "groups")):
            _int(value, f"stage {i} {what}", 1)
        if isinstance(bm, bool) or not isinstance(bm, (int, float)) or bm <= 0:
            raise NDSRecordError(f"stage {i} bottleneck multiplier must be a positive number, got {bm!r}")
        w_b = int(round(w * bm))
        if w_b < 1 or w_b % g:
            raise NDSRecordError(f"stage {i}: bottleneck width {w_b} (= {w} x {bm}) is not divisible by {g} groups")
    return spec


def _load(net: dict | str) -> Any:  # the JSON value; parse_net checks that it is an object
    if isinstance(net, str):
        try:
            net = json.loads(net)
        except json.JSONDecodeError as exc:
            raise NDSRecordError(f"NDS arch string is not JSON: {exc}") from None
    return net


def parse_net(net: dict | str) -> CellNetSpec | ResNeXtSpec:
    """Validate a record's ``net`` (a dict, or its JSON) and return the typed spec."""
    net = _load(net)
    if not isinstance(net, dict):
        raise NDSRecordError(f"NDS net must be a JSON object, got {type(net).__name__}")
    if "genotype" in net:
        return _cell_spec(net)
    if "block_type" in net:
        return _resnext_spec(net)
    raise NDSRecordError(f"NDS net has neither 'genotype' (cell space) nor 'block_type' (ResNeXt); keys: {sorted(net)}")


def normalize_arch(arch: str | dict) -> str:
    """The canonical arch string: the validated ``net`` as sorted-key compact JSON."""
    net = _load(arch)
    parse_net(net)
    return json.dumps(net, sort_keys=True, separators=(",", ":"))


def canonical_form(arch: str) -> str:
    """No isomorphism reduction for NDS: every record is its own class."""
    return normalize_arch(arch)
