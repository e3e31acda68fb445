"""Normalise benchmark tables into one ground-truth table per space.

The normalised table (CSV) has one row per architecture: ``arch_index`` (the benchmark's own
index), ``arch`` (canonical spelling), ``canonical`` (isomorphism-class key) and one
``acc_<dataset>`` column per dataset (test accuracy, %); ``valid_<dataset>`` where a validation
table was given. Every later step reads this format only, so another benchmark export (or the
full table of a larger benchmark) drops in by writing one more normaliser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from .spaces import nb201

NB201_TEST_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}


class GroundTruthError(ValueError):
    pass


def normalize_nb201(test_csv: str | Path, valid_csvs: dict[str, str | Path] | None = None) -> pd.DataFrame:
    path = Path(test_csv)
    if not path.exists():
        raise FileNotFoundError(f"NB201 ground-truth file {path} does not exist (run the download step)")
    raw = pd.read_csv(path)
    missing = [c for c in [*NB201_TEST_COLUMNS.values(), "ArchitectureString"] if c not in raw.columns]
    if missing:
        raise GroundTruthError(f"{path}: missing columns {missing}")
    table = pd.DataFrame({"arch_index": range(len(raw)),
                          "arch": [nb201.normalize_arch(a) for a in raw["ArchitectureString"]]})
    table["canonical"] = [nb201.canonical_form(a) for a in table["arch"]]
    for ds, col in NB201_TEST_COLUMNS.items():
        table[f"acc_{ds}"] = raw[col].astype(float)
    for ds, vpath in (valid_csvs or {}).items():
        v = pd.read_csv(vpath)
        if "arch str" not in v.columns or "validation accuracy" not in v.columns:
            raise GroundTruthError(f"{vpath}: expected columns 'arch str' and 'validation accuracy'")
        valid = dict(zip((nb201.normalize_arch(a) for a in v["arch str"]), v["validation accuracy"].astype(float)))
        table[f"valid_{ds}"] = table["arch"].map(valid)
    return table


NORMALIZERS: dict[str, Callable[..., pd.DataFrame]] = {"nb201": normalize_nb201}


def load_groundtruth_csv(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ground-truth table {path} does not exist")
    df = pd.read_csv(path)
    for col in ("arch_index", "arch", "canonical"):
        if col not in df.columns:
            raise GroundTruthError(f"{path}: not a normalised ground-truth table (no {col!r} column)")
    return df


def accuracy_column(dataset: str, metric: str = "test") -> str:
    return f"{'acc' if metric == 'test' else 'valid'}_{dataset}"
