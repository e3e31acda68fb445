"""NAS-Bench-201: the space (`NB201Space`) and its parts, one module each.

- `.encoding` arch strings, cells, canonical form (no torch);
- `.network` the benchmark's network (torch), with NB201's own ``prune``/``fast_pool`` options;
- `.groundtruth` the benchmark table normalised;
- `.search` the edge-mutation problem of Algorithm 1;
- `.peers` NASLib's tuple and NATS-Bench's op ids (``intrain convert``, ``export``, ``import``).

Import a name from the module that defines it (``intrain.spaces.nb201.encoding.normalize_arch``);
the names of `.network` are also importable from here, importing torch on first use
(``nb201.build_network``).
"""

from __future__ import annotations

from intrain.spaces.base import PackagedSpace, SpaceError, lazy_names
from intrain.spaces.nb201.encoding import DATASETS, canonical_form, normalize_arch
from intrain.spaces.peers import NASLIB_ZC, ZERO_COST_NAS, ArchRecord, Encoding, PeerCodec, TupleKey

_NETWORK_NAMES = (
    "ReLUConvBN",
    "FastAvgPool3x3",
    "make_op",
    "SearchCell",
    "ResidualReduction",
    "NB201Network",
    "build_network",
)


class NB201Space(PackagedSpace):
    """NAS-Bench-201 on CIFAR-10, CIFAR-100 and ImageNet16-120 (15,625 cells, 6,466 classes)."""

    name = "nb201"
    datasets = DATASETS
    benchmark = "nb201_test"
    options = ("prune", "fast_pool", "protocol")

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    def canonical(self, arch: str) -> str:
        return canonical_form(arch)

    # narrower than Space.network's **options: a space takes only the options it declares (Space.build passes those)
    def network(  # type: ignore[override]
        self, arch: str, dataset: str, prune: bool = True, fast_pool: bool = True, protocol: str = "uniform"
    ):
        """``protocol="reference"``: AutoDL's network, every non-``none`` edge run (``prune`` ignored)."""
        from intrain.spaces.nb201.network import build_network

        if protocol not in ("uniform", "reference"):
            raise SpaceError(f"unknown protocol {protocol!r}; expected 'uniform' or 'reference'")
        return build_network(arch, dataset, prune=prune, fast_pool=fast_pool, reference=protocol == "reference")

    def encodings(self) -> dict[str, Encoding]:
        from intrain.spaces.nb201.peers import NASLibTuple, OpIds

        return {"naslib": NASLibTuple(), "op_ids": OpIds()}

    def peer_codec(self, fmt: str) -> PeerCodec | None:
        if fmt == NASLIB_ZC:
            return TupleKey(self.encodings()["naslib"])
        return ArchRecord(self) if fmt == ZERO_COST_NAS else None

    def search_problem(self, budget: float | None = None):
        if budget is not None:
            raise SpaceError("NB201 has no FLOPs budget; leave --budget out")
        from intrain.spaces.nb201.search import NB201Edges

        return NB201Edges()


__getattr__ = lazy_names(__name__, "network", _NETWORK_NAMES)
