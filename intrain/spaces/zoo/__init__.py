"""The timm model zoo as a benchmark space: hand-designed ImageNet models scored at initialisation.

Architectures are timm model names (``resnet50``, ``vit_small_patch16_224``); networks are built
without weights (``timm.create_model(name, pretrained=False, num_classes=1000)``, needing the
environment ``bash scripts/setup-models.sh`` makes). Ground truth is timm's published ImageNet-1k
top-1 of the rows trained on ImageNet-1k alone, one row per (architecture, recipe); see
docs/beyond-cell-spaces.md for what such a correlation can and cannot say.

- `.names` model name, recipe tag, in1k-only rule, family rule (no torch);
- `.groundtruth` the results table normalised (pandas);
- `.network` the timm network (torch, timm; imported on first use);
- `.selection` the seeded per-family selection the zoo overlay scores.
"""

from __future__ import annotations

import difflib
import os
from functools import lru_cache
from pathlib import Path

from intrain.spaces.base import DatasetSpec, PackagedSpace
from intrain.spaces.zoo.names import ZooNameError, check_arch, split_name

__all__ = ["BENCHMARK", "DATASETS", "ZooSpace", "known_names"]

#: The catalog key of timm's results table (intrain/data/benchmarks.yaml).
BENCHMARK = "timm_imagenet"
#: ImageNet-1k: 1,000 classes; 224 is the side most of the zoo was evaluated at. The scoring side
#: is a setting (``spaces.zoo.resolution`` / ``scoring.resolution``): the overlay's cheap protocol
#: scores at a reduced side, its full protocol at 224.
DATASETS = {"imagenet": DatasetSpec("imagenet", 1000, 224)}


@lru_cache(maxsize=4)
def _names_in(path: str) -> frozenset[str]:
    import csv

    with open(path, newline="") as f:
        return frozenset(split_name(row["model"])[0] for row in csv.DictReader(f) if row.get("model"))


def known_names(mirror: str | None = None) -> frozenset[str] | None:
    """The architectures of timm's results table when a local copy is reachable (the mirror
    ``INTRAIN_MIRROR`` or ``mirror``), else None (names are then checked for their spelling only)."""
    from intrain.core.download import get_file

    root = mirror if mirror is not None else os.environ.get("INTRAIN_MIRROR")
    if not root or root.startswith(("http://", "https://", "file://")):
        return None
    path = Path(root) / get_file(BENCHMARK).mirror_path
    return _names_in(str(path)) if path.is_file() else None


class ZooSpace(PackagedSpace):
    """timm architectures (tag-free model names) with timm's ImageNet-1k top-1 as ground truth.

    Examples:
        >>> space = ZooSpace()
        >>> space.normalize("resnet50.a1_in1k"), space.dataset("imagenet").num_classes
        ('resnet50', 1000)
    """

    name = "zoo"
    datasets = DATASETS
    benchmark = BENCHMARK

    def normalize(self, arch: str) -> str:
        """The architecture without its pretrained tag; checked against the results table's
        names when a local copy is reachable (a misspelling lists the closest names)."""
        name = check_arch(arch)
        names = known_names()
        if names is not None and name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=3)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise ZooNameError(f"{arch!r} is not an architecture of timm's results table{hint}")
        return name
