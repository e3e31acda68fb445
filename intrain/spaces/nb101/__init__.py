"""NAS-Bench-101: the space (:class:`NB101Space`) and its parts, one module each.

- :mod:`.encoding` cell specs, arch strings, pruning, the benchmark's module hash (no torch);
- :mod:`.network` the benchmark's network (torch);
- :mod:`.groundtruth` JSON exports and the official tfrecord normalised.

The names of :mod:`.encoding` are importable from here (``nb101.module_hash``); those of
:mod:`.network` too, importing torch on first use (``nb101.build_network``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Mapping

from ..base import Space
from .encoding import *  # noqa: F401,F403  (the space's vocabulary, as before the split)
from .encoding import DATASETS, module_hash, normalize_arch

_NETWORK_NAMES = ("ConvBNReLU", "make_op", "Cell", "NB101Network", "build_network")


class NB101Space(Space):
    """NAS-Bench-101 on CIFAR-10; the canonical form is the benchmark's module hash."""

    name = "nb101"
    datasets = DATASETS
    benchmark = "nb101_2500"

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    def canonical(self, arch: str) -> str:
        return module_hash(arch)

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
