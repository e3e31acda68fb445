"""A MobileNetV2-style ImageNet search space for evolutionary search under a FLOPs budget.

The space follows the one Zen-NAS, ZiCo and AZ-NAS search (blocks of inverted residuals with a
1x1 expansion, a k x k depthwise conv and a 1x1 projection; kernel k in {3, 5, 7}, expansion e
in {1, 2, 4, 6}; widths mutated by fixed factors and rounded to multiples of 8; stage depth
mutated by one or two layers; at most 14 layers for budgets up to 600M FLOPs, 16 above). It is
written from those papers' descriptions; the exact block code of each repository differs in
details (stem width, head), so FLOPs budgets here are this space's own.

A spec is plain JSON::

    {"stem": 16, "head": 1280,
     "stages": [{"kernel": 3, "expansion": 1, "out": 16, "bottleneck": 16, "stride": 1, "layers": 1}, ...]}

``bottleneck * expansion`` is the width of the depthwise conv. FLOPs are multiply-accumulates of
every conv and the classifier at the given resolution, counted analytically
(:func:`flops`); :func:`hooked_flops` counts them from a built module to check that.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from .nb201 import DatasetSpec
from ..errors import InputError

KERNELS = (3, 5, 7)
EXPANSIONS = (1, 2, 4, 6)
WIDTH_FACTORS = (2.5, 2.0, 1.5, 1.25, 1 / 1.25, 1 / 1.5, 1 / 2.0, 1 / 2.5)
LAYER_DELTAS = (-2, -1, 1, 2)
RESOLUTION = 224
NUM_CLASSES = 1000
DATASETS: dict[str, DatasetSpec] = {"imagenet": DatasetSpec("imagenet", NUM_CLASSES, RESOLUTION)}


class SpecError(InputError):
    """A spec that cannot be built, with the reason."""


@dataclass(frozen=True)
class Stage:
    kernel: int
    expansion: int
    out: int
    bottleneck: int
    stride: int
    layers: int

    def check(self, where: str) -> None:
        if self.kernel not in KERNELS:
            raise SpecError(f"{where}: kernel {self.kernel} not in {KERNELS}")
        if self.expansion not in EXPANSIONS:
            raise SpecError(f"{where}: expansion {self.expansion} not in {EXPANSIONS}")
        if self.stride not in (1, 2):
            raise SpecError(f"{where}: stride must be 1 or 2, got {self.stride}")
        for name in ("out", "bottleneck", "layers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise SpecError(f"{where}: {name} must be a positive integer, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Spec:
    stages: tuple[Stage, ...]
    stem: int = 16
    head: int = 1280

    @property
    def n_layers(self) -> int:
        return sum(s.layers for s in self.stages)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): equal specs give equal strings."""
        return json.dumps({"stem": self.stem, "head": self.head, "stages": [asdict(s) for s in self.stages]},
                          sort_keys=True, separators=(",", ":"))


def parse_spec(text: str | dict) -> Spec:
    try:
        raw = json.loads(text) if isinstance(text, str) else text
    except (json.JSONDecodeError, RecursionError) as e:
        raise SpecError(f"spec is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"a spec is a JSON object with 'stages' (and optional 'stem', 'head'), got {type(raw).__name__}")
    unknown = set(raw) - {"stem", "head", "stages"}
    if unknown:
        raise SpecError(f"unknown spec keys {sorted(map(str, unknown))}; a spec has 'stages', 'stem', 'head'")
    if not isinstance(raw.get("stages"), list) or not raw["stages"]:
        raise SpecError(f"field 'stages': a spec needs a non-empty list of stages, got {raw.get('stages')!r:.80}")
    stages = []
    fields = [f.name for f in dataclasses.fields(Stage)]
    for i, s in enumerate(raw["stages"]):
        if not isinstance(s, dict) or set(s) != set(fields):
            got = sorted(map(str, s)) if isinstance(s, dict) else type(s).__name__
            raise SpecError(f"stage {i}: must be an object with exactly the fields {fields}, got {got}")
        for name in fields:
            if isinstance(s[name], bool) or not isinstance(s[name], int):
                raise SpecError(f"stage {i}: field {name!r} must be an integer, got {s[name]!r:.40}")
        stage = Stage(**s)
        stage.check(f"stage {i}")
        stages.append(stage)
    spec = Spec(tuple(stages), stem=raw.get("stem", 16), head=raw.get("head", 1280))
    for name in ("stem", "head"):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"field {name!r} must be a positive integer, got {value!r:.40}")
    return spec


def normalize_arch(arch: str) -> str:
    return parse_spec(arch).to_json()


#: A small starting point, far below every budget (Algorithm 1 line 3 needs one that meets it).
INITIAL = Spec(stages=(
    Stage(3, 1, 16, 16, 1, 1),
    Stage(3, 2, 24, 16, 2, 1),
    Stage(3, 2, 32, 16, 2, 1),
    Stage(3, 2, 64, 32, 2, 1),
    Stage(3, 2, 96, 48, 1, 1),
    Stage(3, 2, 160, 80, 2, 1),
), stem=16, head=1280)


def max_layers(budget: float) -> int:
    """The layer cap Zen-NAS uses: 14 up to 600M FLOPs, 16 above."""
    return 14 if budget <= 600e6 else 16


