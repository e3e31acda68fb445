"""The ImageNet search space of Zen-NAS, ZiCo and AZ-NAS, exactly as their code defines it.

An architecture is the Zen-NAS structure string itself (:mod:`.grammar`), so a searched string
goes straight into the Zen-NAS/ZiCo training scripts (``--plainnet_struct_txt``). Modules:
:mod:`.grammar` (parse/format, no torch), :mod:`.network` (the ``nn.Module``), :mod:`.flops`
(Zen's budget FLOPs, plain MACs, exact parameter counts), :mod:`.mutation` (the published
mutation as an Algorithm 1 problem), :mod:`.published` (the model-zoo strings).
"""

from __future__ import annotations

from ..nb201 import DatasetSpec
from .flops import RESOLUTION, budget_flops, macs, params
from .grammar import Structure, ZenStructureError, format_structure, parse_structure
from .mutation import INITIAL, ZenSearch, max_layers

NUM_CLASSES = 1000
DATASETS: dict[str, DatasetSpec] = {"imagenet": DatasetSpec("imagenet", NUM_CLASSES, RESOLUTION)}

__all__ = ["DATASETS", "INITIAL", "Structure", "ZenSearch", "ZenStructureError", "budget_flops", "build_network",
           "canonical_form", "format_structure", "macs", "max_layers", "normalize_arch", "params", "parse_structure"]


def normalize_arch(arch: str) -> str:
    """The canonical structure string (block names dropped); raises :class:`ZenStructureError`.

    >>> normalize_arch(" SuperConvK3BNRELU(s|3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)\\n")
    'SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)'
    """
    return format_structure(parse_structure(arch))


#: Structure strings have no isomorphisms to fold: the canonical form is the normal form.
canonical_form = normalize_arch


def build_network(arch: str, dataset: str = "imagenet", prune: bool = True, fast_pool: bool = True,
                  se: bool = False):
    """The untrained network (no SE, as searched). ``prune``/``fast_pool`` are NB201 settings, unused here.

    >>> build_network(INITIAL, "imagenet").classifier.in_features
    2048
    """
    from .network import build_model

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r} for the zennas space; expected one of {sorted(DATASETS)}")
    return build_model(arch, DATASETS[dataset].num_classes, se=se)
