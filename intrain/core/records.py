"""What a score depends on and what scoring produces, as plain data (no torch).

`ScoreSettings` is hashed into every artifact's provenance, so planning (``intrain
select``), merging and analysis read it without importing the engine. Whether the proxies it
names exist is checked where they are loaded ([`intrain.proxies.check_proxy_names`][intrain.proxies.check_proxy_names], called
by the scorer and the workflow's config check), not here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from intrain.core.errors import InputError

if TYPE_CHECKING:  # type-only: the probe's result is produced by the engine (torch)
    from intrain.engine.probe import ProbeResult

__all__ = ["MORE_BATCH_SEED", "PROTOCOLS", "ArchRecord", "ScoreSettings"]

#: The scoring protocols (`ScoreSettings.protocol`).
PROTOCOLS = ("uniform", "reference")
#: Seed offset of further scoring batches (`Scorer.batch` with k >= 1).
MORE_BATCH_SEED = 1_000_003


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
    channels_last: bool = False  # NHWC: faster on CPU, another float32 rounding of the score (docs/reproduce.md)
    proxies: tuple[str, ...] = ("intrain",)
    data: str | None = (
        None  # None: Gaussian inputs; "natural[:names]": bundled photographs; else a local image file (intrain.engine.inputs)
    )
    lga_steps: int = 10  # SGD steps before LGA's kernel alignment
    lr_samples: int = 1000  # inputs for TE-NAS's linear-region count
    lr_resolution: int = 4  # their side (4 is the smallest NB201 accepts)
    #: "uniform": one network, init and input for every proxy (a same-conditions comparison);
    #: "reference": each proxy as its published NB201 number was computed where this project
    #: implements it (the space's reference network, the proxy's reference init and definition).
    protocol: str = "uniform"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.resolution is not None and self.resolution < 1:
            raise InputError(f"resolution must be >= 1, got {self.resolution}")
        if self.protocol not in PROTOCOLS:
            raise InputError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.lga_steps < 0 or self.lr_samples < 2 or self.lr_resolution < 1:
            raise InputError("lga_steps must be >= 0, lr_samples >= 2 and lr_resolution >= 1")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ScoreSettings:
        """Settings from JSON/YAML values (``proxies`` as a list), refusing unknown keys by name."""
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(f"unknown keys {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        values: dict[str, Any] = {k: tuple(v) if k == "proxies" else v for k, v in raw.items()}
        return cls(**values)

    def pass_options(self) -> dict[str, Any]:
        """The settings separate passes read ([`PassContext`][intrain.proxies.base.PassContext] options)."""
        return {"lga_steps": self.lga_steps, "lr_samples": self.lr_samples, "lr_resolution": self.lr_resolution}

    def as_dict(self) -> dict[str, Any]:
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