# ----------------------------------------------------------------------------- counting


def _conv_macs(c_in: int, c_out: int, k: int, groups: int, h_out: int) -> int:
    return k * k * (c_in // groups) * c_out * h_out * h_out


def _out_side(side: int, stride: int) -> int:
    return math.ceil(side / stride)  # 'same' padding, as the modules below use


def flops(spec: Spec, resolution: int = RESOLUTION, num_classes: int = NUM_CLASSES) -> int:
    """Multiply-accumulates of every conv and the classifier (BN, ReLU and adds not counted)."""
    side = _out_side(resolution, 2)
    total = _conv_macs(3, spec.stem, 3, 1, side)
    c_in = spec.stem
    for stage in spec.stages:
        for j in range(stage.layers):
            stride = stage.stride if j == 0 else 1
            mid = stage.bottleneck * stage.expansion
            out_side = _out_side(side, stride)
            total += _conv_macs(c_in, mid, 1, 1, side)
            total += _conv_macs(mid, mid, stage.kernel, mid, out_side)
            total += _conv_macs(mid, stage.out, 1, 1, out_side)
            if stride != 1 or c_in != stage.out:
                total += _conv_macs(c_in, stage.out, 1, 1, out_side)  # projection shortcut
            side, c_in = out_side, stage.out
    total += _conv_macs(c_in, spec.head, 1, 1, side)
    return total + spec.head * num_classes


def params(spec: Spec, num_classes: int = NUM_CLASSES) -> int:
    """Trainable parameters: conv weights, BN scale and shift, classifier weight and bias."""
    total = 3 * spec.stem * 9 + 2 * spec.stem
    c_in = spec.stem
    for stage in spec.stages:
        for j in range(stage.layers):
            stride = stage.stride if j == 0 else 1
            mid = stage.bottleneck * stage.expansion
            total += c_in * mid + 2 * mid + mid * stage.kernel ** 2 + 2 * mid + mid * stage.out + 2 * stage.out
            if stride != 1 or c_in != stage.out:
                total += c_in * stage.out + 2 * stage.out
            c_in = stage.out
    total += c_in * spec.head + 2 * spec.head
    return total + spec.head * num_classes + num_classes


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


# ----------------------------------------------------------------------------- modules


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


def build_network(arch: str, dataset: str, prune: bool = True, fast_pool: bool = True) -> MobileNetV2Like:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r} for the MobileNetV2 space; expected one of {sorted(DATASETS)}")
    return build_model(arch, DATASETS[dataset].num_classes)


# ----------------------------------------------------------------------------- mutation


def _scale(width: int, factor: float) -> int:
    return max(8, int(round(width * factor / 8)) * 8)


def mutate_once(spec: Spec, rng: np.random.Generator, layer_cap: int) -> Spec:
    """One random edit of one stage: kernel, expansion, output width, bottleneck width or depth."""
    i = int(rng.integers(len(spec.stages)))
    stage = spec.stages[i]
    what = rng.choice(["kernel", "expansion", "out", "bottleneck", "layers"])
    if what == "kernel":
        new = replace(stage, kernel=int(rng.choice([k for k in KERNELS if k != stage.kernel])))
    elif what == "expansion":
        new = replace(stage, expansion=int(rng.choice([e for e in EXPANSIONS if e != stage.expansion])))
    elif what in ("out", "bottleneck"):
        new = replace(stage, **{what: _scale(getattr(stage, what), float(rng.choice(WIDTH_FACTORS)))})
    else:
        layers = stage.layers + int(rng.choice(LAYER_DELTAS))
        room = layer_cap - (spec.n_layers - stage.layers)
        new = replace(stage, layers=int(min(max(1, layers), room)))
    stages = list(spec.stages)
    stages[i] = new
    return replace(spec, stages=tuple(stages))


def mutate(spec: Spec, rng: np.random.Generator, budget: float, resolution: int = RESOLUTION,
           max_tries: int = 1000) -> Spec:
    """A mutated spec within ``budget`` FLOPs and the layer cap (never the parent itself)."""
    cap = max_layers(budget)
    for _ in range(max_tries):
        child = mutate_once(spec, rng, cap)
        if child != spec and child.n_layers <= cap and flops(child, resolution) <= budget:
            return child
    raise RuntimeError(f"no mutation of the parent fits {budget:.3g} FLOPs in {max_tries} tries")


@dataclass
class BudgetedSpace:
    """The search problem Algorithm 1 runs on: start, mutate, key (see :mod:`intrain.evolution`)."""

    budget: float
    resolution: int = RESOLUTION
    initial: Spec = field(default_factory=lambda: INITIAL)

    def __post_init__(self) -> None:
        if flops(self.initial, self.resolution) > self.budget:
            raise ValueError(f"the initial spec ({flops(self.initial, self.resolution):.3g} FLOPs) exceeds "
                             f"the budget {self.budget:.3g}")

    def start(self, rng: np.random.Generator) -> str:
        return self.initial.to_json()

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        return mutate(parse_spec(arch), rng, self.budget, self.resolution).to_json()

    def describe(self, arch: str) -> dict[str, float]:
        spec = parse_spec(arch)
        return {"flops": float(flops(spec, self.resolution)), "params": float(params(spec)),
                "layers": float(spec.n_layers)}
