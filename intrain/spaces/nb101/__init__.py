"""NAS-Bench-101: the space (:class:`NB101Space`) and its parts, one module each.

- :mod:`.encoding` cell specs, arch strings, pruning, the benchmark's module hash (no torch);
- :mod:`.network` the benchmark's network (torch);
- :mod:`.groundtruth` JSON exports and the official tfrecord normalised.

The names of :mod:`.encoding` are importable from here (``nb101.module_hash``); those of
:mod:`.network` too, importing torch on first use (``nb101.build_network``).
"""

from __future__ import annotations


from intrain.spaces.base import PackagedSpace, lazy_names
from intrain.spaces.nb101.encoding import *  # noqa: F401,F403  (the space's vocabulary, as before the split)
from intrain.spaces.nb101.encoding import DATASETS, module_hash, normalize_arch

_NETWORK_NAMES = ("ConvBNReLU", "make_op", "Cell", "NB101Network", "build_network")


class NB101Space(PackagedSpace):
    """NAS-Bench-101 on CIFAR-10; the canonical form is the benchmark's module hash."""

    name = "nb101"
    datasets = DATASETS
    benchmark = "nb101_2500"
    options = ("protocol",)

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    def canonical(self, arch: str) -> str:
        return module_hash(arch)


__getattr__ = lazy_names(__name__, "network", _NETWORK_NAMES)
