"""A toy search space as a plugin: plain CNNs written as stage widths, e.g. ``"8-16-32"``.

A space subclasses :class:`intrain.spaces.Space` and implements ``normalize`` (validate and spell
canonically), ``network`` (the torch module; import torch inside so that parsing stays
torch-free) and ``groundtruth`` (the benchmark table in intrain's normalised columns). Its ground
truth here, ``toy_groundtruth.csv``, is made-up: accuracies generated from the widths plus seeded
noise, for exercising the workflow, not a benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from intrain.core.errors import InputError
from intrain.spaces import DatasetSpec, Space

WIDTHS = (8, 16, 32)
MAX_STAGES = 3
TABLE = Path(__file__).with_name("toy_groundtruth.csv")


class ToyArchError(InputError):
    """A toy architecture string that is not 1-3 stage widths from 8, 16, 32 joined by '-'."""


class ToyCNNSpace(Space):
    """Stages of conv3x3-BN-ReLU (stride 2 after the first), global pool, linear classifier.

    >>> space = ToyCNNSpace()
    >>> space.normalize(" 8-16 ")
    '8-16'
    >>> space.normalize("8-12")
    Traceback (most recent call last):
    ...
    intrain_example.space.ToyArchError: toy_cnn architecture '8-12': stage 2 has width 12; widths are 8, 16, 32
    """

    name = "toy_cnn"
    datasets = {"toy10": DatasetSpec("toy10", 10, 16)}

    def normalize(self, arch: str) -> str:
        parts = str(arch).strip().split("-")
        if not 1 <= len(parts) <= MAX_STAGES:
            raise ToyArchError(f"toy_cnn architecture {arch!r}: {len(parts)} stages; expected 1 to {MAX_STAGES}")
        for i, p in enumerate(parts, start=1):
            if not p.isdigit() or int(p) not in WIDTHS:
                raise ToyArchError(f"toy_cnn architecture {arch!r}: stage {i} has width {p}; "
                                   f"widths are {', '.join(map(str, WIDTHS))}")
        return "-".join(str(int(p)) for p in parts)

    def network(self, arch: str, dataset: str, **options: Any):
        from .network import ToyCNN

        return ToyCNN([int(w) for w in self.normalize(arch).split("-")], self.dataset(dataset).num_classes)

    def groundtruth(self, table: str | Path | None = None, valid: Mapping[str, str | Path] | None = None):
        import pandas as pd

        path = Path(table) if table else TABLE
        raw = pd.read_csv(path)
        if not {"arch", "accuracy"} <= set(raw.columns):
            raise InputError(f"{path}: a toy_cnn table needs columns 'arch' and 'accuracy', has {list(raw.columns)}")
        archs = [self.normalize(a) for a in raw["arch"]]
        return pd.DataFrame({"arch_index": range(len(raw)), "arch": archs, "canonical": archs,
                             "acc_toy10": raw["accuracy"].astype(float)})
