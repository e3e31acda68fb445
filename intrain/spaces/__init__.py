"""Search spaces: each turns an architecture encoding into a ``torch.nn.Module``.

A space is registered under the name the config uses (``nb201``, ``nb101``, ``nds_darts``, ...); the workflow, scorer and
artifact code only talk to this interface, never to a concrete space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from . import nb101, nb201, nds, zennas


@dataclass(frozen=True)
class Space:
    name: str
    datasets: dict  # dataset name -> spec with num_classes, resolution
    normalize: Callable[[str], str]  # validate + canonical spelling; raises ValueError
    canonical: Callable[[str], str]  # isomorphism class key
    build: Callable[..., nn.Module]  # (arch, dataset, prune=...) -> module

    def dataset(self, name: str):
        if name not in self.datasets:
            raise ValueError(f"space {self.name!r} has no dataset {name!r}; expected one of {sorted(self.datasets)}")
        return self.datasets[name]


SPACES: dict[str, Space] = {
    "nb201": Space("nb201", nb201.DATASETS, nb201.normalize_arch, nb201.canonical_form, nb201.build_network),
    "nb101": Space("nb101", nb101.DATASETS, nb101.normalize_arch, nb101.canonical_form, nb101.build_network),
    # search-only (no benchmark table): arch = the Zen-NAS structure string
    "zennas": Space("zennas", zennas.DATASETS, zennas.normalize_arch, zennas.canonical_form, zennas.build_network),
}
# NDS: seven ImageNet design spaces sharing one record format and builder; they differ only in
# their ground truth (each space's own records), so each is its own space in the config.
SPACES |= {name: Space(name, nds.DATASETS, nds.normalize_arch, nds.canonical_form, nds.build_network)
           for name in nds.DESIGN_SPACES}


def get_space(name: str) -> Space:
    try:
        return SPACES[name]
    except KeyError:
        raise ValueError(f"unknown search space {name!r}; available: {sorted(SPACES)}") from None
