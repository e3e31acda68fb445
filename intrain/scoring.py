"""Score architectures: seeded synthetic batch, network build, one probe pass, proxy reductions.

Determinism: the synthetic batch depends only on (seed, dataset, batch size, resolution), and
every network is initialised right after ``torch.manual_seed(seed)`` on the CPU, then moved to
the device. A score therefore depends on the architecture and settings, never on which shard or
worker computed it, so shards can be re-run, re-split or merged freely.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

import torch

from .device import resolve_device
from .probe import ProbeResult, run_probe
from .proxies import get_proxy
from .spaces import get_space

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreSettings:
    """Everything that changes a score. Hashed into the artifacts' provenance."""

    batch_size: int = 64
    resolution: int | None = None  # None: the dataset's native resolution
    seed: int = 0
    layers: str = "conv"
    params: str = "all"
    prune: bool = True
    fast_pool: bool = True
    channels_last: bool = False  # opt-in: float32 NHWC backward is less accurate on CPU (README)
    proxies: tuple[str, ...] = ("intrain",)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.resolution is not None and self.resolution < 1:
            raise ValueError(f"resolution must be >= 1, got {self.resolution}")
        for p in self.proxies:
            get_proxy(p)  # raises on unknown names

    def as_dict(self) -> dict:
        d = asdict(self)
        d["proxies"] = list(self.proxies)
        return d


@dataclass
class ArchRecord:
    index: int
    arch: str
    probe: ProbeResult
    proxies: dict[str, dict[str, float]]
    seconds: float


def synthetic_batch(settings: ScoreSettings, num_classes: int, resolution: int,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """X ~ N(0, 1) of shape (B, 3, R, R) and uniform random labels, from ``settings.seed``."""
    gen = torch.Generator().manual_seed(settings.seed)
    x = torch.randn(settings.batch_size, 3, resolution, resolution, generator=gen)
    y = torch.randint(0, num_classes, (settings.batch_size,), generator=gen)
    return x.to(device), y.to(device)


class Scorer:
    """Scores architectures of one (space, dataset) under fixed settings."""

    def __init__(self, space: str, dataset: str, settings: ScoreSettings, device: str = "auto"):
        self.space = get_space(space)
        self.spec = self.space.dataset(dataset)
        self.dataset = dataset
        self.settings = settings
        self.device = resolve_device(device)
        self.resolution = settings.resolution or self.spec.resolution
        self.proxies = [get_proxy(p) for p in settings.proxies]
        self.x, self.y = synthetic_batch(settings, self.spec.num_classes, self.resolution, self.device)
        if settings.channels_last:
            self.x = self.x.contiguous(memory_format=torch.channels_last)

    def score(self, index: int, arch: str) -> ArchRecord:
        start = time.perf_counter()
        torch.manual_seed(self.settings.seed)
        model = self.space.build(arch, self.dataset, prune=self.settings.prune,
                                 fast_pool=self.settings.fast_pool).to(self.device)
        if self.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        probe = run_probe(model, self.x, self.y, layers=self.settings.layers, params=self.settings.params)
        probe.extras["params"] = float(sum(p.numel() for p in model.parameters() if p.requires_grad))
        values = {p.name: p.compute(probe) for p in self.proxies}
        return ArchRecord(index, arch, probe, values, time.perf_counter() - start)

    def score_many(self, items: Iterable[tuple[int, str]]) -> Iterator[ArchRecord]:
        for index, arch in items:
            yield self.score(index, arch)
