"""NDS ImageNet design spaces: one :class:`NDSSpace` class serves the seven of them.

They share one record format and one builder and differ only in their ground truth (each
space's own records), so each is its own space in the config, registered under its name in
:data:`.encoding.DESIGN_SPACES`.

- :mod:`.encoding` a record's ``net`` validated, as canonical JSON (no torch);
- :mod:`.network` cell and ResNeXt networks and the records' FLOP conventions (torch);
- :mod:`.groundtruth` a design space's record list normalised.

The names of :mod:`.encoding` are importable from here (``nds.normalize_arch``); those of
:mod:`.network` too, importing torch on first use (``nds.build_model``, ``nds.count_flops``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Mapping

from ..base import Space
from .encoding import *  # noqa: F401,F403  (the space's vocabulary, as before the split)
from .encoding import DATASETS, DESIGN_SPACES, normalize_arch

_NETWORK_NAMES = ("Zero", "FactorizedReduce", "relu_conv_bn", "separable", "factorized_kxk", "OPS", "Cell",
                  "CellNetwork", "Bottleneck", "ResNeXtNetwork", "BUILDERS", "build_model", "build_network",
                  "count_params", "FlopConvention", "FLOP_CONVENTIONS", "count_flops")


class NDSSpace(Space):
    """One NDS ImageNet design space; ``name`` (set by the registry) picks its records.

    No isomorphism reduction: every record is its own class.
    """

    name = "nds_darts"
    datasets = DATASETS

    @property
    def benchmark(self) -> str | None:  # type: ignore[override]
        return DESIGN_SPACES.get(self.name)

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    def network(self, arch: str, dataset: str):
        from .network import build_network

        return build_network(arch, dataset)

    def groundtruth(self, table: str | Path, valid: Mapping[str, str | Path] | None = None):
        from .groundtruth import read_groundtruth

        return read_groundtruth(table, valid)


def __getattr__(attr: str) -> Any:
    """Network names on first use (so importing the space does not import torch)."""
    if attr in _NETWORK_NAMES:
        return getattr(importlib.import_module(f"{__name__}.network"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
