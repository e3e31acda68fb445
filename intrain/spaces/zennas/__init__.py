"""The ImageNet search space of Zen-NAS, ZiCo and AZ-NAS, exactly as their code defines it.

An architecture is the Zen-NAS structure string itself (`.grammar`), so a searched string
goes straight into the Zen-NAS/ZiCo training scripts (``--plainnet_struct_txt``). Modules:
`.grammar` (parse/format, no torch), `.network` (the ``nn.Module``), `.flops`
(Zen's budget FLOPs, plain MACs, exact parameter counts), `.mutation` (the published
mutation as an Algorithm 1 problem), `.published` (the model-zoo strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from intrain.spaces.base import DatasetSpec, Description, Space, SpaceError
from intrain.spaces.zennas.flops import RESOLUTION, budget_flops, macs, params
from intrain.spaces.zennas.grammar import Structure, ZenStructureError, format_structure, parse_structure
from intrain.spaces.zennas.mutation import INITIAL, ZenSearch, max_layers

NUM_CLASSES = 1000
DATASETS: dict[str, DatasetSpec] = {"imagenet": DatasetSpec("imagenet", NUM_CLASSES, RESOLUTION)}

__all__ = [
    "DATASETS",
    "INITIAL",
    "Structure",
    "ZenNASSpace",
    "ZenSearch",
    "ZenStructureError",
    "budget_flops",
    "build_network",
    "canonical_form",
    "format_structure",
    "macs",
    "max_layers",
    "normalize_arch",
    "params",
    "parse_structure",
]


def normalize_arch(arch: str) -> str:
    """The canonical structure string (block names dropped); raises `ZenStructureError`.

    Examples:
        >>> normalize_arch(" SuperConvK3BNRELU(s|3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)\\n")
        'SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)'
    """
    return format_structure(parse_structure(arch))


#: Structure strings have no isomorphisms to fold: the canonical form is the normal form.
canonical_form = normalize_arch


def build_network(arch: str, dataset: str = "imagenet", se: bool = False):
    """The untrained network (no SE, as searched; ``se=True`` as trained).

    Examples:
        >>> build_network(INITIAL, "imagenet").classifier.in_features
        2048
    """
    from intrain.spaces.zennas.network import build_model

    if dataset not in DATASETS:
        raise SpaceError(f"unknown dataset {dataset!r} for the zennas space; expected one of {sorted(DATASETS)}")
    return build_model(arch, DATASETS[dataset].num_classes, se=se)


class ZenNASSpace(Space):
    """The ImageNet space Zen-NAS, ZiCo and AZ-NAS search (search only: no benchmark table).

    Examples:
        >>> from intrain.spaces import get_space
        >>> get_space("zennas").search_problem(450e6).start(None) == INITIAL
        True
    """

    name = "zennas"
    datasets = DATASETS
    #: Searches score at 64x64, the paper's search resolution (budgets stay at 224).
    search_settings: ClassVar[Mapping[str, Any]] = {"resolution": 64}
    search_note = (
        "untrained: best_arch is a Zen-NAS structure string; write it to a file for the Zen-NAS/ZiCo "
        "training scripts (--plainnet_struct_txt, --use_se) or build it with "
        "intrain.spaces.zennas.network.build_model(best_arch, se=True)"
    )

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    # narrower than Space.network's **options: a space takes only the options it declares (Space.build passes those)
    def network(self, arch: str, dataset: str):  # type: ignore[override]
        return build_network(arch, dataset)

    def groundtruth(self, table: str | Path, valid: Mapping[str, str | Path] | None = None):
        raise SpaceError("the zennas space is search-only: it has no benchmark table")

    def search_problem(self, budget: float | None = None) -> ZenSearch:
        if budget is None:
            raise SpaceError("the zennas space needs a FLOPs budget (Zen-NAS get_FLOPs at 224x224, e.g. 450e6)")
        return ZenSearch(budget)

    def describe(self, arch: str, dataset: str, model) -> Description:
        """Zen-NAS's ``get_FLOPs`` (the budget) with and without SE, parameters with SE,
        ``get_model_size``, and a table per Zen block (`.flops.describe_costs`)."""
        from intrain.spaces.zennas.flops import describe_costs

        conventions, table = describe_costs(arch, self.dataset(dataset).resolution)
        return Description(conventions, table)
