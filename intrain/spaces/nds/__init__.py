"""NDS ImageNet design spaces: one `NDSSpace` class serves the seven of them.

They share one record format and one builder and differ only in their ground truth (each
space's own records), so each is its own space in the config, registered under its name in
`.encoding.DESIGN_SPACES`.

- `.encoding` a record's ``net`` validated, as canonical JSON (no torch);
- `.network` cell and ResNeXt networks and the records' FLOP conventions (torch);
- `.groundtruth` a design space's record list normalised.

Import a name from the module that defines it (``intrain.spaces.nds.encoding.normalize_arch``);
the names of `.network` are also importable from here, importing torch on first use
(``nds.build_model``, ``nds.count_flops``).
"""

from __future__ import annotations

from intrain.spaces.base import Description, PackagedSpace, lazy_names
from intrain.spaces.nds.encoding import DATASETS, DESIGN_SPACES, normalize_arch

_NETWORK_NAMES = (
    "Zero",
    "FactorizedReduce",
    "relu_conv_bn",
    "separable",
    "factorized_kxk",
    "OPS",
    "Cell",
    "CellNetwork",
    "Bottleneck",
    "ResNeXtNetwork",
    "BUILDERS",
    "build_model",
    "build_network",
    "count_params",
    "FlopConvention",
    "FLOP_CONVENTIONS",
    "count_flops",
)


class NDSSpace(PackagedSpace):
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

    def describe(self, arch: str, dataset: str, model) -> Description:
        """The records' own FLOPs convention (`.network.count_flops`) at the dataset's side."""
        from intrain.spaces.nds.network import count_flops

        return Description({"nds_record_flops": float(count_flops(model, self.dataset(dataset).resolution))})


__getattr__ = lazy_names(__name__, "network", _NETWORK_NAMES)
