"""NAS-Bench-101: the space (`NB101Space`) and its parts, one module each.

- `.encoding` cell specs, arch strings, pruning, the benchmark's module hash (no torch);
- `.network` the benchmark's network (torch);
- `.groundtruth` JSON exports and the official tfrecord normalised;
- `.peers` NASLib's tuple and the module hash as the peers' files use them.

Import a name from the module that defines it (``intrain.spaces.nb101.encoding.module_hash``);
the names of `.network` are also importable from here, importing torch on first use
(``nb101.build_network``).
"""

from __future__ import annotations

import re

from intrain.spaces.base import PackagedSpace, lazy_names
from intrain.spaces.nb101.encoding import DATASETS, ArchSpecError, module_hash, normalize_arch
from intrain.spaces.peers import NASLIB_ZC, ZERO_COST_NAS, Encoding, IdRecord, PeerCodec, TupleKey

_NETWORK_NAMES = ("ConvBNReLU", "make_op", "Cell", "NB101Network", "build_network")


class NB101Space(PackagedSpace):
    """NAS-Bench-101 on CIFAR-10; the canonical form is the benchmark's module hash."""

    name = "nb101"
    datasets = DATASETS
    benchmark = "nb101_2500"
    options = ("protocol",)
    peer_identity = "canonical"

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    def canonical(self, arch: str) -> str:
        return module_hash(arch)

    def peer_id(self, key: str) -> str:
        """The module hash of an arch string; a hash (32 hex digits, as the peers store it) as is."""
        if not isinstance(key, str):
            raise ArchSpecError(f"an NB101 key is an arch string or a module hash, got {type(key).__name__}")
        return key.strip() if re.fullmatch(r"[0-9a-f]{32}", key.strip()) else module_hash(key)

    def encodings(self) -> dict[str, Encoding]:
        from intrain.spaces.nb101.peers import ModuleHash, NASLibTuple, PrunedArch

        return {"pruned_arch": PrunedArch(), "naslib": NASLibTuple(), "hash": ModuleHash()}

    def peer_codec(self, fmt: str) -> PeerCodec | None:
        if fmt == NASLIB_ZC:
            return TupleKey(self.encodings()["naslib"])
        return IdRecord(self) if fmt == ZERO_COST_NAS else None


__getattr__ = lazy_names(__name__, "network", _NETWORK_NAMES)
